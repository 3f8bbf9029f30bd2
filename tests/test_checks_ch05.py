"""The chapter 05 exercise checks: every typical wrong answer gets its specific hint, a missing
answer gets the stub's hint, and the function returned is the learner's only when it is right."""
import pytest
import torch

import aecourse as ae
from aecourse.checks import ch05


def correct_reparameterize(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def correct_kl(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def missing(*args):
    raise NotImplementedError("hint: z = mu + sigma * eps")


def test_correct_answers_pass_and_are_returned(capsys):
    assert ae.checks.reparameterize(correct_reparameterize) is correct_reparameterize
    assert ae.checks.gaussian_kl(correct_kl) is correct_kl
    out = capsys.readouterr().out
    assert "✓ reparameterize" in out and "✓ gaussian_kl" in out
    # the package's own KL is a correct answer too
    assert ae.checks.gaussian_kl(ae.gaussian_kl) is ae.gaussian_kl


@pytest.mark.parametrize("wrong, hint", [
    (lambda mu, logvar, eps: mu + logvar * eps, "logvar itself as the standard deviation"),
    (lambda mu, logvar, eps: mu + logvar.exp() * eps, "exp(logvar) is the variance"),
    (lambda mu, logvar, eps: mu + torch.exp(logvar / 4) * eps, "square root twice"),
    (lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps, "the mean is missing"),
    (lambda mu, logvar, eps: mu - torch.exp(0.5 * logvar) * eps, "plus sign"),
    (lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * torch.randn_like(eps), "differ from the reference"),
    (lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).sum(), "wrong shape"),
    (lambda mu, logvar, eps: 1 / 0, "raised ZeroDivisionError"),
    (missing, "not attempted yet. Hint: hint: z = mu + sigma * eps"),
])
def test_reparameterize_hints(wrong, hint, capsys):
    returned = ae.checks.reparameterize(wrong)
    out = capsys.readouterr().out
    assert "✗ reparameterize" in out and hint in out, out
    assert returned is ch05._reparameterize_reference
    mu, logvar, eps = torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3)
    torch.testing.assert_close(returned(mu, logvar, eps), torch.ones(2, 3))


@pytest.mark.parametrize("wrong, hint", [
    (lambda mu, lv: 0.5 * (1 + lv - mu**2 - lv.exp()).sum(1), "sign is flipped"),
    (lambda mu, lv: -(1 + lv - mu**2 - lv.exp()).sum(1), "factor ½ is missing"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()).mean(1), "averaged over the latent dimensions"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()).sum(), "not over the whole batch"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()).sum(1).mean(), "do not average over the batch"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv).sum(1), "used logvar where the variance"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - (lv / 2).exp()).sum(1), "standard deviation exp(logvar / 2)"),
    (lambda mu, lv: -0.5 * (lv - mu**2 - lv.exp()).sum(1), "constant 1"),
    (lambda mu, lv: -0.5 * (1 + lv - mu - lv.exp()).sum(1), "μ enters squared"),
    (lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv.exp())).sum(1).tolist(), "returned a list"),
    (missing, "not attempted yet"),
])
def test_gaussian_kl_hints(wrong, hint, capsys):
    returned = ae.checks.gaussian_kl(wrong)
    out = capsys.readouterr().out
    assert "✗ gaussian_kl" in out and hint in out, out
    assert returned is ch05._kl_reference
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    torch.testing.assert_close(returned(mu, logvar), ae.gaussian_kl(mu, logvar))
