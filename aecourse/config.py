"""Device choice, seeding and the course's quick mode (chapter 00)."""
from __future__ import annotations

import functools
import os
import random

import numpy as np
import torch

# Subnormal floats carry nothing a network learns from and cost up to ~25x per operation on x86
# (sqrt of a subnormal, in Adam's step; see benchmarks/RESULTS.md, "denormal"). The flag is per
# thread and inherited only by threads created later, so it is set at import, before torch's
# thread pool starts. AECOURSE_KEEP_DENORMALS=1 keeps IEEE behaviour.
if os.environ.get("AECOURSE_KEEP_DENORMALS", "0") != "1":
    torch.set_flush_denormal(True)

__all__ = ["device", "has_float64", "seed_everything", "QUICK", "budget", "claim"]

_VALID_DEVICES = ("cpu", "cuda", "mps")

#: True when ``AECOURSE_QUICK=1``: a smoke mode for fast local iteration only.
#: The test suite and learners run the default (full) mode.
QUICK: bool = os.environ.get("AECOURSE_QUICK", "0").strip().lower() in ("1", "true", "yes")


def device(float64: bool = False) -> torch.device:
    """The device the course computes on: cuda > mps > cpu.

    ``AECOURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the choice; asking for a
    device this machine does not have is an error, never a silent fallback. ``float64=True`` asks
    for a device that computes in float64: the same one, or the CPU where it has no float64 (Apple's
    MPS has none).
    """
    chosen = _choose_device()
    if float64 and not has_float64(chosen):
        return torch.device("cpu")
    return chosen


@functools.lru_cache(maxsize=None)
def has_float64(device: torch.device) -> bool:
    """Whether ``device`` computes in float64. Apple's MPS does not: PyTorch refuses float64 tensors there."""
    try:
        torch.zeros(1, dtype=torch.float64, device=device)
    except (TypeError, RuntimeError):
        return False
    return True


def _choose_device() -> torch.device:
    wanted = os.environ.get("AECOURSE_DEVICE", "").strip()
    if wanted:
        kind = wanted.split(":")[0]
        if kind not in _VALID_DEVICES:
            raise ValueError(
                f"AECOURSE_DEVICE={wanted!r} is not a device the course knows; "
                f"use one of {', '.join(_VALID_DEVICES)} (e.g. 'cuda:0'), or unset it to choose automatically."
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"AECOURSE_DEVICE={wanted!r} but this machine has no usable CUDA GPU "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}). "
                "Unset AECOURSE_DEVICE to run on the CPU, or install a CUDA build of torch."
            )
        if kind == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(
                f"AECOURSE_DEVICE={wanted!r} but Apple's MPS backend is not available here. "
                "Unset AECOURSE_DEVICE to run on the CPU."
            )
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators (all devices) with ``seed``.

    On the CPU the same seed gives bitwise-identical training runs.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))  # also seeds every CUDA device


def budget(default, quick):
    """``default`` normally, ``quick`` when ``AECOURSE_QUICK=1`` (epochs, sample counts, sweeps)."""
    return quick if QUICK else default


def claim(condition: bool, message: str) -> None:
    """Assert one of a chapter's claims and print it, so the learner sees what was verified.

    ``message`` states the claim with the measured numbers. A false claim raises AssertionError
    (the test suite runs the default mode, where every claim must hold); in quick mode, whose
    budgets are too small for the chapter's numbers, it is reported as not checked instead.
    """
    if bool(condition):
        print(f"✓ {message}")
    elif QUICK:
        print(f"- not checked in quick mode: {message}")
    else:
        raise AssertionError(f"claim failed: {message}")
