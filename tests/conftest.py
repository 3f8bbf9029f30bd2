import os

import pytest
import torch

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in unit-test output

# the unit tests on a simulated GPU (tests/fake_gpu.py): "1", or "mps" for one without float64, as Apple's MPS
FAKE_GPU = os.environ.get("AECOURSE_FAKE_GPU") in ("1", "mps")
if FAKE_GPU:
    import fake_gpu
    fake_gpu.activate(float64=os.environ["AECOURSE_FAKE_GPU"] == "1")


@pytest.fixture(autouse=True)
def simulated_gpu():
    """Under AECOURSE_FAKE_GPU, every test starts with ae.device() on the simulated GPU (a test that
    reloads aecourse.config would otherwise put the tests after it back on the CPU)."""
    if FAKE_GPU:
        fake_gpu.activate()


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
