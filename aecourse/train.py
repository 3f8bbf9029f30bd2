"""``fit``: the one training loop of the course, for every gradient-trained model.

Chapter 01 writes the seed's algorithm by hand (feed forward, measure the deviation,
backpropagate, update); this is the same four steps with the care a real loop needs:
data kept on the device and batched by indexing, a progress bar, validation, corruption for
denoising, and a model that is never lost to a NaN or a Ctrl-C.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from . import config, losses
from .validate import all_finite, check_positive_int, check_tensor

__all__ = ["fit", "History", "TrainingDiverged"]

#: ``loss(model, x_in, x)`` (or ``loss(model, x_in, x, y)`` when labels are given) returns a scalar
#: tensor, or a dict of scalar tensors whose ``"loss"`` entry is minimised (the others are logged).
LossFn = Callable[..., "torch.Tensor | dict[str, torch.Tensor]"]

_NAMED_LOSSES: dict[str, LossFn] = {
    "mse": lambda model, x_in, x: losses.squared_error(model(x_in), x),
    "bce": lambda model, x_in, x: losses.cross_entropy(model(x_in), x),
}
_DEFAULT_LR = {"adam": 1e-3, "sgd": 0.1, "lbfgs": 1.0}


@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch.

    ``train_loss`` is the mean loss per image over the epoch's batches; ``val_loss`` the loss on
    the validation data after the epoch; ``terms``/``val_terms`` every term a multi-term loss
    returned (e.g. ``recon`` and ``kl`` for a VAE).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    val_terms: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    samples_per_s: list[float] = field(default_factory=list)
    interrupted: bool = False
    best_epoch: int | None = None  # with early stopping: the (1-based) epoch whose weights the model holds

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def __repr__(self) -> str:
        if not self.train_loss:
            return "History(no completed epoch)"
        parts = [f"{self.epochs} epochs", f"train loss {self.train_loss[0]:.4g} -> {self.train_loss[-1]:.4g}"]
        if self.val_loss:
            parts.append(f"val loss {self.val_loss[-1]:.4g}")
        parts.append(f"{sum(self.seconds):.1f} s, {self.samples_per_s[-1]:,.0f} samples/s")
        if self.best_epoch is not None:
            parts.append(f"best epoch {self.best_epoch}")
        if self.interrupted:
            parts.append("interrupted")
        return "History(" + ", ".join(parts) + ")"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite. ``.history`` holds the epochs completed before that."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


def _terms(output) -> dict[str, torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return {"loss": output}
    if isinstance(output, dict) and "loss" in output:
        return output
    raise TypeError("a loss function must return a scalar tensor or a dict with a 'loss' entry, "
                    f"got {type(output).__name__}.")


def _read(terms: dict[str, torch.Tensor]) -> dict[str, float]:
    """The loss terms as numbers, copied to the host together: on a GPU, one wait however many terms.

    One term is read with ``.item()`` (0.4 µs, against 6–8 µs for stack + tolist on the CPU). The
    terms are moved to the loss's device first: a 0-dim CPU term, which CUDA adds to device tensors,
    may mix in.
    """
    scalars = [t.detach().reshape(()).to(terms["loss"].device) for t in terms.values()]
    if len(scalars) == 1:
        return {name: scalars[0].item() for name in terms}
    return dict(zip(terms, torch.stack(scalars).tolist()))


def _make_optimizer(optimizer, params, lr, weight_decay) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name not in _DEFAULT_LR:
            raise ValueError(f"unknown optimizer {optimizer!r}; use 'adam', 'sgd' (steepest descent), 'lbfgs', "
                             "a torch.optim.Optimizer, or a function params -> optimizer.")
        lr = _DEFAULT_LR[name] if lr is None else lr
        if name == "adam":
            return _adam(params, lr, weight_decay)
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
        if weight_decay:
            raise ValueError("L-BFGS has no weight_decay; add an L2 penalty to the loss instead.")
        return torch.optim.LBFGS(params, lr=lr, max_iter=20, line_search_fn="strong_wolfe")
    if callable(optimizer):
        return optimizer(params)
    raise TypeError(f"optimizer must be a name, a torch.optim.Optimizer or a callable, got {type(optimizer).__name__}.")


def _adam(params, lr: float, weight_decay: float) -> torch.optim.Adam:
    """Adam, fused into one kernel per parameter where the device has one (CPU and CUDA do).

    The same update as ``torch.optim.Adam``'s default; on the CPU its default is the slow
    one-tensor-at-a-time path, which costs as much as the forward and backward passes of a
    784-1000-500-250-30 autoencoder at batch 100 (benchmarks/RESULTS.md, section fit).
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except RuntimeError:  # a device or dtype without fused kernels
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _all_finite(model: nn.Module) -> bool:
    return all(all_finite(p.detach()) for p in model.parameters())


