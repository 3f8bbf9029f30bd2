"""Exercise checks of chapter 05 (variational autoencoders): the reparameterisation trick and
the closed-form Gaussian KL term of the ELBO."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import Mistake, check

__all__ = ["reparameterize", "gaussian_kl"]


def _posterior(generator: torch.Generator, n: int = 6, k: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.randn(n, k, generator=generator)
    logvar = torch.randn(n, k, generator=generator) * 1.5  # σ² from about 0.05 to 20: every mistake shows
    return mu, logvar


def _reparameterize_reference(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def reparameterize(learner: Callable) -> Callable:
    """Check ``reparameterize(mu, logvar, eps) -> z = μ + σ ⊙ ε`` with σ = exp(½ log σ²)."""

    def inputs(g):
        mu, logvar = _posterior(g)
        return mu, logvar, torch.randn(mu.shape, generator=g)

    mistakes = [
        Mistake("you used logvar itself as the standard deviation; σ = exp(logvar / 2).",
                lambda mu, logvar, eps: mu + logvar * eps),
        Mistake("exp(logvar) is the variance σ², not the standard deviation; use exp(logvar / 2) (= exp(½ log σ²)).",
                lambda mu, logvar, eps: mu + torch.exp(logvar) * eps),
        Mistake("you took the square root twice: exp(logvar / 4) is √σ; use exp(logvar / 2).",
                lambda mu, logvar, eps: mu + torch.exp(0.25 * logvar) * eps),
        Mistake("the mean is missing: z = μ + σ ⊙ ε, the noise is shifted by μ.",
                lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps),
        Mistake("the noise enters with a plus sign: z = μ + σ ⊙ ε, not μ − σ ⊙ ε.",
                lambda mu, logvar, eps: mu - torch.exp(0.5 * logvar) * eps),
    ]
    return check("reparameterize", learner, _reparameterize_reference, inputs, mistakes)


def _kl_reference(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def gaussian_kl(learner: Callable) -> Callable:
    """Check ``gaussian_kl(mu, logvar)``: KL(N(μ, diag σ²) ‖ N(0, I)) per row, shape (n,)."""

    def inputs(g):
        return _posterior(g)

    mistakes = [
        Mistake("the sign is flipped: KL = −½ Σ (1 + log σ² − μ² − σ²), which is never negative.",
                lambda mu, logvar: 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)),
        Mistake("the factor ½ is missing: KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²).",
                lambda mu, logvar: -(1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)),
        Mistake("you averaged over the latent dimensions; the KL of independent dimensions is their sum "
                "(.sum(dim=1), not .mean(dim=1)).",
                lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean(dim=1)),
        Mistake("return one KL per row, shape (n,): sum over the latent dimensions only (dim=1), "
                "not over the whole batch.",
                lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()),
        Mistake("return one KL per row, shape (n,): sum over the latent dimensions only (dim=1), "
                "then do not average over the batch.",
                lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean()),
        Mistake("σ² is exp(logvar): you used logvar where the variance σ² belongs.",
                lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar).sum(dim=1)),
        Mistake("you used the standard deviation exp(logvar / 2) where the variance σ² = exp(logvar) belongs.",
                lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - torch.exp(0.5 * logvar)).sum(dim=1)),
        Mistake("the constant 1 inside the sum is missing: −½ Σ (1 + log σ² − μ² − σ²).",
                lambda mu, logvar: -0.5 * (logvar - mu.pow(2) - logvar.exp()).sum(dim=1)),
        Mistake("μ enters squared: −½ Σ (1 + log σ² − μ² − σ²).",
                lambda mu, logvar: -0.5 * (1 + logvar - mu - logvar.exp()).sum(dim=1)),
    ]
    return check("gaussian_kl", learner, _kl_reference, inputs, mistakes)
