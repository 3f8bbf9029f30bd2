"""Restricted Boltzmann machines trained by contrastive divergence (chapter 06).

An RBM with binary visible units v, hidden units h, weights W (n_visible, n_hidden) and biases
b (visible), c (hidden) has the energy

    binary hidden units:            E(v, h) = -bᵀv - cᵀh - vᵀWh
    linear (Gaussian) hidden units: E(v, h) = -bᵀv + ½‖h - c‖² - vᵀWh

so p(h_j = 1 | v) = σ(c_j + vᵀW_j) for binary units, p(h | v) = N(c + Wᵀv, I) for Gaussian ones
(Hinton & Salakhutdinov's ``rbmhidlinear``, used for the code layer), and in both cases
p(v_i = 1 | h) = σ(b_i + W_i h). Training follows Hinton's contrastive divergence (Hinton 2002):
the gradient of the log-likelihood is ⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model, and the model expectation is
estimated from a k-step Gibbs chain started at the data (CD-k) or from persistent chains that
are never reset (PCD, Tieleman 2008). The defaults are the recipe of Hinton & Salakhutdinov
(2006): learning rate 0.1 (0.001 for linear hidden units), weight cost 2e-4, momentum 0.5 for
the first 5 epochs then 0.9, mini-batches of 100, weights drawn from N(0, 0.1²).
"""
from __future__ import annotations

import math
import os
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import config
from .train import History
from .validate import all_finite, check_positive_int, check_tensor

__all__ = ["RBM", "bernoulli", "free_energy", "contrastive_divergence"]

_HIDDEN = ("binary", "gaussian")