@torch.no_grad()
def _evaluate(model, loss_fn, x, y, batch_size) -> dict[str, float]:
    """Loss terms on ``x`` (no corruption), averaged per image over chunks of ``batch_size``."""
    sums: dict[str, float] = {}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        args = (model, xb, xb) if y is None else (model, xb, xb, y[start:start + batch_size])
        for name, value in _read(_terms(loss_fn(*args))).items():
            sums[name] = sums.get(name, 0.0) + value * len(xb)
    return {name: total / len(x) for name, total in sums.items()}


def fit(
    model: nn.Module,
    x: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    epochs: int = 10,
    batch_size: int | None = 100,
    loss: str | LossFn = "mse",
    optimizer="adam",
    lr: float | None = None,
    weight_decay: float = 0.0,
    corrupt: Callable[[torch.Tensor], torch.Tensor] | None = None,
    val: torch.Tensor | None = None,
    val_y: torch.Tensor | None = None,
    early_stopping: int | None = None,
    callback: Callable[[nn.Module, History], bool | None] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train ``model`` to reconstruct ``x``; return the per-epoch :class:`History`.

    Parameters
    ----------
    model : nn.Module
        Any autoencoder; it is moved to ``device`` and trained in place.
    x : tensor of shape (n_samples, n_features)
        Training data. It is moved to ``device`` once and batched by indexing.
    y : tensor of shape (n_samples,), optional
        Labels batched alongside ``x`` and passed to ``loss`` (conditional models).
    epochs : int
        Passes over the data.
    batch_size : int or None
        Images per update; None means full batch (for L-BFGS and conjugate gradient).
    loss : ``'mse'``, ``'bce'`` or callable
        ``'mse'``: squared error per image; ``'bce'``: cross-entropy per image; or
        ``loss(model, x_in, x[, y])`` returning a scalar or a dict with a ``'loss'`` entry.
        ``x_in`` is the (possibly corrupted) input, ``x`` the clean target.
    optimizer : ``'adam'``, ``'sgd'``, ``'lbfgs'``, an Optimizer, or ``params -> Optimizer``
        ``'sgd'`` is plain steepest descent. ``lr`` and ``weight_decay`` apply to named optimizers.
    lr : float, optional
        Learning rate; default 1e-3 (Adam), 0.1 (SGD), 1 (L-BFGS).
    corrupt : callable, optional
        ``x_in = corrupt(x_batch)``, applied to every batch with fresh noise (denoising, chapter 04);
        the loss still compares with the clean batch.
    val, val_y : tensors, optional
        Validation data (and labels), evaluated uncorrupted after every epoch.
    early_stopping : int, optional
        With ``val``: stop after this many epochs without a better validation loss and restore
        the best weights.
    callback : callable, optional
        ``callback(model, history)`` after every epoch; returning True stops training.
    device : optional
        Where to train; default :func:`aecourse.device` (``device(float64=True)`` when the data or the
        model are float64, so that on Apple's MPS, which has no float64, that training runs on the CPU).
    progress : bool
        Show a progress bar (also off with ``TQDM_DISABLE=1``).

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN or infinite; the model keeps its last finite weights and the
        exception's ``history`` the completed epochs.
    """
    # -- check the inputs, so a mistake is reported here and not deep inside torch
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    x = check_tensor(x, "x")
    sizes = getattr(model, "hparams", {}).get("sizes")
    if sizes and x.shape[1] != sizes[0]:
        raise ValueError(f"x has {x.shape[1]} features per row but the model's input size is {sizes[0]}.")
    epochs = check_positive_int(epochs, "epochs")
    n = len(x)
    batch_size = n if batch_size is None else min(check_positive_int(batch_size, "batch_size"), n)
    for name, labels, data in (("y", y, x), ("val_y", val_y, val)):
        if labels is not None and (data is None or len(labels) != len(data)):
            raise ValueError(f"{name} must hold one label per row of its data.")
    if val is not None:
        val = check_tensor(val, "val", features=x.shape[1])
    if early_stopping is not None:
        if val is None:
            raise ValueError("early_stopping needs validation data: pass val=...")
        early_stopping = check_positive_int(early_stopping, "early_stopping")
    if isinstance(loss, str):
        if loss not in _NAMED_LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use 'mse', 'bce' or a function (model, x_in, x) -> loss.")
        loss_fn = _NAMED_LOSSES[loss]
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError(f"loss must be 'mse', 'bce' or a callable, got {type(loss).__name__}.")

    if device is None:   # float64 training on a device without float64 (Apple's MPS) goes to the CPU
        float64 = x.dtype == torch.float64 or any(p.dtype == torch.float64 for p in model.parameters())
        device = config.device(float64=float64)
    dev = torch.device(device)
    model.to(dev)
    x = x.to(dev)
    y = y.to(dev) if y is not None else None
    val = val.to(dev) if val is not None else None
    val_y = val_y.to(dev) if val_y is not None else None
    opt = _make_optimizer(optimizer, [p for p in model.parameters() if p.requires_grad], lr, weight_decay)
    needs_closure = isinstance(opt, torch.optim.LBFGS) or getattr(opt, "needs_closure", False)

    history = History()
    last_finite = _snapshot(model)  # refreshed after every epoch: the fallback if the weights blow up
    best_state, best_val, stale = None, math.inf, 0
    disable = not progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    # driven by hand: a bar iterated with `for ... in bar` counts an epoch only when the next one
    # starts, so a loop left with `break` (early stopping, a callback) would end one epoch short
    bar = tqdm(total=epochs, desc=desc or type(model).__name__, unit="epoch", disable=disable, leave=True)
    epoch = batch = 0
    try:
        for epoch in range(epochs):
            model.train()
            start_time = time.perf_counter()
            order = torch.randperm(n, device=dev) if batch_size < n else None
            sums: dict[str, float] = {}
            for batch, start in enumerate(range(0, n, batch_size)):
                # 1. take a batch by indexing the tensor already on the device, corrupt it if asked
                idx = order[start:start + batch_size] if order is not None else slice(None)
                xb = x[idx]
                x_in = corrupt(xb) if corrupt is not None else xb
                args = (model, x_in, xb) if y is None else (model, x_in, xb, y[idx])

                def closure():
                    opt.zero_grad(set_to_none=True)
                    terms = _terms(loss_fn(*args))  # 2. feed forward and measure the deviation
                    terms["loss"].backward()        # 3. backpropagate
                    return terms

                if needs_closure:
                    # L-BFGS, CG: the optimiser evaluates the closure itself; log its first evaluation
                    evaluations: list[dict[str, torch.Tensor]] = []

                    def step_closure():
                        terms = closure()
                        if not evaluations:  # keep only the first, detached from its graph
                            evaluations.append({name: term.detach() for name, term in terms.items()})
                        return terms["loss"]

                    opt.step(step_closure)
                    terms = evaluations[0]
                else:
                    terms = closure()
                values = _read(terms)   # one wait for the device per batch
                value = values["loss"]
                if not math.isfinite(value):
                    if needs_closure or not _all_finite(model):  # a closure step may have moved the weights
                        model.load_state_dict(last_finite)
                        where = f"those after epoch {epoch}" if epoch else "its initial weights"
                    else:
                        where = "those that gave the last finite loss"
                    raise TrainingDiverged(
                        f"The loss became {value} at epoch {epoch + 1}, batch {batch + 1}; training stopped. "
                        f"The model keeps its last finite weights ({where}). Try a smaller learning rate "
                        f"(lr={lr if lr is not None else 'default'}) or check the data and the loss.",
                        history,
                    )
                if not needs_closure:
                    opt.step()  # 4. update the weights
                for name, term_value in values.items():
                    sums[name] = sums.get(name, 0.0) + term_value * len(xb)
            seconds = time.perf_counter() - start_time

            history.seconds.append(seconds)
            history.samples_per_s.append(n / seconds if seconds > 0 else math.inf)
            for name, total in sums.items():
                history.terms.setdefault(name, []).append(total / n)
            history.train_loss.append(history.terms["loss"][-1])
            last_finite = _snapshot(model) if _all_finite(model) else last_finite
            postfix = {"loss": f"{history.train_loss[-1]:.4g}"}
            if val is not None:
                model.eval()
                for name, value in _evaluate(model, loss_fn, val, val_y, batch_size).items():
                    history.val_terms.setdefault(name, []).append(value)
                history.val_loss.append(history.val_terms["loss"][-1])
                postfix["val"] = f"{history.val_loss[-1]:.4g}"
                if early_stopping is not None:
                    if history.val_loss[-1] < best_val:
                        best_val, stale, history.best_epoch = history.val_loss[-1], 0, epoch + 1
                        best_state = _snapshot(model)
                    else:
                        stale += 1
            bar.set_postfix(postfix, refresh=False)
            bar.update()
            if callback is not None and callback(model, history):
                break
            if early_stopping is not None and stale >= early_stopping:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        warnings.warn(
            f"Training interrupted during epoch {epoch + 1} (batch {batch + 1}); returning the history of the "
            f"{history.epochs} completed epochs. The model keeps what it has learned.",
            stacklevel=2,
        )
    finally:
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
    return history
