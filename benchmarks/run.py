#!/usr/bin/env python
"""The course's performance benchmarks (issue 10), measured side by side in one run as ratios.

    .venv/bin/python benchmarks/run.py                      # every section; writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --skip notebooks     # all but the (minutes-long) notebook runs
    .venv/bin/python benchmarks/run.py --only fit,matmul    # some sections (prints; --out to write)
    .venv/bin/python benchmarks/run.py --notebooks          # the notebook section alone

Sections: matmul (the machine's float32 ceiling), fit (ae.fit vs a bare loop vs DataLoader),
flops (fraction of the ceiling reached by the deep autoencoder's step and by RBM CD-1), rbm
(ae.RBM vs scikit-learn's BernoulliRBM), pca (ae.PCA vs scikit-learn's PCA), denormal (cost and
census of subnormal floats, before/after flushing), notebooks (time and peak memory per notebook).

Competing variants are interleaved (ABC CBA ABC...), so a change in the machine's load hits every
variant alike; rates are summarised by medians, and ratios are the median of each round's ratio.
Timing is never asserted by the test suite: the targets are printed here with PASS/MISS marks.
``--tiny`` shrinks every size to a smoke test.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ["matmul", "fit", "flops", "rbm", "pca", "denormal", "notebooks"]
DEFAULT_OUT = ROOT / "benchmarks" / "RESULTS.md"


# ----------------------------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------------------------

# Seconds of idle before each run where variants from different libraries alternate. A thread pool
# spin-waits after its work before it sleeps: OpenBLAS's (numpy's, scikit-learn's) for 2^28 cycles by
# default (OPENBLAS_THREAD_TIMEOUT; about 0.1 s), so a torch run started right after a scikit-learn one
# shares the two cores with a spinning thread. Measured on 2026-12-02 (AMD EPYC, 2 cores): ae.RBM run
# right after scikit-learn's float64 BernoulliRBM, again and again, gave 14,700-15,200 samples/s without
# a pause (3 runs), 17,100-20,600 after 0.1-1 s of idle or with OPENBLAS_THREAD_TIMEOUT=4, 17,400-18,600
# alone. In the rbm section the torch CD-1 reference follows scikit-learn's float32 run every other
# round: 12,500-14,500 samples/s without the pause (3 runs), 15,300-17,200 with it (4 runs).
SETTLE_S = 0.25


@dataclass
class Scale:
    """Every size the benchmarks use; ``Scale.tiny()`` is the smoke test's."""

    n_train: int | None = None          # None: all of ae.load_mnist().x_train (4,000 images)
    deep: tuple = (784, 1000, 500, 250, 30)
    shallow: tuple = (784, 32)
    batch: int = 100
    fit_epochs: dict = field(default_factory=lambda: {"deep": 1, "shallow": 10})
    rounds: int = 7                     # interleaved repetitions per comparison
    matmul_n: int = 2048
    matmul_reps: int = 7
    flops_batches: tuple = (100, 1000)
    flops_epochs: int = 1
    rbm_hidden: int = 1000
    rbm_epochs: int = 1
    rbm_rounds: int = 5
    settle: float = SETTLE_S            # idle before each run where libraries alternate (rbm, pca)
    pca_rows: int | None = None         # None: all 60,000 Fashion-MNIST images
    pca_components: int = 30
    pca_rounds: int = 7
    denormal_epochs: tuple = (1, 100, 200, 300)  # checkpoints of the long fine-tuning run
    denormal_ops_n: int = 1_000_000
    notebook_timeout: int = 900

    @classmethod
    def tiny(cls) -> "Scale":
        return cls(n_train=200, deep=(784, 64, 32, 16, 8), shallow=(784, 8), batch=50,
                   fit_epochs={"deep": 1, "shallow": 1}, rounds=2, matmul_n=128, matmul_reps=3,
                   flops_batches=(50,), rbm_hidden=32, rbm_epochs=1, rbm_rounds=1, pca_rows=500,
                   pca_components=5, pca_rounds=1, settle=0.0, denormal_epochs=(1, 2), denormal_ops_n=10_000,
                   notebook_timeout=120)


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------

@dataclass
class Row:
    section: str
    what: str
    value: str
    target: str = ""
    ok: bool | None = None   # None: no target (information) or not measurable

    @property
    def mark(self) -> str:
        return {True: "PASS", False: "MISS", None: ""}[self.ok]


@dataclass
class Report:
    rows: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)   # section -> list of lines
    matmul_gflops: float | None = None

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print(f"  {row.what}: {row.value}" + (f"   (target {row.target}: {row.mark})" if row.target else ""),
              flush=True)
        return row

    def note(self, section: str, line: str) -> None:
        self.notes.setdefault(section, []).append(line)
        print(f"  note: {line}", flush=True)


def _median(values):
    return statistics.median(values)


def _spread(values) -> str:
    return f"{min(values):,.0f}–{max(values):,.0f}" if len(values) > 1 else ""


def _sync(dev):
    import torch
    if getattr(dev, "type", str(dev)).startswith("cuda"):
        torch.cuda.synchronize(dev)


def _seconds(fn, dev, reps: int) -> list:
    """Seconds of each of ``reps`` calls of ``fn()``, after two warm-up calls, the device synchronised
    around each (a GPU runs asynchronously)."""
    times = []
    for i in range(reps + 2):
        _sync(dev)
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return times


def _interleave(variants: dict, rounds: int, settle: float = 0.0) -> dict:
    """Run ``variants`` (name -> zero-argument function returning a rate) ABC CBA ABC...; name -> list of rates.

    Every other round runs in reverse order, so neither a variant's place in the round nor a slow drift
    of the machine's speed favours one variant. ``settle``: seconds of idle before each run, so that
    one library's spinning worker threads are asleep before another library's run starts (``SETTLE_S``).
    """
    results = {name: [] for name in variants}
    for r in range(rounds):
        for name in (list(variants) if r % 2 == 0 else list(reversed(variants))):
            time.sleep(settle)
            results[name].append(variants[name]())
    return results


def _ratio(results: dict, a: str, b: str) -> float:
    """Median over rounds of results[a] / results[b]: each round's two runs were seconds apart, so
    their ratio cancels the machine's slower drifts, which a ratio of the two medians keeps."""
    return _median([x / y for x, y in zip(results[a], results[b])])


# ----------------------------------------------------------------------------------------------
# machine
# ----------------------------------------------------------------------------------------------

