"""The unit tests: every tests/test_*.py except the builds and notebooks, the browser, the benchmarks
and the scripts. They need only the package's own dependencies (no Jupyter, no browser), so they
run on the simulated GPU (tests/test_fake_gpu.py) and on a bare GPU machine (benchmarks/gpu.sh).

    python tests/unit_files.py        # prints their paths, one per line
"""
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NOT_UNIT = {"test_course_builds.py", "test_browser.py", "test_benchmarks.py", "test_gpu_script.py",
            "test_fake_gpu.py", "test_project.py"}


def unit_test_files() -> list[Path]:
    return sorted(p for p in TESTS.glob("test_*.py") if p.name not in NOT_UNIT)


if __name__ == "__main__":
    print("\n".join(str(p.relative_to(TESTS.parent)) for p in unit_test_files()))
