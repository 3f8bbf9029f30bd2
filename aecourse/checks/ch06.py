"""Exercise checks of chapter 06: the RBM's free energy and one CD-1 weight update."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..rbm import contrastive_divergence, free_energy
from ._core import Mistake, check

__all__ = ["rbm_free_energy", "cd1_weight_update"]


def _rbm_inputs(g: torch.Generator, batch: int = 5, n_visible: int = 7, n_hidden: int = 4):
    v = (torch.rand(batch, n_visible, generator=g) < 0.5).double()
    w = 0.5 * torch.randn(n_visible, n_hidden, generator=g, dtype=torch.float64)
    b = torch.randn(n_visible, generator=g, dtype=torch.float64)
    c = torch.randn(n_hidden, generator=g, dtype=torch.float64)
    return v, w, b, c


def rbm_free_energy(learner):
    """Check ``free_energy(v, W, b, c)`` = −bᵀv − Σⱼ log(1 + exp(cⱼ + vᵀWⱼ)), one value per row.

    v : (batch, n_visible) binary; W : (n_visible, n_hidden); b : (n_visible,); c : (n_hidden,).
    """
    def reference(v, w, b, c):
        return free_energy(v, w, b, c)

    mistakes = [
        Mistake("the visible bias term is missing: F(v) starts with −bᵀv (v @ b).",
                lambda v, w, b, c: -F.softplus(v @ w + c).sum(1)),
        Mistake("the hidden biases c belong inside the softplus: log(1 + exp(c + vW)).",
                lambda v, w, b, c: -v @ b - F.softplus(v @ w).sum(1)),
        Mistake("both terms carry a minus sign: F(v) = −bᵀv − Σ softplus(...); "
                "a low free energy means a probable v.",
                lambda v, w, b, c: -v @ b + F.softplus(v @ w + c).sum(1)),
        Mistake("summing over the hidden units uses log(1 + exp(x)) (softplus), not the sigmoid.",
                lambda v, w, b, c: -v @ b - torch.sigmoid(v @ w + c).sum(1)),
        Mistake("sum over the hidden units only (dim=1): return one free energy per row of v.",
                lambda v, w, b, c: (-v @ b - F.softplus(v @ w + c).sum(1)).sum()),
        Mistake("the factor exp(c + vW) must be inside log(1 + ·): log(1 + exp(x)), not x alone "
                "(that is only its large-x limit).",
                lambda v, w, b, c: -v @ b - (v @ w + c).sum(1)),
    ]
    return check("rbm_free_energy", learner, reference, _rbm_inputs, mistakes)


def _cd1_inputs(g: torch.Generator):
    v, w, b, c = _rbm_inputs(g)
    u = torch.rand(v.shape[0], w.shape[1], generator=g, dtype=torch.float64)  # the random numbers for h0
    return v, w, b, c, u


def _cd1(v0, w, b, c, u, *, sample_with_probs=False, flip_sample=False, positive_states=False, add_negative=False):
    """CD-1 with the random numbers ``u`` given; keyword switches build the typical mistakes."""
    ph0 = torch.sigmoid(v0 @ w + c)                                   # (batch, n_hidden)
    h0 = ph0 if sample_with_probs else ((u > ph0) if flip_sample else (u < ph0)).double()
    pv1 = torch.sigmoid(h0 @ w.T + b)                                 # (batch, n_visible)
    ph1 = torch.sigmoid(pv1 @ w + c)
    if add_negative:
        return (v0.T @ ph0 + pv1.T @ ph1) / v0.shape[0]
    return contrastive_divergence(v0, h0 if positive_states else ph0, pv1, ph1)[0]


def cd1_weight_update(learner):
    """Check ``cd1_weight_update(v0, W, b, c, u)``: the CD-1 estimate ΔW of ∂log p / ∂W.

    ph0 = σ(v0 W + c); h0 = (u < ph0) (a sample, with the uniform numbers u given);
    pv1 = σ(h0 Wᵀ + b); ph1 = σ(pv1 W + c); ΔW = (v0ᵀ ph0 − pv1ᵀ ph1) / batch, shape (n_visible, n_hidden).
    """
    mistakes = [
        Mistake("the result must have the shape of W, (n_visible, n_hidden): compute v0ᵀ ph0, not ph0ᵀ v0.",
                lambda *a: _cd1(*a).T),
        Mistake("the negative phase is subtracted: ΔW = ⟨v h⟩_data − ⟨v h⟩_model.",
                lambda *a: _cd1(*a, add_negative=True)),
        Mistake("divide by the batch size: the update is an average over the batch, not a sum.",
                lambda v0, w, b, c, u: _cd1(v0, w, b, c, u) * v0.shape[0]),
        Mistake("sample h0 with the random numbers: h0 = (u < ph0) as 0/1; the reconstruction is driven by "
                "binary hidden states, not by their probabilities.",
                lambda *a: _cd1(*a, sample_with_probs=True)),
        Mistake("a unit is on with probability ph0, so h0 = (u < ph0), not (u > ph0).",
                lambda *a: _cd1(*a, flip_sample=True)),
        Mistake("use the probabilities ph0 (not the sampled states h0) in the positive statistics v0ᵀ ph0: "
                "same expectation, less noise.",
                lambda *a: _cd1(*a, positive_states=True)),
    ]
    return check("cd1_weight_update", learner, _cd1, _cd1_inputs, mistakes)
