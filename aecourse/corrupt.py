"""Corruption processes for denoising autoencoders (chapter 04).

A denoising autoencoder sees a corrupted x̃ drawn from q(x̃|x) and is trained to give back the
clean x: it minimises L(x, ψ(φ(x̃))) (Vincent et al. 2008, 2010). The three corruptions of
Vincent et al. (2010) are here. Each one

- returns a new tensor and never modifies its input,
- works on any shape and any device (the noise is drawn on ``x``'s device),
- takes an optional ``torch.Generator`` (on ``x``'s device) for reproducible noise; without one
  it draws from torch's global generator, so ``ae.seed_everything`` makes it reproducible.

With ``ae.fit(model, x, corrupt=ae.corruption("masking", 0.25))`` every batch is corrupted
afresh and the loss still compares the reconstruction with the clean batch.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch

from .validate import check_probability, check_tensor

__all__ = ["masking_noise", "gaussian_noise", "salt_and_pepper", "CORRUPTIONS", "corruption"]


def _check_input(x, generator) -> torch.Tensor:
    # any shape (a batch of rows, one image, a (n, 28, 28) stack); floating point and finite
    x = check_tensor(x, "x", ndim=None)
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}.")
        if generator.device.type != x.device.type:
            raise ValueError(
                f"the generator lives on {generator.device} but x on {x.device}; create it there, "
                f"e.g. torch.Generator(device=x.device).manual_seed(0)."
            )
    return x


def _check_range(value_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise TypeError(f"value_range must be a pair (low, high) of numbers, got {value_range!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(f"value_range must be finite with low < high, got ({low}, {high}).")
    return low, high


def _check_sigma(sigma) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigma must be a number, got {type(sigma).__name__}.")
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma is the noise's standard deviation and must be a finite number >= 0, got {sigma}.")
    return sigma


def _uniform(x: torch.Tensor, generator) -> torch.Tensor:
    """One uniform number in [0, 1) per entry of ``x``, on its device and of its dtype."""
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def masking_noise(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Masking noise: every entry of ``x`` is set to 0 independently with probability ``p``.

    Vincent et al. (2010) call it MN: the destroyed pixels carry no information, so the network has
    to fill them in from the pixels that are left. On a large tensor the fraction of entries set to 0
    is close to ``p`` (exactly ``p`` in expectation).

    x : floating-point tensor of any shape. p : probability in [0, 1]. Returns a new tensor.
    """
    x = _check_input(x, generator)
    p = check_probability(p, "p")
    destroyed = _uniform(x, generator) < p
    return torch.where(destroyed, torch.zeros((), dtype=x.dtype, device=x.device), x)


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None,
                   value_range: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """Additive isotropic Gaussian noise x̃ = x + ε, ε ~ N(0, σ² I), clipped to ``value_range``.

    Vincent et al. (2010) call it GS. Clipping keeps x̃ a valid image (pixels in [0, 1] by default),
    which makes the noise slightly smaller than σ near the ends of the range; pass
    ``value_range=None`` for the unclipped x + ε.

    x : floating-point tensor of any shape. sigma : standard deviation >= 0. Returns a new tensor.
    """
    x = _check_input(x, generator)
    sigma = _check_sigma(sigma)
    noisy = x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    if value_range is not None:
        low, high = _check_range(value_range)
        noisy = noisy.clamp(low, high)
    return noisy


def salt_and_pepper(x: torch.Tensor, p: float, generator: torch.Generator | None = None,
                    value_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Salt-and-pepper noise: every entry is, with probability ``p``, set to the minimum or the
    maximum of ``value_range`` (black or white pixels, by a fair coin flip).

    Vincent et al. (2010) call it SP. About a fraction ``p`` of the entries is replaced, half of
    them by ``value_range[0]`` ("pepper") and half by ``value_range[1]`` ("salt"); an entry that
    already held that value looks unchanged.

    x : floating-point tensor of any shape. p : probability in [0, 1]. Returns a new tensor.
    """
    x = _check_input(x, generator)
    p = check_probability(p, "p")
    low, high = _check_range(value_range)
    replaced = _uniform(x, generator) < p
    salt = _uniform(x, generator) < 0.5
    values = torch.where(salt, torch.full((), high, dtype=x.dtype, device=x.device),
                         torch.full((), low, dtype=x.dtype, device=x.device))
    return torch.where(replaced, values, x)


#: The corruptions by name; every one is called as ``fn(x, level, generator=None)``.
CORRUPTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "masking": masking_noise,
    "gaussian": gaussian_noise,
    "salt_and_pepper": salt_and_pepper,
}


def corruption(kind: str, level: float, generator: torch.Generator | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The corruption ``kind`` at a fixed ``level`` as a function of ``x`` alone, for ``ae.fit(corrupt=...)``.

    ``kind`` is ``'masking'`` (level = p), ``'gaussian'`` (level = σ) or ``'salt_and_pepper'``
    (level = p). The level is checked now, so a bad value fails before training starts.
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {', '.join(map(repr, CORRUPTIONS))}.")
    if kind == "gaussian":
        return functools.partial(gaussian_noise, sigma=_check_sigma(level), generator=generator)
    return functools.partial(CORRUPTIONS[kind], p=check_probability(level, "level"), generator=generator)
