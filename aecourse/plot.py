"""Figures for the course. Every function returns a ``matplotlib.figure.Figure`` and never calls
``show()``: the figure is displayed when it is the last value of a notebook cell (or with
``display(fig)``), and it can be saved with ``fig.savefig(...)``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

__all__ = ["image_grid", "reconstructions", "loss_curves", "code_scatter"]


def _show_figures_in_notebooks() -> None:
    """Display a Figure returned as a cell's last value as a PNG image.

    The course builds figures with ``Figure()`` rather than pyplot (no global state, no double
    display), so nothing else tells IPython how to show one: without this a cell prints
    ``<Figure size 600x350 with 1 Axes>``.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:  # no IPython: scripts save figures with fig.savefig
        return
    shell = get_ipython()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_in_notebooks()


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _image_shape(n_features: int, shape) -> tuple[int, int]:
    if shape is not None:
        if int(np.prod(shape)) != n_features:
            raise ValueError(f"image shape {tuple(shape)} does not hold {n_features} pixels.")
        return tuple(shape)
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"cannot guess the image shape of {n_features} pixels; pass shape=(height, width).")
    return side, side


#: below this many pixels a side, tiles are enlarged by whole pixels so that the 1-pixel gaps stay thin
_TILE_PIXELS = 28
#: images drawn with one imshow: gray, and the NaN gaps between tiles white
_GRAY = colormaps["gray"].with_extremes(bad="white")


def _tiles(images: np.ndarray, shape, scale: str) -> np.ndarray:
    """Rows of pixels as (n, h, w) tiles with values for vmin=0, vmax=1, enlarged when small."""
    if scale not in ("unit", "each"):
        raise ValueError(f"scale must be 'unit' or 'each', got {scale!r}.")
    tiles = images.reshape(len(images), *shape).astype(np.float32)
    if scale == "each":   # every tile stretched to its own range (weights and filters)
        lo = np.nanmin(tiles, axis=(1, 2), keepdims=True)
        span = np.nanmax(tiles, axis=(1, 2), keepdims=True) - lo
        tiles = (tiles - lo) / np.where(span > 0, span, 1)
    k = max(1, round(_TILE_PIXELS / max(shape)))
    return tiles.repeat(k, axis=1).repeat(k, axis=2) if k > 1 else tiles


