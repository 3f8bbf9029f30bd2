"""A simulated accelerator for machines without one, to catch device-placement bugs on the CPU.

The course must run unchanged on a GPU ("the suite runs on cuda when present"), but CI and most
learners' laptops have none, and the GPU machines this project is lent are rare and short. On CUDA
three mistakes fail that the CPU forgives: a CPU tensor meeting a GPU tensor in one operation,
``.numpy()`` on a GPU tensor (also inside matplotlib, through ``__array__``), and a random
generator on the wrong device. This module makes all three fail here too.

:func:`activate` registers a device ``fakegpu`` (PyTorch's PrivateUse1 slot, set up as a Python
backend), routes every torch operation through a dispatch mode, and makes ``ae.device()`` return
``fakegpu:0``. A tensor on it is a :class:`FakeGpuTensor`: it reports ``fakegpu:0`` and holds its
values in a CPU tensor, so every number is computed exactly as on the CPU, only slower (each
operation passes through Python). Operations mixing it with CPU tensors of one or more dimensions
raise :class:`DeviceMismatch`, as CUDA's "Expected all tensors to be on the same device" would
(0-dim CPU tensors are allowed as scalars, as CUDA allows them). Activation is for the whole
process and cannot be undone: use it in a subprocess or a notebook kernel
(:func:`ipython_dir` makes a kernel start with it).

A generator reaches the dispatcher as a new Python object, so the mode cannot tell which device it
was made for. Its device is checked before that instead: :func:`activate` wraps torch's sampling
functions (``torch.rand``, ``randn``, ``randint``, ``randperm``, ``bernoulli``, ``normal``,
``multinomial``, ``poisson``, ``rand_like``, ``randn_like``, ``randint_like`` and the in-place
``Tensor.uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``, … through which
``torch.nn.init`` samples), and a ``generator=`` whose device is not the one the numbers are drawn
on raises as CUDA's "Expected a 'cuda' device type for generator but found 'cpu'" does. Code that
binds such a function before activation (``from torch import rand``) escapes the check.

It also counts the copies from the device to the host (``HOST_READS``: ``.item()``, ``float()``,
``.cpu()``, ``.tolist()``). A real GPU runs ahead of the Python that queues its work, and each such
copy makes the host wait for it: a training loop that reads a number at every batch waits at every
batch. Tests count those reads here.

Not simulated: speed, memory, numerical differences between GPU and CPU kernels, and code that
tests ``device.type == "cuda"`` (the fake device's type is ``fakegpu``).

It leans on PyTorch internals (``torch.utils._python_dispatch``,
``_setup_privateuseone_for_python_backend``, ``Tensor._make_wrapper_subclass``), present in the torch
the course pins (2.13); a new torch may need this file adjusted.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

NAME = "fakegpu"
DEVICE: torch.device | None = None     # torch.device("fakegpu", 0) once activate() has registered the name
_aten = torch.ops.aten
_CROSS_DEVICE = {_aten.copy_.default, _aten._to_copy.default}   # the operations that move data between devices
# CUDA also indexes a device tensor with CPU index or mask tensors (it moves them itself)
_INDEXING = {_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default, _aten._index_put_impl_.default}
_INDEX_DTYPES = {torch.int64, torch.int32, torch.bool, torch.uint8}
_mode: TorchDispatchMode | None = None
#: Copies from the simulated device to the host so far (``.item()``, ``float()``, ``bool()``, ``.cpu()``,
#: ``.tolist()``): on a real GPU each one waits for the device to finish the work queued before it.
HOST_READS = 0
_float64 = True                         # activate(float64=False) simulates Apple's MPS, which has none


class DeviceMismatch(RuntimeError):
    """What CUDA would raise: tensors (or a generator) on two devices in one operation."""


# torch's samplers that take generator=: the device the numbers are drawn on is the device= argument
# (factories, and the *_like ones when it is given), else the first argument's (torch.bernoulli(p),
# torch.normal(mean, std), torch.rand_like(x)) or self's (methods)
_FACTORIES = ("rand", "randn", "randint", "randperm")
_OF_INPUT = ("bernoulli", "normal", "multinomial", "poisson", "rand_like", "randn_like", "randint_like")
_METHODS = ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "geometric_", "log_normal_",
            "cauchy_", "bernoulli", "multinomial")


def _draw_device(args, kwargs) -> torch.device:
    """Where a sampler draws: device= when given, else the first tensor argument's device, else the default."""
    if kwargs.get("device") is not None:
        return torch.device(kwargs["device"])
    for a in args:
        if isinstance(a, torch.Tensor):
            return a.device
    return torch.get_default_device()