def machine_info() -> dict:
    import numpy as np
    import torch
    info = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = cpu
    info["cores"] = os.cpu_count()
    info["torch_threads"] = torch.get_num_threads()
    config = torch.__config__.show()
    blas = [part.split("=", 1)[1] for part in config.replace(",", "\n").split() if part.startswith("BLAS_INFO=")]
    info["torch_blas"] = blas[0] if blas else "unknown"
    info["torch_cpu_capability"] = next((line.split(":", 1)[1].strip() for line in config.splitlines()
                                         if "CPU capability" in line), "unknown")
    try:
        import sklearn
        info["sklearn"] = sklearn.__version__
    except ImportError:  # pragma: no cover
        info["sklearn"] = "not installed"
    try:
        from threadpoolctl import threadpool_info
        import scipy.linalg  # noqa: F401  (loads numpy's and scipy's BLAS, so they are listed)
        info["numpy_blas"] = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture', '?')}, {p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas")
    except ImportError:  # pragma: no cover
        info["numpy_blas"] = "threadpoolctl not installed"
    info["openblas_env"] = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                                     if k in os.environ) or "unset"
    info["glibc_tunables"] = os.environ.get("GLIBC_TUNABLES", "unset (./course sets it: scripts/course_env.sh)")
    info["cuda"] = (f"{torch.cuda.get_device_name(0)} (float32 matmul precision "
                    f"'{torch.get_float32_matmul_precision()}')" if torch.cuda.is_available() else "none")
    info["loadavg_start"] = _loadavg()
    return info


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


# ----------------------------------------------------------------------------------------------
# section: matmul — the machine's float32 ceiling
# ----------------------------------------------------------------------------------------------

def matmul_rate(n: int, reps: int, dev) -> tuple[float, list]:
    """float32 GFLOP/s of an n×n by n×n product: 2 warm-ups, then the median of ``reps``."""
    import torch
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    rates = [2 * n ** 3 / dt / 1e9 for dt in _seconds(lambda: a @ b, dev, reps)]
    return _median(rates), rates


def section_matmul(report: Report, scale: Scale, dev) -> None:
    rate, rates = matmul_rate(scale.matmul_n, scale.matmul_reps, dev)
    report.matmul_gflops = rate
    report.add("matmul", f"float32 matmul {scale.matmul_n}×{scale.matmul_n}, median of {len(rates)}",
               f"{rate:,.1f} GFLOP/s (range {_spread(rates)})")


# ----------------------------------------------------------------------------------------------
# section: fit — ae.fit vs a bare loop vs DataLoader(TensorDataset)
# ----------------------------------------------------------------------------------------------

def _data(scale: Scale, dev):
    import aecourse as ae
    x = ae.load_mnist().x_train
    if scale.n_train is not None:
        x = x[:scale.n_train]
    return x.to(dev)


def _sq_loss(model, xb):
    return (model(xb) - xb).pow(2).sum(dim=-1).mean()   # ae.losses.squared_error without the checks


def run_ae_fit(model, x, epochs, batch, dev) -> float:
    import aecourse as ae
    _sync(dev)
    t0 = time.perf_counter()
    ae.fit(model, x, epochs=epochs, batch_size=batch, loss="mse", optimizer="adam", lr=1e-3,
           device=dev, progress=False)
    _sync(dev)
    return epochs * len(x) / (time.perf_counter() - t0)


def run_bare(model, x, epochs, batch, dev, fused: bool = True, read_loss: bool = False) -> float:
    """The hand-written in-memory loop: a permutation, tensor indexing, four lines per batch.

    ``fused=True``: the same Adam as ae.fit's (one fused kernel per parameter), so the difference is
    the loop's own overhead; ``fused=False``: torch's default Adam, as most hand-written loops have it.
    ``read_loss=True`` reads every batch's loss (``.item()``) before the step, as ae.fit does to stop at
    the first non-finite loss: on a GPU that waits for the batch to finish, which this variant measures.
    """
    import torch
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    n = len(x)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, device=dev)
        for start in range(0, n, batch):
            xb = x[order[start:start + batch]]
            opt.zero_grad(set_to_none=True)
            loss = _sq_loss(model, xb)
            loss.backward()
            if read_loss:
                loss.item()
            opt.step()
    _sync(dev)
    return epochs * n / (time.perf_counter() - t0)


def run_dataloader(model, x, epochs, batch, dev) -> float:
    """The idiomatic loop of pytorch/examples: DataLoader(TensorDataset(x), shuffle=True)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x.cpu()), batch_size=batch, shuffle=True)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for (xb,) in loader:
            xb = xb.to(dev)
            opt.zero_grad()
            loss = _sq_loss(model, xb)
            loss.backward()
            opt.step()
    _sync(dev)
    return epochs * len(x) / (time.perf_counter() - t0)


def section_fit(report: Report, scale: Scale, dev) -> None:
    import aecourse as ae
    import torch
    x = _data(scale, dev)
    report.note("fit", "ae.fit uses Adam with fused=True (one kernel per parameter); `bare` is the hand-written "
                       "in-memory loop with the same optimizer (its difference from ae.fit is the loop's overhead), "
                       "`bare, default Adam` the same loop with torch's default Adam, `bare, loss read every batch` "
                       "the same loop reading each batch's loss (`.item()`) before the step as ae.fit does, `DataLoader` the "
                       "pytorch/examples loop as written there (default Adam)")
    for label, sizes in (("deep", scale.deep), ("shallow", scale.shallow)):
        torch.manual_seed(0)
        model0 = ae.Autoencoder(list(sizes))
        epochs = scale.fit_epochs[label]
        args = (x, epochs, scale.batch, dev)
        variants = {
            "ae.fit": lambda: run_ae_fit(copy.deepcopy(model0), *args),
            "bare": lambda: run_bare(copy.deepcopy(model0), *args),
            "bare, default Adam": lambda: run_bare(copy.deepcopy(model0), *args, fused=False),
            "bare, loss read every batch": lambda: run_bare(copy.deepcopy(model0), *args, read_loss=True),
            "DataLoader": lambda: run_dataloader(copy.deepcopy(model0), *args),
        }
        run_ae_fit(copy.deepcopy(model0), x, 1, scale.batch, dev)  # warm-up (allocator, thread pool)
        res = _interleave(variants, scale.rounds)
        med = {k: _median(v) for k, v in res.items()}
        name = "-".join(map(str, sizes))
        for k, v in res.items():
            report.add("fit", f"{name} {k}: samples/s (batch {scale.batch}, {epochs} epoch(s), {len(v)} rounds)",
                       f"{med[k]:,.0f} (range {_spread(v)})")
        overhead = _ratio(res, "bare", "ae.fit") - 1
        report.add("fit", f"{name} ae.fit overhead over the bare loop", f"{overhead:+.1%}", "≤ 5 %", overhead <= 0.05)
        report.add("fit", f"{name} bare loop: fused / default Adam", f"{_ratio(res, 'bare', 'bare, default Adam'):.2f}×")
        sync = _ratio(res, "bare", "bare, loss read every batch") - 1
        report.add("fit", f"{name} bare loop: cost of reading the loss every batch, as ae.fit does "
                          "(a wait for the device on a GPU)", f"{sync:+.1%}")
        speedup = _ratio(res, "ae.fit", "DataLoader")
        report.add("fit", f"{name} ae.fit / DataLoader loop", f"{speedup:.2f}×", "≥ 1.1×", speedup >= 1.1)


# ----------------------------------------------------------------------------------------------
# section: flops — fraction of the matmul ceiling
# ----------------------------------------------------------------------------------------------

def ae_step_flops(sizes) -> int:
    """FLOPs per image of one training step of the mirrored autoencoder ``sizes``.

    Forward 2·Σ(in·out) over encoder and decoder layers; backward about twice that: 6·Σ in all.
    """
    s = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 6 * 2 * s   # ×2: encoder and mirrored decoder


def rbm_cd1_flops(n_visible, n_hidden) -> int:
    """FLOPs per image of CD-1: v→h, h→v', v'→h' and the two outer products, 2·nv·nh each."""
    return 10 * n_visible * n_hidden