def _mosaic(tiles: np.ndarray, ncols: int, top: int = 0) -> np.ndarray:
    """The (n, h, w) tiles row by row in one image: 1 pixel of NaN (drawn white) between them, and
    ``top`` more above every row (room for titles). Empty places stay NaN."""
    n, h, w = tiles.shape
    nrows = -(-n // ncols)
    out = np.full((nrows * (top + h + 1) - 1, ncols * (w + 1) - 1), np.nan, dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        y, x = r * (top + h + 1) + top, c * (w + 1)
        out[y:y + h, x:x + w] = tile
    return out


def _show(ax, mosaic: np.ndarray) -> None:
    # one image for the whole grid: an Axes per image cost matplotlib 25-45 ms each to build and draw (measured)
    ax.imshow(mosaic, cmap=_GRAY, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_grid(images, ncols: int = 10, shape=None, titles: Sequence[str] | None = None,
               title: str | None = None, scale: str = "unit", size: float = 1.0) -> Figure:
    """Show rows of ``images`` (shape (n, n_pixels) or (n, h, w)) in a grid, ``size`` inches per image.

    ``scale='unit'`` draws values in [0, 1] as black to white; ``scale='each'`` stretches every
    image to its own range (for weights and filters, which are not pixel intensities).
    ``titles`` puts one (short) text above each image.
    """
    images = _numpy(images)
    if images.ndim == 3:
        shape, images = images.shape[1:], images.reshape(len(images), -1)
    if images.ndim != 2 or len(images) == 0:
        raise ValueError(f"images must have shape (n, n_pixels) or (n, height, width), got {images.shape}.")
    shape = _image_shape(images.shape[1], shape)
    n = len(images)
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images.")
    ncols = min(ncols, n)
    tiles = _tiles(images, shape, scale)
    h, w = tiles.shape[1:]
    top = int(np.ceil(0.18 * h / size)) if titles is not None else 0   # about 0.18 inch: one line of 8-point text
    mosaic = _mosaic(tiles, ncols, top)
    width = size * ncols
    fig = Figure(figsize=(width, width * mosaic.shape[0] / mosaic.shape[1] + (0.4 if title else 0)),
                 layout="constrained")
    ax = fig.subplots()
    _show(ax, mosaic)
    for i, text in enumerate(titles if titles is not None else []):
        r, c = divmod(i, ncols)
        ax.text(c * (w + 1) + (w - 1) / 2, r * (top + h + 1) + top - 1.5, str(text), ha="center", va="bottom",
                fontsize=8, clip_on=False)
    if title:
        fig.suptitle(title)
    return fig


def reconstructions(x, rows: Mapping[str, object] | object, n: int = 10, shape=None, size: float = 1.0) -> Figure:
    """Originals on top, one row per reconstruction below: ``rows`` is a tensor or a dict label -> tensor."""
    x = _numpy(x)[:n]
    rows = {"reconstruction": rows} if not isinstance(rows, Mapping) else rows
    grid = {"original": x, **{label: _numpy(r)[:n] for label, r in rows.items()}}
    shape = _image_shape(x.shape[1], shape)
    for label, imgs in grid.items():
        if imgs.shape != x.shape:
            raise ValueError(f"row {label!r} has shape {imgs.shape}, the originals {x.shape}.")
    tiles = _tiles(np.concatenate(list(grid.values())), shape, "unit")
    h = tiles.shape[1]
    fig = Figure(figsize=(size * len(x) + 1.5, size * len(grid)), layout="constrained")
    ax = fig.subplots()
    _show(ax, _mosaic(tiles, len(x)))
    ax.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(len(grid))], list(grid), fontsize=9)
    ax.tick_params(axis="y", length=0)
    return fig


class _PlainLogFormatter(LogFormatter):
    """Log-axis labels as plain numbers (20, 30, 60, 0.01), on the ticks matplotlib would label,
    instead of its 2×10¹, 3×10¹, 6×10¹."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def loss_curves(histories, ylabel: str = "loss per image", logy: bool = False, title: str | None = None,
                baselines: Mapping[str, float] | None = None) -> Figure:
    """Training (solid) and validation (dashed) loss per epoch of one History or a dict name -> History.

    ``baselines`` draws reference levels as dotted horizontal lines, e.g. ``{"mean image": 52.7}`` or
    ``{"PCA, k = 30": pca_error}``, with their names in the legend.
    """
    histories = {"": histories} if not isinstance(histories, Mapping) else histories
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        epochs = np.arange(1, len(h.train_loss) + 1)
        ax.plot(epochs, h.train_loss, color=color, label=f"{name} train".strip())
        if h.val_loss:
            ax.plot(epochs, h.val_loss, color=color, linestyle="--", label=f"{name} validation".strip())
    for i, (name, level) in enumerate((baselines or {}).items()):
        ax.axhline(float(level), color="0.45", linestyle=(0, (1, 1.5 + i)), label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_PlainLogFormatter())
        ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def code_scatter(z, labels, title: str | None = None, ax_labels=("$z_1$", "$z_2$"), size: float = 5.0) -> Figure:
    """2-D codes (n, 2) as points coloured by label (0-9), with a legend of the classes."""
    z, labels = _numpy(z), _numpy(labels)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"code_scatter needs 2-D codes of shape (n, 2), got {z.shape}; project them first (e.g. PCA).")
    if len(labels) != len(z):
        raise ValueError(f"{len(z)} codes but {len(labels)} labels.")
    fig = Figure(figsize=(size, size), layout="constrained")
    ax = fig.subplots()
    for k in np.unique(labels):
        sel = labels == k
        ax.scatter(z[sel, 0], z[sel, 1], s=4, alpha=0.7, color=f"C{int(k) % 10}", label=str(k))
    ax.set_xlabel(ax_labels[0])
    ax.set_ylabel(ax_labels[1])
    ax.legend(markerscale=3, fontsize=8, title="digit", loc="best")
    if title:
        ax.set_title(title)
    return fig