def _checks_generator(fn, name: str):
    @functools.wraps(fn)
    def sampler(*args, **kwargs):
        generator = kwargs.get("generator")
        if generator is not None:
            want, have = _draw_device(args, kwargs).type, generator.device.type
            if want != have:
                raise DeviceMismatch(f"Expected a '{want}' device type for generator but found '{have}' "
                                     f"({name}; simulated GPU: CUDA raises this too)")
        return fn(*args, **kwargs)
    return sampler


def _via_cpu(fn):
    """``torch.tensor``/``as_tensor`` build a fakegpu tensor without passing through the dispatch mode
    (empty_strided on the device itself, which has no kernels): build it on the CPU, then move it."""
    @functools.wraps(fn)
    def construct(*args, device=None, **kwargs):
        if not _is_fake(device):
            return fn(*args, device=device, **kwargs)
        requires_grad = kwargs.pop("requires_grad", False)
        return fn(*args, **kwargs).to(DEVICE).requires_grad_(requires_grad)
    return construct


def _guard_samplers() -> None:
    """Make torch's samplers refuse a generator on another device than the one they draw on (once:
    activate() calls it when it first activates)."""
    for owner, names, prefix in ((torch, _FACTORIES + _OF_INPUT, "torch."), (torch.Tensor, _METHODS, "Tensor.")):
        for name in names:
            setattr(owner, name, _checks_generator(getattr(owner, name), prefix + name))


class FakeGpuTensor(torch.Tensor):
    """A tensor that reports ``fakegpu:0``; its values live in a CPU tensor, ``elem``."""

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        r = torch.Tensor._make_wrapper_subclass(cls, elem.size(), strides=elem.stride(),
                                                storage_offset=elem.storage_offset(), dtype=elem.dtype,
                                                layout=elem.layout, device=DEVICE, requires_grad=elem.requires_grad)
        r.elem = elem
        return r

    # a "traceable wrapper subclass": Module.to/.float swap whole parameters (torch.utils.swap_tensors)
    # instead of `param.data = ...`, which would change the wrapper but not the CPU tensor inside it
    def __tensor_flatten__(self):
        return ["elem"], None

    @staticmethod
    def __tensor_unflatten__(inner, meta, outer_size, outer_stride):
        return FakeGpuTensor(inner["elem"])

    def __repr__(self, **kwargs):
        return repr(self.elem)[:-1] + f", device='{DEVICE}')"

    def __format__(self, spec):                 # a 0-dim CUDA tensor formats as its number
        return self.elem.__format__(spec)

    def tolist(self):                           # works on CUDA tensors too
        global HOST_READS
        HOST_READS += 1
        return self.elem.tolist()

    def numpy(self, *args, **kwargs):           # as CUDA: np.asarray and matplotlib end up here
        raise TypeError(f"can't convert {DEVICE} device type tensor to numpy. Use Tensor.cpu() to copy the "
                        "tensor to host memory first. (simulated GPU: CUDA raises this too)")

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _map(fn, x):
    """``fn`` applied to every tensor in ``x``, through the lists, tuples and dicts that aten operations take
    and return (torch.utils._pytree.tree_map does the same, several times slower: it runs for every
    operation here)."""
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (list, tuple)):
        items = [_map(fn, v) for v in x]
        if all(a is b for a, b in zip(items, x)):
            return x
        if type(x) in (list, tuple):
            return type(x)(items)
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)   # namedtuple, torch.return_types
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    return x


def _is_fake(device) -> bool:
    return device is not None and torch.device(device).type == NAME


def _run(func, args, kwargs):
    """Run ``func`` on the CPU values; refuse a mix of devices; wrap the results if the inputs were fake."""
    fake, cpu = [], []

    def unwrap(t):
        if isinstance(t, FakeGpuTensor):
            fake.append(t)
            return t.elem
        if isinstance(t, torch.Tensor) and t.dim() > 0:   # CUDA accepts 0-dim CPU tensors as scalars
            cpu.append(t)
        return t

    u_args, u_kwargs = _map(unwrap, tuple(args)), _map(unwrap, dict(kwargs))
    to_fake = _is_fake(u_kwargs.get("device"))
    if to_fake:
        u_kwargs["device"] = torch.device("cpu")
    indices_only = func in _INDEXING and all(t.dtype in _INDEX_DTYPES for t in cpu)
    if fake and cpu and func not in _CROSS_DEVICE and not indices_only:
        raise DeviceMismatch(f"Expected all tensors to be on the same device, but found at least two devices, "
                             f"{DEVICE} and cpu! ({func}; simulated GPU: CUDA raises this too)")
    _count_host_read(func, args, kwargs, fake)
    out = func(*u_args, **u_kwargs)
    if func is _aten.copy_.default:
        return args[0]                                 # in place: the destination keeps its device
    # the result lives on the fake device if asked for, or if its inputs did and no device= says otherwise
    # (x.to("cpu"), torch.zeros_like(x, device="cpu") give CPU tensors)
    if not (to_fake or (fake and kwargs.get("device") is None)):
        return out

    def to_device(t):
        if type(t) is not torch.Tensor:
            return t
        if t.dtype == torch.float64 and not _float64:
            raise TypeError(f"Cannot convert a {NAME} tensor to float64 dtype: the simulated device has no float64, "
                            "like Apple's MPS (\"the MPS framework doesn't support float64. Please use float32 "
                            f"instead.\"). ({func}; simulated GPU)")
        return FakeGpuTensor(t)

    return _map(to_device, out)


