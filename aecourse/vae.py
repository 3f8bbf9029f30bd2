"""Variational autoencoders (chapter 05): Kingma & Welling (2013), with the importance-weighted
bound of Burda et al. (2016), the β weight of Higgins et al. (2017) and the conditional VAE of
Sohn et al. (2015).

The encoder φ gives the posterior q_φ(z|x) = N(μ, diag σ²) as (μ, log σ²); the decoder p_θ(x|z)
is a Bernoulli distribution per pixel whose logits the decoder returns; the prior is N(0, I).
Shaped like pytorch/examples' ``vae/main.py``: ``encode`` -> ``reparameterize`` -> ``decode``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from .losses import cross_entropy, gaussian_kl
from .models import CourseModel, dense_stack, make_activation
from .validate import check_positive_int, check_tensor

__all__ = [
    "VAE",
    "ConditionalVAE",
    "reparameterize",
    "negative_elbo",
    "iwae_bound",
    "interpolate",
    "manifold_grid",
    "active_units",
    "kl_per_dim",
]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """A sample z ~ N(μ, diag σ²) written as z = μ + σ ⊙ ε with ε ~ N(0, I) (Kingma & Welling 2013, eq. 10).

    The noise ε carries all the randomness, so z is a differentiable function of μ and log σ²
    and the gradient of the loss reaches the encoder. σ = exp(½ log σ²).

    mu, logvar : tensors of shape (batch, n_latent). eps : the noise, same shape (drawn if None).
    Returns z of shape (batch, n_latent).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but logvar has shape {tuple(logvar.shape)}; they must match.")
    if not bool(torch.isfinite(logvar).all()):
        raise ValueError(
            "logvar contains NaN or infinite values, so σ = exp(logvar / 2) is undefined; the encoder diverged "
            "(lower the learning rate, or clamp logvar)."
        )
    if eps is None:
        eps = torch.randn_like(mu)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps has shape {tuple(eps.shape)} but mu has shape {tuple(mu.shape)}; they must match.")
    return mu + torch.exp(0.5 * logvar) * eps


