"""Issue 8's builds: student copies (solutions removed, still runnable) and the course website.

Both execute every notebook in quick mode: the default-mode numbers are checked by the nbval run
of notebooks/ itself; here we check that the builds work for every chapter.
"""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import fake_gpu

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def test_every_chapter_from_01_has_two_exercises_with_solution_and_check():
    site = load_script("build_site")
    for path in NOTEBOOKS:
        if path.name.startswith("00"):
            continue
        notebook = nbformat.read(path, as_version=4)
        cells = notebook.cells
        stubs = [i for i, c in enumerate(cells) if "exercise" in tags(c)]
        assert len(stubs) >= 2, f"{path.name} has {len(stubs)} exercises, needs at least two"
        for i in stubs:
            assert "NotImplementedError" in cells[i].source, f"{path.name}: exercise stub {i} must raise NotImplementedError"
            solution = cells[i + 1]
            assert "solution" in tags(solution), f"{path.name}: exercise {i} must be followed by its solution cell"
            assert solution.metadata.get("jupyter", {}).get("source_hidden") and \
                solution.source.startswith("# Reference solution"), \
                f"{path.name}: solution {i + 1} must be collapsed in JupyterLab and say what it is, not sit in plain view"
            following = "".join(c.source for c in cells[i + 2:i + 5])
            assert "ae.checks." in following, f"{path.name}: exercise {i} has no ae.checks call after it"
        checks = site.exercise_checks(notebook)
        assert [index - 2 for index, _, _ in checks] == stubs, f"{path.name}: every stub, solution, check in that order"
        for index, name, _ in checks:
            solution = cells[index - 1].source
            # the solution must not redefine the learner's function: running it ("Run All") would replace
            # the answer the check is about to test
            assert re.search(rf"^def {name}_solution\(", solution, re.M) and not re.search(rf"^def {name}\(", solution, re.M), \
                f"{path.name}: solution cell {index - 1} must define {name}_solution, not {name}"


def test_every_reference_solution_passes_its_check(capsys):
    import numpy as np
    import torch

    import aecourse as ae
    site = load_script("build_site")
    n = 0
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for index, name, check in site.exercise_checks(notebook):
            namespace = {"torch": torch, "np": np, "ae": ae}
            exec(notebook.cells[index - 1].source, namespace)
            solution = namespace[f"{name}_solution"]
            assert getattr(ae.checks, check)(solution) is solution, f"{path.name}: {name}_solution fails its check"
            out = capsys.readouterr().out
            assert out.startswith("✓") and "✗" not in out, f"{path.name}: {name}_solution: {out}"
            n += 1
    assert n >= 12


def test_every_chapter_opens_with_objectives_and_closes_with_references():
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert "Learning objectives" in cells[0].source and "Prerequisites" in cells[0].source, path.name
        markdown = [c.source for c in cells if c.cell_type == "markdown"]
        assert "Summary" in markdown[-1] or "Summary" in markdown[-2], path.name
        closing = "".join(markdown[-2:])
        assert "## References" in closing or "## Papers" in closing, f"{path.name} must close with the papers it relies on"


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    load_script("student_copies").build(out)
    return out


def test_student_copies_drop_solutions_and_keep_stubs(student_dir):
    for path in NOTEBOOKS:
        original = nbformat.read(path, as_version=4)
        copy = nbformat.read(student_dir / path.name, as_version=4)
        assert not any("solution" in tags(c) for c in copy.cells), path.name
        n_solutions = sum("solution" in tags(c) for c in original.cells)
        assert len(copy.cells) == len(original.cells) - n_solutions
        assert sum("exercise" in tags(c) for c in copy.cells) == sum("exercise" in tags(c) for c in original.cells)


# (chapter, simulated device): learners with a GPU run these copies, and a tensor left on the CPU,
# .numpy() on a GPU tensor, a random generator on the wrong device or float64 on Apple's MPS fails
# there. The simulated device without float64 ("mps") catches all four; chapter 02, which computes
# in float64 and so runs on the CPU on such a device, runs on the one with float64 ("cuda") too.
# Chapter 00 runs on the CPU: it asserts that the device is one a learner can have (cpu, cuda or
# mps).
RUNS = [(p.name, "cpu" if p.name.startswith("00_") else "mps") for p in NOTEBOOKS]
RUNS.append(("02_pca_equivalence.ipynb", "cuda"))


@pytest.fixture(scope="module")
def student_runs(student_dir, tmp_path_factory):
    """Every run of RUNS executed, in quick mode, side by side as the website build runs chapters (one
    kernel per core): name, device -> (the executed notebook, seconds or the exception it raised)."""
    runs = {}
    for name, device in RUNS:
        env = {"AECOURSE_QUICK": "1"}
        if device != "cpu":
            ipython = tmp_path_factory.mktemp(f"ipython-{device}")
            env["IPYTHONDIR"] = str(fake_gpu.ipython_dir(ipython, float64=device == "cuda"))
        notebook = nbformat.read(student_dir / name, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell("print('ran on', ae.device())"))
        runs[f"{name} ({device})"] = (notebook, ROOT / "notebooks", env)
    results = load_script("build_site").execute_all(runs, timeout=600)
    return {(name, device): (runs[f"{name} ({device})"][0], results[f"{name} ({device})"]) for name, device in RUNS}


