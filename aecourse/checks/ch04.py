"""Exercise checks of chapter 04: two corruptions and the denoising loss.

A corruption is random, so it cannot be compared with the reference value by value. Its check runs
the learner's function on large tensors and tests what must hold for any draw: the input is left
untouched, the output keeps shape and dtype, every entry is either the clean value or a corrupted
one, the corrupted fraction is close to p (not 1 − p), and every call draws fresh noise.
The denoising loss (the cross-entropy between the clean x and the reconstruction of x̃) is
deterministic and is checked value by value with ``_core.check``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..corrupt import masking_noise as _masking_reference
from ..corrupt import salt_and_pepper as _salt_and_pepper_reference
from ..losses import cross_entropy, squared_error
from ..models import Autoencoder
from ._core import Mistake, check

__all__ = ["masking_noise", "salt_and_pepper", "denoising_loss"]

_SHAPE = (400, 784)        # 313,600 entries: the standard error of a fraction is below 0.001
_TOLERANCE = 0.01          # allowed |measured fraction − p|, more than 10 standard errors
_LEVELS = (0.1, 0.3, 0.75)


def _fail(name: str, hint: str) -> None:
    print(f"✗ {name}: {hint}\n  Using the reference solution so the rest of the notebook runs.")


def _clean_input(seed: int) -> torch.Tensor:
    # values strictly inside (0.1, 0.9): an entry set to 0 or 1 is visibly corrupted
    return 0.1 + 0.8 * torch.rand(_SHAPE, generator=torch.Generator().manual_seed(seed))


def _run(name: str, learner: Callable, x: torch.Tensor, p: float):
    """The learner's output on ``x``, or None after printing a hint (never a traceback)."""
    before = x.clone()
    try:
        y = learner(x, p)
    except NotImplementedError as exc:
        hint = str(exc) or "replace the `raise NotImplementedError` line with your code."
        print(f"✗ {name}: not attempted yet. Hint: {hint}\n  Using the reference solution so the rest of the notebook runs.")
        return None
    except Exception as exc:  # the learner's bug: say what happened, without a traceback
        _fail(name, f"your function raised {type(exc).__name__}: {exc}")
        return None
    if not torch.equal(x, before):
        _fail(name, "your function modified its input in place; the clean x must stay clean (the loss "
                    "compares with it). Work on a copy: build a new tensor, e.g. with torch.where(...) or x * mask.")
        return None
    if not isinstance(y, torch.Tensor):
        _fail(name, f"your function returned a {type(y).__name__}; it should return a tensor.")
        return None
    if y.shape != x.shape:
        _fail(name, f"wrong shape: your result has shape {tuple(y.shape)}, the input {tuple(x.shape)}; draw one "
                    "random number per entry, e.g. torch.rand(x.shape) or torch.rand_like(x).")
        return None
    if y.dtype != x.dtype:
        _fail(name, f"your result has dtype {y.dtype} but the input {x.dtype}; keep the input's dtype "
                    "(a boolean mask must be converted, or use torch.where).")
        return None
    return y


def _corruption_check(name: str, learner: Callable, reference: Callable, corrupted_values: tuple[float, ...],
                      what: str) -> Callable:
    """Shared statistical check of a corruption that replaces entries by one of ``corrupted_values``."""
    for i, p in enumerate(_LEVELS):
        x = _clean_input(i)
        y = _run(name, learner, x, p)
        if y is None:
            return reference
        corrupted_value = torch.zeros_like(y, dtype=torch.bool)
        for v in corrupted_values:
            corrupted_value |= y == v
        kept = y == x
        if not bool((kept | corrupted_value).all()):
            bad = y[~(kept | corrupted_value)]
            _fail(name, f"{bad.numel()} entries are neither the clean value nor {what} (e.g. {float(bad[0]):.3g}); "
                        "a corrupted entry is replaced, not changed by a little, and the others stay exactly as they were.")
            return reference
        fraction = corrupted_value.double().mean().item()
        if fraction == 0:
            _fail(name, f"with p = {p} nothing was corrupted; set the chosen entries to {what}.")
            return reference
        columns = corrupted_value.double().mean(dim=0)
        if bool(((columns == 0) | (columns == 1)).all()):
            _fail(name, "the same pixels are corrupted in every image; draw a random number per entry "
                        "(torch.rand(x.shape)), not one per pixel position shared by the whole batch.")
            return reference
        if abs(fraction - p) <= _TOLERANCE:
            pass
        elif abs(fraction - (1 - p)) <= _TOLERANCE:
            _fail(name, f"with p = {p} you corrupted a fraction {fraction:.3f} = 1 − p of the entries; p is the "
                        "fraction to destroy, so corrupt where torch.rand(...) < p (not >= p).")
            return reference
        else:
            _fail(name, f"with p = {p} you corrupted a fraction {fraction:.3f} of the entries instead of about {p}; "
                        "each entry should be corrupted independently with probability p.")
            return reference
        if len(corrupted_values) == 2:
            high = (y == corrupted_values[1]).double().sum() / corrupted_value.double().sum()
            if not abs(high.item() - 0.5) <= 0.03:
                _fail(name, f"{high.item():.0%} of the corrupted entries are {corrupted_values[1]:g} (salt) instead of "
                            f"about half; flip a fair coin for each corrupted entry: {corrupted_values[0]:g} or "
                            f"{corrupted_values[1]:g}.")
                return reference
        again = _run(name, learner, x, p)
        if again is None:
            return reference
        if torch.equal(y, again):
            _fail(name, "two calls gave exactly the same corruption; a denoising autoencoder needs fresh noise at "
                        "every call (don't seed a generator inside the function).")
            return reference
    for p, expected in ((0.0, "x unchanged"), (1.0, "every entry corrupted")):
        x = _clean_input(9)
        y = _run(name, learner, x, p)
        if y is None:
            return reference
        fraction = (y != x).double().mean().item()
        if (p == 0.0 and fraction != 0.0) or (p == 1.0 and fraction != 1.0):
            _fail(name, f"with p = {p:g} the result should be {expected}, but a fraction {fraction:.3f} of the entries "
                        "changed; compare the uniform numbers with p using <.")
            return reference
    print(f"✓ {name}: input untouched, values in range, corrupted fraction within {_TOLERANCE} of p "
          f"for p in {_LEVELS}, fresh noise every call.")
    return learner


