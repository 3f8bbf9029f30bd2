import numpy as np
import pytest
import torch

from aecourse.validate import check_positive_int, check_probability, check_tensor


def test_accepts_float_tensor_and_numpy():
    assert check_tensor(torch.rand(3, 4)).shape == (3, 4)
    out = check_tensor(np.random.rand(3, 4))
    assert out.dtype == torch.float32


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (torch.ones(3, 4, dtype=torch.int64), {}, "floating-point"),
        (torch.rand(3, 28, 28), {}, "flatten images"),
        (torch.rand(4), {}, "add a batch dimension"),
        (torch.rand(3, 5), {"features": 4}, "5 features per row but 4"),
        (torch.tensor([[0.5, float("nan")]]), {}, "NaN or infinite"),
        (torch.tensor([[0.5, 2.0]]), {"unit_range": True}, r"must lie in \[0, 1\]"),
        (torch.empty(0, 3), {}, "empty"),
        ([1.0, 2.0], {}, "must be a torch.Tensor"),
    ],
)
def test_bad_tensors_get_clear_errors(x, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        check_tensor(x, **kwargs)


def test_probability_and_integer_checks():
    assert check_probability(0.3) == 0.3
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_probability(1.5)
    with pytest.raises(ValueError, match="strictly between"):
        check_probability(0.0, open_interval=True)
    with pytest.raises(TypeError):
        check_probability("0.5")
    assert check_positive_int(3, "k") == 3
    with pytest.raises(ValueError, match="at least 1"):
        check_positive_int(0, "k")
    with pytest.raises(TypeError):
        check_positive_int(2.0, "k")


def test_finite_check_is_not_fooled_by_a_sum_that_overflows():
    big = torch.full((10, 3), 3e38)                      # finite, but its float32 sum is inf
    assert torch.isinf(big.sum())
    assert check_tensor(big) is big
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = big.clone()
        x[4, 1] = bad
        with pytest.raises(ValueError, match="1 NaN or infinite"):
            check_tensor(x)
