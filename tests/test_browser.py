"""The course opened in a real browser: JupyterLab end to end (issue 9).

nbval proves that the notebooks run in a kernel; this test proves what a learner sees. It starts
JupyterLab exactly as the README's command does (``./course lab`` plus server options), drives
Debian's Chromium headless with Playwright, opens a chapter, runs every cell from the menu
(Run > Run All Cells), and checks that no cell shows an error, that figures render as images and
that moving the widget slider redraws the figure. Screenshots and the server log are written to
build/test-artifacts/browser/. In every case the server is shut down (the port must be closed
afterwards) and the notebook is left as it was: lab autosave is off, and a save by JupyterLab or the
checkpoint it made is undone.

Run it alone:  ./course test -m browser
Another notebook (for development): AECOURSE_BROWSER_NOTEBOOK=/path/to/nb.ipynb ./course test -m browser
(its folder is served instead of notebooks/, via the contents and kernel managers' root_dir).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "build" / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# (notebook in notebooks/, description of the slider whose moves must redraw a figure)
CHAPTERS = [("01_single_hidden_layer.ipynb", "test digit")]

SERVER_START_TIMEOUT = 240  # s: ./course lab runs its setup check first; the machine may be loaded
PAGE_LOAD_TIMEOUT = 180  # s: JupyterLab's first load, notebook open and kernel start
RUN_ALL_TIMEOUT = 600  # s: the chapter runs in about a minute on two idle cores, far longer on busy ones
WIDGET_TIMEOUT = 120  # s: one slider move, one redraw
SHUTDOWN_TIMEOUT = 30  # s per stage: REST shutdown, SIGTERM, SIGKILL

# Lab settings for the test's private settings directory: no autosave (the notebook on disk must
# stay untouched), all cells attached to the DOM (so every output can be inspected), no news toast.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# What a Python error looks like in an output (IPython's traceback or a SyntaxError's report).
ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)|^\s*Cell In\[\d+\]|^\w*(Error|Exception|Interrupt)\b(:|\s*$)",
    re.MULTILINE,
)


# A figure that reached the page as its text repr instead of an image.
FIGURE_AS_TEXT = re.compile(r"^\s*<(matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>\s*$")


# ----------------------------------------------------------------------------- server helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Lab:
    """A JupyterLab server started with ``./course lab``; ``api()`` calls its REST API."""

    def __init__(self, proc: subprocess.Popen, port: int, token: str, log: Path):
        self.proc, self.port, self.token, self.log = proc, port, token, log
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET", timeout: float = 10):
        req = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 80) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError as e:
            return f"(no server log: {e})"
        return "\n".join(lines[-n:])

    def kernel_state(self, notebook_name: str) -> str | None:
        """execution_state of the kernel of the session whose path ends with notebook_name."""
        for s in self.api("sessions"):
            if s.get("path", "").endswith(notebook_name) and s.get("kernel"):
                return s["kernel"].get("execution_state")
        return None


def wait_until_up(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if lab.proc.poll() is not None:
            pytest.fail(
                f"`./course lab` exited with status {lab.proc.returncode} before answering.\n"
                f"--- server log ({lab.log}) ---\n{lab.log_tail()}"
            )
        try:
            status = lab.api("status", timeout=5)
            if isinstance(status, dict) and "started" in status:
                return
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
        time.sleep(1)
    pytest.fail(
        f"JupyterLab did not answer {lab.url}/api/status within {timeout:.0f} s (last error: {last!r}).\n"
        f"--- server log ({lab.log}) ---\n{lab.log_tail()}"
    )


def descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:
        return []


def stop_lab(lab: Lab) -> None:
    """Shut the server down: REST shutdown (also stops kernels), then SIGTERM, then SIGKILL the
    process group; finally kill any child (a kernel runs in its own session) that outlived it."""
    children = descendants(lab.proc.pid)
    if lab.proc.poll() is None:
        with contextlib.suppress(Exception):
            lab.api("shutdown", method="POST", timeout=5)
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(lab.proc.pid, sig)
            try:
                lab.proc.wait(SHUTDOWN_TIMEOUT)
                break
            except subprocess.TimeoutExpired:
                continue
    for child in children:
        with contextlib.suppress(Exception):
            if child.is_running():
                child.kill()


def server_saved(lab: Lab, notebook: Path) -> bool:
    """Whether the server's log shows that it wrote the notebook (a save from JupyterLab)."""
    try:
        log = lab.log.read_text(errors="replace")
    except OSError:
        return False
    return re.search(rf"Saving file at /?{re.escape(notebook.name)}\b", log) is not None


