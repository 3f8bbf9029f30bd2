"""The losses against their per-image definitions: value and gradient (aecourse/losses.py)."""
import pytest
import torch

import aecourse as ae


def _data(shape=(6, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    logits = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
    return x, logits


def _value_and_grad(loss, logits):
    value = loss()
    (grad,) = torch.autograd.grad(value, logits)
    return value.detach(), grad


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_squared_error_is_the_mean_over_images_of_the_summed_squares(shape):
    x, logits = _data(shape)
    got = _value_and_grad(lambda: ae.squared_error(torch.sigmoid(logits), x), logits)
    want = _value_and_grad(lambda: (torch.sigmoid(logits) - x).pow(2).sum(dim=-1).mean(), logits)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
@pytest.mark.parametrize("logits_form", [False, True])
def test_cross_entropy_is_the_mean_over_images_of_the_summed_bernoulli_nll(shape, logits_form):
    x, logits = _data(shape)

    def ours():
        return ae.cross_entropy(logits if logits_form else torch.sigmoid(logits), x, logits=logits_form)

    def definition():
        p = torch.sigmoid(logits)
        return -(x * p.log() + (1 - x) * (1 - p).log()).sum(dim=-1).mean()

    got, want = _value_and_grad(ours, logits), _value_and_grad(definition, logits)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_losses_reject_mismatched_shapes():
    x = torch.rand(4, 5)
    for loss in (ae.squared_error, ae.cross_entropy):
        with pytest.raises(ValueError, match="one value per input feature"):
            loss(x[:, :4], x)
