import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import aecourse as ae


def test_per_image_error_and_psnr():
    x = torch.zeros(2, 4)
    x_hat = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.1, 0, 0, 0]])
    assert ae.per_image_error(x_hat, x).tolist() == pytest.approx([1.0, 0.01])
    # MSE per pixel 0.25 -> PSNR = 10 log10(1 / 0.25)
    assert float(ae.psnr(x_hat, x)[0]) == pytest.approx(10 * math.log10(4))
    with pytest.raises(ValueError, match="shape"):
        ae.per_image_error(torch.zeros(2, 3), torch.zeros(2, 4))


def test_reconstruct_matches_forward_in_chunks():
    model = ae.Autoencoder([784, 8])
    x = torch.rand(25, 784)
    assert torch.allclose(ae.reconstruct(model, x, batch_size=7), model(x))


def test_linear_probe_separates_separable_codes_and_checks_input():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    z = rng.normal(size=(150, 2)) * 0.1 + y[:, None]
    assert ae.linear_probe(z[::2], y[::2], z[1::2], y[1::2]) == 1.0
    with pytest.raises(ValueError, match="one label"):
        ae.linear_probe(z, y[:10], z, y)
    with pytest.raises(ValueError, match="NaN"):
        ae.linear_probe(np.full((4, 2), np.nan), [0, 1, 0, 1], z[:4], y[:4])


def test_linear_probe_fits_with_one_blas_thread(monkeypatch):
    """Its products are small: BLAS threads made a probe 3-4x slower beside torch's threads (metrics.py)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    seen = []
    fit = LogisticRegression.fit

    def recording_fit(self, *args, **kwargs):
        seen.extend(blas_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", recording_fit)
    y = np.repeat(np.arange(3), 20)
    z = np.random.default_rng(0).normal(size=(60, 4)) + y[:, None]
    before = blas_threads()
    ae.linear_probe(z, y, z, y)
    assert seen and set(seen) == {1}
    assert blas_threads() == before                                         # restored afterwards


def test_plots_return_figures_without_showing():
    d = ae.load_digits()
    assert isinstance(ae.plot.image_grid(d.x_train[:12], ncols=5, titles=list(range(12))), Figure)
    assert isinstance(ae.plot.image_grid(torch.randn(4, 784), scale="each"), Figure)
    fig = ae.plot.reconstructions(d.x_test[:5], {"model": d.x_test[:5]}, shape=(8, 8))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["original", "model"]
    h = ae.History(train_loss=[3.0, 2.0], val_loss=[3.5, 2.5], seconds=[1, 1], samples_per_s=[1, 1])
    assert isinstance(ae.plot.loss_curves({"a": h}), Figure)
    assert isinstance(ae.plot.code_scatter(torch.randn(20, 2), torch.arange(20) % 3), Figure)


def test_image_grid_draws_every_image_in_its_place_in_one_image():
    """One Axes and one imshow for the whole grid (an Axes per image took seconds for a 15 x 15 grid)."""
    images = torch.rand(7, 6 * 5)                        # 6 x 5 pixels: enlarged 5x (round(28 / 6)) to 30 x 25
    fig = ae.plot.image_grid(images, ncols=3, shape=(6, 5), titles=list("abcdefg"))
    assert len(fig.axes) == 1 and len(fig.axes[0].images) == 1
    mosaic = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    h, w, top = 30, 25, int(np.ceil(0.18 * 30))          # tiles, and the room above each row for its titles
    assert mosaic.shape == (3 * (top + h + 1) - 1, 3 * (w + 1) - 1)
    for i, image in enumerate(images.numpy().reshape(7, 6, 5)):
        r, c = divmod(i, 3)
        y, x = r * (top + h + 1) + top, c * (w + 1)
        np.testing.assert_array_equal(mosaic[y:y + h:5, x:x + w:5], image)
    assert np.isnan(mosaic[top + h, :]).all() and np.isnan(mosaic[:, w]).all()          # the gaps
    assert np.isnan(mosaic[-h:, 1 * (w + 1):]).all()                                   # two empty places
    assert [t.get_text() for t in fig.axes[0].texts] == list("abcdefg")
    # scale="each": every image stretched to [0, 1] on its own
    filters = torch.randn(2, 784) * torch.tensor([[1.0], [100.0]])
    tiles = np.ma.filled(ae.plot.image_grid(filters, scale="each").axes[0].images[0].get_array(), np.nan)
    for tile in (tiles[:, :28], tiles[:, 29:]):
        assert np.nanmin(tile) == 0 and np.nanmax(tile) == 1
    with pytest.raises(ValueError, match="scale"):
        ae.plot.image_grid(filters, scale="own")
    with pytest.raises(ValueError, match="2 titles for 7 images"):
        ae.plot.image_grid(images, shape=(6, 5), titles=["a", "b"])


def test_loss_curves_baselines_and_plain_log_labels():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    h = ae.History(train_loss=[80.0, 40.0, 25.0, 16.0], val_loss=[70.0, 42.0, 27.0, 18.0])
    fig = ae.plot.loss_curves(h, logy=True, baselines={"mean image": 52.7, "PCA": 14.0})
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation", "mean image", "PCA"]
    assert [line.get_ydata()[0] for line in ax.lines[2:]] == [52.7, 14.0]
    # the axis spans less than a decade: matplotlib labels some minor ticks, here as plain numbers
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]
    assert labels and all(text.replace(".", "").isdigit() for text in labels), labels
    assert "20" in labels and "60" in labels


def test_plot_bad_input():
    with pytest.raises(ValueError, match="shape=\\(height, width\\)"):
        ae.plot.image_grid(torch.rand(2, 10))
    with pytest.raises(ValueError, match="2-D codes"):
        ae.plot.code_scatter(torch.rand(5, 3), torch.zeros(5))


def test_figures_display_as_png_in_ipython():
    """A Figure returned as a cell's last value must render as an image, not as its text repr."""
    import importlib

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        importlib.reload(ae.plot)
        data, _ = shell.display_formatter.format(ae.plot.image_grid(torch.rand(2, 784)))
        assert data.get("image/png", b"")[:4] in (b"\x89PNG", "iVBO")
    finally:
        InteractiveShell.clear_instance()


def test_encode_in_chunks_matches_the_model():
    torch.manual_seed(0)
    model = ae.Autoencoder([784, 16, 3], code_activation=None)
    x = torch.rand(25, 784)
    with torch.no_grad():
        # chunks of 7 rows take other matmul kernels than 25 rows: equal up to float32 rounding (~1e-7),
        # which allclose's default atol=1e-8 rejects for codes near 0 on some draws
        torch.testing.assert_close(ae.encode(model, x, batch_size=7), model.encode(x))
