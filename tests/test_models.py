import pytest
import torch

import aecourse as ae


def test_single_hidden_layer_is_the_seed_equations():
    """z = σ(Wx + b), x' = σ(W'z + b')."""
    model = ae.Autoencoder([784, 32])
    x = torch.rand(5, 784)
    W, b = model.encoder[0].weight, model.encoder[0].bias
    W2, b2 = model.decoder[0].weight, model.decoder[0].bias
    z = torch.sigmoid(x @ W.T + b)
    assert torch.allclose(model.encode(x), z)
    assert torch.allclose(model.decode(z), torch.sigmoid(z @ W2.T + b2))
    assert torch.allclose(model(x), model.decode(model.encode(x)))


def test_deep_shapes_and_activations():
    model = ae.Autoencoder([784, 100, 20, 2], activation="relu", code_activation=None, out_activation=None)
    x = torch.rand(3, 784)
    assert model.encode(x).shape == (3, 2) and model(x).shape == (3, 784)
    assert model.encode(torch.zeros(1, 784)).min() < 1e9  # linear code: not clamped
    assert isinstance(model.encoder[-1], torch.nn.Linear)  # no activation after the code layer
    assert model.sizes == [784, 100, 20, 2]


def test_linear_autoencoder_has_no_nonlinearity():
    model = ae.Autoencoder([10, 3], activation=None, out_activation=None)
    x = torch.randn(4, 10)
    assert torch.allclose(model(2 * x) - model(torch.zeros(1, 10)), 2 * (model(x) - model(torch.zeros(1, 10))), atol=1e-5)


def test_tied_weights_share_the_encoder_matrix():
    model = ae.Autoencoder([784, 64, 16], tied=True)
    enc = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    dec = list(model.decoder)[0::2]
    assert torch.equal(dec[0].weight, enc[1].weight.T) and torch.equal(dec[1].weight, enc[0].weight.T)
    untied = ae.Autoencoder([784, 64, 16])
    n_tied = sum(p.numel() for p in model.parameters())
    assert n_tied == sum(p.numel() for p in untied.parameters()) - 784 * 64 - 64 * 16
    # a gradient step on the decoder's use of W reaches the encoder's parameter
    model(torch.rand(2, 784)).sum().backward()
    assert enc[0].weight.grad is not None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sizes": [784]}, "at least two layer sizes"),
        ({"sizes": 784}, "at least two layer sizes"),
        ({"sizes": [784, 0]}, "at least 1"),
        ({"sizes": [784, 2.5]}, "integer"),
        ({"sizes": [784, 32], "activation": "softsign"}, "unknown activation"),
    ],
)
def test_bad_model_settings(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ae.Autoencoder(**kwargs)
