"""Checkpoints: ``save`` writes atomically, ``load`` rebuilds the model with ``weights_only=True``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from .models import MODEL_REGISTRY

__all__ = ["save", "load"]

_FORMAT = "aecourse-checkpoint"
_VERSION = 1


def save(model: nn.Module, path: str | os.PathLike, history=None) -> Path:
    """Write ``model`` (its class, settings and weights) and optionally its training history to ``path``.

    The file is written to a temporary name and renamed, so an interrupted save never leaves a
    half-written checkpoint. Returns the path.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"save() needs a torch.nn.Module, got {type(model).__name__}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give a file name such as {path / 'model.pt'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "class": type(model).__name__,
        "hparams": getattr(model, "hparams", None),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": None if history is None else {
            "train_loss": list(history.train_loss), "val_loss": list(history.val_loss),
            "terms": dict(history.terms), "val_terms": dict(history.val_terms),
            "seconds": list(history.seconds), "samples_per_s": list(history.samples_per_s),
        },
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike, model: nn.Module | None = None, device=None) -> nn.Module:
    """Load a checkpoint written by :func:`save`.

    Without ``model`` the course model is rebuilt from the class and settings stored in the file;
    with ``model`` the weights are loaded into it. The loaded history, if any, is ``model.history``
    (a dict). Files that are not our checkpoints are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated files, foreign formats
        raise ValueError(f"{path} is not a checkpoint written by aecourse.save ({type(exc).__name__}: {exc}).") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a checkpoint written by aecourse.save (no '{_FORMAT}' marker).")
    if payload.get("version") != _VERSION:
        raise ValueError(f"{path} has checkpoint version {payload.get('version')}; this aecourse reads version {_VERSION}.")
    if model is None:
        cls = MODEL_REGISTRY.get(payload["class"])
        if cls is None or payload["hparams"] is None:
            raise ValueError(
                f"{path} holds a {payload['class']}, which aecourse cannot rebuild by itself; "
                "create the model yourself and call load(path, model=...)."
            )
        model = cls(**payload["hparams"])
    elif type(model).__name__ != payload["class"]:
        raise ValueError(f"{path} holds a {payload['class']} but a {type(model).__name__} was given.")
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"the weights in {path} do not fit this model: {exc}") from None
    model.history = payload.get("history")
    if device is not None:
        model.to(device)
    return model
