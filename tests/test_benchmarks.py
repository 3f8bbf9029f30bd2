"""Smoke tests of benchmarks/run.py on tiny sizes: the code runs and writes its table.

No timing is asserted here (issue 10: timing targets are measured as ratios by the benchmark
command, never as timed unit tests).
"""
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("aecourse_benchmarks_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_flop_counts(bench):
    # forward 2·Σ(in·out) over encoder and mirrored decoder, backward twice that
    assert bench.ae_step_flops((784, 1000, 500, 250, 30)) == 6 * 2 * (784 * 1000 + 1000 * 500 + 500 * 250 + 250 * 30)
    assert bench.rbm_cd1_flops(784, 1000) == 10 * 784 * 1000


def test_count_subnormal(bench):
    # built from the bits: with flushing on (after import aecourse) a float literal like 1e-39
    # would already be stored as 0
    bits = [0, 1, 0x7FFFFF, -0x7FFFFFFF, 0x00800000, 0x3F800000]  # 0, 3 subnormals, min normal, 1.0
    t = torch.tensor(bits, dtype=torch.int32).view(torch.float32)
    assert bench.count_subnormal(t) == 3


def test_interleave_alternates_the_order_and_settles_before_each_run(bench, monkeypatch):
    calls, sleeps = [], []
    monkeypatch.setattr(bench.time, "sleep", sleeps.append)
    variants = {name: (lambda name=name: calls.append(name) or len(calls)) for name in "abc"}
    results = bench._interleave(variants, 3, settle=0.25)
    assert calls == list("abccbaabc")
    assert results == {"a": [1, 6, 7], "b": [2, 5, 8], "c": [3, 4, 9]}
    assert sleeps == [0.25] * 9                          # before every run
    assert bench.Scale().settle == bench.SETTLE_S > 0 and bench.Scale.tiny().settle == 0
    with pytest.raises(SystemExit):
        bench.main(["--only", "matmul", "--settle", "-1"])


def test_tiny_run_writes_a_table(bench, tmp_path):
    out = tmp_path / "RESULTS.md"
    report = bench.main(["--tiny", "--only", "matmul,fit,flops,rbm,pca", "--device", "cpu", "--out", str(out)])
    failed = [r for r in report.rows if r.what == "section failed"]
    assert not failed, failed
    text = out.read_text()
    for heading in ("## Machine and run", "## Ceiling: float32 matmul", "## ae.fit vs a bare loop",
                    "## Fraction of the matmul ceiling", "## RBM CD-1 vs scikit-learn", "## ae.PCA vs scikit-learn",
                    "## GPU"):
        assert heading in text
    assert "| measurement | value | target | result |" in text
    assert any(r.target == "≤ 5 %" for r in report.rows)
    assert any("cost of reading the loss every batch" in r.what for r in report.rows)
    # CD-1's attainable limit is reported with and without the hidden sample it must draw, and the
    # sampler is compared with torch.rand < p
    limits = [r for r in report.rows if "(the attainable limit" in r.what and r.what.startswith("RBM CD-1")]
    assert len(limits) == 2 and any("hidden sample (ae.bernoulli)" in r.what for r in limits)
    sampler = [r for r in report.rows if r.what.startswith("CD-1's hidden sample")]
    assert len(sampler) == 1 and sampler[0].value.endswith("× faster")
    before_after = [r for r in report.rows if "speed with ae.bernoulli / with torch.rand" in r.what]
    assert len(before_after) == 1 and before_after[0].value.endswith("×")


def test_denormal_section_tiny(bench, monkeypatch):
    monkeypatch.setattr(bench, "flush_reach", lambda when: 1.0)  # the subprocess check is slow to start
    report = bench.Report()
    import aecourse  # noqa: F401  (turns flushing on)
    torch.set_num_threads(2)   # the section compares thread counts and must restore this one
    assert bench.flushing()    # import aecourse turned flushing on; the section must leave it on
    bench.section_denormal(report, bench.Scale.tiny(), torch.device("cpu"))
    assert torch.get_num_threads() == 2
    assert bench.flushing()
    torch.set_num_threads(1)
    assert any("Adam v" in r.what for r in report.rows)
    assert any("thread pool" in r.what for r in report.rows)


def test_flushing_reads_the_flag(bench):
    try:
        torch.set_flush_denormal(False)
        assert not bench.flushing()
        torch.set_flush_denormal(True)
        assert bench.flushing()
    finally:
        torch.set_flush_denormal(True)   # aecourse's setting


def test_unknown_section_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--only", "nonsense"])


def test_notebook_runner_reports_a_failing_cell_in_one_plain_line(bench, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert 1 > 2, 'one is not more than two'")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "02_failing.ipynb"
    nbformat.write(nb, str(path))
    result = bench.run_notebook(path, timeout=120)
    assert result["error"] == "AssertionError: one is not more than two", result   # no colour codes


def test_notebook_runner_times_and_measures(bench, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nx = bytearray(50_000_000)"),
                nbformat.v4.new_markdown_cell("not counted"),
                nbformat.v4.new_code_cell("\nimport time\ntime.sleep(0.3)"),
                nbformat.v4.new_code_cell("assert os.environ['AECOURSE_QUICK'] == '0'")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, str(path))
    result = bench.run_notebook(path, timeout=120)
    assert result["error"] is None, result
    assert result["seconds"] > 0
    # code cells numbered as nbval numbers them (its test ids: "01_tiny.ipynb::Cell 1")
    assert [(n, first) for n, _, first in result["cells"]] == [
        (0, "import os"), (1, "import time"), (2, "assert os.environ['AECOURSE_QUICK'] == '0'")]
    assert result["cells"][1][1] >= 0.3 and max(result["cells"], key=lambda c: c[1])[0] == 1
    if result["peak_bytes"] is not None:   # /proc or psutil present
        assert result["peak_bytes"] > 50_000_000

    report = bench.Report()
    bench.section_notebooks(report, bench.Scale.tiny(), "cpu", notebook_dir=tmp_path)
    assert report.rows[-1].what.startswith("whole course: 1 notebooks")
    assert report.notes["notebooks"][0].startswith("01_tiny.ipynb, slowest cells: Cell 1 0 s (`import time`); Cell ")
