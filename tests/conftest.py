import os

import pytest
import torch

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in unit-test output

if os.environ.get("AECOURSE_FAKE_GPU") in ("1", "mps"):   # the unit tests on a simulated GPU (tests/fake_gpu.py);
    import fake_gpu                                          # "mps": one without float64, as Apple's MPS
    fake_gpu.activate(float64=os.environ["AECOURSE_FAKE_GPU"] == "1")


@pytest.fixture
def cpu(monkeypatch):
    """Force the course onto the CPU for tests that compare bitwise results."""
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Unit tests use small tensors: one thread avoids OpenMP overhead, and on a shared two-core
    machine two threads per process can run 10-100x slower than one (benchmarks/README.md)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
