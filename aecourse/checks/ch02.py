"""Exercise checks of chapter 02 (linear autoencoders are PCA).

Each check runs the learner's function and a reference on fresh random data and names the typical
mistake when the answer is wrong: a forgotten mean, a transposed matrix, an unsquared singular value.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import Mistake, check

__all__ = ["pca_reconstruction", "explained_variance_ratio", "subspace_cosines"]


def _orthonormal_rows(k: int, d: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
    return q.T  # (k, d), orthonormal rows like PCA.components_


def _data_with_a_mean(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """Correlated data far from the origin, so that forgetting to centre changes the answer."""
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    offset = 3 * torch.rand(d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + offset


# -- exercise 1: PCA reconstruction from the components and the mean ---------------------------------

def _reconstruction_inputs(g: torch.Generator):
    x = _data_with_a_mean(12, 6, g)
    mean = x.mean(dim=0) + 0.5 * torch.randn(6, generator=g, dtype=torch.float64)  # the training data's mean
    return x, _orthonormal_rows(3, 6, g), mean


def _reconstruction_reference(x, components, mean):
    return (x - mean) @ components.T @ components + mean  # (n, d) -> (n, k) -> (n, d)


def pca_reconstruction(fn: Callable) -> Callable:
    """Check ``fn(x, components, mean)`` -> x' = (x − mean) VₖVₖᵀ + mean, with components = Vₖᵀ (k, d)."""
    mistakes = [
        Mistake("you forgot to centre: subtract the mean from x before projecting onto the components.",
                lambda x, v, m: x @ v.T @ v),
        Mistake("the mean is subtracted but never added back: x' = (x − mean) VₖVₖᵀ + mean.",
                lambda x, v, m: (x - m) @ v.T @ v),
        Mistake("use the mean you are given (the training data's), not x.mean(0): new data are projected "
                "around the mean PCA was fitted with.",
                lambda x, v, m: (x - x.mean(0)) @ v.T @ v + x.mean(0)),
        Mistake("you returned the code z = (x − mean) Vₖ, of shape (n, k); map it back to pixels with z Vₖᵀ + mean "
                "(components is Vₖᵀ).",
                lambda x, v, m: (x - m) @ v.T),
        Mistake("you returned the residual x − x' (what PCA throws away), not the reconstruction x'.",
                lambda x, v, m: x - ((x - m) @ v.T @ v + m)),
    ]
    return check("pca_reconstruction", fn, _reconstruction_reference, _reconstruction_inputs, mistakes)


# -- exercise 2: the explained variance ratio -------------------------------------------------------

def _variance_inputs(g: torch.Generator):
    return _data_with_a_mean(40, 8, g), int(torch.randint(2, 5, (1,), generator=g))


def _variance_reference(x, k):
    s = torch.linalg.svdvals(x - x.mean(dim=0))
    variance = s.pow(2)  # proportional to the covariance's eigenvalues; the 1/(n-1) cancels in the ratio
    return variance[:k] / variance.sum()


def explained_variance_ratio(fn: Callable) -> Callable:
    """Check ``fn(x, k)`` -> the fraction of the total variance along each of the top ``k`` components."""

    def uncentred(x, k):
        s = torch.linalg.svdvals(x).pow(2)
        return s[:k] / s.sum()

    def unsquared(x, k):
        s = torch.linalg.svdvals(x - x.mean(dim=0))
        return s[:k] / s.sum()

    def top_k_total(x, k):
        s = torch.linalg.svdvals(x - x.mean(dim=0)).pow(2)
        return s[:k] / s[:k].sum()

    def ascending(x, k):
        return _variance_reference(x, x.shape[1])[-k:]

    mistakes = [
        Mistake("you forgot to centre x: the variance is measured around the mean, so use x − x.mean(0).", uncentred),
        Mistake("the singular values are standard deviations (times √(n−1)); square them to get variances.",
                unsquared),
        Mistake("divide by the total variance of all components, not only the top k (the ratios then sum to 1).",
                top_k_total),
        Mistake("you took the smallest components: torch.linalg.svdvals returns singular values in descending "
                "order, so the top k are the first k.", ascending),
    ]
    return check("explained_variance_ratio", fn, _variance_reference, _variance_inputs, mistakes)


# -- exercise 3: cosines of the principal angles ----------------------------------------------------

def _cosine_inputs(g: torch.Generator):
    d, p = 7, 3
    a = torch.randn(d, p, generator=g, dtype=torch.float64) * torch.rand(p, generator=g, dtype=torch.float64).add(0.5)
    b = torch.randn(d, p, generator=g, dtype=torch.float64) * torch.rand(p, generator=g, dtype=torch.float64).add(0.5)
    return a, b


def _cosine_reference(a, b):
    qa, _ = torch.linalg.qr(a)
    qb, _ = torch.linalg.qr(b)
    return torch.linalg.svdvals(qa.T @ qb)  # descending cosines of the principal angles


def subspace_cosines(fn: Callable) -> Callable:
    """Check ``fn(a, b)`` -> cosines of the principal angles between the column spaces of a and b, descending."""

    def not_orthonormalised(a, b):
        return torch.linalg.svdvals(a.T @ b)

    def column_by_column(a, b):
        cos = (a * b).sum(0) / (a.norm(dim=0) * b.norm(dim=0))
        return cos.abs().sort(descending=True).values

    def rows_instead_of_columns(a, b):
        qa, _ = torch.linalg.qr(a.T)
        qb, _ = torch.linalg.qr(b.T)
        return torch.linalg.svdvals(qa.T @ qb)

    def ascending(a, b):
        return _cosine_reference(a, b).flip(0)

    mistakes = [
        Mistake("orthonormalise both bases first (torch.linalg.qr): the singular values of aᵀb mix the angles "
                "with the lengths of the basis vectors.", not_orthonormalised),
        Mistake("you compared the basis vectors one by one; a subspace has many bases, so take the singular values "
                "of QₐᵀQ_b, which do not depend on the basis chosen.", column_by_column),
        Mistake("the bases are the columns of a and b (shape (d, p)); you used the rows (a transposed matrix).",
                rows_instead_of_columns),
        Mistake("return the cosines in descending order (largest first, the smallest angle first), "
                "as torch.linalg.svdvals gives them.", ascending),
    ]
    return check("subspace_cosines", fn, _cosine_reference, _cosine_inputs, mistakes)
