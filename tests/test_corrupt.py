"""The corruptions of chapter 04: statistics on large tensors, reproducibility, purity, bad inputs."""
import numpy as np
import pytest
import torch

import aecourse as ae

N = (1000, 784)  # 784,000 entries: a fraction's standard error is below 0.0006


def interior(shape=N, seed=0):
    """Values strictly inside (0.1, 0.9): any entry set to 0 or 1 is visibly corrupted."""
    return 0.1 + 0.8 * torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("p", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_masking_sets_a_fraction_p_to_zero_and_keeps_the_rest(p):
    x = interior()
    y = ae.masking_noise(x, p, generator=torch.Generator().manual_seed(1))
    zeroed = y == 0
    assert abs(zeroed.float().mean().item() - p) < 0.005
    assert torch.equal(y[~zeroed], x[~zeroed])


@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 0.5, 1.0])
def test_salt_and_pepper_replaces_a_fraction_p_half_by_each_extreme(p):
    x = interior()
    y = ae.salt_and_pepper(x, p, generator=torch.Generator().manual_seed(2))
    changed = y != x
    assert abs(changed.float().mean().item() - p) < 0.005
    assert torch.equal(y[~changed], x[~changed])
    assert bool(((y[changed] == 0) | (y[changed] == 1)).all())
    if p > 0:
        assert abs((y[changed] == 1).float().mean().item() - 0.5) < 0.01


def test_salt_and_pepper_uses_the_given_value_range():
    x = interior() * 2 - 1  # values in (-0.8, 0.8)
    y = ae.salt_and_pepper(x, 0.4, value_range=(-1.0, 1.0), generator=torch.Generator().manual_seed(0))
    changed = y != x
    assert set(torch.unique(y[changed]).tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0])
def test_gaussian_noise_unclipped_has_mean_zero_and_variance_sigma_squared(sigma):
    x = interior()
    y = ae.gaussian_noise(x, sigma, generator=torch.Generator().manual_seed(3), value_range=None)
    noise = (y - x).double()
    assert abs(noise.mean().item()) < 5 * sigma / np.sqrt(noise.numel())
    assert abs(noise.var().item() / sigma**2 - 1) < 0.01


def test_gaussian_noise_is_clipped_to_the_data_range_by_default():
    x = interior()
    y = ae.gaussian_noise(x, 0.5, generator=torch.Generator().manual_seed(4))
    assert float(y.min()) == 0.0 and float(y.max()) == 1.0  # clipping happened at both ends
    inside = (y > 0) & (y < 1)
    # where nothing was clipped, the noise is untouched Gaussian noise (same draw as unclipped)
    raw = ae.gaussian_noise(x, 0.5, generator=torch.Generator().manual_seed(4), value_range=None)
    assert torch.equal(y[inside], raw[inside])
    assert torch.equal(ae.gaussian_noise(x, 0.0), x)


@pytest.mark.parametrize("fn, level", [(ae.masking_noise, 0.3), (ae.gaussian_noise, 0.2), (ae.salt_and_pepper, 0.3)])
def test_never_in_place_reproducible_with_a_generator_fresh_without(fn, level):
    x = interior((50, 784))
    before = x.clone()
    a = fn(x, level, generator=torch.Generator().manual_seed(7))
    b = fn(x, level, generator=torch.Generator().manual_seed(7))
    assert torch.equal(x, before), "the clean input must not change"
    assert a is not x and a.data_ptr() != x.data_ptr()
    assert torch.equal(a, b)
    assert not torch.equal(fn(x, level), fn(x, level))  # fresh noise on every call
    torch.manual_seed(5)
    c = fn(x, level)
    torch.manual_seed(5)
    assert torch.equal(c, fn(x, level))  # ae.seed_everything makes the global draw reproducible


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.gaussian_noise, ae.salt_and_pepper])
def test_any_shape_and_dtype_is_kept(fn):
    for shape in [(784,), (3, 28, 28), (2, 5)]:
        y = fn(torch.rand(shape, dtype=torch.float64), 0.2)
        assert y.shape == shape and y.dtype == torch.float64


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.gaussian_noise, ae.salt_and_pepper])
def test_runs_on_the_course_device(fn):
    dev = ae.device()
    x = torch.rand(20, 784, device=dev)
    y = fn(x, 0.2, generator=torch.Generator(device=dev).manual_seed(0))
    assert y.device == x.device


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.salt_and_pepper])
@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_probability_outside_0_1_is_refused(fn, p):
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        fn(torch.rand(4, 4), p)


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.salt_and_pepper])
def test_probability_must_be_a_number(fn):
    with pytest.raises(TypeError, match="p must be a number"):
        fn(torch.rand(4, 4), "0.2")


@pytest.mark.parametrize("sigma", [-0.1, float("inf"), float("nan")])
def test_negative_or_infinite_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma .* must be a finite number >= 0"):
        ae.gaussian_noise(torch.rand(4, 4), sigma)
    with pytest.raises(TypeError, match="sigma must be a number"):
        ae.gaussian_noise(torch.rand(4, 4), None)


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.gaussian_noise, ae.salt_and_pepper])
def test_integer_tensors_are_refused_with_a_fix(fn):
    with pytest.raises(TypeError, match=r"dtype torch.uint8.*x.float\(\).*divide pixel values by 255"):
        fn(torch.randint(0, 256, (4, 784), dtype=torch.uint8), 0.2)


@pytest.mark.parametrize("fn", [ae.masking_noise, ae.gaussian_noise, ae.salt_and_pepper])
def test_other_bad_inputs(fn):
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        fn([[0.1, 0.2]], 0.2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fn(torch.tensor([[0.1, float("nan")]]), 0.2)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        fn(torch.rand(2, 2), 0.2, generator=0)


def test_numpy_input_is_accepted():
    y = ae.masking_noise(np.full((10, 10), 0.5), 0.5)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32


def test_bad_value_range():
    with pytest.raises(ValueError, match="low < high"):
        ae.salt_and_pepper(torch.rand(2, 2), 0.1, value_range=(1.0, 0.0))
    with pytest.raises(TypeError, match="pair"):
        ae.gaussian_noise(torch.rand(2, 2), 0.1, value_range=1.0)


def test_corruption_fixes_the_level_for_fit():
    x = interior((200, 784))
    for kind, fn in ae.CORRUPTIONS.items():
        c = ae.corruption(kind, 0.3, generator=torch.Generator().manual_seed(0))
        assert torch.equal(c(x), fn(x, 0.3, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="unknown corruption 'blur'"):
        ae.corruption("blur", 0.1)
    with pytest.raises(ValueError, match=r"level must lie in \[0, 1\]"):
        ae.corruption("masking", 2.0)
    with pytest.raises(ValueError, match="sigma"):
        ae.corruption("gaussian", -1.0)


def test_fit_applies_fresh_corruption_and_compares_with_the_clean_batch():
    x = interior((40, 16))
    seen = []

    def corrupt(xb):
        seen.append(xb.clone())
        return ae.masking_noise(xb, 0.5)

    def loss(model, x_in, x_clean):
        # the input the model sees is corrupted, the target is the clean batch
        assert (x_in == 0).float().mean() > 0.3 and bool((x_clean > 0).all())
        return ae.squared_error(model(x_in), x_clean)

    ae.fit(ae.Autoencoder([16, 4]), x, epochs=2, batch_size=40, loss=loss, corrupt=corrupt, progress=False,
           device="cpu")
    assert len(seen) == 2 and torch.equal(seen[0].sort(0).values, x.sort(0).values)
