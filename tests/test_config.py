import importlib

import numpy as np
import pytest
import torch

import aecourse as ae

import fake_gpu


@pytest.mark.skipif(fake_gpu.DEVICE is not None,
                    reason="checks ae.device()'s automatic choice, "
                           "which the simulated GPU (AECOURSE_FAKE_GPU) replaces")
def test_device_defaults_to_an_available_device(monkeypatch):
    monkeypatch.delenv("AECOURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert ae.device().type == expected


def test_float64_device(monkeypatch):
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")
    assert ae.has_float64(torch.device("cpu"))
    assert ae.device(float64=True) == ae.device() == torch.device("cpu")
    # a device without float64 (Apple's MPS) is simulated in tests/test_fake_gpu.py


def test_device_override(monkeypatch):
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")
    assert ae.device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("AECOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no usable CUDA GPU.*Unset AECOURSE_DEVICE"):
        ae.device()


def test_unknown_device_name(monkeypatch):
    monkeypatch.setenv("AECOURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="not a device the course knows"):
        ae.device()


def test_seed_everything_reproduces_all_generators():
    ae.seed_everything(123)
    a = (np.random.rand(), torch.rand(3))
    ae.seed_everything(123)
    b = (np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and torch.equal(a[1], b[1])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((ValueError, TypeError)):
        ae.seed_everything(bad)


def test_same_seed_gives_bitwise_identical_history(cpu):
    data = ae.load_mnist().x_train[:500]

    def run():
        ae.seed_everything(7)
        model = ae.Autoencoder([784, 16])
        # random corruption too: every random draw must repeat
        history = ae.fit(model, data, epochs=3, batch_size=50, progress=False,
                         corrupt=lambda x: x * (torch.rand_like(x) > 0.2))
        return history.train_loss, [p.detach().clone() for p in model.parameters()]

    (loss_a, params_a), (loss_b, params_b) = run(), run()
    assert loss_a == loss_b
    assert all(torch.equal(p, q) for p, q in zip(params_a, params_b))


def test_quick_mode_and_budget(monkeypatch):
    import aecourse.config as config

    monkeypatch.setenv("AECOURSE_QUICK", "1")
    importlib.reload(config)
    try:
        assert config.QUICK and config.budget(100, 3) == 3
    finally:
        monkeypatch.delenv("AECOURSE_QUICK")
        importlib.reload(config)
    assert not config.QUICK and config.budget(100, 3) == 100


def test_claim_prints_or_raises(capsys):
    ae.claim(2 > 1, "two exceeds one")
    assert "✓ two exceeds one" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="claim failed: one exceeds two"):
        ae.claim(1 > 2, "one exceeds two")