class VAE(CourseModel):
    """A variational autoencoder with an MLP encoder and a Bernoulli MLP decoder.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the input to the latent code, e.g. ``[784, 400, 20]`` (pytorch/examples'
        model: 784 pixels, a hidden layer of 400, 20 latent dimensions). The decoder mirrors them.
    activation : str
        Hidden-layer nonlinearity (``'relu'`` default, ``'tanh'``, ``'sigmoid'``).

    ``encode(x)`` returns ``(mu, logvar)``, each (batch, n_latent); ``decode(z)`` the Bernoulli
    logits (batch, n_input) (apply ``torch.sigmoid`` for pixel probabilities); ``forward(x)``
    returns ``(logits, mu, logvar)`` for a fresh reparameterised sample z, in training and in
    evaluation mode alike, as in pytorch/examples.
    """

    n_conditions = 0  # extra inputs of encoder and decoder (the conditional VAE's one-hot label)

    def __init__(self, sizes: Sequence[int] = (784, 400, 20), activation: str = "relu"):
        super().__init__()
        if isinstance(sizes, (int, str)) or len(sizes) < 2:
            raise ValueError(f"sizes must list at least (input, latent) sizes, e.g. [784, 400, 20]; got {sizes!r}.")
        sizes = [check_positive_int(s, "every layer size") for s in sizes]
        if make_activation(activation) is None:
            raise ValueError("a VAE needs a nonlinear hidden activation ('relu', 'tanh' or 'sigmoid').")
        self.hparams = dict(sizes=sizes, activation=activation)
        c = self.n_conditions
        body = [sizes[0] + c, *sizes[1:-1]]
        self.encoder = dense_stack(body, activation, activation)   # (batch, d [+ c]) -> (batch, hidden)
        self.mu = nn.Linear(body[-1], sizes[-1])              # (batch, hidden) -> (batch, k)
        self.logvar = nn.Linear(body[-1], sizes[-1])          # (batch, hidden) -> (batch, k)
        self.decoder = dense_stack([sizes[-1] + c, *sizes[-2:0:-1], sizes[0]], activation, None)  # -> logits

    @property
    def sizes(self) -> list[int]:
        return list(self.hparams["sizes"])

    @property
    def n_input(self) -> int:
        return self.hparams["sizes"][0]

    @property
    def n_latent(self) -> int:
        return self.hparams["sizes"][-1]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q_φ(z|x): the posterior's mean μ and log-variance log σ², each (batch, n_latent)."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = μ + σ ⊙ ε with fresh ε ~ N(0, I); see :func:`aecourse.reparameterize`."""
        return reparameterize(mu, logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """p_θ(x|z): Bernoulli logits of every pixel, (batch, n_latent) -> (batch, n_input)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits of p_θ(x|z), μ, log σ²) for one sample z ~ q_φ(z|x)."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic reconstruction σ(decode(μ(x))): pixel probabilities, shape (batch, n_input).

        What :func:`aecourse.reconstruct` returns for a VAE (``vae(x)`` itself is a sampled tuple).
        """
        return torch.sigmoid(self.decode(self.encode(x)[0]))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from the prior N(0, I): pixel probabilities, shape (n, n_input)."""
        return torch.sigmoid(self.decode(self._prior(n, generator)))

    def _prior(self, n: int, generator) -> torch.Tensor:
        n = check_positive_int(n, "n")
        # drawn where the generator lives (the CPU without one): a generator made on the model's device
        # works, and a CPU one gives the same codes wherever the model is
        where = generator.device if generator is not None else "cpu"
        z = torch.randn(n, self.n_latent, generator=generator, device=where)
        return z.to(_device_of(self))


class ConditionalVAE(VAE):
    """A conditional VAE (Sohn et al. 2015): encoder q_φ(z|x, y) and decoder p_θ(x|z, y) both see
    the label y as a one-hot vector appended to their input.

    ``encode(x, y)``, ``decode(z, y)``, ``forward(x, y)`` and ``sample(n, y)`` take the labels
    (int64 tensor of shape (batch,), or an int for every row) as a second argument; ``ae.fit`` passes
    them when given ``y=``.
    """

    def __init__(self, sizes: Sequence[int] = (784, 400, 20), n_classes: int = 10, activation: str = "relu"):
        self.n_conditions = check_positive_int(n_classes, "n_classes", minimum=2)
        super().__init__(sizes, activation)
        self.hparams["n_classes"] = self.n_conditions

    def _one_hot(self, y, n: int, device) -> torch.Tensor:
        if isinstance(y, int):
            y = torch.full((n,), y, dtype=torch.int64)
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be an int64 tensor of {n} labels (or one int), got "
                             f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}.")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_conditions):
            raise ValueError(f"labels must lie in 0..{self.n_conditions - 1}, got {int(y.min())}..{int(y.max())}.")
        return F.one_hot(y.to(device), self.n_conditions).float()

    def encode(self, x: torch.Tensor, y) -> tuple[torch.Tensor, torch.Tensor]:
        """q_φ(z|x, y): (μ, log σ²), each (batch, n_latent)."""
        return super().encode(torch.cat([x, self._one_hot(y, len(x), x.device)], dim=1))

    def decode(self, z: torch.Tensor, y) -> torch.Tensor:
        """p_θ(x|z, y): Bernoulli logits, (batch, n_input)."""
        return super().decode(torch.cat([z, self._one_hot(y, len(z), z.device)], dim=1))

    def forward(self, x: torch.Tensor, y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar), y), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, y, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` prior codes with labels ``y`` (an int or (n,) labels): pixel probabilities."""
        return torch.sigmoid(self.decode(self._prior(n, generator), y))


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _check_vae(model) -> VAE:
    if not isinstance(model, VAE):
        raise TypeError(f"this function needs an ae.VAE or ae.ConditionalVAE, got {type(model).__name__}.")
    return model


def _conditional_args(model: VAE, y) -> tuple:
    """``()`` for a VAE, ``(y,)`` for a conditional VAE (which must get labels)."""
    if isinstance(model, ConditionalVAE):
        if y is None:
            raise ValueError("a ConditionalVAE needs the labels: pass y=...")
        return (y,)
    if y is not None:
        raise ValueError("y is only for a ConditionalVAE; this VAE takes no labels.")
    return ()


def negative_elbo(model: VAE, x_in: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None = None, *,
                  beta: float = 1.0) -> dict[str, torch.Tensor]:
    """The VAE loss for ``ae.fit``: −ELBO = −E_q[log p_θ(x|z)] + β·KL(q_φ(z|x) ‖ N(0, I)), per image.

    Kingma & Welling (2013), eq. 10 with one sample of z; the KL term in closed form (their
    appendix B, :func:`aecourse.gaussian_kl`); β ≠ 1 is Higgins et al.'s (2017) β-VAE. Use it as
    ``ae.fit(vae, x, loss=ae.negative_elbo)`` or, with a β, ``loss=functools.partial(ae.negative_elbo, beta=4)``.

    Returns a dict of scalars in nats per image: ``loss`` (what is minimised: recon + β·kl),
    ``recon`` (the reconstruction term −log p_θ(x|z)) and ``kl``. With β = 1, ``loss`` is the negative ELBO.
    Raises ValueError when ``x`` is outside [0, 1], which a Bernoulli decoder cannot model.
    """
    _check_vae(model)
    x = check_tensor(x, "x", features=model.n_input, unit_range=True)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"beta must be a number >= 0, got {beta!r}.")
    logits, mu, logvar = model(x_in, *_conditional_args(model, y))
    recon = cross_entropy(logits, x, logits=True)   # −log p_θ(x|z), summed over pixels, mean over images
    kl = gaussian_kl(mu, logvar).mean()             # (batch,) -> mean over images
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