def _count_host_read(func, args, kwargs, fake) -> None:
    """Count an operation that copies values of the simulated device to the host (see HOST_READS)."""
    global HOST_READS
    if not fake:
        return
    to_host = (func is _aten._local_scalar_dense.default
               or (func is _aten._to_copy.default and kwargs.get("device") is not None
                   and torch.device(kwargs["device"]).type == "cpu")
               or (func is _aten.copy_.default and not isinstance(args[0], FakeGpuTensor)))
    HOST_READS += to_host


class _Mode(TorchDispatchMode):
    """Sees operations on plain tensors too: factories with device=fakegpu, .to(fakegpu)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


_RealGenerator = torch.Generator


class Generator(_RealGenerator):
    """``torch.Generator`` that also accepts ``device='fakegpu'`` (a CPU generator reporting that device)."""

    def __new__(cls, device="cpu"):
        g = _RealGenerator.__new__(cls)
        g._fake = _is_fake(device)
        return g

    def __init__(self, device="cpu"):
        pass

    @property
    def device(self):
        return DEVICE if self._fake else torch.device("cpu")


_library = None   # the torch.library registrations below, kept alive


def _register_index_kernels() -> None:
    """Kernels for the two operations PyTorch's C++ indexing runs on the device itself, out of the dispatch
    mode's sight: ``x[[0, -1]]`` or ``x[[True, False]]`` turns the Python list into an index tensor on
    ``x``'s device (``empty_strided``, then ``_copy_from`` the CPU values). CUDA allows this; without
    them the simulated GPU failed with "Could not run 'aten::empty_strided' ... 'fakegpu' backend"."""
    global _library
    _library = torch.library.Library("aten", "IMPL")

    # both through _run, as every other operation: the same wrapping, float64 refusal and host-read count
    def empty_strided(size, stride, dtype=None, layout=None, device=None, pin_memory=None):
        return _run(_aten.empty_strided.default, (size, stride), {"dtype": dtype, "device": DEVICE})

    def copy_from(src, dst, non_blocking=False):
        return _run(_aten.copy_.default, (dst, src), {})

    _library.impl("empty_strided", empty_strided, "PrivateUse1")
    _library.impl("_copy_from", copy_from, "PrivateUse1")


def activate(float64: bool = True) -> torch.device:
    """Simulate a GPU in this process from now on, and make ``ae.device()`` choose it. Returns the device.

    ``float64=False`` simulates a device without float64, as Apple's MPS is: creating a float64
    tensor on it, or converting one to float64 there, raises as MPS does. Calling it again (with
    any ``float64``) only makes ``ae.device()`` choose the simulated GPU again, e.g. after a test
    reloaded ``aecourse.config``.
    """
    global _mode, DEVICE, _float64
    if _mode is None:
        _float64 = float64
        from torch.utils.backend_registration import _setup_privateuseone_for_python_backend
        _setup_privateuseone_for_python_backend(NAME)   # device guard and hooks for the PrivateUse1 slot
        DEVICE = torch.device(NAME, 0)
        torch.Generator = Generator
        torch.tensor, torch.as_tensor = _via_cpu(torch.tensor), _via_cpu(torch.as_tensor)
        _guard_samplers()
        _register_index_kernels()
        _mode = _Mode()
        _mode.__enter__()
    import aecourse.config as config
    if not getattr(config._choose_device, "simulated", False):
        real_choice = config._choose_device

        def choose():
            """The simulated GPU where ae.device() would choose automatically; AECOURSE_DEVICE as ever."""
            return real_choice() if os.environ.get("AECOURSE_DEVICE", "").strip() else DEVICE

        choose.simulated = True
        config._choose_device = choose   # ae.device() asks it; ae.device(float64=True) then checks has_float64
    return DEVICE


def ipython_dir(directory: Path, float64: bool = True) -> Path:
    """An IPYTHONDIR whose startup file activates the simulated GPU: kernels started with
    ``IPYTHONDIR`` set to it compute on ``fakegpu`` (without float64 if ``float64=False``)."""
    startup = Path(directory) / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-fake-gpu.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        f"import fake_gpu\nfake_gpu.activate(float64={float64})\n")
    return Path(directory)
