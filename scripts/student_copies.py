"""Build the student copies of the course: every notebook without its solution cells.

    .venv/bin/python scripts/student_copies.py [--out build/student]

Cells tagged ``solution`` are removed with nbconvert's TagRemovePreprocessor and outputs are
cleared; the exercise stubs stay, and each check cell falls back to the reference solution
(with a visible note) so a learner can run past an unsolved exercise. ``./course student`` runs this.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with ``solution`` cells removed and outputs cleared."""
    resources: dict = {}
    remover = TagRemovePreprocessor(remove_cell_tags={"solution"}, enabled=True)
    notebook, resources = remover.preprocess(notebook, resources)
    notebook, _ = ClearOutputPreprocessor(enabled=True).preprocess(notebook, resources)
    return notebook


def build(out: Path, notebooks: list[Path] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = student_copy(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(copy, target)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = parser.parse_args()
    for path in build(args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
