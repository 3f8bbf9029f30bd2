"""Every chapter-06 check: a right answer passes, typical wrong answers get their hint."""
import pytest
import torch
import torch.nn.functional as F

import aecourse as ae


def free_energy_ok(v, W, b, c):
    return -v @ b - F.softplus(v @ W + c).sum(dim=1)


FREE_ENERGY_WRONG = {
    "visible bias term is missing": lambda v, W, b, c: -F.softplus(v @ W + c).sum(1),
    "hidden biases c belong inside": lambda v, W, b, c: -v @ b - F.softplus(v @ W).sum(1),
    "both terms carry a minus sign": lambda v, W, b, c: -v @ b + F.softplus(v @ W + c).sum(1),
    "not the sigmoid": lambda v, W, b, c: -v @ b - torch.sigmoid(v @ W + c).sum(1),
    "one free energy per row": lambda v, W, b, c: (-v @ b - F.softplus(v @ W + c).sum(1)).sum(),
    "large-x limit": lambda v, W, b, c: -v @ b - (v @ W + c).sum(1),
}


def cd1_ok(v0, W, b, c, u):
    ph0 = torch.sigmoid(v0 @ W + c)
    h0 = (u < ph0).to(v0.dtype)
    pv1 = torch.sigmoid(h0 @ W.T + b)
    ph1 = torch.sigmoid(pv1 @ W + c)
    return (v0.T @ ph0 - pv1.T @ ph1) / len(v0)


def cd1_variant(*, transpose=False, plus=False, no_mean=False, probs=False, flip=False, states=False):
    def fn(v0, W, b, c, u):
        ph0 = torch.sigmoid(v0 @ W + c)
        h0 = ph0 if probs else ((u > ph0) if flip else (u < ph0)).to(v0.dtype)
        pv1 = torch.sigmoid(h0 @ W.T + b)
        ph1 = torch.sigmoid(pv1 @ W + c)
        pos = v0.T @ (h0 if states else ph0)
        dw = (pos + pv1.T @ ph1) if plus else (pos - pv1.T @ ph1)
        dw = dw if no_mean else dw / len(v0)
        return dw.T if transpose else dw
    return fn


CD1_WRONG = {
    "shape of W": cd1_variant(transpose=True),
    "negative phase is subtracted": cd1_variant(plus=True),
    "divide by the batch size": cd1_variant(no_mean=True),
    "sample h0 with the random numbers": cd1_variant(probs=True),
    "not (u > ph0)": cd1_variant(flip=True),
    "not the sampled states": cd1_variant(states=True),
}


def missing(*args):
    raise NotImplementedError("hint: start from the formula in the cell above")


@pytest.mark.parametrize("check, right", [(ae.checks.rbm_free_energy, free_energy_ok),
                                          (ae.checks.cd1_weight_update, cd1_ok)])
def test_right_answer_passes_and_is_returned(check, right, capsys):
    assert check(right) is right
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("hint, wrong", FREE_ENERGY_WRONG.items(), ids=list(FREE_ENERGY_WRONG))
def test_free_energy_mistakes_get_their_hint(hint, wrong, capsys):
    used = ae.checks.rbm_free_energy(wrong)
    out = capsys.readouterr().out
    assert "✗ rbm_free_energy" in out and hint in out
    assert used is not wrong     # the reference is returned instead
    v = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    W, b, c = torch.ones(2, 3, dtype=torch.float64), torch.ones(2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    assert torch.allclose(used(v, W, b, c), free_energy_ok(v, W, b, c))


@pytest.mark.parametrize("hint, wrong", CD1_WRONG.items(), ids=list(CD1_WRONG))
def test_cd1_mistakes_get_their_hint(hint, wrong, capsys):
    used = ae.checks.cd1_weight_update(wrong)
    out = capsys.readouterr().out
    assert "✗ cd1_weight_update" in out and hint in out
    g = torch.Generator().manual_seed(5)
    args = (torch.rand(3, 4, generator=g).round().double(), torch.randn(4, 2, generator=g).double(),
            torch.randn(4, generator=g).double(), torch.randn(2, generator=g).double(),
            torch.rand(3, 2, generator=g).double())
    assert torch.allclose(used(*args), cd1_ok(*args))


@pytest.mark.parametrize("check", [ae.checks.rbm_free_energy, ae.checks.cd1_weight_update])
def test_missing_answer_shows_the_stub_hint_and_returns_the_reference(check, capsys):
    used = check(missing)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "start from the formula" in out
    assert used is not missing and callable(used)
