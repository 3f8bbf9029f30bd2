import math
import warnings

import pytest
import torch

import aecourse as ae


@pytest.fixture
def data():
    return ae.load_mnist().x_train[:400]


def test_fit_learns_and_reports_per_image_loss(data, cpu):
    ae.seed_everything(0)
    model = ae.Autoencoder([784, 16])
    with torch.no_grad():
        before = ae.squared_error(model(data), data).item()
    history = ae.fit(model, data, epochs=8, batch_size=50, lr=1e-2, val=data[:100], progress=False)
    assert history.epochs == 8 and len(history.val_loss) == 8 and len(history.seconds) == 8
    assert history.train_loss[-1] < 0.6 * before  # per-image sum over pixels: ~tens, not ~0.05
    assert history.train_loss[-1] > 1.0
    assert all(s > 0 for s in history.samples_per_s)
    assert "8 epochs" in repr(history)


def test_full_batch_and_lbfgs(data, cpu):
    ae.seed_everything(0)
    model = ae.Autoencoder([784, 8], activation=None, out_activation=None)
    history = ae.fit(model, data[:100], epochs=2, batch_size=None, optimizer="lbfgs", progress=False)
    assert history.train_loss[-1] < history.train_loss[0]


def test_corruption_is_applied_to_input_but_loss_uses_clean_target(data, cpu):
    seen = {}

    def loss(model, x_in, x):
        seen["in"], seen["target"] = x_in, x
        return ae.squared_error(model(x_in), x)

    ae.fit(ae.Autoencoder([784, 4]), data, epochs=1, batch_size=len(data), loss=loss,
           corrupt=lambda x: torch.zeros_like(x), progress=False)
    assert float(seen["in"].abs().sum()) == 0.0
    assert float(seen["target"].abs().sum()) > 0.0


def test_fresh_corruption_every_epoch(data, cpu):
    draws = []

    def corrupt(x):
        mask = torch.rand_like(x) > 0.5
        draws.append(mask)
        return x * mask

    ae.fit(ae.Autoencoder([784, 4]), data, epochs=2, batch_size=None, corrupt=corrupt, progress=False)
    assert len(draws) == 2 and not torch.equal(draws[0], draws[1])


def test_multi_term_loss_and_labels_are_logged(data, cpu):
    labels = torch.arange(len(data)) % 10

    def loss(model, x_in, x, y):
        assert len(y) == len(x)
        recon = ae.squared_error(model(x_in), x)
        penalty = 0.0 * y.float().mean()
        return {"loss": recon + penalty, "recon": recon, "penalty": penalty}

    history = ae.fit(ae.Autoencoder([784, 4]), data, y=labels, epochs=2, loss=loss,
                     val=data[:50], val_y=labels[:50], progress=False)
    assert set(history.terms) == {"loss", "recon", "penalty"}
    assert history.terms["loss"] == history.train_loss
    assert history.val_terms["recon"] == history.val_loss


