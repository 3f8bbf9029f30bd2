"""Every chapter 03 exercise check: a correct answer passes and is returned; each typical wrong
answer prints its specific hint and the reference is returned instead; a missing answer says so."""
import pytest
import torch

import aecourse as ae

Z = torch.sigmoid(torch.randn(9, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
W = torch.randn(5, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
Z_SIGNED = torch.randn(9, 5, generator=torch.Generator().manual_seed(5), dtype=torch.float64)


def _kl(rho, q):
    return rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q))


CASES = {
    "l1_activity": dict(
        right=lambda z: z.abs().sum(dim=1).mean(),
        args=(Z_SIGNED,),
        reference=lambda z: ae.l1_activity(z),
        wrong=[
            (lambda z: z.sum(dim=1).mean(), "take the absolute value"),
            (lambda z: z.pow(2).sum(dim=1).mean(), "squared (L2) penalty"),
            (lambda z: z.abs().mean(), "averaged over code units too"),
            (lambda z: z.abs().sum(), "you summed over images"),
            (lambda z: 2 * z.abs().sum(dim=1).mean(), "factor of two"),
        ]),
    "kl_sparsity": dict(
        right=lambda z, rho: _kl(rho, z.mean(dim=0)).sum(),
        args=(Z, 0.05),
        reference=lambda z, rho: ae.kl_sparsity(z, rho),
        wrong=[
            (lambda z, rho: _kl(rho, z.mean(dim=1)).sum(), "mean activation of unit j over the batch"),
            (lambda z, rho: _kl(rho, z).sum(dim=1).mean(), "average the activations first"),
            (lambda z, rho: _kl(z.mean(dim=0), torch.tensor(rho, dtype=z.dtype)).sum(), "arguments are swapped"),
            (lambda z, rho: (rho * torch.log(rho / z.mean(dim=0))).sum(), "second term is missing"),
            (lambda z, rho: _kl(rho, z.mean(dim=0)).mean(), "sum the KL over the code units"),
            (lambda z, rho: -_kl(rho, z.mean(dim=0)).sum(), "sign is flipped"),
        ]),
    "contractive_penalty": dict(
        right=lambda z, W: ((z * (1 - z)) ** 2 * (W ** 2).sum(dim=1)).sum(dim=1).mean(),
        args=(Z, W),
        reference=lambda z, W: ae.contractive_penalty(z, W),
        wrong=[
            (lambda z, W: ((z * (1 - z)) * (W ** 2).sum(dim=1)).sum(dim=1).mean(), "square the sigmoid's slope"),
            (lambda z, W: (W ** 2).sum() + 0 * z.sum(), "the σ' factor is missing"),
            (lambda z, W: (z ** 2 * (W ** 2).sum(dim=1)).sum(dim=1).mean(), "not zⱼ itself"),
            (lambda z, W: ((z * (1 - z)) ** 2 * (W ** 2).sum(dim=1)).sum(), "you summed over images"),
            (lambda z, W: 0.5 * ((z * (1 - z)) ** 2 * (W ** 2).sum(dim=1)).sum(dim=1).mean(), "factor of two"),
        ]),
}


def _check(name):
    return getattr(ae.checks, name)


@pytest.mark.parametrize("name", CASES)
def test_right_answer_passes_and_is_returned(name, capsys):
    case = CASES[name]
    assert _check(name)(case["right"]) is case["right"]
    assert f"✓ {name}: correct" in capsys.readouterr().out


@pytest.mark.parametrize("name, index", [(n, i) for n, c in CASES.items() for i in range(len(c["wrong"]))])
def test_typical_mistake_gets_its_hint_and_the_reference(name, index, capsys):
    case = CASES[name]
    wrong, hint = case["wrong"][index]
    returned = _check(name)(wrong)
    out = capsys.readouterr().out
    assert f"✗ {name}" in out and hint in out, out
    assert "Using the reference solution" in out
    assert returned is not wrong
    assert torch.allclose(returned(*case["args"]), case["reference"](*case["args"]))


@pytest.mark.parametrize("name", CASES)
def test_missing_answer_shows_the_stub_hint(name, capsys):
    def stub(*args):
        raise NotImplementedError("use z.mean(dim=0)")

    returned = _check(name)(stub)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "use z.mean(dim=0)" in out
    assert returned is not stub
    case = CASES[name]
    assert torch.allclose(returned(*case["args"]), case["reference"](*case["args"]))


@pytest.mark.parametrize("name", CASES)
def test_a_crashing_answer_is_reported_without_a_traceback(name, capsys):
    def broken(*args):
        raise KeyError("oops")

    _check(name)(broken)
    assert "raised KeyError" in capsys.readouterr().out
