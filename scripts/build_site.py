"""Execute every notebook and render the course as a static website.

    .venv/bin/python scripts/build_site.py [--out build/site] [--quick]

Each notebook is executed in a fresh kernel (default mode; ``--quick`` sets AECOURSE_QUICK=1 for a
fast preview) and exported to one self-contained HTML page with its figures embedded. The index
page lists the chapters with their learning objectives and measured run times. ``./course site``
runs this; open build/site/index.html, or serve the folder to project it in a workshop.

Several notebooks run at once (``--jobs``; by default one per CPU core, at most four), each kernel
with its share of the cores as PyTorch threads. The chapters' small matrix products gain little
from a second thread, so on two cores two one-thread kernels finish the course in about half the
time of one two-thread kernel at a time. ``--jobs 1`` gives each chapter the whole machine, as a
learner running it alone has: use it when the run times on the index should be a learner's.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

# nbformat, nbclient and nbconvert are imported where they are used: importing them takes seconds
# (jsonschema's format checkers), and ./course test calls jobs_and_threads before every test run
if TYPE_CHECKING:
    import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHECK_CELL = re.compile(r"(\w+) = ae\.checks\.(\w+)\(\1\)")   # an exercise's check: name = ae.checks.<check>(name)
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")   # a kernel's coloured traceback


def exercise_checks(notebook: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    """(index of the check cell, function name, check) of every exercise: the check cell follows the cell
    tagged ``solution``, which defines ``<name>_solution`` (so running it never replaces a learner's answer)."""
    found = []
    for i, cell in enumerate(notebook.cells[:-1]):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            check = notebook.cells[i + 1].source.splitlines()[0]
            match = CHECK_CELL.fullmatch(check.strip())
            if match is None:
                raise ValueError(f"the cell after solution cell {i} is not `name = ae.checks.<check>(name)`: {check!r}")
            found.append((i + 1, match.group(1), match.group(2)))
    return found


def with_solutions_checked(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every exercise's check given the reference solution instead of the stub, so the
    website shows each solution passing its check (a learner's run checks the learner's answer)."""
    import nbformat
    notebook = nbformat.from_dict(notebook)   # a copy
    for index, name, check in exercise_checks(notebook):
        cell = notebook.cells[index]
        rest = cell.source.splitlines()[1:]   # the first line is the check itself, rewritten
        cell.source = "\n".join([f"{name} = ae.checks.{check}({name}_solution)", *rest])
    return notebook


def objectives(notebook: nbformat.NotebookNode) -> tuple[str, list[str]]:
    """The chapter's title and its numbered learning objectives, from the first markdown cell."""
    first = next(c.source for c in notebook.cells if c.cell_type == "markdown")
    title = re.sub(r"^#\s*", "", first.strip().splitlines()[0])
    section = first.split("Learning objectives", 1)[-1].split("**Prerequisites", 1)[0]
    items: list[str] = []
    for line in section.splitlines():
        item = re.match(r"^\s*(?:\d+\.|[-*])\s+(.+)$", line)
        if item:
            items.append(item.group(1).strip())
        elif items and line.startswith("  ") and line.strip():  # a continuation line
            items[-1] += " " + line.strip()
    return title, items


def jobs_and_threads(jobs: int | None = None) -> tuple[int, int]:
    """How many kernels run at once, and how many PyTorch threads each gets: the cores shared out."""
    cores = os.cpu_count() or 1
    jobs = jobs or min(4, cores)
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of notebooks to run at once, got {jobs}")
    return jobs, max(1, cores // jobs)


def wake(socket) -> None:
    """Have a pyzmq asyncio socket deliver the messages already waiting in it (a no-op when none are).

    Such a socket learns of new messages from an edge-triggered file descriptor, and a wake-up can be
    missed: on 2026-12-02 (the website test under two pytest workers) a kernel sat idle for 20 minutes
    after sending its execute_reply while nbclient still awaited it; nbclient only looked again when the
    cell's 1,200 s timeout ran out, found the reply and went on. tests/test_course_builds.py reproduces
    the missed wake-up and its cure. ``_schedule_remaining_events`` is pyzmq's own re-check after such
    events (zmq/_future.py); it is private, hence the guard.
    """
    if socket is not None and not socket.closed and hasattr(socket, "_schedule_remaining_events"):
        socket._schedule_remaining_events()


def failure_line(error: BaseException) -> str:
    """An execution error in one line: the last line of a failing cell's traceback (``CellExecutionError``)
    without the kernel's colour codes, or the error's type when it says nothing."""
    text = ANSI_COLOUR.sub("", str(error)).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def execute_all(runs: dict[str, tuple[nbformat.NotebookNode, Path, dict]], jobs: int | None = None,
                timeout: int = 1200) -> dict[str, float | Exception]:
    """Execute notebooks in place, ``jobs`` at a time, each in a fresh kernel with its share of the cores.

    ``runs`` maps a name to (notebook, the kernel's working directory, variables added to this process's
    environment). Returns name -> seconds, or the exception its execution raised (a failing cell's
    ``CellExecutionError``), so that one failing notebook does not hide what the others did.
    """
    from nbclient import NotebookClient
    jobs, threads = jobs_and_threads(jobs)
    results: dict[str, float | Exception] = {}
    running: set[NotebookClient] = set()

    async def one(name: str, notebook: nbformat.NotebookNode, cwd: Path, env: dict, slots: asyncio.Semaphore):
        async with slots:
            print(f"executing {name} ...", flush=True)
            env = {**os.environ, **env, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
            start = time.perf_counter()
            client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(cwd)}})
            running.add(client)
            try:
                await client.async_execute(env=env)
            except Exception as error:  # noqa: BLE001 -- reported to the caller with the notebook's name
                results[name] = error
                print(f"  {name}: failed ({type(error).__name__})", flush=True)
                return
            finally:
                running.discard(client)
            results[name] = time.perf_counter() - start
            print(f"  {name}: {results[name]:.0f} s", flush=True)

    async def nudge() -> None:   # see wake(): every 2 s, each running notebook's kernel sockets
        while True:
            await asyncio.sleep(2)
            for client in list(running):
                if client.kc is not None and client.kc.channels_running:   # (the properties create channels)
                    wake(client.kc.shell_channel.socket)
                    wake(client.kc.iopub_channel.socket)

    async def run_all() -> None:
        slots = asyncio.Semaphore(jobs)
        watchdog = asyncio.ensure_future(nudge())
        try:
            await asyncio.gather(*(one(name, *run, slots) for name, run in runs.items()))
        finally:
            watchdog.cancel()

    asyncio.run(run_all())
    return {name: results[name] for name in runs}


def render(notebook: nbformat.NotebookNode, name: str, seconds: float, out: Path) -> dict:
    """Export one executed notebook to a self-contained page; return its entry for the index."""
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
    page = out / f"{name}.html"
    page.write_text(body, encoding="utf-8")
    title, items = objectives(notebook)
    return {"page": page.name, "title": title, "objectives": items, "seconds": seconds}


def index_page(chapters: list[dict], quick: bool, jobs: int = 1, threads: int = 1) -> str:
    rows = []
    for ch in chapters:
        goals = "".join(f"<li>{html.escape(g)}</li>" for g in ch["objectives"])
        rows.append(f'<section><h2><a href="{ch["page"]}">{html.escape(ch["title"])}</a></h2>'
                    f'<p class="time">run time: {ch["seconds"]:.0f} s</p><ul>{goals}</ul></section>')
    mode = " (quick-mode preview)" if quick else ""
    total = sum(ch["seconds"] for ch in chapters)
    how = f", {jobs} at a time with {threads} CPU thread{'s' if threads > 1 else ''} each" if jobs > 1 else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Autoencoders, hands-on</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
section{{border-top:1px solid #ddd;padding:.5rem 0}} .time{{color:#666;margin:0}}</style></head>
<body><h1>Autoencoders, hands-on{mode}</h1>
<p>Every chapter executed on {time.strftime('%Y-%m-%d')}{how}; the chapters' run times add up to {total / 60:.1f} minutes.</p>
{''.join(rows)}
</body></html>
"""


def build(out: Path, quick: bool = False, notebooks: list[Path] | None = None, jobs: int | None = None,
          timeout: int = 1200) -> list[dict]:
    import nbformat
    out.mkdir(parents=True, exist_ok=True)
    paths = notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    jobs, threads = jobs_and_threads(jobs)
    print(f"executing {len(paths)} notebooks, {jobs} at a time, {threads} CPU thread(s) each", flush=True)
    executed = {path.name: with_solutions_checked(nbformat.read(path, as_version=4)) for path in paths}
    env = {"AECOURSE_QUICK": "1" if quick else "0"}
    seconds = execute_all({path.name: (executed[path.name], path.parent, env) for path in paths}, jobs, timeout)
    for value in seconds.values():
        if isinstance(value, Exception):
            raise value
    ordered = [render(executed[path.name], path.stem, seconds[path.name], out) for path in paths]
    (out / "index.html").write_text(index_page(ordered, quick, jobs, threads), encoding="utf-8")
    return ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--quick", action="store_true", help="execute in quick mode (a preview, not the course's numbers)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="notebooks executed at once (default: one per CPU core, at most 4); "
                             "1 gives each chapter the whole machine")
    args = parser.parse_args()
    build(args.out, args.quick, jobs=args.jobs)
    print(f"open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