def cd1_bare(x, n_hidden, epochs, batch, dev, lr=0.1, seed=0) -> float:
    """A hand-written CD-1 in torch (five matmuls per batch): the reference for ae.RBM."""
    import torch
    g = torch.Generator(device=dev).manual_seed(seed)
    nv = x.shape[1]
    w = 0.01 * torch.randn(nv, n_hidden, device=dev, generator=g)
    b = torch.zeros(nv, device=dev)
    c = torch.zeros(n_hidden, device=dev)
    n = len(x)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, device=dev, generator=g)
        for start in range(0, n, batch):
            v0 = x[order[start:start + batch]]
            ph0 = torch.sigmoid(v0 @ w + c)
            h0 = torch.bernoulli(ph0, generator=g)
            pv1 = torch.sigmoid(h0 @ w.t() + b)
            ph1 = torch.sigmoid(pv1 @ w + c)
            m = len(v0)
            w.add_(v0.t() @ ph0 - pv1.t() @ ph1, alpha=lr / m)
            b.add_((v0 - pv1).mean(0), alpha=lr)
            c.add_((ph0 - ph1).mean(0), alpha=lr)
    _sync(dev)
    return epochs * n / (time.perf_counter() - t0)


def gemm_only_rate(shapes, batch, dev, reps: int = 15, samples=()) -> float:
    """samples/s of the matrix products alone of one training step, at the step's own shapes.

    ``shapes`` lists (m, k, n) products per batch (m×k times k×n). The fraction of the ceiling this
    reaches is what small products allow on this machine: the attainable limit for a loop at ``batch``.
    ``samples`` lists the shapes of the binary samples the step must also draw (CD-1's hidden sample),
    drawn by ``ae.bernoulli`` as ae.RBM draws them.
    """
    import torch
    import aecourse as ae
    mats = [(torch.randn(m, k, device=dev), torch.randn(k, n, device=dev)) for m, k, n in shapes]
    probs = [torch.rand(shape, device=dev) for shape in samples]
    gen = torch.Generator(device=dev).manual_seed(0)

    def step():
        for a, b in mats:
            a @ b
        for p in probs:
            ae.bernoulli(p, gen)

    return batch / _median(_seconds(step, dev, reps))


def _torch_rand_sample(p, generator):
    """A binary sample of ``p`` as every torch sampler draws it: one 32-bit uniform per number, ``rand < p``
    (ae.RBM's sampling before ae.bernoulli)."""
    import torch
    return torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).lt_(p)


