import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

import aecourse as ae
from aecourse import data as data_mod

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_bundled_mnist_shapes_range_and_stratified_split():
    d = ae.load_mnist()
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1.0
    assert torch.bincount(d.y_train).tolist() == [400] * 10
    assert torch.bincount(d.y_test).tolist() == [100] * 10
    assert d.image_shape == (28, 28)
    # real digits: mean intensity of MNIST is about 0.13
    assert 0.10 < float(d.x_train.mean()) < 0.16


def test_bundled_mnist_is_cached_and_fixed():
    import time

    ae.load_mnist()
    start = time.perf_counter()
    a = ae.load_mnist()
    assert time.perf_counter() - start < 0.5  # parsed once per process
    b = ae.load_mnist()
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    a.x_train[0] = 7.0  # a learner's in-place edit must not reach the cache
    assert float(ae.load_mnist().x_train[0].max()) <= 1.0


def test_path_without_full_is_refused():
    with pytest.raises(ValueError, match="full=True"):
        ae.load_mnist(path="/tmp")


def test_digits():
    d = ae.load_digits()
    assert d.x_train.shape[1] == 64 and len(d.x_train) + len(d.x_test) == 1797
    assert float(d.x_train.max()) == 1.0 and float(d.x_train.min()) == 0.0
    assert d.image_shape == (8, 8)


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_read_idx_roundtrip(tmp_path, gz, dtype):
    array = (np.arange(2 * 3 * 4) % 251).reshape(2, 3, 4).astype(dtype)
    out = ae.read_idx(write_idx(tmp_path / "a.idx", array, gz))
    assert out.shape == (2, 3, 4) and out.dtype == dtype
    np.testing.assert_array_equal(out, array)


def test_read_idx_truncated_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "t.idx", np.zeros((5, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"t\.idx is truncated"):
        ae.read_idx(path)


def test_read_idx_bad_magic_and_damaged_gzip(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match=r"bad\.idx is not an IDX file"):
        ae.read_idx(bad)
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 20)[:15])
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        ae.read_idx(damaged)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ae.read_idx(tmp_path / "missing.idx")


def make_idx_dir(directory: Path, n_train=6, n_test=4) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    write_idx(directory / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8), gz=True)
    write_idx(directory / "train-labels-idx1-ubyte.gz", (np.arange(n_train) % 10).astype(np.uint8), gz=True)
    write_idx(directory / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8))
    write_idx(directory / "t10k-labels-idx1-ubyte", (np.arange(n_test) % 10).astype(np.uint8))
    return directory


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No AECOURSE_DATA, an empty cache, no system directories, no network."""
    monkeypatch.delenv("AECOURSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(data_mod._SOURCES["fashion-mnist"], "system", [])
    data_mod._read_idx_dir.cache_clear()
    return tmp_path


def test_idx_dataset_from_path_and_from_env(isolated, monkeypatch):
    d = ae.load_fashion_mnist(path=make_idx_dir(isolated / "given"))
    assert d.x_train.shape == (6, 784) and d.x_test.shape == (4, 784) and d.y_train.tolist() == [0, 1, 2, 3, 4, 5]
    assert 0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1
    monkeypatch.setenv("AECOURSE_DATA", str(isolated / "root"))
    make_idx_dir(isolated / "root" / "mnist", n_train=8)
    assert len(ae.load_mnist(full=True, download=False).x_train) == 8


def test_offline_without_files_lists_the_options(isolated):
    with pytest.raises(ae.DataNotFoundError) as info:
        ae.load_fashion_mnist(download=False)
    message = str(info.value)
    assert "AECOURSE_DATA" in message and "path=" in message and "dataset-fashion-mnist" in message


def test_download_verifies_checksum(isolated, monkeypatch):
    """Downloads go through urllib; a file:// mirror stands in for the network here."""
    mirror = isolated / "mirror"
    make_idx_dir(mirror)
    for p in mirror.iterdir():  # the downloader expects the gzipped names
        if p.suffix != ".gz":
            p.with_name(p.name + ".gz").write_bytes(gzip.compress(p.read_bytes()))
            p.unlink()
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    monkeypatch.setitem(data_mod._SOURCES, "mnist", {"urls": [mirror.as_uri() + "/"], "sha256": sums, "system": []})
    d = ae.load_mnist(full=True)
    assert d.x_train.shape == (6, 784)
    assert (data_mod.cache_dir() / "mnist" / "train-images-idx3-ubyte.gz").is_file()

    # a wrong checksum: the file is deleted and the error says so
    bad = dict(sums, **{"t10k-labels-idx1-ubyte.gz": "0" * 64})
    monkeypatch.setitem(data_mod._SOURCES, "mnist", {"urls": [mirror.as_uri() + "/"], "sha256": bad, "system": []})
    (data_mod.cache_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    data_mod._read_idx_dir.cache_clear()
    with pytest.raises(ValueError, match="SHA-256.*deleted"):
        ae.load_mnist(full=True)
    assert not (data_mod.cache_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((data_mod.cache_dir() / "mnist").glob("*.part"))


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
def test_real_fashion_mnist_from_debian(monkeypatch):
    monkeypatch.delenv("AECOURSE_DATA", raising=False)
    images = ae.read_idx(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    d = ae.load_fashion_mnist(download=False)
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert torch.bincount(d.y_train).tolist() == [6000] * 10
    assert d.name == "fashion-mnist"