def bernoulli(p: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A binary sample with probabilities ``p``: 1.0 where a uniform draw falls below p, else 0.0.

    Each uniform number has 16 bits, and one 64-bit draw of the generator gives four of them.
    ``torch.rand(p.shape) < p`` spends one 32-bit draw of the generator on every number; on a CPU
    (torch's Mersenne twister runs on one core) that is CD-1's largest cost after its matrix
    products, and this is about 2× cheaper (``python benchmarks/run.py --only flops`` measures both).
    The price is resolution: a probability acts as if rounded up to a multiple of 2⁻¹⁶, an error
    under 1.6e-5, and p = 0 never fires while p = 1 always does.

    On a GPU (CUDA or Apple's MPS), whose generator draws in parallel, it is ``torch.rand(p.shape) < p``.

    p : tensor of probabilities in [0, 1], any shape; the sample has its shape, dtype and device.
    """
    if p.device.type in ("cuda", "mps"):
        return torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).lt_(p)
    n = p.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=p.device)
    bits.random_(-2**63, None, generator=generator)              # every one of the 64 bits random
    work = torch.promote_types(p.dtype, torch.float32)            # half precision has 11 bits
    u = bits.view(torch.uint16)[:n].view(p.shape).to(work)        # uniform integers 0 … 65535
    # u / 65536, uniform on {0, 1/65536, …, 65535/65536} and exact in float32, below p; in place:
    # fresh tensors of this size cost page faults
    return u.mul_(2 ** -16).lt_(p).to(p.dtype)


def free_energy(v: torch.Tensor, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor,
                hidden: str = "binary") -> torch.Tensor:
    """Free energy F(v) = −log Σ_h exp(−E(v, h)) of every row of ``v``, shape (n_samples,).

    Binary hidden units: F(v) = −bᵀv − Σⱼ softplus(cⱼ + vᵀWⱼ).
    Gaussian hidden units (unit variance): F(v) = −bᵀv − ½ Σⱼ [(cⱼ + vᵀWⱼ)² − cⱼ²] − (n_hidden/2) log 2π.

    v : (n_samples, n_visible); weight : (n_visible, n_hidden); visible_bias : (n_visible,);
    hidden_bias : (n_hidden,).
    """
    a = v @ weight + hidden_bias                                  # (batch, n_visible) -> (batch, n_hidden)
    visible_term = v @ visible_bias                               # (batch,)
    if hidden == "binary":
        return -visible_term - F.softplus(a).sum(dim=1)
    if hidden == "gaussian":
        n_hidden = weight.shape[1]
        return -visible_term - 0.5 * (a.pow(2) - hidden_bias.pow(2)).sum(dim=1) - 0.5 * n_hidden * math.log(2 * math.pi)
    raise ValueError(f"hidden must be one of {_HIDDEN}, got {hidden!r}.")


def contrastive_divergence(v_data: torch.Tensor, h_data: torch.Tensor, v_model: torch.Tensor,
                           h_model: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The CD estimate of the log-likelihood gradient, averaged over the batch.

    Returns (ΔW, Δb, Δc) = (⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model, ⟨v⟩_data − ⟨v⟩_model, ⟨h⟩_data − ⟨h⟩_model),
    with shapes (n_visible, n_hidden), (n_visible,), (n_hidden,). ``h_data`` and ``h_model`` are the
    hidden probabilities (or means) given ``v_data`` and ``v_model``: using them instead of samples
    lowers the variance of the estimate (Hinton's practical guide, section 3).
    """
    n = v_data.shape[0]
    d_weight = (v_data.T @ h_data - v_model.T @ h_model) / n     # (n_visible, n_hidden)
    return d_weight, (v_data - v_model).mean(dim=0), (h_data - h_model).mean(dim=0)


class RBM:
    """A restricted Boltzmann machine with binary visible units, trained by CD-k or persistent CD.

    Parameters
    ----------
    n_visible, n_hidden : int
        Numbers of visible and hidden units.
    hidden : ``'binary'`` or ``'gaussian'``
        Logistic binary hidden units, or linear hidden units with unit-variance Gaussian noise
        (Hinton & Salakhutdinov's code layer).
    k : int
        Gibbs steps per update (CD-k).
    persistent : bool
        Persistent contrastive divergence (Tieleman 2008): the negative chains continue from
        where the previous update left them instead of restarting at the data.
    lr : float, optional
        Learning rate; default 0.1 for binary hidden units, 0.001 for Gaussian ones.
    weight_cost : float
        L2 penalty on the weights (not the biases).
    momentum, final_momentum, momentum_switch : float, float, int
        Momentum ``momentum`` for the first ``momentum_switch`` epochs, then ``final_momentum``.
    epochs, batch_size : int
        Passes over the data and images per update.
    init_std : float
        Weights start as N(0, init_std²); biases start at zero.
    random_state : int, optional
        Seed of the RBM's own generator (initial weights and sampling); None uses torch's global one.
    device : optional
        Where to train; default :func:`aecourse.device`.
    progress : bool
        Show a progress bar.

    Attributes
    ----------
    weight_ : tensor of shape (n_visible, n_hidden)
    visible_bias_ : tensor of shape (n_visible,)
    hidden_bias_ : tensor of shape (n_hidden,)
    history_ : :class:`aecourse.History`
        ``train_loss``: squared reconstruction error per image (data vs. the visible probabilities
        given one sample of the hidden units) for every epoch, as Hinton's ``rbm.m`` prints it.
    """

    def __init__(self, n_visible: int, n_hidden: int, *, hidden: str = "binary", k: int = 1,
                 persistent: bool = False, lr: float | None = None, weight_cost: float = 2e-4,
                 momentum: float = 0.5, final_momentum: float = 0.9, momentum_switch: int = 5,
                 epochs: int = 10, batch_size: int = 100, init_std: float = 0.1,
                 random_state: int | None = None, device=None, progress: bool = True):
        self.n_visible = n_visible
        self.n_hidden = n_hidden
        self.hidden = hidden
        self.k = k
        self.persistent = persistent
        self.lr = lr
        self.weight_cost = weight_cost
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.epochs = epochs
        self.batch_size = batch_size
        self.init_std = init_std
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def __repr__(self) -> str:
        extra = ", persistent=True" if self.persistent else ""
        return (f"RBM({self.n_visible}, {self.n_hidden}, hidden={self.hidden!r}, k={self.k}{extra}, "
                f"lr={self._lr()}, epochs={self.epochs})")

    # -- settings -------------------------------------------------------------------------
    def _lr(self) -> float:
        if self.lr is not None:
            return float(self.lr)
        return 0.001 if self.hidden == "gaussian" else 0.1

    def _check_settings(self) -> None:
        check_positive_int(self.n_visible, "n_visible")
        check_positive_int(self.n_hidden, "n_hidden")
        check_positive_int(self.k, "k (the number of Gibbs steps of CD-k)")
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.momentum_switch, "momentum_switch", minimum=0)
        if self.hidden not in _HIDDEN:
            raise ValueError(f"hidden must be 'binary' (logistic units) or 'gaussian' (linear units), got {self.hidden!r}.")
        if not self._lr() > 0:
            raise ValueError(f"lr must be positive, got {self.lr}.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "weight_"):
            raise RuntimeError("This RBM is not fitted yet; call rbm.fit(x) first.")

    def _check_visible(self, v, name: str = "v") -> torch.Tensor:
        v = check_tensor(v, name, features=self.n_visible, unit_range=True)
        return v.to(self.weight_.device, self.weight_.dtype) if hasattr(self, "weight_") else v

    # -- the conditionals -----------------------------------------------------------------
    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """E[h | v]: σ(c + vW) for binary units, c + vW for Gaussian ones; shape (batch, n_hidden)."""
        a = torch.addmm(self.hidden_bias_, v, self.weight_)        # c + vW in one kernel
        return a.sigmoid_() if self.hidden == "binary" else a

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        """p(v = 1 | h) = σ(b + hWᵀ), shape (batch, n_visible)."""
        return torch.addmm(self.visible_bias_, h, self.weight_.T).sigmoid_()

    def sample_hidden(self, v: torch.Tensor) -> torch.Tensor:
        """A sample of h given v: Bernoulli for binary units, mean + N(0, 1) noise for Gaussian ones."""
        return self._draw_hidden(self.hidden_probs(v))

    def sample_visible(self, h: torch.Tensor) -> torch.Tensor:
        """A binary sample of v given h."""
        return self._bernoulli(self.visible_probs(h))

    def _draw_hidden(self, p: torch.Tensor) -> torch.Tensor:
        """A sample of h given its probabilities (binary units) or means (Gaussian units) ``p``."""
        if self.hidden == "binary":
            return self._bernoulli(p)
        return p + torch.randn(p.shape, generator=self._gen, device=p.device)

    def _bernoulli(self, p: torch.Tensor) -> torch.Tensor:
        """A binary sample with probabilities ``p`` from the RBM's generator; see :func:`bernoulli`."""
        return bernoulli(p, self._gen)

    # -- public API -----------------------------------------------------------------------
    @torch.no_grad()
    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden probabilities (binary units) or means (Gaussian units) of ``x``: the RBM's features."""
        self._check_fitted()
        return self.hidden_probs(self._check_visible(x, "x"))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """One deterministic up-down pass: σ(b + E[h | x] Wᵀ), shape (batch, n_visible)."""
        self._check_fitted()
        return self.visible_probs(self.hidden_probs(self._check_visible(x, "x")))

    @torch.no_grad()
    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) of every row, shape (batch,); p(v) = exp(−F(v)) / Z. See :func:`free_energy`."""
        self._check_fitted()
        v = self._check_visible(v)
        return free_energy(v, self.weight_, self.visible_bias_, self.hidden_bias_, self.hidden)

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, steps: int = 1, mean: bool = True) -> torch.Tensor:
        """Run ``steps`` full Gibbs steps v → h → v from ``v``.

        Returns the visible probabilities of the last step (``mean=True``, best for looking at
        samples) or the binary visible sample itself. Intermediate steps use sampled states.
        """
        self._check_fitted()
        steps = check_positive_int(steps, "steps")
        v = self._check_visible(v)
        self._ensure_generator()
        for step in range(steps):
            p = self.visible_probs(self.sample_hidden(v))
            if step == steps - 1 and mean:
                return p
            v = self._bernoulli(p)
        return v

    def fit(self, x: torch.Tensor) -> "RBM":
        """Train on ``x`` (n_samples, n_visible) with values in [0, 1]; returns self.

        Values strictly between 0 and 1 are treated as probabilities (as Hinton & Salakhutdinov
        do for grey levels and for the hidden probabilities of the layer below).
        """
        self._check_settings()
        x = check_tensor(x, "x", features=self.n_visible, unit_range=True)
        dev = torch.device(self.device) if self.device is not None else config.device()
        x = x.to(dev, torch.float32)
        self._gen = None
        self._ensure_generator(dev)
        # weights as in rbm.m: 0.1 * randn, zero biases
        self.weight_ = self.init_std * torch.randn(self.n_visible, self.n_hidden, generator=self._gen, device=dev)
        self.visible_bias_ = torch.zeros(self.n_visible, device=dev)
        self.hidden_bias_ = torch.zeros(self.n_hidden, device=dev)
        self.history_ = History()
        velocity = [torch.zeros_like(p) for p in (self.weight_, self.visible_bias_, self.hidden_bias_)]
        n, batch_size, lr = len(x), min(self.batch_size, len(x)), self._lr()
        chain = None  # the persistent chains' visible states (PCD)

        disable = not self.progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
        bar = tqdm(range(self.epochs), desc=f"RBM {self.n_visible}-{self.n_hidden}", unit="epoch", disable=disable)
        try:
            for epoch in bar:
                start_time = time.perf_counter()
                momentum = self.momentum if epoch < self.momentum_switch else self.final_momentum
                order = torch.randperm(n, generator=self._gen, device=dev)
                # summed on the device and read once per epoch: reading it every batch would make the
                # host wait for a GPU at every batch
                error = torch.zeros((), device=dev)
                for start in range(0, n, batch_size):
                    v0 = x.index_select(0, order[start:start + batch_size])  # 3× faster than x[...] on a CPU
                    # positive phase: hidden probabilities given the data
                    h0 = self.hidden_probs(v0)
                    # negative phase: k Gibbs steps from the data (CD) or from the persistent chains (PCD)
                    if self.persistent:
                        if chain is None or len(chain) != len(v0):
                            chain = self._bernoulli(v0)
                        v = chain
                    else:
                        v = v0
                    for step in range(self.k):
                        # CD's first step starts at the data, whose hidden probabilities are h0 already
                        h = h0 if step == 0 and not self.persistent else self.hidden_probs(v)
                        v_prob = self.visible_probs(self._draw_hidden(h))
                        if step == 0 and not self.persistent:  # rbm.m's error: data vs. its reconstruction
                            error += F.mse_loss(v_prob, v0, reduction="sum")
                        if step < self.k - 1 or self.persistent:  # CD-k's last sample is never used
                            v = self._bernoulli(v_prob)
                    if self.persistent:  # the chains are elsewhere: measure a separate reconstruction
                        error += F.mse_loss(self.visible_probs(self._draw_hidden(h0)), v0, reduction="sum")
                        chain = v
                    h1 = self.hidden_probs(v_prob)
                    self._update(velocity, v0, h0, v_prob, h1, momentum, lr)
                if not all_finite(self.weight_):
                    raise FloatingPointError(
                        f"the RBM's weights became NaN or infinite in epoch {epoch + 1}; "
                        f"use a smaller learning rate (lr={lr}).")
                error = float(error)
                seconds = time.perf_counter() - start_time
                self.history_.train_loss.append(error / n)
                self.history_.seconds.append(seconds)
                self.history_.samples_per_s.append(n / seconds if seconds > 0 else math.inf)
                bar.set_postfix(recon=f"{error / n:.4g}")
        except KeyboardInterrupt:
            self.history_.interrupted = True
        finally:
            bar.close()
        return self

    def _update(self, velocity, v0, h0, v1, h1, momentum: float, lr: float) -> None:
        """One momentum step of rbm.m: velocity ← momentum·velocity + lr·(ΔW − weight_cost·W), W ← W + velocity.

        ΔW, Δb, Δc are :func:`contrastive_divergence`'s, computed in place: the two outer products
        ⟨v hᵀ⟩_data and ⟨v hᵀ⟩_model are accumulated straight into the velocity (the momentum is the first
        one's β), so no temporary of W's size is made.
        """
        n = v0.shape[0]
        v_weight, v_visible, v_hidden = velocity
        v_weight.addmm_(v0.T, h0, beta=momentum, alpha=lr / n).addmm_(v1.T, h1, alpha=-lr / n)
        if self.weight_cost:
            v_weight.add_(self.weight_, alpha=-lr * self.weight_cost)
        self.weight_.add_(v_weight)
        v_visible.mul_(momentum).add_(v0.mean(dim=0) - v1.mean(dim=0), alpha=lr)
        self.visible_bias_.add_(v_visible)
        v_hidden.mul_(momentum).add_(h0.mean(dim=0) - h1.mean(dim=0), alpha=lr)
        self.hidden_bias_.add_(v_hidden)

    def _ensure_generator(self, dev=None) -> None:
        """The RBM's own generator when ``random_state`` is set (None: torch's global generator)."""
        if getattr(self, "_gen", None) is None and self.random_state is not None:
            dev = dev if dev is not None else self.weight_.device
            self._gen = torch.Generator(device=dev).manual_seed(int(self.random_state))
        elif not hasattr(self, "_gen"):
            self._gen = None
