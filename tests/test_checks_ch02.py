"""Chapter 02's exercise checks: each typical wrong answer gets its hint (aecourse/checks/ch02.py)."""
import pytest
import torch

import aecourse as ae
from aecourse.checks import ch02


def _verdict(capsys, check, fn):
    returned = check(fn)
    return returned, capsys.readouterr().out


# -- pca_reconstruction ------------------------------------------------------------------------------

def good_reconstruction(x, components, mean):
    z = (x - mean) @ components.T  # (n, d) -> (n, k)
    return z @ components + mean


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, v, m: x @ v.T @ v, "forgot to centre"),
    (lambda x, v, m: (x - m) @ v.T @ v, "never added back"),
    (lambda x, v, m: (x - x.mean(0)) @ v.T @ v + x.mean(0), "use the mean you are given"),
    (lambda x, v, m: (x - m) @ v.T, "returned the code z"),
    (lambda x, v, m: x - good_reconstruction(x, v, m), "residual"),
    (lambda x, v, m: (x - m) @ v @ v.T + m, "raised RuntimeError"),  # components used as (d, k): transposed
])
def test_pca_reconstruction_mistakes(capsys, wrong, hint):
    returned, out = _verdict(capsys, ae.checks.pca_reconstruction, wrong)
    assert "✗ pca_reconstruction" in out and hint in out
    assert returned is ch02._reconstruction_reference


def test_pca_reconstruction_success_and_missing(capsys):
    returned, out = _verdict(capsys, ae.checks.pca_reconstruction, good_reconstruction)
    assert "✓ pca_reconstruction: correct" in out and returned is good_reconstruction

    def stub(x, components, mean):
        raise NotImplementedError("hint: centre, project, map back")

    returned, out = _verdict(capsys, ae.checks.pca_reconstruction, stub)
    assert "not attempted yet" in out and "centre, project, map back" in out
    assert returned is ch02._reconstruction_reference


def test_pca_reconstruction_reference_agrees_with_ae_pca():
    x = ae.load_digits().x_train[:200].double()
    pca = ae.PCA(5).fit(x)
    assert torch.allclose(ch02._reconstruction_reference(x, pca.components_, pca.mean_), pca.reconstruct(x))


# -- explained_variance_ratio -------------------------------------------------------------------------

def good_ratio(x, k):
    s = torch.linalg.svdvals(x - x.mean(0))
    return s[:k] ** 2 / (s ** 2).sum()


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, k: (torch.linalg.svdvals(x) ** 2 / (torch.linalg.svdvals(x) ** 2).sum())[:k], "forgot to centre"),
    (lambda x, k: (torch.linalg.svdvals(x - x.mean(0)) / torch.linalg.svdvals(x - x.mean(0)).sum())[:k],
     "square them"),
    (lambda x, k: good_ratio(x, k) / good_ratio(x, k).sum(), "not only the top k"),
    (lambda x, k: good_ratio(x, x.shape[1])[-k:], "smallest components"),
    (lambda x, k: good_ratio(x, k + 1), "wrong shape"),
])
def test_explained_variance_ratio_mistakes(capsys, wrong, hint):
    returned, out = _verdict(capsys, ae.checks.explained_variance_ratio, wrong)
    assert "✗ explained_variance_ratio" in out and hint in out
    assert returned is ch02._variance_reference


def test_explained_variance_ratio_success_and_missing(capsys):
    returned, out = _verdict(capsys, ae.checks.explained_variance_ratio, good_ratio)
    assert "✓ explained_variance_ratio" in out and returned is good_ratio

    def stub(x, k):
        raise NotImplementedError

    returned, out = _verdict(capsys, ae.checks.explained_variance_ratio, stub)
    assert "not attempted yet" in out and returned is ch02._variance_reference


def test_explained_variance_ratio_reference_agrees_with_ae_pca():
    x = ae.load_digits().x_train.double()
    assert torch.allclose(ch02._variance_reference(x, 4), ae.PCA(4).fit(x).explained_variance_ratio_)


# -- subspace_cosines ---------------------------------------------------------------------------------

def good_cosines(a, b):
    return torch.linalg.svdvals(torch.linalg.qr(a).Q.T @ torch.linalg.qr(b).Q)


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: torch.linalg.svdvals(a.T @ b), "orthonormalise both bases"),
    (lambda a, b: ((a * b).sum(0) / (a.norm(dim=0) * b.norm(dim=0))).abs().sort(descending=True).values,
     "one by one"),
    (lambda a, b: torch.linalg.svdvals(torch.linalg.qr(a.T).Q.T @ torch.linalg.qr(b.T).Q), "transposed"),
    (lambda a, b: good_cosines(a, b).flip(0), "descending order"),
    (lambda a, b: torch.arccos(good_cosines(a, b).clamp(max=1)), "the values differ"),  # angles, not cosines
])
def test_subspace_cosines_mistakes(capsys, wrong, hint):
    returned, out = _verdict(capsys, ae.checks.subspace_cosines, wrong)
    assert "✗ subspace_cosines" in out and hint in out
    assert returned is ch02._cosine_reference


def test_subspace_cosines_success_and_missing(capsys):
    returned, out = _verdict(capsys, ae.checks.subspace_cosines, good_cosines)
    assert "✓ subspace_cosines" in out and returned is good_cosines

    def stub(a, b):
        raise NotImplementedError("use torch.linalg.qr")

    returned, out = _verdict(capsys, ae.checks.subspace_cosines, stub)
    assert "not attempted yet" in out and "torch.linalg.qr" in out
    assert returned is ch02._cosine_reference


def test_subspace_cosines_reference_agrees_with_principal_angles():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(20, 4, generator=g, dtype=torch.float64), torch.randn(20, 4, generator=g, dtype=torch.float64)
    assert torch.allclose(ch02._cosine_reference(a, b), torch.cos(ae.principal_angles(a, b)))
