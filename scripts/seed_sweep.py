"""Run a chapter with its seeds shifted and print every claim it checks: the spread behind its thresholds.

DEVELOPING.md asks never to assert a gap smaller than the measured spread; this measures it. Every
literal seed in the chapter, ``ae.seed_everything(n)``, becomes ``ae.seed_everything(n + offset)``:
the first cell's and the explicit ones before a paired comparison alike, so a comparison that
starts two models from the same weights still does. Seeds held in variables (a list of seeds the
chapter already sweeps) stay as they are. The exercises' checks are given the reference solutions,
as on the website (``build_site.with_solutions_checked``), so the stubs' "not attempted yet" never
appears among the claims. Default mode, one fresh kernel per offset; not part of the test run.
Offset 0 is the chapter as written.

    .venv/bin/python scripts/seed_sweep.py notebooks/06_rbm_pretraining.ipynb 1 2 3
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))   # build_site, when this file is loaded by path
from build_site import execute_all, failure_line, with_solutions_checked  # noqa: E402

CLAIM_LINE = re.compile(r"^[✓✗] ")
LITERAL_SEED = re.compile(r"ae\.seed_everything\(\s*(\d+)\s*\)")


def with_seed_offset(nb: nbformat.NotebookNode, offset: int) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which every ``ae.seed_everything(n)`` with a literal n seeds with n + offset."""
    nb = nbformat.from_dict(nb)   # a deep copy
    first = next(c for c in nb.cells if c.cell_type == "code")
    if not LITERAL_SEED.search(first.source):
        raise ValueError("the first code cell has no ae.seed_everything(0) to shift "
                         "(see DEVELOPING.md's notebook conventions).")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = LITERAL_SEED.sub(lambda m: f"ae.seed_everything({int(m.group(1)) + offset})", cell.source)
    return nb


def prepared(nb: nbformat.NotebookNode, offset: int) -> nbformat.NotebookNode:
    """The chapter as the sweep runs it: seeds shifted by ``offset``, each exercise checking its reference
    solution (as the website does) instead of the stub a learner fills in."""
    return with_seed_offset(with_solutions_checked(nb), offset)


def claims(nb: nbformat.NotebookNode) -> list[str]:
    """The ✓/✗ lines an executed notebook printed."""
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
    return [line for line in text.splitlines() if CLAIM_LINE.match(line)]


def main() -> None:
    from nbclient.exceptions import CellExecutionError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("offsets", type=int, nargs="+")
    args = parser.parse_args()
    os.environ.update(AECOURSE_QUICK="0", TQDM_DISABLE="1")
    original = nbformat.read(args.notebook, as_version=4)
    for offset in args.offsets:
        nb = prepared(original, offset)
        name = f"{args.notebook.name}, seeds + {offset}"
        # one at a time with the whole machine, as a learner runs it (and with build_site's zmq watchdog)
        outcome = execute_all({name: (nb, args.notebook.parent, {})}, jobs=1, timeout=900)[name]
        stopped = None
        if isinstance(outcome, CellExecutionError):   # a failed claim: report it with the others
            stopped = failure_line(outcome)
        elif isinstance(outcome, Exception):
            raise outcome
        print(f"== seeds + {offset}")
        for line in claims(nb):
            print(line)
        if stopped:
            print(f"stopped: {stopped}")


if __name__ == "__main__":
    main()