@torch.no_grad()
def _encode_all(model: VAE, x: torch.Tensor, y, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior (μ, log σ²) of every row of ``x``, computed in chunks on the model's device."""
    x = check_tensor(x, "x", features=model.n_input)
    dev = _device_of(model)
    model.eval()
    mus, logvars = [], []
    for i in range(0, len(x), batch_size):
        cond = tuple(a[i:i + batch_size] for a in _conditional_args(model, y))
        mu, logvar = model.encode(x[i:i + batch_size].to(dev), *cond)
        mus.append(mu)
        logvars.append(logvar)
    return torch.cat(mus), torch.cat(logvars)


@torch.no_grad()
def iwae_bound(model: VAE, x: torch.Tensor, k: int = 100, *, y: torch.Tensor | None = None,
               max_rows: int = 20_000) -> torch.Tensor:
    """One draw of the importance-weighted bound on log p_θ(x) with ``k`` samples, per image, in nats.

    Burda et al. (2016), eq. 8: the bound is the expectation over z₁…z_k ~ q_φ(z|x) of
    log (1/k) Σᵢ p_θ(x, zᵢ) / q_φ(zᵢ|x); this returns that log-mean for one draw of the k samples, an
    unbiased estimate of the bound (a single draw can exceed log p_θ(x)). With k = 1 the bound is the
    ELBO; it never decreases with k and tends to log p_θ(x) as k → ∞ (their theorem 1). So
    ``-iwae_bound(...)``, averaged over images, estimates −log p(x) from above, below the negative ELBO.

    x : tensor of shape (n, n_input) in [0, 1]; y : labels for a ConditionalVAE.
    max_rows : images × k decoded at once (memory). Returns a tensor of shape (n,) on x's device.
    """
    _check_vae(model)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k is the number of importance samples and must be an integer >= 1 (k = 1 is the ELBO); got {k!r}.")
    x = check_tensor(x, "x", features=model.n_input, unit_range=True)
    _conditional_args(model, y)
    dev = _device_of(model)
    model.eval()
    chunk = max(1, max_rows // k)
    prior = Normal(torch.zeros((), device=dev), torch.ones((), device=dev))
    out = []
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk].to(dev)                                          # (b, d)
        cond = tuple(a[i:i + chunk].to(dev) for a in _conditional_args(model, y))
        mu, logvar = model.encode(xb, *cond)                                 # (b, k_lat) each
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn((k, *mu.shape), device=dev)              # (k, b, k_lat)
        cond_k = tuple(c.repeat(k) for c in cond)                            # labels for k copies
        logits = model.decode(z.reshape(-1, z.shape[-1]), *cond_k).reshape(k, len(xb), -1)  # (k, b, d)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, xb.expand_as(logits), reduction="none").sum(-1)
        log_pz = prior.log_prob(z).sum(-1)                                   # (k, b)
        log_qz = Normal(mu, std).log_prob(z).sum(-1)                         # (k, b)
        out.append(torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k))
    return torch.cat(out).to(x.device)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10, method: str = "linear") -> torch.Tensor:
    """Codes on the way from ``z0`` to ``z1`` (both of shape (n_latent,)), endpoints included: (steps, n_latent).

    ``'linear'``: (1 − t) z0 + t z1. ``'spherical'`` (slerp, White 2016): along the great circle,
    sin((1 − t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1 with cos Ω = z0·z1 / (‖z0‖‖z1‖). Between codes of
    equal norm it keeps that norm (a straight line dips towards the origin, where samples of N(0, I)
    rarely lie); between unequal norms the norm moves from one to the other, within their range when
    the codes are less than 90° apart.
    """
    steps = check_positive_int(steps, "steps", minimum=2)
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be two codes of the same shape (n_latent,), got {tuple(z0.shape)} and {tuple(z1.shape)}.")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]   # (steps, 1)
    if method == "linear":
        return (1 - t) * z0 + t * z1
    if method != "spherical":
        raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}.")
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:  # (anti)parallel codes: no unique great circle, use the line
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@torch.no_grad()
def manifold_grid(model: VAE, n: int = 15, *, y=None, edge: float = 0.05) -> torch.Tensor:
    """Decoded images of a 2-D latent space on an n × n grid at normal quantiles (Kingma & Welling 2013, fig. 4).

    The grid's coordinates are Φ⁻¹(p) for p evenly spaced from ``edge`` to 1 − ``edge``, so equal
    areas of prior probability get equal room. Rows run from high z₂ (top) to low, columns from low
    z₁ to high. Returns pixel probabilities of shape (n * n, n_input) in row-major order, ready for
    ``ae.plot.image_grid(images, ncols=n)``.
    """
    _check_vae(model)
    if model.n_latent != 2:
        raise ValueError(f"manifold_grid needs a model with 2 latent dimensions, this one has {model.n_latent}.")
    n = check_positive_int(n, "n", minimum=2)
    if not 0 < edge < 0.5:
        raise ValueError(f"edge must lie strictly between 0 and 0.5, got {edge}.")
    q = Normal(0.0, 1.0).icdf(torch.linspace(edge, 1 - edge, n))
    z2, z1 = torch.meshgrid(q.flip(0), q, indexing="ij")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1).to(_device_of(model))   # (n*n, 2)
    model.eval()
    cond = () if y is None else (y,)
    return torch.sigmoid(model.decode(z, *cond))


def kl_per_dim(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the images of KL(q_φ(z_j|x) ‖ N(0, 1)) for every latent dimension j: shape (n_latent,).

    The dimensions sum to the KL term of the loss. A dimension with KL ≈ 0 has collapsed onto the prior.
    """
    mu, logvar = _encode_all(_check_vae(model), x, y)
    n, k = mu.shape
    # gaussian_kl sums over its last axis; a width-1 axis gives every dimension its own KL
    return gaussian_kl(mu.reshape(-1, 1), logvar.reshape(-1, 1)).reshape(n, k).mean(dim=0).to(x.device)


def active_units(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None, threshold: float = 1e-2) -> int:
    """How many latent dimensions are active: Cov_x(E_{q(z|x)}[z_j]) > ``threshold`` (Burda et al. 2016, §5.2).

    An inactive unit's posterior mean does not depend on the input: the decoder ignores it.
    """
    mu, _ = _encode_all(_check_vae(model), x, y)
    return int((mu.var(dim=0) > threshold).sum())
