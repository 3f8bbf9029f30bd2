"""benchmarks/gpu.sh, the one-shot GPU run of issue 10, rehearsed on the CPU.

A GPU machine is lent rarely and for minutes, bare and offline, with a copy of the repository: the
script has to work the first time. Its rehearsal mode runs every step it takes there (finding the
Python, importing aecourse from the copy, the carried data, both stages, the results copied into
$OUT) on the CPU at tiny sizes.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aecourse.data import _find_idx_dir

ROOT = Path(__file__).resolve().parent.parent


def _fashion_dir() -> Path | None:
    return _find_idx_dir("fashion-mnist", None)[0]   # where aecourse finds it here


def _device_like_copy(tmp_path: Path) -> Path:
    """What the device tool sends: the sources (no virtual environment, no editable install's
    directory) plus the carried .gpu-data folder."""
    repo = tmp_path / "repo"
    for part in ("aecourse", "benchmarks", "scripts", "tests"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__", "*.md", "*.log"))
    shutil.copy(ROOT / "pyproject.toml", repo)   # its pytest addopts name nbval, which the GPU machine lacks
    return repo


def _run(repo: Path, *args, **env) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("AECOURSE_DATA", "PAPER_DATA", "OUT")}
    full_env.update(PY=sys.executable, **env)
    return subprocess.run(["bash", "benchmarks/gpu.sh", *args], cwd=repo, env=full_env, capture_output=True,
                          text=True, timeout=600)


def test_rehearsal_runs_every_stage_from_a_device_like_copy(tmp_path):
    fashion = _fashion_dir()
    if fashion is None:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    repo = _device_like_copy(tmp_path)
    shutil.copytree(fashion, repo / ".gpu-data" / "fashion-mnist")
    out, res = tmp_path / "out", tmp_path / "results"
    out.mkdir()
    proc = _run(repo, "--rehearse", OUT=str(out), GPU_SH_RESULTS=str(res))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"aecourse from {repo / 'aecourse'}" in proc.stdout   # the copy's package, not an installed one
    text = (out / "RESULTS-gpu-rehearsal.md").read_text()
    assert "section failed" not in text
    for heading in ("## Ceiling: float32 matmul", "## ae.fit vs a bare loop", "## Fraction of the matmul ceiling",
                    "## RBM CD-1 vs scikit-learn", "## ae.PCA vs scikit-learn", "## Unit tests on cpu",
                    "## Paper-scale pipeline"):
        assert heading in text
    assert "--data fashion-mnist --no-download --n-train 3000" in text and "(exit status 0;" in text
    # every stage's error was printed, and they are real figures: the pretrained net beats the random one
    rows = {line[:36].strip(): float(line[36:46]) for line in text.splitlines()
            if line.startswith("  ") and "paper:" in line}
    assert set(rows) == {"PCA-30", "deep autoencoder, RBM-pretrained", "logistic PCA-30",
                         "deep autoencoder, random init"}, rows
    assert 5 < rows["PCA-30"] < 30
    assert rows["deep autoencoder, RBM-pretrained"] < rows["deep autoencoder, random init"]
    assert re.search(r"## Unit tests on cpu\n\n.*exit status 0;.*\n\n```\n\d+ passed", text)
    for log in ("gpu-unit-tests.log", "gpu-throughput.log", "gpu-paper-scale.log", "gpu-paper-scale.progress.log"):
        assert (out / log).is_file()
    assert not (repo / "benchmarks" / "RESULTS-gpu.md").exists()   # a rehearsal never poses as GPU figures


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason="checks what gpu.sh does on a machine without a GPU; this one has one")
def test_without_a_gpu_it_measures_nothing_and_says_why(tmp_path):
    proc = _run(_device_like_copy(tmp_path))
    assert proc.returncode == 2
    assert "no CUDA GPU visible to torch" in proc.stderr


def test_unknown_option_is_an_error(tmp_path):
    proc = _run(_device_like_copy(tmp_path), "--fast")
    assert proc.returncode == 2 and "usage: bash benchmarks/gpu.sh" in proc.stderr
