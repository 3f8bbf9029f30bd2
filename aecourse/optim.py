"""Optimisers the seed article names that torch lacks: conjugate gradient and friends (chapters 02, 06).

The seed says autoencoders are trained "using one of the many variants of backpropagation (such as
conjugate gradient method, steepest descent, etc.)". Steepest descent is ``torch.optim.SGD`` on the
full batch, L-BFGS is ``torch.optim.LBFGS``; conjugate gradient (Hinton & Salakhutdinov 2006
fine-tune with it) comes from SciPy. :class:`ScipyMinimizer` wraps ``scipy.optimize.minimize`` as a
``torch.optim.Optimizer``, so it plugs into ``ae.fit`` like any other::

    opt = ae.ScipyMinimizer(model.parameters(), method="CG", maxiter=50)
    ae.fit(model, x, batch_size=None, optimizer=opt, epochs=4)   # 4 x 50 CG iterations

SciPy works on one float64 vector; :func:`parameters_to_numpy` and :func:`numpy_to_parameters`
flatten a model's parameters into such a vector and write one back.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import scipy.optimize
import torch

from .validate import check_positive_int

__all__ = ["ScipyMinimizer", "parameters_to_numpy", "numpy_to_parameters"]


def parameters_to_numpy(params: Iterable[torch.Tensor]) -> np.ndarray:
    """All ``params`` flattened and concatenated into one float64 NumPy vector (a copy, on the CPU).

    The order is the iteration order of ``params``, as in ``torch.nn.utils.parameters_to_vector``.
    """
    params = list(params)
    if not params:
        raise ValueError("no parameters to flatten; pass e.g. model.parameters().")
    with torch.no_grad():
        vec = torch.nn.utils.parameters_to_vector([p.detach().cpu() for p in params])
    return vec.to(torch.float64).numpy().copy()


def numpy_to_parameters(vector: np.ndarray, params: Iterable[torch.Tensor]) -> None:
    """Write the flat ``vector`` (from :func:`parameters_to_numpy`) back into ``params``, in place.

    Each slice is cast to its parameter's dtype and device.
    """
    params = list(params)
    vector = np.asarray(vector)
    total = sum(p.numel() for p in params)
    if vector.ndim != 1 or vector.size != total:
        raise ValueError(f"vector has shape {vector.shape} but the parameters hold {total} numbers; "
                         "it must be a flat vector made by parameters_to_numpy from the same parameters.")
    if not np.isfinite(vector).all():
        raise ValueError("vector contains NaN or infinite values; refusing to write them into the model.")
    offset = 0
    with torch.no_grad():
        for p in params:
            chunk = torch.from_numpy(np.ascontiguousarray(vector[offset:offset + p.numel()]))
            p.copy_(chunk.view_as(p).to(dtype=p.dtype, device=p.device))
            offset += p.numel()


def _gradients_to_numpy(params: list[torch.Tensor]) -> np.ndarray:
    """The parameters' ``.grad`` flattened like :func:`parameters_to_numpy` (zeros where a grad is None)."""
    grads = [p.grad.detach().cpu() if p.grad is not None else torch.zeros(p.shape) for p in params]
    return torch.cat([g.reshape(-1).to(torch.float64) for g in grads]).numpy()


class ScipyMinimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose ``step(closure)`` runs ``scipy.optimize.minimize``.

    Each step starts from the current parameters, runs up to ``maxiter`` iterations of ``method``
    using the closure for the loss and its gradient (``jac=True``), and leaves the best point SciPy
    found in the parameters. With ``ae.fit(..., batch_size=None)`` one epoch is one such step.
    A nonlinear conjugate-gradient method keeps no memory across steps, so a step is a restart.

    Parameters
    ----------
    params : iterable of tensors
        What to optimise, e.g. ``model.parameters()``.
    method : str
        A ``scipy.optimize.minimize`` method that needs only the gradient: ``'CG'`` (Polak-Ribière
        conjugate gradient, the default), ``'BFGS'``, ``'L-BFGS-B'``, ``'TNC'``, ``'SLSQP'``, ``'trust-constr'``.
    maxiter : int
        Iterations per step (each iteration evaluates the closure once or more, in the line search).
    tol : float, optional
        SciPy's tolerance (for CG: stop when the gradient norm falls below ``gtol``).
    callback : callable, optional
        ``callback()`` after every SciPy iteration, with that iteration's point already written into
        the parameters: record per-iteration measurements of the model here.
    options : dict, optional
        More options for ``scipy.optimize.minimize`` (e.g. ``{"gtol": 1e-8}``).

    Attributes
    ----------
    result : scipy.optimize.OptimizeResult or None
        What the last step's ``minimize`` returned (``nit``, ``nfev``, ``message``, ...).
    n_evaluations : int
        Closure calls over all steps (each is one forward and backward pass).
    """

    needs_closure = True  # ae.fit passes step() a closure that returns the loss after backward()

    _GRADIENT_METHODS = ("CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP", "TRUST-CONSTR")

    def __init__(self, params, method: str = "CG", maxiter: int = 100, tol: float | None = None,
                 callback: Callable[[], None] | None = None, options: dict | None = None):
        if not isinstance(method, str) or method.upper() not in self._GRADIENT_METHODS:
            raise ValueError(f"method must be a gradient-based scipy.optimize.minimize method "
                             f"({', '.join(self._GRADIENT_METHODS)}), got {method!r}.")
        maxiter = check_positive_int(maxiter, "maxiter")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be a function of no arguments, got {type(callback).__name__}.")
        super().__init__(params, dict(method=method, maxiter=maxiter, tol=tol, options=dict(options or {})))
        self.callback = callback
        self.result: scipy.optimize.OptimizeResult | None = None
        self.n_evaluations = 0

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"] if p.requires_grad]

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Minimise from the current parameters; return the final loss as a tensor.

        ``closure()`` must zero the gradients, compute the loss, call ``backward()`` and return the
        loss (``ae.fit`` builds such a closure).
        """
        if closure is None:
            raise ValueError("ScipyMinimizer.step needs a closure that returns the loss after backward(); "
                             "ae.fit passes one automatically.")
        params = self._params()
        group = self.param_groups[0]

        def loss_and_grad(vector: np.ndarray) -> tuple[float, np.ndarray]:
            numpy_to_parameters(vector, params)
            with torch.enable_grad():
                loss = closure()
            self.n_evaluations += 1
            value = float(loss.detach())
            if not np.isfinite(value):
                # SciPy's line search treats an infinite value as "step too long" and backtracks
                return np.inf, np.zeros_like(vector)
            return value, _gradients_to_numpy(params)

        on_iteration = None
        if self.callback is not None:
            def on_iteration(xk, *args):
                numpy_to_parameters(xk, params)
                self.callback()

        x0 = parameters_to_numpy(params)
        options = {"maxiter": group["maxiter"], **group["options"]}
        self.result = scipy.optimize.minimize(loss_and_grad, x0, jac=True, method=group["method"],
                                              tol=group["tol"], callback=on_iteration, options=options)
        # SciPy's last evaluation may be a rejected line-search point: write back its answer
        numpy_to_parameters(self.result.x, params)
        return torch.tensor(float(self.result.fun), dtype=torch.float64)
