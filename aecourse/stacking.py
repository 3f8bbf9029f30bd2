"""Greedy layer-wise stacking of (denoising) autoencoders (chapter 04).

Vincent et al. (2010): train a denoising autoencoder on the data, keep its encoder
φ₁, and train the next one on the codes φ₁(x), corrupting *its own* input φ₁(x) (never the pixels),
and so on. The stacked encoder φ_L ∘ … ∘ φ₁ is then a feature extractor (or the initialisation of a
deep network). Without a corruption the same procedure stacks plain autoencoders, the baseline
the paper compares with.

The stack is trained greedily, not by one gradient descent on the whole, so it follows
scikit-learn's conventions: ``__init__`` stores settings, ``fit`` returns self, the learned
layers end in ``_``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .metrics import encode
from .models import Autoencoder
from .train import History, fit
from .validate import check_positive_int, check_tensor

__all__ = ["StackedAutoencoder"]

Corruption = Callable[[torch.Tensor], torch.Tensor]


class StackedAutoencoder:
    """Autoencoders stacked greedily, each trained by ``ae.fit`` on the codes of the one below.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_features, h1, h2, ...]``: layer ``i`` is ``ae.Autoencoder([sizes[i], sizes[i + 1]])``.
    corrupt : callable, sequence of callables, or None
        The corruption each layer applies to its own input during training, e.g.
        ``ae.corruption("masking", 0.25)``; a sequence gives one per layer. None stacks plain
        autoencoders.
    epochs : int or sequence of int
        Training epochs of every layer (or of each layer).
    activation : str
        The code nonlinearity of every layer (``'sigmoid'`` keeps codes in [0, 1], so the next layer
        can reconstruct them with a sigmoid output and be corrupted like pixels).
    loss, batch_size, lr, optimizer, weight_decay, device, progress
        Passed to :func:`aecourse.fit` for every layer.

    Attributes
    ----------
    layers_ : list of Autoencoder
        The trained one-hidden-layer autoencoders, bottom first.
    histories_ : list of History
        Their training histories.
    """

    def __init__(self, sizes: Sequence[int], corrupt: Corruption | Sequence[Corruption | None] | None = None,
                 epochs: int | Sequence[int] = 10, activation: str = "sigmoid", loss="mse",
                 batch_size: int | None = 100, lr: float | None = None, optimizer="adam",
                 weight_decay: float = 0.0, device=None, progress: bool = True):
        self.sizes = sizes
        self.corrupt = corrupt
        self.epochs = epochs
        self.activation = activation
        self.loss = loss
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.device = device
        self.progress = progress

    def _per_layer(self, value, name: str, n_layers: int) -> list:
        if isinstance(value, (list, tuple)):
            if len(value) != n_layers:
                raise ValueError(f"{name} lists {len(value)} values but the stack has {n_layers} layers.")
            return list(value)
        return [value] * n_layers

    def fit(self, x: torch.Tensor) -> "StackedAutoencoder":
        """Train the layers bottom-up on ``x`` of shape (n_samples, sizes[0]); returns self."""
        if isinstance(self.sizes, (int, str)) or len(self.sizes) < 2:
            raise ValueError(f"sizes must list the input size and at least one code size, e.g. [784, 256, 128]; "
                             f"got {self.sizes!r}.")
        sizes = [check_positive_int(s, "every layer size") for s in self.sizes]
        x = check_tensor(x, "x", features=sizes[0])
        n_layers = len(sizes) - 1
        corrupts = self._per_layer(self.corrupt, "corrupt", n_layers)
        epochs = self._per_layer(self.epochs, "epochs", n_layers)
        for fn in corrupts:
            if fn is not None and not callable(fn):
                raise TypeError(f"corrupt must be a function x -> x̃ (e.g. ae.corruption('masking', 0.25)), got {fn!r}.")

        self.layers_: list[Autoencoder] = []
        self.histories_: list[History] = []
        codes = x  # the input of the layer being trained: pixels, then φ₁(x), then φ₂(φ₁(x)), ...
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer = Autoencoder([n_in, n_out], activation=self.activation)
            history = fit(layer, codes, epochs=epochs[i], batch_size=self.batch_size, loss=self.loss,
                          optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
                          corrupt=corrupts[i], device=self.device, progress=self.progress,
                          desc=f"layer {i + 1} of {n_layers} ({n_in} -> {n_out})")
            self.layers_.append(layer)
            self.histories_.append(history)
            codes = encode(layer, codes)  # clean codes: each layer corrupts its own input
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "layers_"):
            raise RuntimeError("this StackedAutoencoder is not fitted yet; call .fit(x) first.")

    def transform(self, x: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """The stacked code φ_depth(… φ₁(x)) (all layers by default), on ``x``'s device.

        x : tensor of shape (n_samples, sizes[0]). Returns shape (n_samples, sizes[depth]).
        """
        self._check_fitted()
        x = check_tensor(x, "x", features=self.layers_[0].sizes[0])
        depth = len(self.layers_) if depth is None else check_positive_int(depth, "depth")
        if depth > len(self.layers_):
            raise ValueError(f"depth {depth} is deeper than the stack's {len(self.layers_)} layers.")
        z = x
        for layer in self.layers_[:depth]:
            z = encode(layer, z)
        return z.to(x.device)

    def encoder(self) -> nn.Sequential:
        """The stacked encoder as one module, x -> φ_L(… φ₁(x)) (shares the layers' weights)."""
        self._check_fitted()
        return nn.Sequential(*[layer.encoder for layer in self.layers_])

    def __repr__(self) -> str:
        kind = "plain" if self.corrupt is None else "denoising"
        state = "fitted" if hasattr(self, "layers_") else "not fitted"
        return f"StackedAutoencoder({kind}, sizes={list(self.sizes)}, {state})"
