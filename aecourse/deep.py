"""Deep autoencoders and Hinton & Salakhutdinov's recipe: pretrain a stack of RBMs greedily,
unroll it into an encoder and a decoder, fine-tune with backpropagation (chapter 06).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import losses
from .models import Autoencoder
from .rbm import RBM
from .validate import check_positive_int, check_tensor

__all__ = ["DeepAutoencoder", "greedy_pretrain", "layer_gradient_norms"]


class DeepAutoencoder(Autoencoder):
    """Hinton & Salakhutdinov's deep autoencoder: sigmoid hidden layers, a linear code, sigmoid output.

    ``DeepAutoencoder([784, 1000, 500, 250, 30])`` is the paper's MNIST network: encoder
    784→1000→500→250→30, decoder mirrored; initialised at random here, or from a pretrained RBM
    stack with :meth:`from_rbms`. It is an :class:`aecourse.Autoencoder`, so ``ae.fit``,
    ``ae.save`` and ``ae.load`` work unchanged.
    """

    def __init__(self, sizes: Sequence[int], activation: str | None = "sigmoid", code_activation: str | None = None,
                 out_activation: str | None = "sigmoid", tied: bool = False):
        super().__init__(sizes, activation=activation, code_activation=code_activation,
                         out_activation=out_activation, tied=tied)

    @classmethod
    def from_rbms(cls, rbms: Sequence[RBM]) -> "DeepAutoencoder":
        """Unroll a greedily trained stack of RBMs (bottom first) into an autoencoder.

        Encoder layer i gets RBM i's weights Wᵢᵀ and hidden biases; the mirrored decoder layer gets
        Wᵢ and the visible biases. The decoder starts as the transposed encoder but is a separate
        copy (untied), so fine-tuning may change the two differently. A top RBM with Gaussian hidden
        units gives a linear code layer; all others must have binary (logistic) hidden units.
        """
        rbms = list(rbms)
        if not rbms or not all(isinstance(r, RBM) for r in rbms):
            raise TypeError("from_rbms needs a non-empty list of fitted ae.RBM objects (bottom layer first).")
        for i, rbm in enumerate(rbms):
            rbm._check_fitted()
            if i + 1 < len(rbms) and rbm.n_hidden != rbms[i + 1].n_visible:
                raise ValueError(
                    f"RBM {i} has {rbm.n_hidden} hidden units but RBM {i + 1} has {rbms[i + 1].n_visible} visible "
                    "units; in a stack each RBM's visible layer is the hidden layer of the one below.")
            if i + 1 < len(rbms) and rbm.hidden != "binary":
                raise ValueError(f"RBM {i} has {rbm.hidden!r} hidden units; only the top RBM may have Gaussian "
                                 "(linear) hidden units, the layers below must be binary (sigmoid).")
        sizes = [rbms[0].n_visible] + [r.n_hidden for r in rbms]
        model = cls(sizes, code_activation=None if rbms[-1].hidden == "gaussian" else "sigmoid")
        encoder = [m for m in model.encoder if isinstance(m, nn.Linear)]
        decoder = [m for m in model.decoder if isinstance(m, nn.Linear)][::-1]  # decoder[i] mirrors encoder[i]
        with torch.no_grad():
            for rbm, enc, dec in zip(rbms, encoder, decoder):
                w = rbm.weight_.detach().cpu()                       # (n_visible, n_hidden)
                enc.weight.copy_(w.T)                                # Linear(n_visible -> n_hidden)
                enc.bias.copy_(rbm.hidden_bias_.detach().cpu())
                dec.weight.copy_(w)                                  # Linear(n_hidden -> n_visible): a copy, untied
                dec.bias.copy_(rbm.visible_bias_.detach().cpu())
        return model


def greedy_pretrain(x: torch.Tensor, sizes: Sequence[int], *, epochs: int | Sequence[int] = 10,
                    linear_code: bool = True, rbms: Sequence[RBM] = (), progress: bool = True,
                    **rbm_settings) -> list[RBM]:
    """Train a stack of RBMs layer by layer (Hinton & Salakhutdinov 2006).

    The first RBM models ``x``; every next one is trained on the hidden probabilities of the one
    below. ``sizes`` such as ``[784, 1000, 500, 250, 30]`` give one RBM per consecutive pair; with
    ``linear_code`` the top one has Gaussian (linear) hidden units. ``epochs`` is one number for
    every layer or one per layer (the small top layers are cheap, and the linear top layer's small
    learning rate needs more updates). ``rbms`` are already trained
    bottom layers to reuse (e.g. the 784-1000-500-250 part for a 2-D code); ``rbm_settings``
    (``epochs``, ``k``, ``persistent``, ``random_state``, ``device``...) go to every new
    :class:`RBM`. Returns the list of RBMs, bottom first.
    """
    x = check_tensor(x, "x", features=None, unit_range=True)
    if isinstance(sizes, (int, str)) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer sizes, e.g. [784, 1000, 500, 250, 30]; got {sizes!r}.")
    sizes = [check_positive_int(s, "every layer size") for s in sizes]
    if x.shape[1] != sizes[0]:
        raise ValueError(f"x has {x.shape[1]} features per row but sizes[0] is {sizes[0]}.")
    stack = list(rbms)
    if len(stack) >= len(sizes):
        raise ValueError(f"{len(stack)} pretrained RBMs given but sizes {sizes} only has {len(sizes) - 1} layers.")
    n_layers = len(sizes) - 1
    per_layer = [epochs] * n_layers if isinstance(epochs, int) else list(epochs)
    if len(per_layer) != n_layers:
        raise ValueError(f"epochs must be one number or one per layer ({n_layers}), got {epochs!r}.")
    data = x
    for i, rbm in enumerate(stack):
        if (rbm.n_visible, rbm.n_hidden) != (sizes[i], sizes[i + 1]):
            raise ValueError(f"the given RBM {i} is {rbm.n_visible}-{rbm.n_hidden} but sizes asks for "
                             f"{sizes[i]}-{sizes[i + 1]}.")
        data = rbm.transform(data)
    for i in range(len(stack), len(sizes) - 1):
        top = i == len(sizes) - 2
        hidden = "gaussian" if top and linear_code else "binary"
        rbm = RBM(sizes[i], sizes[i + 1], hidden=hidden, epochs=per_layer[i], progress=progress,
                  **rbm_settings).fit(data)
        stack.append(rbm)
        if not top:
            data = rbm.transform(data)  # the hidden probabilities are the next RBM's data
    return stack


def layer_gradient_norms(model: nn.Module, x: torch.Tensor, loss: str = "bce") -> list[float]:
    """‖∂loss/∂W‖ of every linear layer's weight, input side first, for one batch ``x``.

    ``loss``: ``'bce'`` (cross-entropy per image) or ``'mse'`` (squared error per image). The
    model's stored gradients are left untouched.
    """
    x = check_tensor(x, "x")
    loss_fn = {"bce": losses.cross_entropy, "mse": losses.squared_error}.get(loss)
    if loss_fn is None:
        raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}.")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layers.")
    dev = linears[0].weight.device
    x = x.to(dev)
    was_training = model.training
    model.eval()
    value = loss_fn(model(x), x)
    grads = torch.autograd.grad(value, [m.weight for m in linears])
    model.train(was_training)
    return [float(g.norm()) for g in grads]
