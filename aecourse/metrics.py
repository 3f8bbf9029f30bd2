"""How good is a reconstruction, how useful is a code: per-image error, PSNR, linear probes."""
from __future__ import annotations

import numpy as np
import torch

from .validate import check_tensor

__all__ = ["per_image_error", "psnr", "linear_probe", "reconstruct", "encode"]


@torch.no_grad()
def _in_chunks(fn, model: torch.nn.Module, x: torch.Tensor, batch_size: int, what: str) -> torch.Tensor:
    """``fn`` applied to ``x`` in chunks, in evaluation mode, on the model's device; result on ``x``'s device."""
    x = check_tensor(x, "x")
    dev = next(model.parameters()).device
    model.eval()
    parts = []
    for i in range(0, len(x), batch_size):
        out = fn(x[i:i + batch_size].to(dev))
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"{what} returned a {type(out).__name__}, not one tensor; give {type(model).__name__} a "
                            "method that returns the tensor you want (as ae.VAE's reconstruct(x) does).")
        parts.append(out.to(x.device))
    return torch.cat(parts)


def reconstruct(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The reconstructions x', computed without gradients in chunks of ``batch_size``.

    ``model.reconstruct(x)`` where the model defines one (a VAE: σ(decode(μ))), else ``model(x)``.
    """
    if hasattr(model, "reconstruct"):
        return _in_chunks(model.reconstruct, model, x, batch_size, f"{type(model).__name__}.reconstruct(x)")
    return _in_chunks(model, model, x, batch_size, f"{type(model).__name__}(x)")


def encode(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """``model.encode(x)``: the codes z, computed without gradients in chunks of ``batch_size``."""
    return _in_chunks(model.encode, model, x, batch_size, f"{type(model).__name__}.encode(x)")


def per_image_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error ‖x − x'‖² of every image: tensor of shape (n_samples,)."""
    x_hat, x = check_tensor(x_hat, "x_hat"), check_tensor(x, "x")
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat has shape {tuple(x_hat.shape)} but x has shape {tuple(x.shape)}.")
    return (x_hat - x).pow(2).sum(dim=1)


def psnr(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of every image in dB: 10 log₁₀(range² / MSE), shape (n_samples,).

    A perfect reconstruction has infinite PSNR.
    """
    mse = per_image_error(x_hat, x) / x.shape[1]
    return 10 * torch.log10(data_range**2 / mse)


def linear_probe(z_train, y_train, z_test, y_test, max_iter: int = 1000, C: float = 1.0) -> float:
    """Test accuracy of a logistic regression trained on codes: the course's measure of a useful code.

    z_train, z_test : arrays or tensors of shape (n, k); y_train, y_test : labels of shape (n,).
    Codes are standardised with the training split's statistics first.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    def as_numpy(a, name):
        a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        return a

    z_train, z_test = as_numpy(z_train, "z_train"), as_numpy(z_test, "z_test")
    y_train, y_test = as_numpy(y_train, "y_train"), as_numpy(y_test, "y_test")
    if z_train.ndim != 2 or z_test.ndim != 2 or z_train.shape[1] != z_test.shape[1]:
        raise ValueError(f"codes must be 2-D with the same width, got {z_train.shape} and {z_test.shape}.")
    if len(z_train) != len(y_train) or len(z_test) != len(y_test):
        raise ValueError("every code needs exactly one label (lengths differ).")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=C))
    # One BLAS thread: L-BFGS's products here are small (n x k times k x 10, and vectors of k x 10), and
    # OpenBLAS's threads cost more than they give, most of all beside torch's OpenMP threads: a probe on
    # 1,568-number codes took 2.5 s with two threads, 0.65 s with one (benchmarks/README.md).
    with threadpool_limits(limits=1, user_api="blas"):
        clf.fit(z_train, y_train)
        return float(clf.score(z_test, y_test))