def sampler_rates(shape, dev, reps: int = 15) -> dict:
    """Binary samples of ``shape`` per second: ``torch.rand(shape) < p`` (one 32-bit draw of torch's
    generator per number) and ``ae.bernoulli`` (16-bit uniforms, four per 64-bit draw), on the same p."""
    import torch
    import aecourse as ae
    p = torch.rand(shape, device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    return {"torch.rand < p": lambda: 1 / _median(_seconds(lambda: _torch_rand_sample(p, gen), dev, reps)),
            "ae.bernoulli": lambda: 1 / _median(_seconds(lambda: ae.bernoulli(p, gen), dev, reps))}


def adam_update_rate(sizes, batch, dev, reps: int = 15) -> float:
    """samples/s of the optimizer update alone of the autoencoder's step: fused Adam (ae.fit's) on
    parameters of the network's sizes, with their gradients already there. Its cost does not depend
    on the batch (it reads and writes every weight four times), so at small batches it is a larger
    share of the step; the products alone plus this update are the attainable limit of an Adam step.
    """
    import torch
    import aecourse as ae
    model = ae.Autoencoder(list(sizes)).to(dev)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    return batch / _median(_seconds(opt.step, dev, reps))


def ae_step_gemms(sizes, batch) -> list:
    """The products ae_step_flops counts: per layer of encoder and decoder, forward, grad of the input, grad
    of the weights."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    layers += [(b, a) for a, b in reversed(layers)]
    out = []
    for fan_in, fan_out in layers:
        out += [(batch, fan_in, fan_out), (batch, fan_out, fan_in), (fan_out, batch, fan_in)]
    return out


def rbm_cd1_gemms(n_visible, n_hidden, batch) -> list:
    """CD-1's products: v→h, h→v′, v′→h′ and the two outer products."""
    return [(batch, n_visible, n_hidden), (batch, n_hidden, n_visible), (batch, n_visible, n_hidden),
            (n_visible, batch, n_hidden), (n_visible, batch, n_hidden)]


def _rbm_sampling_with_torch_rand():
    """ae.RBM as it was before ae.bernoulli: every binary sample from ``torch.rand(shape) < p``."""
    import aecourse as ae

    class RBMTorchRand(ae.RBM):
        def _bernoulli(self, p):
            return _torch_rand_sample(p, self._gen)

    return RBMTorchRand


def ae_rbm_fit(x, n_hidden, epochs, batch, dev, lr=0.1, cls=None) -> float:
    """samples/s of ``ae.RBM(n_visible, n_hidden, ...).fit(x)``, or of ``cls``, a variant of it."""
    import aecourse as ae
    model = (cls or ae.RBM)(x.shape[1], n_hidden, epochs=epochs, batch_size=batch, lr=lr, progress=False,
                            device=dev, random_state=0)
    _sync(dev)
    t0 = time.perf_counter()
    model.fit(x)
    _sync(dev)
    return epochs * len(x) / (time.perf_counter() - t0)


def section_flops(report: Report, scale: Scale, dev) -> None:
    import aecourse as ae
    import torch
    if report.matmul_gflops is None:
        section_matmul(report, scale, dev)
    x = _data(scale, dev)
    f_ae = ae_step_flops(scale.deep)
    f_rbm = rbm_cd1_flops(x.shape[1], scale.rbm_hidden)
    name = "-".join(map(str, scale.deep))
    report.note("flops", f"{name} training step: {f_ae / 1e6:.1f} MFLOP per image (6·Σ in·out); "
                         f"RBM {x.shape[1]}-{scale.rbm_hidden} CD-1: {f_rbm / 1e6:.1f} MFLOP per image (10·nv·nh)")
    rbm_torch_rand = _rbm_sampling_with_torch_rand()
    for batch in scale.flops_batches:
        torch.manual_seed(0)
        model0 = ae.Autoencoder(list(scale.deep))
        ep = scale.flops_epochs
        variants = {
            "ae.fit": lambda: run_ae_fit(copy.deepcopy(model0), x, ep, batch, dev),
            "bare": lambda: run_bare(copy.deepcopy(model0), x, ep, batch, dev),
            "CD-1 bare": lambda: cd1_bare(x, scale.rbm_hidden, ep, batch, dev),
            "ae.RBM": lambda: ae_rbm_fit(x, scale.rbm_hidden, ep, batch, dev),
            "ae.RBM sampling with torch.rand": lambda: ae_rbm_fit(x, scale.rbm_hidden, ep, batch, dev,
                                                                  cls=rbm_torch_rand),
        }
        # the ceiling and the products alone are measured between the variants, in every round: on a
        # shared machine the rate drifts, and a ceiling measured once, at a slow moment, inflates every
        # fraction. The fastest ceiling seen is used (noise only ever slows a measurement down).
        variants["ceiling"] = lambda: matmul_rate(scale.matmul_n, 3, dev)[0]   # GFLOP/s
        variants["products alone, step"] = lambda: gemm_only_rate(ae_step_gemms(scale.deep, batch), batch, dev)
        variants["Adam update alone"] = lambda: adam_update_rate(scale.deep, batch, dev)
        variants["products alone, CD-1"] = lambda: gemm_only_rate(
            rbm_cd1_gemms(x.shape[1], scale.rbm_hidden, batch), batch, dev)
        variants["products and sample alone, CD-1"] = lambda: gemm_only_rate(
            rbm_cd1_gemms(x.shape[1], scale.rbm_hidden, batch), batch, dev, samples=[(batch, scale.rbm_hidden)])
        variants.update(sampler_rates((batch, scale.rbm_hidden), dev))
        for fn in variants.values():   # warm-up: first calls pay for allocation and kernel selection
            fn()
        res = _interleave(variants, scale.rounds)
        ceiling_runs = res.pop("ceiling")                                      # GFLOP/s
        ceiling = max(ceiling_runs + [report.matmul_gflops]) * 1e9             # FLOP/s
        report.add("flops", f"batch {batch}: ceiling used (fastest of the section's start and "
                            f"{len(ceiling_runs)} measurements between the variants)",
                   f"{ceiling / 1e9:,.1f} GFLOP/s (between variants: {_spread(ceiling_runs)})")
        limit = f"at batch {batch} (the attainable limit)"
        products, update = _median(res["products alone, step"]), _median(res.pop("Adam update alone"))
        report.add("flops", f"{name} step: its matrix products alone plus ae.fit's Adam update alone at batch "
                            f"{batch} (the attainable limit of an Adam step; the update alone: "
                            f"{1e3 * batch / update:.2f} ms per step)",
                   f"{f_ae / ceiling / (1 / products + 1 / update):.1%}")
        for what, flops, key in (
                (f"{name} step: its matrix products alone {limit}", f_ae, "products alone, step"),
                (f"RBM CD-1: its matrix products alone {limit}", f_rbm, "products alone, CD-1"),
                (f"RBM CD-1: its matrix products and its hidden sample (ae.bernoulli) alone {limit}", f_rbm,
                 "products and sample alone, CD-1")):
            frac = _median(res.pop(key)) * flops / ceiling
            report.add("flops", f"{what}: fraction of the matmul ceiling", f"{frac:.1%}")
        report.add("flops", f"ae.RBM at batch {batch}: speed with ae.bernoulli / with torch.rand < p (both "
                            f"samplers in every round)",
                   f"{_ratio(res, 'ae.RBM', 'ae.RBM sampling with torch.rand'):.2f}×")
        res.pop("ae.RBM sampling with torch.rand")
        faster = _ratio(res, "ae.bernoulli", "torch.rand < p")
        torch_rand, ours = _median(res.pop("torch.rand < p")), _median(res.pop("ae.bernoulli"))
        report.add("flops", f"CD-1's hidden sample ({batch}×{scale.rbm_hidden}): ms with torch.rand < p / with "
                            f"ae.bernoulli (16-bit uniforms)",
                   f"{1e3 / torch_rand:.2f} / {1e3 / ours:.2f} ms: {faster:.2f}× faster")
        for k, v in res.items():
            flops = f_rbm if "RBM" in k or "CD-1" in k else f_ae
            frac = _median(v) * flops / ceiling
            what = (f"{name} step via {k}" if flops == f_ae else f"RBM CD-1 via {k}") + f", batch {batch}"
            has_target = k in ("ae.fit", "ae.RBM")
            report.add("flops", f"{what}: fraction of the matmul ceiling",
                       f"{frac:.1%} ({_median(v):,.0f} samples/s)", "≥ 70 %" if has_target else "",
                       (frac >= 0.70) if has_target else None)


# ----------------------------------------------------------------------------------------------
# section: rbm — ae.RBM vs scikit-learn's BernoulliRBM
# ----------------------------------------------------------------------------------------------

def sklearn_rbm_fit(x_np, n_hidden, epochs, batch, lr=0.1) -> float:
    from sklearn.neural_network import BernoulliRBM
    rbm = BernoulliRBM(n_components=n_hidden, learning_rate=lr, batch_size=batch, n_iter=epochs, random_state=0)
    t0 = time.perf_counter()
    rbm.fit(x_np)
    dt = time.perf_counter() - t0
    assert rbm.components_.dtype == x_np.dtype, "scikit-learn changed the dtype: the comparison would be unfair"
    return epochs * len(x_np) / dt


def section_rbm(report: Report, scale: Scale, dev) -> None:
    import numpy as np
    x = _data(scale, dev)
    x64 = x.cpu().numpy().astype(np.float64)
    x32 = x.cpu().numpy().astype(np.float32)
    h, ep, b = scale.rbm_hidden, scale.rbm_epochs, scale.batch
    variants = {
        "sklearn float64": lambda: sklearn_rbm_fit(x64, h, ep, b),
        "sklearn float32": lambda: sklearn_rbm_fit(x32, h, ep, b),
        "CD-1 bare (torch)": lambda: cd1_bare(x, h, ep, b, dev),
        "ae.RBM": lambda: ae_rbm_fit(x, h, ep, b, dev),
    }
    for fn in variants.values():   # warm-up: first calls pay for allocation and kernel selection
        fn()
    res = _interleave(variants, scale.rbm_rounds, settle=scale.settle)
    med = {k: _median(v) for k, v in res.items()}
    desc = f"{x.shape[1]}-{h}, batch {b}, {ep} epoch(s) of {len(x)} images, {scale.rbm_rounds} rounds"
    report.note("rbm", f"sizes: {desc}; scikit-learn's BernoulliRBM trains by PCD-1 (one Gibbs step per "
                       "update, the same matmul count as CD-1); each run starts after "
                       f"{scale.settle:g} s of idle, so that the previous library's threads have stopped spinning "
                       "(`SETTLE_S`, `--settle`)")
    for k, v in res.items():
        report.add("rbm", f"{k}: samples/s", f"{med[k]:,.0f} (range {_spread(v)})")
    r64 = _ratio(res, "ae.RBM", "sklearn float64")
    r32 = _ratio(res, "ae.RBM", "sklearn float32")
    report.add("rbm", "ae.RBM / sklearn float64", f"{r64:.2f}×", "≥ 2×", r64 >= 2)
    report.add("rbm", "ae.RBM / sklearn float32", f"{r32:.2f}×", "> 1×", r32 > 1)
    report.add("rbm", "ae.RBM / bare torch CD-1", f"{_ratio(res, 'ae.RBM', 'CD-1 bare (torch)'):.2f}×")


# ----------------------------------------------------------------------------------------------
# section: pca — ae.PCA vs scikit-learn's PCA
# ----------------------------------------------------------------------------------------------

def _ae_pca_fit(x, k, dev) -> float:
    import aecourse as ae
    model = ae.PCA(k)
    _sync(dev)
    t0 = time.perf_counter()
    model.fit(x)
    _sync(dev)
    return time.perf_counter() - t0


def _sklearn_pca_fit(x_np, k) -> float:
    from sklearn.decomposition import PCA
    t0 = time.perf_counter()
    PCA(n_components=k, random_state=0).fit(x_np)
    return time.perf_counter() - t0


def section_pca(report: Report, scale: Scale, dev) -> None:
    import aecourse as ae
    try:
        x = ae.load_fashion_mnist().x_train
        what = "Fashion-MNIST"
    except ae.DataNotFoundError:
        x = _data(scale, "cpu")
        what = "mnist-5k (Fashion-MNIST not installed)"
    if scale.pca_rows is not None:
        x = x[:scale.pca_rows]
    x_np = x.numpy()
    x = x.to(dev)
    k = scale.pca_components
    x_np64, x64 = x_np.astype("float64"), x.double()
    variants = {"sklearn PCA": lambda: _sklearn_pca_fit(x_np, k),
                "sklearn PCA on float64": lambda: _sklearn_pca_fit(x_np64, k),
                "ae.PCA": lambda: _ae_pca_fit(x, k, dev),
                "ae.PCA on float64": lambda: _ae_pca_fit(x64, k, dev)}
    for fn in variants.values():   # warm-up: lazy imports, LAPACK initialisation
        fn()
    res = _interleave(variants, scale.pca_rounds, settle=scale.settle)
    desc = f"{what} {x.shape[0]:,} × {x.shape[1]}, {k} components, {scale.pca_rounds} rounds"
    for name, v in res.items():
        report.add("pca", f"{name}.fit seconds ({desc})", f"{_median(v):.2f} s")
    report.note("pca", "scikit-learn computes in the input's precision (float32 here, as the data are stored; "
                       "its covariance_eigh solver); ae.PCA always decomposes in float64, which chapter 02's "
                       "1e-5-level comparisons need. The like-for-like comparison gives both float64 input (ae.PCA then converts nothing). "
                       f"Each run starts after {scale.settle:g} s of idle (`SETTLE_S`, `--settle`).")
    ratio64 = _ratio(res, "sklearn PCA on float64", "ae.PCA on float64")   # seconds: sklearn's / ours
    ratio = _ratio(res, "sklearn PCA", "ae.PCA")
    report.add("pca", "ae.PCA / sklearn PCA, both given float64 input: speed", f"{ratio64:.2f}×",
               "≥ 1× (not slower)", ratio64 >= 1)
    report.add("pca", "ae.PCA / sklearn PCA, both given the float32 data: speed", f"{ratio:.2f}×")


# ----------------------------------------------------------------------------------------------
# section: denormal — cost and census of subnormal floats, before and after flushing
# ----------------------------------------------------------------------------------------------



def count_subnormal(t) -> int:
    """Subnormal float32 values in ``t``, read from the bits: a float comparison would see none
    while flushing is on (denormals-are-zero), as it is after ``import aecourse``."""
    import torch

    bits = t.detach().to(torch.float32).contiguous().view(torch.int32)
    exponent, mantissa = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    return int(((exponent == 0) & (mantissa != 0)).sum())


def _op_cost(n: int) -> list:
    """(op, ms normal, ms subnormal) on one thread, where set_flush_denormal always takes effect."""
    import torch
    out = []
    x_norm = 1e-3 * (1 + torch.rand(n))
    x_sub = 1e-39 * (1 + torch.rand(n))
    y = torch.rand(n)
    pre_norm = -5 + torch.rand(n)
    pre_sub = -87.6 + 0.3 * torch.rand(n)        # σ of these is subnormal
    side = int(min(n, 512 * 512) ** 0.5)

    def med(f, reps=7):
        f()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return _median(ts) * 1e3

    buf = torch.empty(n)
    ops = {
        "sqrt (Adam's denominator)": lambda x, p: torch.sqrt(x, out=buf),
        "add": lambda x, p: torch.add(x, x, out=buf),
        "mul": lambda x, p: torch.mul(x, y, out=buf),
        "Adam's v.mul_(β2).addcmul_(g, g)": lambda x, p: buf.copy_(x).mul_(0.999).addcmul_(x, x, value=1e-3),
        "sigmoid (subnormal outputs)": lambda x, p: torch.sigmoid(p, out=buf),
        "sgemm (subnormal A)": lambda x, p: x[:side * side].view(side, side) @ y[:side * side].view(side, side),
    }
    for name, op in ops.items():
        out.append((name, med(lambda: op(x_norm, pre_norm)), med(lambda: op(x_sub, pre_sub))))
    return out


_REACH_CODE = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(max(2, torch.get_num_threads()))
    when = sys.argv[1]
    if when == "before": torch.set_flush_denormal(True)
    if when == "import aecourse": import aecourse
    x = torch.full((1 << 22,), 1.5e-38)
    (x * 1.0).sum()                        # runs a parallel region: the thread pool exists from here on
    if when == "after": torch.set_flush_denormal(True)
    r = x * 0.5                            # every exact result is subnormal; flushed ones are 0
    print(float((r == 0).float().mean()))
""")


def flush_reach(when: str) -> float | None:
    """Share of a parallel op's subnormal results flushed to 0 when set_flush_denormal(True) is
    called ``before`` or ``after`` torch's thread pool starts (1.0: every thread flushes)."""
    proc = subprocess.run([sys.executable, "-c", _REACH_CODE, when], capture_output=True, text=True, timeout=300)
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def _census(model, opt) -> dict:
    state = list(opt.state.values())
    return {
        "params": sum(count_subnormal(p) for p in model.parameters()),
        "grads": sum(count_subnormal(p.grad) for p in model.parameters() if p.grad is not None),
        "exp_avg": sum(count_subnormal(s["exp_avg"]) for s in state),
        "exp_avg_sq": sum(count_subnormal(s["exp_avg_sq"]) for s in state),
        "n_params": sum(p.numel() for p in model.parameters()),
    }


def flushing() -> bool:
    """Whether this thread flushes subnormal floats now (torch has a setter but no getter)."""
    import torch
    tiny = torch.tensor([2.0 ** -126])     # the smallest normal float32; half of it is subnormal
    return bool((tiny * 0.5).item() == 0.0)


def _timed_epoch(model, opt, x, batch, flush: bool) -> float:
    """One epoch of the bare loop from the current state, with flushing on or off (seconds)."""
    import torch
    import aecourse as ae
    previous = flushing()
    torch.set_flush_denormal(flush)
    try:
        t0 = time.perf_counter()
        for start in range(0, len(x), batch):
            xb = x[start:start + batch]
            opt.zero_grad(set_to_none=True)
            ae.losses.cross_entropy(model(xb), xb).backward()
            opt.step()
        return time.perf_counter() - t0
    finally:
        torch.set_flush_denormal(previous)


def section_denormal(report: Report, scale: Scale, dev) -> None:
    import torch
    import aecourse as ae
    if getattr(dev, "type", str(dev)) != "cpu":
        report.note("denormal", "skipped: subnormal floats are a CPU question (GPUs flush them in fast paths)")
        return
    threads, flush_before = torch.get_num_threads(), flushing()
    torch.set_num_threads(1)   # set_flush_denormal acts on the calling thread; one thread: it always applies
    try:
        # 1. what a subnormal operand costs here, without and with flushing
        torch.set_flush_denormal(False)
        off = _op_cost(scale.denormal_ops_n)
        torch.set_flush_denormal(True)
        on = _op_cost(scale.denormal_ops_n)
        torch.set_flush_denormal(False)
        for (name, n_off, s_off), (_, n_on, s_on) in zip(off, on):
            report.add("denormal", f"{name}: time with subnormal / normal operands, without → with flushing",
                       f"{s_off / n_off:.1f}× → {s_on / n_on:.1f}× ({n_off:.2f} ms normal)")
        # 2. the long fine-tuning run: census of subnormals and epoch time without/with flushing
        torch.manual_seed(0)
        x = _data(scale, "cpu")
        model = ae.Autoencoder(list(scale.shallow))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        done = 0
        report.note("denormal", f"long run: {'-'.join(map(str, scale.shallow))} sigmoid autoencoder, BCE, Adam "
                                f"lr 1e-3, batch {scale.batch}, {len(x)} images, flushing off; at each checkpoint "
                                "one more epoch is timed from the same state without and with flushing "
                                "(one thread, ABAB, median of 2)")
        for checkpoint in scale.denormal_epochs:
            torch.set_flush_denormal(False)
            while done < checkpoint:
                order = torch.randperm(len(x))
                _timed_epoch(model, opt, x[order], scale.batch, flush=False)
                done += 1
            c = _census(model, opt)
            times = {False: [], True: []}
            for _ in range(2):
                for flush in (False, True):
                    m, o = copy.deepcopy((model, opt))  # one memo: o's state stays keyed by m's parameters
                    times[flush].append(_timed_epoch(m, o, x, scale.batch, flush))
            t_off, t_on = _median(times[False]), _median(times[True])
            share = c["exp_avg_sq"] / c["n_params"]
            report.add("denormal", f"after {checkpoint} epoch(s): subnormal values in params / grads / Adam m / "
                                   f"Adam v (of {c['n_params']:,})",
                       f"{c['params']} / {c['grads']} / {c['exp_avg']} / {c['exp_avg_sq']} ({share:.1%} of v)")
            report.add("denormal", f"after {checkpoint} epoch(s): epoch time without → with flushing",
                       f"{t_off:.2f} → {t_on:.2f} s ({t_off / t_on:.2f}×)")
    finally:
        torch.set_flush_denormal(flush_before)   # as aecourse set it: later work in this process flushes
        torch.set_num_threads(threads)
    # 3. does set_flush_denormal reach torch's intra-op threads? (the flag is per thread)
    for when in ("after", "before", "import aecourse"):
        share = flush_reach(when)
        value = "n/a" if share is None else f"{share:.0%} of a parallel op's subnormal results flushed"
        label = ("after `import aecourse` alone (the package's own setting)" if when == "import aecourse"
                 else f"set_flush_denormal(True) called {when} the thread pool starts")
        report.add("denormal", label, value)
    # 4. the other suspect for an order-of-magnitude slowdown on a shared machine: thread oversubscription
    x = _data(scale, "cpu")
    torch.manual_seed(0)
    model = ae.Autoencoder(list(scale.shallow))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = {1: [], threads: []}
    try:
        for _ in range(2):
            for t in times:
                torch.set_num_threads(t)
                times[t].append(_timed_epoch(model, opt, x, scale.batch, flush=False))
    finally:
        torch.set_num_threads(threads)
    if threads != 1:
        report.add("denormal", f"same epoch with {threads} torch threads / with 1 thread (load average now "
                               f"{_loadavg()})", f"{_median(times[threads]) / _median(times[1]):.2f}× the time")


# ----------------------------------------------------------------------------------------------
# section: notebooks — default-mode execution time and peak kernel memory
# ----------------------------------------------------------------------------------------------

def _vm_hwm_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class _RssSampler(threading.Thread):
    """Fallback peak-RSS meter (psutil, every 0.2 s) for systems without /proc's VmHWM."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def run(self):
        try:
            import psutil
            proc = psutil.Process(self.pid)
        except Exception:  # noqa: BLE001 - psutil missing or the process gone: no samples
            return
        while not self._stop.is_set():
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                self.peak = max(self.peak, rss)
            except Exception:  # noqa: BLE001
                return
            self._stop.wait(0.2)

    def stop(self):
        self._stop.set()


def run_notebook(path: Path, timeout: int = 900, quick: bool = False) -> dict:
    """Execute ``path`` in a fresh python3 kernel (default mode unless ``quick``): seconds, peak RSS, error,
    and ``cells``: (nbval's cell number, seconds, first line) of every code cell run, nbval numbering the
    code cells from 0 as its test ids and ``--durations`` do ("notebook.ipynb::Cell 12")."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    from build_site import failure_line

    nb = nbformat.read(str(path), as_version=4)
    env = dict(os.environ, AECOURSE_QUICK="1" if quick else "0", TQDM_DISABLE="1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"notebook": path.name, "seconds": None, "peak_bytes": None, "error": None, "cells": []}
    t0 = time.perf_counter()
    with client.setup_kernel(env=env):
        provisioner = getattr(client.km, "provisioner", None)
        process = getattr(provisioner, "process", None) or getattr(client.km, "kernel", None)
        pid = getattr(process, "pid", None)
        sampler = _RssSampler(pid) if pid else None
        if sampler:
            sampler.start()
        try:
            for index, cell in enumerate(client.nb.cells):
                started = time.perf_counter()
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                if cell.cell_type == "code":
                    first = next((line for line in cell.source.splitlines() if line.strip()), "")
                    result["cells"].append((len(result["cells"]), time.perf_counter() - started, first))
        except CellExecutionError as exc:
            result["error"] = failure_line(exc)[:200]
        except Exception as exc:  # noqa: BLE001 - a timeout or a dead kernel is a result too
            result["error"] = f"{type(exc).__name__}: {exc}"[:200]
        result["seconds"] = time.perf_counter() - t0
        peaks = []
        if pid:
            peaks.append(_vm_hwm_bytes(pid) or 0)
            try:
                import psutil
                peaks += [_vm_hwm_bytes(c.pid) or 0 for c in psutil.Process(pid).children(recursive=True)]
            except Exception:  # noqa: BLE001
                pass
        if sampler:
            sampler.stop()
            peaks.append(sampler.peak)
        result["peak_bytes"] = max(peaks) if peaks and max(peaks) > 0 else None
    return result


def section_notebooks(report: Report, scale: Scale, dev, notebook_dir: Path | None = None) -> None:
    notebook_dir = notebook_dir or ROOT / "notebooks"
    paths = sorted(notebook_dir.glob("*.ipynb"))
    if not paths:
        report.add("notebooks", "notebooks executed", f"none found in {notebook_dir}", "≤ 10 min in all", None)
        return
    total = 0.0
    errors = 0
    for path in paths:
        r = run_notebook(path, timeout=scale.notebook_timeout)
        total += r["seconds"] or 0.0
        status = f" — FAILED: {r['error']}" if r["error"] else ""
        errors += bool(r["error"])
        report.add("notebooks", f"{r['notebook']}: seconds (default mode, fresh kernel, incl. start)",
                   f"{r['seconds']:.0f} s{status}", "≤ 180 s", (r["seconds"] <= 180) and not r["error"])
        slowest = sorted(r["cells"], key=lambda c: -c[1])[:3]
        if slowest:
            report.note("notebooks", f"{r['notebook']}, slowest cells: " + "; ".join(
                f"Cell {n} {sec:.0f} s (`{first[:50].replace('`', '')}`)" for n, sec, first in slowest))
        if r["peak_bytes"] is None:
            report.add("notebooks", f"{r['notebook']}: kernel peak RSS", "not measurable here", "≤ 1.5 GB", None)
        else:
            gb = r["peak_bytes"] / 1e9
            report.add("notebooks", f"{r['notebook']}: kernel peak RSS", f"{gb:.2f} GB", "≤ 1.5 GB", gb <= 1.5)
    report.add("notebooks", f"whole course: {len(paths)} notebooks, seconds" + (f" ({errors} failed)" if errors else ""),
               f"{total:.0f} s ({total / 60:.1f} min)", "≤ 600 s", total <= 600 and not errors)


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------

SECTION_TITLES = {
    "matmul": "Ceiling: float32 matmul",
    "fit": "ae.fit vs a bare loop vs DataLoader(TensorDataset)",
    "flops": "Fraction of the matmul ceiling",
    "rbm": "RBM CD-1 vs scikit-learn BernoulliRBM",
    "pca": "ae.PCA vs scikit-learn PCA",
    "denormal": "Subnormal (denormal) floats",
    "notebooks": "Notebooks: default-mode time and peak kernel memory",
}


def render(report: Report, info: dict, command: str, sections: list, device: str, gpu_note: str) -> str:
    lines = ["# Benchmark results", "",
             "Written by `benchmarks/run.py` (issue 10). Competing variants run interleaved in one process and "
             "are compared by the median of each round's ratio; see `benchmarks/README.md` for what each row measures.", "",
             "## Machine and run", "",
             f"- date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
             f"- command: `{command}`",
             f"- device: {device}",
             f"- CPU: {info['cpu']}, {info['cores']} logical cores; torch threads: {info['torch_threads']}",
             f"- torch {info['torch']} (BLAS {info['torch_blas']}, CPU capability {info['torch_cpu_capability']}), "
             f"numpy {info['numpy']}, scikit-learn {info['sklearn']}, Python {info['python']}",
             f"- numpy/scipy BLAS: {info['numpy_blas']}; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE: {info['openblas_env']}",
             f"- GLIBC_TUNABLES (malloc; notebook kernels inherit it): {info['glibc_tunables']}",
             f"- GPU: {info['cuda']}",
             f"- load average (1/5/15 min) at start: {info['loadavg_start']}, at end: {info.get('loadavg_end', '?')}"
             " — a load above the core count means other work shared the CPU and the absolute figures are low",
             f"- sections: {', '.join(sections)}", ""]
    passed = sum(r.ok is True for r in report.rows)
    missed = [r for r in report.rows if r.ok is False]
    open_ = [r for r in report.rows if r.target and r.ok is None]
    lines += [f"**Targets: {passed} pass, {len(missed)} miss, {len(open_)} not measurable yet.**", ""]
    for section in sections:
        rows = [r for r in report.rows if r.section == section]
        notes = report.notes.get(section, [])
        if not rows and not notes:
            continue
        lines += [f"## {SECTION_TITLES[section]}", ""]
        lines += [f"- {n}" for n in notes]
        if notes:
            lines.append("")
        if rows:
            lines += ["| measurement | value | target | result |", "| --- | --- | --- | --- |"]
            lines += [f"| {r.what} | {r.value} | {r.target} | {r.mark} |" for r in rows]
            lines.append("")
    lines += ["## GPU", "", gpu_note, ""]
    return "\n".join(lines)


def _gpu_note(dev, info: dict) -> str:
    if dev.type != "cpu":
        return (f"This run measured on {dev} ({info['cuda']}); `benchmarks/RESULTS.md` holds the CPU figures. "
                "On a GPU the fractions of the ceiling show how far small products and per-step launches "
                "are from the card's matmul rate; the CPU targets do not carry over.")
    gpu = ROOT / "benchmarks" / "RESULTS-gpu.md"
    if gpu.is_file():
        return "See `benchmarks/RESULTS-gpu.md` (written by `benchmarks/gpu.sh`)."
    return ("Not measured: no GPU was available when this was written. `benchmarks/gpu.sh` is ready (fit and RBM "
            "throughput on cuda, then the paper-scale pipeline via `scripts/paper_scale.py` when present); it "
            "writes `benchmarks/RESULTS-gpu.md`.")


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--skip", help="comma-separated sections to leave out")
    parser.add_argument("--notebooks", action="store_true", help="the notebooks section alone")
    parser.add_argument("--tiny", action="store_true", help="smoke-test sizes (seconds, meaningless figures)")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: ae.device())")
    parser.add_argument("--out", default=None,
                        help="markdown file to write (default benchmarks/RESULTS.md for a full run; "
                             "a partial or --tiny run only prints unless given)")
    parser.add_argument("--settle", type=float, default=None,
                        help=f"seconds of idle before each run in the rbm and pca sections, where libraries "
                             f"alternate (default {SETTLE_S}; 0 shows what another library's spinning threads cost)")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (by default the command re-runs without them)")
    args = parser.parse_args(argv)

    if args.notebooks:
        sections = ["notebooks"]
    elif args.only:
        sections = [s.strip() for s in args.only.split(",") if s.strip()]
    else:
        sections = list(SECTIONS)
    if args.skip:
        skip = {s.strip() for s in args.skip.split(",")}
        sections = [s for s in sections if s not in skip]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    full = sections == SECTIONS and not args.tiny
    out = Path(args.out) if args.out else (DEFAULT_OUT if full else None)

    import torch
    import aecourse as ae
    dev = torch.device(args.device) if args.device else ae.device()
    scale = Scale.tiny() if args.tiny else Scale()
    if args.settle is not None:
        if args.settle < 0:
            parser.error(f"--settle must be 0 or more seconds, got {args.settle}")
        scale.settle = args.settle
    if dev.type == "cuda" and not args.tiny:
        scale.matmul_n = 8192   # a 2048² product (0.3 ms) does not fill a data-centre GPU: the ceiling would be low
    info = machine_info()
    report = Report()
    print(f"benchmarks on {info['cpu']} ({info['cores']} cores, torch {info['torch']}, device {dev}); "
          f"load average {info['loadavg_start']}", flush=True)
    runners = {"matmul": section_matmul, "fit": section_fit, "flops": section_flops, "rbm": section_rbm,
               "pca": section_pca, "denormal": section_denormal, "notebooks": section_notebooks}
    for section in sections:
        print(f"\n== {SECTION_TITLES[section]}", flush=True)
        t0 = time.perf_counter()
        try:
            runners[section](report, scale, dev)
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            report.add(section, "section failed", f"{type(exc).__name__}: {exc}"[:300], "runs", False)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    info["loadavg_end"] = _loadavg()
    command = "python benchmarks/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(
        argv if argv is not None else sys.argv[1:]))
    text = render(report, info, command, sections, str(dev), _gpu_note(dev, info))
    print("\n" + text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written to {out}")
    return report


def _reexec_without_openblas_env() -> None:
    """OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds) slow a current
    numpy; the benchmark compares against numpy/scikit-learn, so it runs without both (this command only)."""
    if "--keep-openblas-env" in sys.argv or os.environ.get("_AECOURSE_BENCH_REEXEC"):
        return
    if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env["_AECOURSE_BENCH_REEXEC"] = "1"
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


if __name__ == "__main__":
    _reexec_without_openblas_env()
    sys.path.insert(0, str(ROOT))
    report = main()
    sys.exit(1 if any(r.what == "section failed" for r in report.rows) else 0)
