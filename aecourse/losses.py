"""Losses, reported per image: summed over pixels (or latent units), averaged over images.

That is the unit the papers report (Hinton & Salakhutdinov 2006 give squared error per image,
Kingma & Welling 2013 nats per image), so the course's numbers can be compared with theirs.
Every function names the equation it implements.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .validate import check_probability, check_tensor

__all__ = ["squared_error", "cross_entropy", "gaussian_kl"]


def _same_shape(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(
            f"reconstruction has shape {tuple(x_hat.shape)} but the input has shape {tuple(x.shape)}; "
            "a decoder must return one value per input feature."
        )


def _per_image(total: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``total``, a sum over every pixel of ``x``, divided by its number of images (all dims but the last)."""
    return total / (x.numel() // x.shape[-1] if x.ndim else 1)


def squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over images of ‖x − x'‖², the seed article's reconstruction error.

    x_hat, x : tensors of shape (n_samples, n_features). Returns a scalar tensor.
    """
    _same_shape(x_hat, x)
    # = (x_hat - x).pow(2).sum(dim=-1).mean(), in one fused kernel each way: no difference tensor is
    # kept for the backward pass, which matters for full-batch training (4000 x 784 float64 is 25 MB)
    return _per_image(F.mse_loss(x_hat, x, reduction="sum"), x)


def cross_entropy(x_hat: torch.Tensor, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
    """Mean over images of the Bernoulli cross-entropy −Σᵢ [xᵢ log x'ᵢ + (1 − xᵢ) log(1 − x'ᵢ)].

    The loss Hinton & Salakhutdinov (2006) fine-tune with, and −log p_θ(x|z) of a Bernoulli decoder
    (Kingma & Welling 2013, appendix C.1). Pass ``logits=True`` when ``x_hat`` holds pre-sigmoid
    values: that form is numerically stable.
    """
    _same_shape(x_hat, x)
    # = per-pixel loss .sum(dim=-1).mean(), as one fused sum (see squared_error)
    loss = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    return _per_image(loss(x_hat, x, reduction="sum"), x)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) for every row, in nats.

    Closed form from Kingma & Welling (2013), appendix B:
    −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²).

    mu, logvar : tensors of shape (n_samples, n_latent). Returns a tensor of shape (n_samples,).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but logvar has shape {tuple(logvar.shape)}; they must match.")
    if not bool((torch.isfinite(mu) & torch.isfinite(logvar)).all()):   # one read of the device, not two
        raise ValueError(
            "mu or logvar contains NaN or infinite values; the encoder diverged "
            "(lower the learning rate, or clamp logvar)."
        )
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)


# --------------------------------------------------------------------------------------------
# Penalties that keep an overcomplete autoencoder from learning the identity (chapter 03)
# --------------------------------------------------------------------------------------------
# Each returns a scalar tensor in the unit of the reconstruction loss (per image: summed over
# units, averaged over images), already multiplied by its coefficient ``strength``.



__all__ += ["l1_activity", "kl_sparsity", "contractive_penalty", "weight_decay", "penalised_loss"]


def _check_strength(strength: float, name: str = "strength") -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not math.isfinite(strength):
        raise TypeError(f"{name} must be a finite number, got {strength!r}.")
    if strength < 0:
        raise ValueError(f"{name} must be non-negative (a negative penalty rewards what it should prevent), "
                         f"got {strength}; use 0 to switch the penalty off.")
    return float(strength)


def l1_activity(z: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """L1 activity sparsity: λ · mean over images of Σⱼ |zⱼ|.

    The sparsity penalty Ω(h) = λ Σᵢ |hᵢ| of Goodfellow, Bengio & Courville (2016), "Deep
    Learning", section 14.2.1, applied to the code z = φ(x). It pushes code units towards zero.

    z : tensor of shape (n_samples, n_code). Returns a scalar tensor.
    """
    check_tensor(z.detach(), "z")
    return _check_strength(strength) * z.abs().sum(dim=-1).mean()


def kl_sparsity(z: torch.Tensor, rho: float, strength: float = 1.0) -> torch.Tensor:
    """KL sparsity: β Σⱼ KL(ρ ‖ ρ̂ⱼ), ρ̂ⱼ the mean activation of code unit j over the batch.

    The UFLDL formulation (Ng, "Sparse autoencoder" lecture notes, CS294A, 2011, section 2.2):
    KL(ρ ‖ ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ)), the divergence between Bernoulli
    variables with means ρ (the target) and ρ̂ⱼ = (1/m) Σᵢ zⱼ(xᵢ). Zero exactly when every unit's
    mean activation equals ρ. It is a property of the batch, not of one image.

    z : tensor of shape (n_samples, n_code) with values in [0, 1] (e.g. a sigmoid code).
    rho : target mean activation, strictly between 0 and 1 (UFLDL uses 0.05).
    """
    check_tensor(z.detach(), "z", unit_range=True)  # detached: validation reads values, needs no graph
    rho = check_probability(rho, "rho", open_interval=True)
    strength = _check_strength(strength)
    eps = torch.finfo(z.dtype).eps  # a unit that is always 0 (or 1) would give log 0
    rho_hat = z.mean(dim=0).clamp(eps, 1 - eps)  # (n_samples, n_code) -> (n_code,)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return strength * kl.sum()


def contractive_penalty(z: torch.Tensor, weight: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """Contractive penalty λ ‖J_φ(x)‖²_F for a sigmoid encoder layer z = σ(Wx + b), in closed form.

    Rifai et al. (2011), "Contractive auto-encoders: explicit invariance during feature extraction"
    (ICML): the CAE objective adds λ ‖J_φ(x)‖²_F = λ Σᵢⱼ (∂zⱼ/∂xᵢ)² to the reconstruction error, and
    for a sigmoid layer ∂zⱼ/∂xᵢ = zⱼ(1 − zⱼ) Wⱼᵢ, so ‖J_φ(x)‖²_F = Σⱼ (zⱼ(1 − zⱼ))² Σᵢ Wⱼᵢ².
    Averaged over images.
    It makes the code insensitive to small changes of the input in every direction the data do
    not need.

    z : tensor of shape (n_samples, n_code), the sigmoid code σ(Wx + b).
    weight : tensor of shape (n_code, n_input), the encoder's W (``nn.Linear.weight`` layout).
    """
    check_tensor(z.detach(), "z", unit_range=True)
    check_tensor(weight.detach(), "weight")
    if weight.shape[0] != z.shape[1]:
        raise ValueError(f"weight has shape {tuple(weight.shape)} but the code has {z.shape[1]} units; pass the "
                         "encoder layer's weight of shape (n_code, n_input), e.g. model.encoder[0].weight.")
    strength = _check_strength(strength)
    slope_sq = (z * (1 - z)).pow(2)         # (n_samples, n_code): σ'(a)² written with z = σ(a)
    row_norms_sq = weight.pow(2).sum(dim=1)  # (n_code,): Σᵢ Wⱼᵢ²
    return strength * (slope_sq @ row_norms_sq).mean()


def weight_decay(weights, strength: float = 1.0) -> torch.Tensor:
    """Weight decay (L2 penalty) (λ/2) Σ_W ‖W‖²_F over weight matrices, biases excluded.

    The UFLDL sparse-autoencoder objective's second term (λ/2) Σₗ Σᵢⱼ (Wᵢⱼ⁽ˡ⁾)² (Ng 2011, section
    2.1; Goodfellow et al. 2016, section 7.1.1). Its gradient is λW, the update of ``weight_decay=λ``
    in ``torch.optim.SGD``.

    weights : an ``nn.Module`` (every ``nn.Linear`` weight in it, a tied weight counted once) or a
        sequence of weight tensors.
    """
    strength = _check_strength(strength)
    if isinstance(weights, torch.nn.Module):
        weights = [m.weight for m in weights.modules() if isinstance(m, torch.nn.Linear)]
    elif isinstance(weights, torch.Tensor):
        weights = [weights]
    weights = list(weights)
    if not weights:
        raise ValueError("weight_decay got no weights: pass a model with nn.Linear layers or a list of tensors.")
    for i, w in enumerate(weights):
        if not isinstance(w, torch.Tensor) or not w.is_floating_point():
            raise TypeError(f"weight {i} is not a floating-point tensor ({type(w).__name__}).")
    return strength / 2 * sum(w.pow(2).sum() for w in weights)


def penalised_loss(penalty, reconstruction=squared_error):
    """A loss for ``ae.fit``: reconstruction error plus ``penalty(model, z, x_in)``.

    ``penalty`` gets the model, the code z = φ(x̃) and the input x̃, and returns a scalar tensor,
    e.g. ``lambda model, z, x_in: ae.l1_activity(z, 0.01)``. The returned function gives ``fit``
    ``{"loss": recon + penalty, "recon": ..., "penalty": ...}``, so both terms are logged.
    """
    if not callable(penalty) or not callable(reconstruction):
        raise TypeError("penalty and reconstruction must be functions.")

    def loss(model, x_in, x):
        z = model.encode(x_in)
        recon = reconstruction(model.decode(z), x)
        pen = penalty(model, z, x_in)
        return {"loss": recon + pen, "recon": recon, "penalty": pen}

    return loss