@pytest.mark.parametrize("name,device", RUNS, ids=[f"{n[:2]}-{d}" for n, d in RUNS])
def test_student_copy_runs_past_every_exercise(student_runs, name, device):
    """Every student copy runs, in quick mode, on a simulated GPU (tests/fake_gpu.py)."""
    notebook, result = student_runs[name, device]
    if isinstance(result, Exception):
        raise result                                  # the failing cell, its code and its traceback
    n_exercises = sum("exercise" in tags(c) for c in notebook.cells)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert printed.count("not attempted yet") >= n_exercises, f"{name}: every unsolved exercise must be reported"
    assert "Using the reference solution" in printed or n_exercises == 0
    assert f"ran on {'fakegpu:0' if device != 'cpu' else 'cpu'}" in printed


def test_site_has_every_chapter_with_its_figures(tmp_path, monkeypatch):
    site = load_script("build_site")
    chapters = site.build(tmp_path, quick=True)
    index = (tmp_path / "index.html").read_text()
    assert len(chapters) == len(NOTEBOOKS)
    for path, chapter in zip(NOTEBOOKS, chapters):
        page = (tmp_path / f"{path.stem}.html").read_text()
        figures = len(re.findall(r'<img[^>]+src="data:image/png;base64,', page))
        code_figures = sum(
            1 for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "code" and re.search(r"ae\.plot\.|Figure\(", c.source)
        )
        assert figures >= 1 and figures >= min(code_figures, 3), f"{path.name}: {figures} figures in its page"
        assert f'href="{path.stem}.html"' in index and "run time" in index
        assert chapter["objectives"], f"{path.name}: no learning objectives found for the index"
        # the website shows the reference solutions passing their checks, not stubs "not attempted yet"
        n_checks = len(site.exercise_checks(nbformat.read(path, as_version=4)))
        assert "not attempted yet" not in page and page.count("✓") >= n_checks, path.name


def test_site_runs_notebooks_side_by_side_with_the_cores_shared_out(tmp_path, monkeypatch):
    site = load_script("build_site")
    woken, wake = [], site.wake
    monkeypatch.setattr(site, "wake", lambda socket: (woken.append(socket), wake(socket)))
    jobs, threads = site.jobs_and_threads(2)
    assert jobs == 2 and threads == max(1, (os.cpu_count() or 1) // 2)
    with pytest.raises(ValueError, match="jobs must be a positive"):
        site.jobs_and_threads(-1)
    paths = []
    for name in ("a", "b"):
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(f"# Chapter {name}\n\n**Learning objectives**\n\n1. count threads\n"),
            nbformat.v4.new_code_cell("import os, time, torch\nstart = time.time()\ntime.sleep(2)\n"
                                      "print('threads', torch.get_num_threads(), 'quick', os.environ['AECOURSE_QUICK'])\n"
                                      "print('window', start, time.time())")])
        paths.append(tmp_path / f"{name}.ipynb")
        nbformat.write(nb, paths[-1])
    chapters = site.build(tmp_path / "site", quick=True, notebooks=paths, jobs=2)
    assert [c["page"] for c in chapters] == ["a.html", "b.html"]   # in the order given, whichever ends first
    windows = []
    for path in paths:
        page = (tmp_path / "site" / f"{path.stem}.html").read_text()
        assert f"threads {threads} quick 1" in page, "each kernel gets its share of the cores and the mode"
        windows.append([float(t) for t in re.search(r"window ([\d.]+) ([\d.]+)", page).groups()])
    (a0, a1), (b0, b1) = windows
    assert a0 < b1 and b0 < a1, f"the two notebooks should run at the same time: {windows}"
    assert "2 at a time" in (tmp_path / "site" / "index.html").read_text()
    assert len(woken) >= 4, "while the kernels ran, their shell and iopub sockets were nudged (build_site.wake)"


