"""Execute every notebook and render the course as a static website.

    .venv/bin/python scripts/build_site.py [--out build/site] [--quick]

Each notebook is executed in a fresh kernel (default mode; ``--quick`` sets AECOURSE_QUICK=1 for a
fast preview) and exported to one self-contained HTML page with its figures embedded. The index
page lists the chapters with their learning objectives and measured run times. ``./course site``
runs this; open build/site/index.html, or serve the folder to project it in a workshop.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent


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


def render(path: Path, out: Path, quick: bool, timeout: int = 1200) -> dict:
    notebook = nbformat.read(path, as_version=4)
    env_before = os.environ.get("AECOURSE_QUICK")
    os.environ["AECOURSE_QUICK"] = "1" if quick else "0"
    start = time.perf_counter()
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("AECOURSE_QUICK", None)
        else:
            os.environ["AECOURSE_QUICK"] = env_before
    seconds = time.perf_counter() - start
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
    page = out / f"{path.stem}.html"
    page.write_text(body, encoding="utf-8")
    title, items = objectives(notebook)
    return {"page": page.name, "title": title, "objectives": items, "seconds": seconds}


def index_page(chapters: list[dict], quick: bool) -> str:
    rows = []
    for ch in chapters:
        goals = "".join(f"<li>{html.escape(g)}</li>" for g in ch["objectives"])
        rows.append(f'<section><h2><a href="{ch["page"]}">{html.escape(ch["title"])}</a></h2>'
                    f'<p class="time">run time: {ch["seconds"]:.0f} s</p><ul>{goals}</ul></section>')
    mode = " (quick-mode preview)" if quick else ""
    total = sum(ch["seconds"] for ch in chapters)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Autoencoders, hands-on</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
section{{border-top:1px solid #ddd;padding:.5rem 0}} .time{{color:#666;margin:0}}</style></head>
<body><h1>Autoencoders, hands-on{mode}</h1>
<p>Every chapter executed on {time.strftime('%Y-%m-%d')}; the whole course ran in {total / 60:.1f} minutes.</p>
{''.join(rows)}
</body></html>
"""


def build(out: Path, quick: bool = False, notebooks: list[Path] | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    chapters = []
    for path in notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        print(f"executing {path.name} ...", flush=True)
        chapters.append(render(path, out, quick))
        print(f"  {chapters[-1]['seconds']:.0f} s -> {out / chapters[-1]['page']}", flush=True)
    (out / "index.html").write_text(index_page(chapters, quick), encoding="utf-8")
    return chapters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--quick", action="store_true", help="execute in quick mode (a preview, not the course's numbers)")
    args = parser.parse_args()
    build(args.out, args.quick)
    print(f"open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
