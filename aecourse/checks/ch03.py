"""Exercise checks of chapter 03: the penalties that stop an overcomplete autoencoder from
learning the identity. Each reference is the package's penalty with strength 1."""
from __future__ import annotations

import torch

from .. import losses
from ._core import Mistake, check

__all__ = ["l1_activity", "kl_sparsity", "contractive_penalty"]


def _codes(g: torch.Generator, n: int = 16, k: int = 6) -> torch.Tensor:
    """Sigmoid-like codes in (0, 1), shape (n, k)."""
    return torch.sigmoid(2 * torch.randn(n, k, generator=g, dtype=torch.float64))


def _signed_codes(g: torch.Generator) -> tuple:
    return (torch.randn(16, 6, generator=g, dtype=torch.float64),)


def l1_activity(learner):
    """Check ``l1_activity(z)``: mean over images of Σⱼ |zⱼ| (ReLU or linear codes can be negative)."""
    return check(
        "l1_activity", learner, lambda z: losses.l1_activity(z), _signed_codes,
        mistakes=[
            Mistake("take the absolute value: the L1 norm is Σⱼ |zⱼ|, and codes can be negative.",
                    lambda z: z.sum(dim=-1).mean()),
            Mistake("that is the squared (L2) penalty Σⱼ zⱼ²; the L1 penalty uses |zⱼ|.",
                    lambda z: z.pow(2).sum(dim=-1).mean()),
            Mistake("you averaged over code units too: sum over the units of an image, then average over images.",
                    lambda z: z.abs().mean()),
            Mistake("you summed over images: the course reports penalties per image (mean over the batch).",
                    lambda z: z.abs().sum()),
        ])


def kl_sparsity(learner):
    """Check ``kl_sparsity(z, rho)``: Σⱼ KL(ρ ‖ ρ̂ⱼ) with ρ̂ⱼ the mean activation of unit j over the batch."""
    def make(g):
        return _codes(g), float(torch.empty(1).uniform_(0.02, 0.3, generator=g))

    def kl(rho, q):
        return rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q))

    return check(
        "kl_sparsity", learner, lambda z, rho: losses.kl_sparsity(z, rho), make,
        mistakes=[
            Mistake("ρ̂ⱼ is the mean activation of unit j over the batch (z.mean(dim=0)), not over the units.",
                    lambda z, rho: kl(rho, z.mean(dim=1)).sum()),
            Mistake("average the activations first, then take the KL: Σⱼ KL(ρ ‖ mean of zⱼ), not the mean of "
                    "per-image KLs.",
                    lambda z, rho: kl(rho, z).sum(dim=1).mean()),
            Mistake("the arguments are swapped: UFLDL's penalty is KL(ρ ‖ ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + "
                    "(1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ)).",
                    lambda z, rho: kl(z.mean(dim=0), torch.as_tensor(rho, dtype=z.dtype)).sum()),
            Mistake("the second term is missing: a Bernoulli KL also has (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ)).",
                    lambda z, rho: (rho * torch.log(rho / z.mean(dim=0))).sum()),
            Mistake("sum the KL over the code units, don't average it.",
                    lambda z, rho: kl(rho, z.mean(dim=0)).mean()),
        ])


def contractive_penalty(learner):
    """Check ``contractive_penalty(z, W)``: mean over images of ‖J_φ(x)‖²_F = Σⱼ (zⱼ(1 − zⱼ))² Σᵢ Wⱼᵢ²."""
    def make(g):
        return _codes(g, 8, 5), torch.randn(5, 7, generator=g, dtype=torch.float64)

    def frob(slope, W):
        return (slope @ W.pow(2).sum(dim=1)).mean()

    return check(
        "contractive_penalty", learner, lambda z, W: losses.contractive_penalty(z, W), make,
        mistakes=[
            Mistake("square the sigmoid's slope too: ‖J‖²_F = Σⱼ (zⱼ(1 − zⱼ))² Σᵢ Wⱼᵢ², every Jacobian entry "
                    "zⱼ(1 − zⱼ) Wⱼᵢ is squared.",
                    lambda z, W: frob(z * (1 - z), W)),
            Mistake("the σ' factor is missing: ∂zⱼ/∂xᵢ = zⱼ(1 − zⱼ) Wⱼᵢ for a sigmoid layer, not Wⱼᵢ alone.",
                    lambda z, W: W.pow(2).sum() + 0 * z.sum()),
            Mistake("σ'(a) = σ(a)(1 − σ(a)) = zⱼ(1 − zⱼ), not zⱼ itself.",
                    lambda z, W: frob(z.pow(2), W)),
            Mistake("you summed over images: report the penalty per image (mean over the batch).",
                    lambda z, W: len(z) * frob((z * (1 - z)).pow(2), W)),
        ])