def masking_noise(learner: Callable) -> Callable:
    """Check ``masking_noise(x, p)``: each entry set to 0 with probability p, input untouched."""
    return _corruption_check("masking_noise", learner, _masking_reference, (0.0,), "0")


def salt_and_pepper(learner: Callable) -> Callable:
    """Check ``salt_and_pepper(x, p)``: each entry, with probability p, set to 0 or 1 by a fair coin."""
    return _corruption_check("salt_and_pepper", learner, _salt_and_pepper_reference, (0.0, 1.0), "0 or 1")


def _denoising_loss_reference(model, x_tilde, x):
    return cross_entropy(model(x_tilde), x)


def _tiny_model(generator: torch.Generator) -> Autoencoder:
    model = Autoencoder([20, 6])
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return model


def _denoising_inputs(generator: torch.Generator):
    x = torch.rand(8, 20, generator=generator)
    x_tilde = x * (torch.rand(8, 20, generator=generator) >= 0.3)  # masked with p = 0.3
    return _tiny_model(generator), x_tilde, x


_DENOISING_MISTAKES = [
    Mistake("you compared the reconstruction with the corrupted input x̃; a denoising autoencoder is "
            "scored against the clean x: L(x, ψ(φ(x̃))).",
            lambda model, x_tilde, x: cross_entropy(model(x_tilde), x_tilde)),
    Mistake("you reconstructed the clean x; the model must be fed the corrupted x̃ (otherwise it is a plain "
            "autoencoder).",
            lambda model, x_tilde, x: cross_entropy(model(x), x)),
    Mistake("you swapped the two arguments: the reconstruction x' comes first and the clean target x second, "
            "binary_cross_entropy(x_prime, x), i.e. −Σ [x log x' + (1 − x) log(1 − x')].",
            lambda model, x_tilde, x: cross_entropy(x, model(x_tilde))),
    Mistake("you averaged over pixels too (the default reduction='mean' does that); the course's loss sums over "
            "the pixels of an image and averages over images: reduction='none', then .sum(dim=1).mean().",
            lambda model, x_tilde, x: F.binary_cross_entropy(model(x_tilde), x)),
    Mistake("you summed over the images too; average the per-image cross-entropy over the batch: "
            ".sum(dim=1).mean().",
            lambda model, x_tilde, x: F.binary_cross_entropy(model(x_tilde), x, reduction="sum")),
    Mistake("you wrote the squared error; this chapter trains with the cross-entropy −Σ [x log x' + (1 − x) "
            "log(1 − x')], as Vincent et al. do for pixel intensities in [0, 1].",
            lambda model, x_tilde, x: squared_error(model(x_tilde), x)),
    Mistake("you lost the minus sign: the cross-entropy is −Σ [x log x' + (1 − x) log(1 − x')], a positive "
            "number to minimise.",
            lambda model, x_tilde, x: -cross_entropy(model(x_tilde), x)),
]


def denoising_loss(learner: Callable) -> Callable:
    """Check ``denoising_loss(model, x_tilde, x)`` = mean over images of the cross-entropy H(x, ψ(φ(x̃)))."""
    return check("denoising_loss", learner, _denoising_loss_reference, _denoising_inputs, _DENOISING_MISTAKES)