def has_outputs(notebook: Path) -> bool:
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, ValueError):
        return False
    return any(c.get("outputs") or c.get("execution_count") for c in nb.get("cells", []))


def keep_clean(lab: Lab, notebook: Path, original: bytes, checkpoint: Path, had_checkpoint_dir: bool,
               had_checkpoint: bool) -> None:
    """Put the notebook back as it was if JupyterLab saved it, and drop the checkpoint it made.

    The checkout is shared: a change that JupyterLab did not make (no save in the server's log, no
    outputs in the file) is someone's edit during the test and is left alone."""
    if notebook.read_bytes() != original:
        if server_saved(lab, notebook) or has_outputs(notebook):
            notebook.write_bytes(original)
        else:
            print(f"warning: {notebook} changed during the test, not by JupyterLab; left as it is")
    if checkpoint.exists() and not had_checkpoint:
        checkpoint.unlink()
    if checkpoint.parent.exists() and not had_checkpoint_dir and not any(checkpoint.parent.iterdir()):
        checkpoint.parent.rmdir()


@pytest.fixture
def lab_factory(tmp_path):
    """Start ``./course lab`` serving a notebook's folder; afterwards stop the server, check that
    nothing of it is left, and leave the notebook and its folder as they were."""
    started: list[tuple] = []

    def start(notebook: Path) -> Lab:
        port, token = free_port(), secrets.token_hex(24)
        settings_dir = tmp_path / "lab-settings"
        for name, value in LAB_SETTINGS.items():
            f = settings_dir / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in [*ARTIFACTS.glob("*.png"), ARTIFACTS / "jupyterlab.log"]:
            old.unlink(missing_ok=True)
        log = ARTIFACTS / "jupyterlab.log"
        args = [
            str(COURSE),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",  # a taken port is an error, not another port
            f"--IdentityProvider.token={token}",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={tmp_path / 'lab-workspaces'}",
        ]
        if os.geteuid() == 0:  # CI containers run as root; jupyter_server refuses root without it
            args.append("--allow-root")
        if notebook.parent != NOTEBOOKS:
            # development only: serve (and run kernels in) another folder; a second --notebook-dir
            # is refused by jupyter_server, so the contents and kernel managers are pointed there
            args += [
                f"--FileContentsManager.root_dir={notebook.parent}",
                f"--MappingKernelManager.root_dir={notebook.parent}",
            ]
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
        checkpoint = notebook.parent / ".ipynb_checkpoints" / f"{notebook.stem}-checkpoint{notebook.suffix}"
        state = (notebook, notebook.read_bytes(), checkpoint, checkpoint.parent.exists(), checkpoint.exists())
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so that it can be stopped as a whole
            )
        lab = Lab(proc, port, token, log)
        started.append((lab, state))
        return lab

    try:
        yield start
    finally:
        for lab, state in started:
            try:
                stop_lab(lab)
            finally:
                keep_clean(lab, *state)
        for lab, _ in started:
            assert lab.proc.poll() is not None, f"JupyterLab (pid {lab.proc.pid}) is still running"
            assert not port_is_open(lab.port), f"port {lab.port} still answers after JupyterLab's shutdown"


# ---------------------------------------------------------------------------- browser helpers