def test_seed_sweep_shifts_every_literal_seed_and_collects_the_claims():
    sweep = load_script("seed_sweep")
    for path in NOTEBOOKS:
        original = nbformat.read(path, as_version=4)
        shifted = sweep.with_seed_offset(original, 7)
        first = next(c for c in shifted.cells if c.cell_type == "code")
        assert "ae.seed_everything(7)" in first.source, path.name
        assert "ae.seed_everything(0)" in next(c for c in original.cells if c.cell_type == "code").source
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import aecourse as ae\nae.seed_everything(0)"),
        nbformat.v4.new_code_cell("ae.seed_everything(1)\nfor s in SEEDS:\n    ae.seed_everything(s)")])
    shifted = sweep.with_seed_offset(nb, 3)
    assert "seed_everything(3)" in shifted.cells[0].source and "seed_everything(4)" in shifted.cells[1].source
    assert "seed_everything(s)" in shifted.cells[1].source and "seed_everything(0)" in nb.cells[0].source
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="✓ a claim (1.0)\nnot a claim\n✗ a failed one\n")]
    assert sweep.claims(nb) == ["✓ a claim (1.0)", "✗ a failed one"]
    # the sweep checks the reference solutions, as the website does: no stub's "not attempted yet"
    swapped = 0
    for path in NOTEBOOKS:
        original = nbformat.read(path, as_version=4)
        run = sweep.prepared(original, 2)
        checks = [c.source.splitlines()[0] for c in run.cells if c.cell_type == "code"
                  and re.match(r"\w+ = ae\.checks\.\w+\(\w+_solution\)$", c.source.splitlines()[0] if c.source else "")]
        stubs = sum("exercise" in tags(c) for c in original.cells)
        assert len(checks) == stubs, (path.name, checks)
        assert "ae.seed_everything(2)" in next(c for c in run.cells if c.cell_type == "code").source
        swapped += len(checks)
    assert swapped == 16, swapped   # every exercise of the course
    with pytest.raises(ValueError, match="seed_everything"):
        sweep.with_seed_offset(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), 1)


def test_seed_sweep_reports_the_claims_and_where_a_run_stopped(tmp_path):
    """The script end to end, in a fresh kernel per offset: each offset's claims, then the failed one's
    message without the kernel's colour codes."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import aecourse as ae\nae.seed_everything(0)\nimport torch\n"
                                  "ae.claim(True, f'seeded: {torch.initial_seed()}')"),
        nbformat.v4.new_code_cell("ae.claim(torch.initial_seed() < 1, 'the seed is 0')")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "sweep.ipynb")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "seed_sweep.py"), str(tmp_path / "sweep.ipynb"), "0", "2"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    report = run.stdout[run.stdout.index("== seeds + 0"):].splitlines()
    assert [line for line in report if not line.startswith(("executing", "  sweep"))] == [
        "== seeds + 0", "✓ seeded: 0", "✓ the seed is 0",
        "== seeds + 2", "✓ seeded: 2", "stopped: AssertionError: claim failed: the seed is 0"], run.stdout


def test_course_test_runs_side_by_side_with_the_cores_shared_out(tmp_path):
    """./course test gives pytest-xdist one worker per core (at most four, as the site build) and each
    worker, and the notebook kernels it starts, its share of the cores as threads."""
    site = load_script("build_site")
    seen = tmp_path / "seen.txt"
    probe = tmp_path / "test_probe.py"
    probe.write_text("import os\n\n\ndef test_probe():\n"
                     f"    with open({str(seen)!r}, 'a') as f:\n"
                     "        f.write(' '.join(os.environ.get(k, '-') for k in ('PYTEST_XDIST_WORKER_COUNT', "
                     "'OMP_NUM_THREADS')) + '\\n')\n")
    inherited = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                 "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    proc = subprocess.run(["bash", str(ROOT / "course"), "test", "-q", "-p", "no:cacheprovider", str(probe)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs, threads = site.jobs_and_threads()
    assert seen.read_text() == (f"{jobs} {threads}\n" if jobs > 1 else "- -\n")


@pytest.mark.parametrize("woken", [False, True])
def test_wake_delivers_a_message_whose_wake_up_was_missed(woken):
    """The website and student-copy runs nudge their kernels' sockets (build_site.wake): a pyzmq asyncio
    socket whose descriptor's edge was consumed elsewhere leaves a waiting poll asleep with the message
    already there; wake() delivers it."""
    import asyncio
    import time

    import zmq
    import zmq.asyncio
    site = load_script("build_site")

    async def scenario():
        ctx = zmq.asyncio.Context()
        a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        b.connect(f"tcp://127.0.0.1:{a.bind_to_random_port('tcp://127.0.0.1')}")
        try:
            waiting = asyncio.ensure_future(a.poll(timeout=10_000))
            await asyncio.sleep(0.2)                   # the poll is waiting
            await b.send(b"execute_reply")
            time.sleep(0.3)                            # the message arrives while the event loop is busy
            a._shadow_sock.get(zmq.EVENTS)             # a read of the events elsewhere takes the edge
            if woken:
                site.wake(a)
            done, _ = await asyncio.wait([waiting], timeout=2)
            waiting.cancel()
            return waiting.result() if done else None
        finally:
            a.close(0)
            b.close(0)
            ctx.term()

    assert asyncio.run(scenario()) == (zmq.POLLIN if woken else None)