def test_non_finite_loss_stops_with_message_and_keeps_finite_weights(data, cpu):
    ae.seed_everything(0)
    model = ae.Autoencoder([784, 8], activation=None, out_activation=None)
    with pytest.raises(ae.TrainingDiverged, match=r"epoch \d+, batch \d+.*last finite weights.*learning rate") as info:
        ae.fit(model, data * 1e3, epochs=20, optimizer="sgd", lr=10.0, progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert isinstance(info.value.history, ae.History)
    assert all(math.isfinite(v) for v in info.value.history.train_loss)


def test_all_finite_catches_nan_and_inf_and_is_not_fooled_by_an_overflowing_sum():
    from aecourse.train import _all_finite
    model = ae.Autoencoder([6, 3])
    assert _all_finite(model)
    with torch.no_grad():
        weight = model.encoder[0].weight
        weight.fill_(3e38)                      # finite, but its sum overflows float32
        assert not torch.isfinite(weight.sum()) and _all_finite(model)
        for bad in (float("nan"), float("inf"), -float("inf")):
            weight[1, 2] = bad
            assert not _all_finite(model)
            weight[1, 2] = 0.0


def test_nan_loss_on_first_batch_keeps_initial_weights(data, cpu):
    model = ae.Autoencoder([784, 4])
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ae.TrainingDiverged, match="epoch 1, batch 1"):
        ae.fit(model, data, epochs=2, loss=lambda m, x_in, x: m(x_in).sum() * float("nan"), progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


def test_keyboard_interrupt_returns_history_and_keeps_model(data, cpu):
    model = ae.Autoencoder([784, 4])

    def stop_in_third_epoch(m, h):
        if h.epochs == 2:
            raise KeyboardInterrupt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = ae.fit(model, data, epochs=10, callback=stop_in_third_epoch, progress=False)
    assert history.interrupted and history.epochs == 2
    assert any("interrupted" in str(w.message) for w in caught)
    with torch.no_grad():
        assert torch.isfinite(model(data)).all()


def test_interrupt_inside_a_batch(data, cpu):
    calls = {"n": 0}

    def loss(model, x_in, x):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return ae.squared_error(model(x_in), x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = ae.fit(ae.Autoencoder([784, 4]), data, epochs=5, batch_size=100, loss=loss, progress=False)
    assert history.interrupted and history.epochs == 1  # 4 batches per epoch: stopped in epoch 2


def test_early_stopping_restores_best_weights(data, cpu):
    ae.seed_everything(0)
    model = ae.Autoencoder([784, 16])
    states = []

    def remember(m, h):
        states.append({k: v.clone() for k, v in m.state_dict().items()})

    # a validation set unlike the training data, so the validation loss soon gets worse
    history = ae.fit(model, data, epochs=30, lr=3e-2, val=1 - data[:100], early_stopping=2,
                     callback=remember, progress=False)
    best = history.best_epoch
    assert best is not None and history.val_loss[best - 1] == min(history.val_loss)
    assert history.epochs <= best + 2
    assert all(torch.equal(v, states[best - 1][k]) for k, v in model.state_dict().items())


def test_callback_can_stop(data, cpu):
    history = ae.fit(ae.Autoencoder([784, 4]), data, epochs=10, callback=lambda m, h: h.epochs == 3, progress=False)
    assert history.epochs == 3


def test_progress_bar_counts_the_last_epoch_when_training_stops_early(data, cpu, monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "0")
    history = ae.fit(ae.Autoencoder([784, 4]), data, epochs=10, callback=lambda m, h: h.epochs == 3,
                     desc="stopper")
    assert history.epochs == 3
    last = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert "stopper" in last and "3/10" in last, f"the bar's last state: {last!r}"


def test_data_and_model_moved_to_the_requested_device(data):
    model = ae.Autoencoder([784, 4])
    ae.fit(model, data, epochs=1, device="cpu", progress=False)
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"x": torch.ones(10, 784, dtype=torch.int64)}, TypeError, "floating-point"),
        ({"x": torch.rand(10, 28, 28)}, ValueError, "flatten"),
        ({"x": torch.rand(10, 100)}, ValueError, "input size is 784"),
        ({"x": torch.full((10, 784), float("nan"))}, ValueError, "NaN"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"loss": "l1"}, ValueError, "unknown loss"),
        ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer"),
        ({"early_stopping": 3}, ValueError, "needs validation data"),
        ({"y": torch.zeros(3)}, ValueError, "one label per row"),
        ({"val": torch.rand(5, 10)}, ValueError, "10 features per row but 784"),
        ({"optimizer": "lbfgs", "weight_decay": 0.1}, ValueError, "L2 penalty"),
        ({"loss": lambda m, a, b: [1.0]}, TypeError, "scalar tensor or a dict"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    args = {"x": torch.rand(10, 784), **kwargs}
    x = args.pop("x")
    with pytest.raises(error, match=message):
        ae.fit(ae.Autoencoder([784, 4]), x, progress=False, **args)


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        ae.fit(lambda x: x, torch.rand(4, 784))


def test_closure_optimizers_evaluate_the_loss_only_as_often_as_they_ask(data, cpu):
    calls = {"n": 0}

    def loss(model, x_in, x):
        calls["n"] += 1
        return ae.squared_error(model(x_in), x)

    model = ae.Autoencoder([784, 4], activation=None, out_activation=None)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=5, line_search_fn=None)
    history = ae.fit(model, data[:50], epochs=1, batch_size=None, loss=loss, optimizer=opt, progress=False)
    assert calls["n"] <= 6  # L-BFGS's own evaluations (at most max_iter + 1), no extra one from fit
    assert history.train_loss[0] > 0