JS_CELLS = """
() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')]
  .map((c, i) => ({
    index: i,
    prompt: (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    collapsed: !c.querySelector('.jp-InputArea-editor'),  // input hidden (a solution cell): no prompt shown
    source: [...c.querySelectorAll('.jp-InputArea-editor .cm-line')].map(l => l.textContent).join('\\n').slice(0, 120),
    stderr: [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(o => o.textContent),
    texts: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent),
    images: [...c.querySelectorAll('.jp-OutputArea-output img')]
      .map(im => ({src: im.getAttribute('src') || '', loaded: im.complete && im.naturalWidth > 0})),
  }))
"""


def cells(page) -> list[dict]:
    return page.evaluate(JS_CELLS)


def screenshot(page, name: str) -> None:
    with contextlib.suppress(Exception):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_for(what: str, condition, timeout: float, page, lab: Lab, interval: float = 1.0, detail=None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            screenshot(page, "timeout")
            more = ""
            if detail is not None:
                with contextlib.suppress(Exception):
                    more = f"{detail()}\n"
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what} (screenshot: {ARTIFACTS / 'timeout.png'})\n"
                f"{more}"
                f"--- server log ---\n{lab.log_tail(40)}"
            )
        if lab.proc.poll() is not None:
            pytest.fail(f"JupyterLab exited while waiting for {what}\n--- server log ---\n{lab.log_tail()}")
        time.sleep(interval)


def error_outputs(cell_list: list[dict]) -> list[str]:
    return [
        f"cell {c['index']} ({c['source'][:60]!r}):\n{text[-1500:]}"
        for c in cell_list
        for text in c["stderr"]
        if ERROR_TEXT.search(text)
    ]


def all_image_srcs(page) -> list[str]:
    return [im["src"] for c in cells(page) for im in c["images"]]


# ------------------------------------------------------------------------------------ the test


def notebooks_under_test() -> list:
    override = os.environ.get("AECOURSE_BROWSER_NOTEBOOK")
    if override:
        return [pytest.param(Path(override).resolve(), "test digit", id=Path(override).stem)]
    return [pytest.param(NOTEBOOKS / name, slider, id=Path(name).stem) for name, slider in CHAPTERS]


@pytest.mark.browser
@pytest.mark.timeout(1200, method="signal")  # bounded; the fixture's finally still stops the server
@pytest.mark.parametrize("notebook, slider_description", notebooks_under_test())
def test_chapter_runs_in_jupyterlab(lab_factory, notebook: Path, slider_description: str):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test drives Debian's Chromium. Install it with "
            "`apt-get install chromium` (.ci/run does this in CI)."
        )
    assert notebook.is_file(), f"{notebook} does not exist: the browser test opens it"
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    lab = lab_factory(notebook)
    wait_until_up(lab, SERVER_START_TIMEOUT)
    print(f"JupyterLab up after {time.monotonic() - t0:.0f} s on {lab.url}")

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(PAGE_LOAD_TIMEOUT * 1000)
        try:
            _drive(page, lab, notebook, slider_description, t0)
        except BaseException:
            screenshot(page, "failure")
            raise
        finally:
            context.close()
    print(f"browser test done after {time.monotonic() - t0:.0f} s")


