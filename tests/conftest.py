import os

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in unit-test output


@pytest.fixture
def cpu(monkeypatch):
    """Force the course onto the CPU for tests that compare bitwise results."""
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")
