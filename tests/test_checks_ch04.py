"""Chapter 04's exercise checks: every typical wrong answer gets its hint, and the reference is returned."""
import pytest
import torch
import torch.nn.functional as F

import aecourse as ae
from aecourse.checks import ch04


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)  # the learners below draw from the global generator

# ---------------------------------------------------------------------------------------------
# masking noise
# ---------------------------------------------------------------------------------------------


def masking_right(x, p):
    return x * (torch.rand_like(x) >= p)


def masking_missing(x, p):
    raise NotImplementedError("draw torch.rand_like(x) and zero the entries below p")


def masking_in_place(x, p):
    x[torch.rand_like(x) < p] = 0
    return x


def masking_one_minus_p(x, p):
    return x * (torch.rand_like(x) < p)


def masking_shared_mask(x, p):
    return x * (torch.rand(x.shape[1]) >= p)


def masking_fixed_seed(x, p):
    g = torch.Generator().manual_seed(0)
    return x * (torch.rand(x.shape, generator=g) >= p)


def masking_scaled(x, p):
    return x * (torch.rand_like(x) >= p) / (1 - p)  # dropout's rescaling is not masking noise


def masking_bool(x, p):
    return torch.rand_like(x) >= p  # returns the mask itself


def masking_crashes(x, p):
    return x * (torch.rand(3) >= p)


def masking_nothing(x, p):
    return x.clone()


def masking_list(x, p):
    return x.tolist()


MASKING_CASES = [
    (masking_missing, "not attempted yet. Hint: draw torch.rand_like(x)"),
    (masking_in_place, "modified its input in place"),
    (masking_one_minus_p, "= 1 − p of the entries"),
    (masking_shared_mask, "the same pixels are corrupted in every image"),
    (masking_fixed_seed, "two calls gave exactly the same corruption"),
    (masking_scaled, "neither the clean value nor 0"),
    (masking_bool, "dtype torch.bool"),
    (masking_crashes, "your function raised RuntimeError"),
    (masking_nothing, "nothing was corrupted"),
    (masking_list, "returned a list; it should return a tensor"),
]


def test_masking_check_accepts_a_right_answer(capsys):
    assert ae.checks.masking_noise(masking_right) is masking_right
    assert "✓ masking_noise" in capsys.readouterr().out
    assert ae.checks.masking_noise(ae.masking_noise) is ae.masking_noise


@pytest.mark.parametrize("wrong, hint", MASKING_CASES, ids=[w.__name__ for w, _ in MASKING_CASES])
def test_masking_check_gives_the_hint_and_the_reference(capsys, wrong, hint):
    got = ae.checks.masking_noise(wrong)
    out = capsys.readouterr().out
    assert hint in out and "✗ masking_noise" in out and "Traceback" not in out
    assert got is ae.masking_noise


# ---------------------------------------------------------------------------------------------
# salt and pepper
# ---------------------------------------------------------------------------------------------


def sp_right(x, p):
    noisy = torch.rand_like(x) < p
    salt = (torch.rand_like(x) < 0.5).to(x.dtype)
    return torch.where(noisy, salt, x)


def sp_pepper_only(x, p):
    return torch.where(torch.rand_like(x) < p, torch.zeros_like(x), x)


def sp_one_minus_p(x, p):
    salt = (torch.rand_like(x) < 0.5).to(x.dtype)
    return torch.where(torch.rand_like(x) >= p, salt, x)


def sp_random_values(x, p):
    return torch.where(torch.rand_like(x) < p, torch.rand_like(x), x)


def sp_double_p(x, p):  # corrupts each entry twice over: 1 - (1 - p)^2
    y = sp_right(x, p)
    return sp_right(y, p)


def sp_in_place(x, p):
    noisy = torch.rand_like(x) < p
    x[noisy] = (torch.rand(int(noisy.sum())) < 0.5).to(x.dtype)
    return x


def sp_missing(x, p):
    raise NotImplementedError


SP_CASES = [
    (sp_missing, "replace the `raise NotImplementedError` line"),
    (sp_pepper_only, "0% of the corrupted entries are 1 (salt)"),
    (sp_one_minus_p, "= 1 − p of the entries"),
    (sp_random_values, "neither the clean value nor 0 or 1"),
    (sp_double_p, "instead of about 0.1"),
    (sp_in_place, "modified its input in place"),
]


def test_salt_and_pepper_check_accepts_a_right_answer(capsys):
    assert ae.checks.salt_and_pepper(sp_right) is sp_right
    assert "✓ salt_and_pepper" in capsys.readouterr().out
    assert ae.checks.salt_and_pepper(ae.salt_and_pepper) is ae.salt_and_pepper


@pytest.mark.parametrize("wrong, hint", SP_CASES, ids=[w.__name__ for w, _ in SP_CASES])
def test_salt_and_pepper_check_gives_the_hint_and_the_reference(capsys, wrong, hint):
    got = ae.checks.salt_and_pepper(wrong)
    out = capsys.readouterr().out
    assert hint in out and "✗ salt_and_pepper" in out
    assert got is ae.salt_and_pepper


# ---------------------------------------------------------------------------------------------
# the denoising loss
# ---------------------------------------------------------------------------------------------


def loss_right(model, x_tilde, x):
    return F.binary_cross_entropy(model(x_tilde), x, reduction="none").sum(dim=1).mean()


def loss_by_hand(model, x_tilde, x):
    x_prime = model(x_tilde)
    return -(x * torch.log(x_prime) + (1 - x) * torch.log(1 - x_prime)).sum(dim=1).mean()


def loss_missing(model, x_tilde, x):
    raise NotImplementedError("compare model(x_tilde) with the clean x")


def _bce(x_prime, x, reduction="none"):
    return F.binary_cross_entropy(x_prime, x, reduction=reduction)


DENOISING_CASES = [
    (loss_missing, "not attempted yet. Hint: compare model(x_tilde) with the clean x"),
    (lambda m, xt, x: _bce(m(xt), xt).sum(dim=1).mean(), "compared the reconstruction with the corrupted input"),
    (lambda m, xt, x: _bce(m(x), x).sum(dim=1).mean(), "must be fed the corrupted x̃"),
    (lambda m, xt, x: _bce(x, m(xt)).sum(dim=1).mean(), "swapped the two arguments"),
    (lambda m, xt, x: _bce(m(xt), x, reduction="mean"), "you averaged over pixels too"),
    (lambda m, xt, x: _bce(m(xt), x, reduction="sum"), "you summed over the images too"),
    (lambda m, xt, x: ((m(xt) - x) ** 2).sum(dim=1).mean(), "you wrote the squared error"),
    (lambda m, xt, x: -_bce(m(xt), x).sum(dim=1).mean(), "lost the minus sign"),
    (lambda m, xt, x: _bce(m(xt), x).sum(dim=1).mean().detach() + 1.0, "largest difference"),
    (lambda m, xt, x: "loss", "returned a str"),
]


@pytest.mark.parametrize("right", [loss_right, loss_by_hand])
def test_denoising_loss_check_accepts_a_right_answer(capsys, right):
    assert ae.checks.denoising_loss(right) is right
    assert "✓ denoising_loss" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", DENOISING_CASES)
def test_denoising_loss_check_gives_the_hint_and_the_reference(capsys, wrong, hint):
    got = ae.checks.denoising_loss(wrong)
    out = capsys.readouterr().out
    assert hint in out and "✗ denoising_loss" in out
    assert got is ch04._denoising_loss_reference
