"""DeepAutoencoder, unrolling an RBM stack, greedy pretraining and per-layer gradient norms."""
import pytest
import torch
from torch import nn

import aecourse as ae


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(120, 12, generator=g) < 0.3).float()


@pytest.fixture(scope="module")
def stack(data):
    torch.manual_seed(0)
    return ae.greedy_pretrain(data, [12, 8, 6, 3], epochs=[3, 3, 5], batch_size=20, device="cpu",
                              progress=False)


def test_deep_autoencoder_architecture_and_checkpoint(tmp_path):
    net = ae.DeepAutoencoder([784, 1000, 500, 250, 30])
    assert isinstance(net, ae.Autoencoder)
    kinds = [type(m).__name__ for m in net.encoder]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]  # linear code
    assert isinstance(net.decoder[-1], nn.Sigmoid)
    x = torch.rand(5, 784)
    assert net.encode(x).shape == (5, 30) and net(x).shape == (5, 784)
    path = ae.save(net, tmp_path / "deep.pt")
    again = ae.load(path)
    assert type(again) is ae.DeepAutoencoder and torch.equal(again(x), net(x))


def test_greedy_stack_shapes_and_data_of_each_layer(stack, data):
    assert [(r.n_visible, r.n_hidden, r.hidden) for r in stack] == [
        (12, 8, "binary"), (8, 6, "binary"), (6, 3, "gaussian")]
    assert [r.epochs for r in stack] == [3, 3, 5]
    assert all(len(r.history_.train_loss) == r.epochs for r in stack)
    # reusing the bottom RBMs trains only the new top one
    new = ae.greedy_pretrain(data, [12, 8, 6, 2], rbms=stack[:2], epochs=2, batch_size=20, device="cpu",
                             progress=False)
    assert new[0] is stack[0] and new[1] is stack[1] and new[2].n_hidden == 2


def test_from_rbms_unrolls_with_transposed_untied_weights(stack, data):
    net = ae.DeepAutoencoder.from_rbms(stack)
    assert net.sizes == [12, 8, 6, 3] and net.hparams["code_activation"] is None
    enc = [m for m in net.encoder if isinstance(m, nn.Linear)]
    dec = [m for m in net.decoder if isinstance(m, nn.Linear)]
    for rbm, e, d in zip(stack, enc, dec[::-1]):
        assert torch.equal(e.weight, rbm.weight_.T) and torch.equal(e.bias, rbm.hidden_bias_)
        assert torch.equal(d.weight, rbm.weight_) and torch.equal(d.bias, rbm.visible_bias_)
        assert e.weight.data_ptr() != d.weight.data_ptr()     # untied: separate parameters
    # the encoder computes the RBMs' hidden probabilities (means at the linear top)
    h = data
    for rbm in stack:
        h = rbm.transform(h)
    assert torch.allclose(net.encode(data), h, atol=1e-5)
    # and the decoder the visible probabilities of each RBM going down
    v = h
    for rbm in reversed(stack):
        v = rbm.visible_probs(v)
    assert torch.allclose(net(data), v, atol=1e-5)


def test_from_rbms_rejects_mismatched_or_wrong_stacks(stack):
    with pytest.raises(ValueError, match="8 hidden units but RBM 1 has 6 visible"):
        ae.DeepAutoencoder.from_rbms([stack[0], stack[2]])
    with pytest.raises(ValueError, match="only the top RBM may have Gaussian"):
        ae.DeepAutoencoder.from_rbms(
            [ae.RBM(6, 3, hidden="gaussian", epochs=1, progress=False, device="cpu").fit(torch.rand(10, 6)),
             ae.RBM(3, 2, epochs=1, progress=False, device="cpu").fit(torch.rand(10, 3))])
    with pytest.raises(RuntimeError, match="not fitted"):
        ae.DeepAutoencoder.from_rbms([ae.RBM(12, 8)])
    with pytest.raises(TypeError, match="non-empty list"):
        ae.DeepAutoencoder.from_rbms([])


def test_greedy_pretrain_bad_inputs(data):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.greedy_pretrain(data * 3, [12, 4], progress=False)
    with pytest.raises(ValueError, match="sizes\\[0\\] is 10"):
        ae.greedy_pretrain(data, [10, 4], progress=False)
    with pytest.raises(ValueError, match="one per layer"):
        ae.greedy_pretrain(data, [12, 4, 2], epochs=[1, 2, 3], progress=False)


def test_layer_gradient_norms_match_autograd():
    torch.manual_seed(0)
    net = ae.DeepAutoencoder([20, 10, 5, 2])
    x = torch.rand(8, 20)
    norms = ae.layer_gradient_norms(net, x, loss="bce")
    assert len(norms) == 6
    ae.losses.cross_entropy(net(x), x).backward()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert norms == pytest.approx([float(m.weight.grad.norm()) for m in linears], rel=1e-6)
    with pytest.raises(ValueError, match="'bce' or 'mse'"):
        ae.layer_gradient_norms(net, x, loss="l1")
