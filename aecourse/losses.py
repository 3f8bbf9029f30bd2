"""Losses, reported per image: summed over pixels (or latent units), averaged over images.

That is the unit the papers report (Hinton & Salakhutdinov 2006 give squared error per image,
Kingma & Welling 2013 nats per image), so the course's numbers can be compared with theirs.
Every function names the equation it implements.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["squared_error", "cross_entropy", "gaussian_kl"]


def _same_shape(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(
            f"reconstruction has shape {tuple(x_hat.shape)} but the input has shape {tuple(x.shape)}; "
            "a decoder must return one value per input feature."
        )


def squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over images of ‖x − x'‖², the seed article's reconstruction error.

    x_hat, x : tensors of shape (n_samples, n_features). Returns a scalar tensor.
    """
    _same_shape(x_hat, x)
    return (x_hat - x).pow(2).sum(dim=-1).mean()


def cross_entropy(x_hat: torch.Tensor, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
    """Mean over images of the Bernoulli cross-entropy −Σᵢ [xᵢ log x'ᵢ + (1 − xᵢ) log(1 − x'ᵢ)].

    The loss Hinton & Salakhutdinov (2006) fine-tune with, and −log p_θ(x|z) of a Bernoulli decoder
    (Kingma & Welling 2013, appendix C.1). Pass ``logits=True`` when ``x_hat`` holds pre-sigmoid
    values: that form is numerically stable.
    """
    _same_shape(x_hat, x)
    if logits:
        per_pixel = F.binary_cross_entropy_with_logits(x_hat, x, reduction="none")
    else:
        per_pixel = F.binary_cross_entropy(x_hat, x, reduction="none")
    return per_pixel.sum(dim=-1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) for every row, in nats.

    Closed form from Kingma & Welling (2013), appendix B:
    −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²).

    mu, logvar : tensors of shape (n_samples, n_latent). Returns a tensor of shape (n_samples,).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but logvar has shape {tuple(logvar.shape)}; they must match.")
    if not bool(torch.isfinite(logvar).all()) or not bool(torch.isfinite(mu).all()):
        raise ValueError(
            "mu or logvar contains NaN or infinite values; the encoder diverged "
            "(lower the learning rate, or clamp logvar)."
        )
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)
