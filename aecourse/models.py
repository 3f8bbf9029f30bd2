"""Autoencoders as plain ``nn.Module``s with ``encode`` and ``decode`` (chapters 01-03).

The seed article's single hidden layer is ``Autoencoder([784, 32])``:
z = σ(Wx + b) (the encoder φ) and x' = σ(W'z + b') (the decoder ψ).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .validate import check_positive_int

__all__ = ["CourseModel", "Autoencoder", "TiedLinear", "make_activation"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh, "linear": None, None: None}

#: class name -> class, for every CourseModel subclass (used by ``ae.load`` to rebuild a model)
MODEL_REGISTRY: dict[str, type] = {}


def make_activation(name: str | None) -> nn.Module | None:
    """The activation module called ``name`` (``sigmoid``, ``relu``, ``tanh``; ``linear``/None: none)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of 'sigmoid', 'relu', 'tanh', 'linear' or None.")
    cls = _ACTIVATIONS[name]
    return cls() if cls is not None else None


class CourseModel(nn.Module):
    """Base of the course's models: ``encode``, ``decode``, ``forward = decode ∘ encode``.

    Subclasses store their constructor arguments in ``self.hparams`` (plain Python values) so that
    ``ae.load`` can rebuild them from a checkpoint.
    """

    hparams: dict

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODEL_REGISTRY[cls.__name__] = cls

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class TiedLinear(nn.Module):
    """A decoder layer that reuses an encoder layer's weight transposed: x' = zWᵀᵀ + b' (W' = Wᵀ)."""

    def __init__(self, encoder_layer: nn.Linear):
        super().__init__()
        self._encoder_layer = [encoder_layer]  # a plain list: the weight stays registered once, in the encoder
        self.bias = nn.Parameter(torch.zeros(encoder_layer.in_features))

    @property
    def weight(self) -> torch.Tensor:
        return self._encoder_layer[0].weight.t()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, self.weight, self.bias)

    def extra_repr(self) -> str:
        layer = self._encoder_layer[0]
        return f"in_features={layer.out_features}, out_features={layer.in_features}, tied to the encoder"


def dense_stack(sizes: Sequence[int], hidden: str | None, last: str | None, layers=None) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ``hidden`` activations and ``last`` at the end."""
    modules: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(layers[i] if layers is not None else nn.Linear(n_in, n_out))
        act = make_activation(last if i == len(sizes) - 2 else hidden)
        if act is not None:
            modules.append(act)
    return nn.Sequential(*modules)


class Autoencoder(CourseModel):
    """A fully connected autoencoder: encoder ``sizes[0] -> ... -> sizes[-1]``, decoder mirrored.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the input to the code, e.g. ``[784, 32]`` for the seed's single hidden layer
        or ``[784, 1000, 500, 250, 30]`` for Hinton & Salakhutdinov's deep autoencoder.
    activation : str or None
        Hidden-layer nonlinearity σ: ``'sigmoid'`` (default), ``'relu'``, ``'tanh'`` or None (linear).
    code_activation : str or None
        Nonlinearity of the code layer z; defaults to ``activation``. Use None for a linear code.
    out_activation : str or None
        Nonlinearity of the reconstruction x'; ``'sigmoid'`` (default) keeps it in [0, 1].
    tied : bool
        Tie the decoder to the encoder, W' = Wᵀ (only the decoder biases are new parameters).
    """

    def __init__(self, sizes: Sequence[int], activation: str | None = "sigmoid",
                 code_activation: str | None = "same", out_activation: str | None = "sigmoid", tied: bool = False):
        super().__init__()
        if isinstance(sizes, (int, str)) or len(sizes) < 2:
            raise ValueError(f"sizes must list at least two layer sizes (input, code), e.g. [784, 32]; got {sizes!r}.")
        sizes = [check_positive_int(s, "every layer size") for s in sizes]
        if code_activation == "same":
            code_activation = activation
        for name in (activation, code_activation, out_activation):
            make_activation(name)  # validates the name early, with a clear message
        self.hparams = dict(sizes=sizes, activation=activation, code_activation=code_activation,
                            out_activation=out_activation, tied=bool(tied))
        self.encoder = dense_stack(sizes, activation, code_activation)   # (batch, sizes[0]) -> (batch, sizes[-1])
        reversed_sizes = sizes[::-1]
        tied_layers = None
        if tied:
            encoder_linears = [m for m in self.encoder if isinstance(m, nn.Linear)]
            tied_layers = [TiedLinear(layer) for layer in reversed(encoder_linears)]
        self.decoder = dense_stack(reversed_sizes, activation, out_activation, tied_layers)  # (batch, k) -> (batch, d)

    @property
    def sizes(self) -> list[int]:
        return list(self.hparams["sizes"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """φ(x): the code z, shape (batch, sizes[-1])."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """ψ(z): the reconstruction x', shape (batch, sizes[0])."""
        return self.decoder(z)