def _drive(page, lab: Lab, notebook: Path, slider_description: str, t0: float) -> None:
    name = notebook.name
    try:
        lab.api(f"contents/{urllib.parse.quote(name)}?content=0")
    except urllib.error.HTTPError as e:
        pytest.fail(f"the server does not serve {name} ({e}); is it in the folder `./course lab` serves?")
    page.goto(f"{lab.url}/lab/tree/{urllib.parse.quote(name)}?token={lab.token}")

    # the notebook open (not a "Cannot open" dialog), its kernel started and idle
    def notebook_shown():
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            pytest.fail(f"JupyterLab shows a dialog instead of {name}: {dialog.first.inner_text()!r}")
        return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").count() > 0

    wait_for(f"JupyterLab to show {name}", notebook_shown, PAGE_LOAD_TIMEOUT, page, lab)
    wait_for(
        f"the kernel of {name} to start",
        lambda: lab.kernel_state(name) == "idle",
        PAGE_LOAD_TIMEOUT, page, lab,
    )
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click()  # focus the notebook
    print(f"notebook open after {time.monotonic() - t0:.0f} s")
    screenshot(page, "1-opened")
    assert cells(page), f"no code cells visible in {name}"

    # Run > Run All Cells, through JupyterLab's menu bar
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()

    def started():
        return any(c["prompt"].strip() not in ("", "[ ]:") for c in cells(page))

    wait_for("Run All Cells to start executing", started, 60, page, lab, interval=0.5)

    state = {"idle_polls": 0}

    def finished():
        busy = any("*" in c["prompt"] for c in cells(page))
        idle = lab.kernel_state(name) == "idle"
        state["idle_polls"] = state["idle_polls"] + 1 if (idle and not busy) else 0
        return state["idle_polls"] >= 3  # idle three polls in a row: nothing queued

    def progress():
        cs = cells(page)
        done = sum(bool(re.search(r"\[\d+\]", c["prompt"])) for c in cs)
        running = [f"cell {c['index']} {c['source'][:60]!r}" for c in cs if "*" in c["prompt"]]
        return f"{done}/{len(cs)} code cells done; running: {running[:1] or 'none'}"

    wait_for("all cells to finish (kernel idle, no [*] prompt)", finished, RUN_ALL_TIMEOUT, page, lab,
             interval=1.0, detail=progress)
    print(f"all cells ran after {time.monotonic() - t0:.0f} s")
    screenshot(page, "2-ran-all")
    result = cells(page)

    errors = error_outputs(result)
    if errors:
        pytest.fail("cells show errors in JupyterLab:\n" + "\n\n".join(errors))
    # a collapsed input shows no prompt, so the solution cells (collapsed on purpose) are counted instead
    hidden = sum(bool(c.metadata.get("jupyter", {}).get("source_hidden"))
                 for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
    assert sum(c["collapsed"] for c in result) == hidden, \
        f"{hidden} code cells are collapsed in the notebook, but {sum(c['collapsed'] for c in result)} show no input"
    not_run = [c for c in result if not c["collapsed"] and not re.search(r"\[\d+\]", c["prompt"])]
    assert not not_run, "cells did not run: " + ", ".join(f"{c['index']} {c['prompt']!r}" for c in not_run)

    images = [im for c in result for im in c["images"]]
    assert images, "no figure rendered as an image (no <img> in any output)"
    broken = [im["src"][:80] for im in images if not im["loaded"]]
    assert not broken, f"images that did not load: {broken}"
    as_text = [f"cell {c['index']} ({c['source'][:60]!r}): {t.strip()}"
               for c in result for t in c["texts"] if FIGURE_AS_TEXT.match(t)]
    if as_text:
        pytest.fail("figures shown as text, not as images (no inline figure formatter?):\n" + "\n".join(as_text))

    # the widget: move the slider one step with the keyboard and wait for the figure to change
    slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text=slider_description)).first
    assert slider.count() == 1, f"no slider with description {slider_description!r} in {name}"
    slider.scroll_into_view_if_needed()
    readout = slider.locator(".widget-readout")
    value_before = readout.text_content()
    before = all_image_srcs(page)
    screenshot(page, "3-widget-before")
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    how = "ArrowRight"
    if readout.text_content() == value_before:  # keyboard not taken: drag the handle instead
        how = "drag"
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    value_after = readout.text_content()
    assert value_after != value_before, f"the slider did not move (readout stays {value_before!r})"

    def redrawn():
        srcs = all_image_srcs(page)
        return srcs and srcs != before and lab.kernel_state(name) == "idle"

    wait_for(f"the figure to change after the slider moved {value_before} -> {value_after}",
             redrawn, WIDGET_TIMEOUT, page, lab)
    screenshot(page, "4-widget-after")
    errors = error_outputs(cells(page))
    if errors:
        pytest.fail("the widget's redraw shows errors:\n" + "\n\n".join(errors))
    print(f"slider {value_before} -> {value_after} ({how}) redrew the figure after {time.monotonic() - t0:.0f} s")
