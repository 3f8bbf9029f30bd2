"""The project's own consistency: dependencies in two files, clean notebooks, the public API."""
import json
import re
import tomllib
from pathlib import Path

import yaml

import aecourse as ae

ROOT = Path(__file__).resolve().parent.parent

# conda-forge names the PyPI package "torch" "pytorch"
CONDA_TO_PYPI = {"pytorch": "torch"}


def names(requirements):
    return {re.split(r"[<>=!~ \[]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_and_pyproject_name_the_same_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = names(project["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = {CONDA_TO_PYPI.get(n, n) for n in names(d for d in env["dependencies"] if isinstance(d, str))}
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda -= {"python", "pip"}
    assert conda == pypi, f"only in environment.yml: {conda - pypi}; only in pyproject.toml: {pypi - conda}"
    assert "-e ." in pip_section


def test_notebooks_are_committed_without_outputs():
    dirty = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(path.name)
                break
    assert not dirty, f"notebooks with outputs (run `nbstripout notebooks/*.ipynb`): {dirty}"


def test_public_names_of_the_design_are_exported():
    for name in ["device", "seed_everything", "load_mnist", "load_digits", "load_fashion_mnist", "read_idx",
                 "fit", "save", "load", "Autoencoder", "gaussian_kl", "claim", "budget"]:
        assert hasattr(ae, name), name


def test_course_env_sets_the_malloc_tunables_on_a_current_glibc():
    import os
    import platform
    import subprocess

    def tunables(**env):
        base = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        script = '. scripts/course_env.sh; printf %s "${GLIBC_TUNABLES:-}"'
        return subprocess.run(["bash", "-c", script], cwd=ROOT, env={**base, **env}, capture_output=True,
                              text=True, check=True).stdout

    ours = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304"
    libc, version = platform.libc_ver()
    if libc == "glibc" and tuple(int(v) for v in version.split(".")[:2]) >= (2, 35):
        assert tunables() == ours
        assert tunables(GLIBC_TUNABLES="glibc.x=1") == f"glibc.x=1:{ours}"   # added to the user's
    else:
        assert tunables() == ""                                               # nothing where it means nothing
    assert tunables(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1") == "glibc.malloc.mmap_threshold=1"
    assert '. "$ROOT/scripts/course_env.sh"' in (ROOT / "course").read_text()


def test_binder_start_gives_every_session_the_course_env():
    """repo2docker runs ``start`` before JupyterLab (its last line must exec the command it is given)."""
    import os
    import subprocess

    start = ROOT / "start"
    assert os.access(start, os.X_OK), "start must be executable (git update-index --chmod=+x start)"
    assert start.read_text().rstrip().endswith('exec "$@"')
    base = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "PYTORCH_ENABLE_MPS_FALLBACK")}
    show = 'printf "%s|%s" "${GLIBC_TUNABLES:-}" "${PYTORCH_ENABLE_MPS_FALLBACK:-}"'
    expected = subprocess.run(["bash", "-c", f". scripts/course_env.sh; {show}"], cwd=ROOT, env=base,
                              capture_output=True, text=True, check=True).stdout
    got = subprocess.run([str(start), "bash", "-c", show], cwd="/", env=base, capture_output=True, text=True,
                         check=True).stdout
    assert got == expected


def test_course_env_turns_on_the_mps_fallback_on_macos_only(tmp_path):
    import os
    import subprocess

    def fallback(system: str, **env) -> str:
        fake_bin = tmp_path / system
        fake_bin.mkdir(exist_ok=True)
        (fake_bin / "uname").write_text(f"#!/bin/sh\necho {system}\n")   # what `uname -s` says on that system
        (fake_bin / "uname").chmod(0o755)
        base = {k: v for k, v in os.environ.items() if k != "PYTORCH_ENABLE_MPS_FALLBACK"}
        base["PATH"] = f"{fake_bin}:{base['PATH']}"
        script = '. scripts/course_env.sh; printf %s "${PYTORCH_ENABLE_MPS_FALLBACK:-unset}"'
        return subprocess.run(["bash", "-c", script], cwd=ROOT, env={**base, **env}, capture_output=True,
                              text=True, check=True).stdout

    assert fallback("Darwin") == "1"
    assert fallback("Darwin", PYTORCH_ENABLE_MPS_FALLBACK="0") == "0"   # the user's own setting wins
    assert fallback("Linux") == "unset"
