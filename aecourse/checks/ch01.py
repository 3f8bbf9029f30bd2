"""Exercise checks of chapter 01: the encoder equation, the reconstruction error, one backprop step."""
from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from ._core import Mistake, check

__all__ = ["encoder", "reconstruction_error", "output_delta"]


def _encoder_inputs(g: torch.Generator):
    n, d, k = 5, 7, 3  # d != k, so a transposed weight cannot go unnoticed
    return torch.rand(n, d, generator=g), torch.randn(k, d, generator=g), torch.randn(k, generator=g)


def encoder(learner: Callable) -> Callable:
    """Check ``encode(x, W, b)`` = σ(x Wᵀ + b) for a batch x (n, d), W (k, d), b (k,)."""
    return check(
        "encode(x, W, b)", learner, lambda x, W, b: torch.sigmoid(x @ W.T + b), _encoder_inputs,
        mistakes=[
            Mistake("the bias b is missing: z = σ(x Wᵀ + b).", lambda x, W, b: torch.sigmoid(x @ W.T)),
            Mistake("the nonlinearity σ is missing: apply torch.sigmoid to x Wᵀ + b.", lambda x, W, b: x @ W.T + b),
            Mistake("σ here is the logistic sigmoid, not a ReLU.", lambda x, W, b: torch.relu(x @ W.T + b)),
            Mistake("σ here is the logistic sigmoid, not tanh.", lambda x, W, b: torch.tanh(x @ W.T + b)),
            Mistake("the bias belongs inside σ: σ(x Wᵀ + b), not σ(x Wᵀ) + b.",
                    lambda x, W, b: torch.sigmoid(x @ W.T) + b),
        ],
    )


def _error_inputs(g: torch.Generator):
    return torch.rand(6, 10, generator=g), torch.rand(6, 10, generator=g)


def _reference_error(xh, x):
    return (xh - x).pow(2).sum(1).mean()


_KEEP_THE_TENSOR = ("don't call .item(), float() or .detach(); autograd needs the tensor "
                    "(the next cells call loss.backward()).")


def _autograd_hint(learner: Callable) -> str | None:
    """None when ``learner`` returns a 0-dim tensor that carries a gradient when x_hat does; else a hint."""
    xh, x = _error_inputs(torch.Generator().manual_seed(1))
    xh = (xh.clone().requires_grad_()) * 1.0  # a non-leaf, like a model's output
    try:
        with warnings.catch_warnings():  # float() of a tensor that requires grad warns; the hint says more
            warnings.simplefilter("ignore", UserWarning)
            got = learner(xh, x)
    except Exception as exc:
        return f"your function raised {type(exc).__name__} when x_hat requires a gradient: {exc}. " + _KEEP_THE_TENSOR
    if not isinstance(got, torch.Tensor):
        return f"your function returned a {type(got).__name__}, not a scalar tensor: " + _KEEP_THE_TENSOR
    if got.dim() != 0:
        return f"your result has shape {tuple(got.shape)}; it should be a 0-dim (scalar) tensor."
    if not got.requires_grad:
        return "your result carries no gradient although x_hat does: " + _KEEP_THE_TENSOR
    return None


def reconstruction_error(learner: Callable) -> Callable:
    """Check ``reconstruction_error(x_hat, x)`` = mean over images of Σ_pixels (x' − x)², returned as a
    0-dim tensor that carries the gradient of x_hat (later cells call ``.backward()`` on it).
    """
    return check(
        "reconstruction_error(x_hat, x)", learner, _reference_error, _error_inputs,
        mistakes=[
            Mistake("you averaged over the pixels too: sum over the pixels of each image, then average over "
                    "images.", lambda xh, x: (xh - x).pow(2).mean()),
            Mistake("you summed over the images too: average over the images (the error is per image).",
                    lambda xh, x: (xh - x).pow(2).sum()),
            Mistake("the square is missing: use (x_hat - x) ** 2.", lambda xh, x: (xh - x).abs().sum(1).mean()),
            Mistake("that is the norm ‖x − x'‖, not its square: drop the square root.",
                    lambda xh, x: (xh - x).norm(dim=1).mean()),
            Mistake("the differences are not squared, so positive and negative errors cancel.",
                    lambda xh, x: (xh - x).sum(1).mean()),
        ],
        validate=_autograd_hint,
    )


def _delta_inputs(g: torch.Generator):
    x_hat = torch.rand(4, 6, generator=g) * 0.98 + 0.01
    return x_hat, torch.rand(4, 6, generator=g)


def output_delta(learner: Callable) -> Callable:
    """Check ``output_delta(x_hat, x)`` = ∂L/∂a' for L = mean_n Σ (x' − x)², x' = σ(a'):
    2 (x' − x) ⊙ x'(1 − x') / n.
    """
    def reference(xh, x):
        return 2 * (xh - x) * xh * (1 - xh) / len(x)

    return check(
        "output_delta(x_hat, x)", learner, reference, _delta_inputs,
        mistakes=[
            Mistake("the sigmoid's derivative is missing: multiply by σ'(a') = x'(1 − x').",
                    lambda xh, x: 2 * (xh - x) / len(x)),
            Mistake("the 1/n of the mean over images is missing.", lambda xh, x: 2 * (xh - x) * xh * (1 - xh)),
            Mistake("the factor 2 from differentiating the square is missing.",
                    lambda xh, x: (xh - x) * xh * (1 - xh) / len(x)),
            Mistake("the sign is flipped: L grows with x' − x, so ∂L/∂x' = +2 (x' − x)/n.",
                    lambda xh, x: 2 * (x - xh) * xh * (1 - xh) / len(x)),
            Mistake("σ'(a') is x'(1 − x'), written with the output x', not the target x.",
                    lambda xh, x: 2 * (xh - x) * x * (1 - x) / len(x)),
        ],
    )
