"""The kernels that fill converted batches (imagesets._kernels): both give the same bytes.

Every test taking the ``kernel`` fixture runs once with the numpy kernel (always) and once with
the numba kernel (where numba is installed: the ``fast`` extra), so the numpy fallback is tested
even on machines that have numba.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets._kernels as kernels
import imagesets.batch_convert as batch_convert
import imagesets.batching as batching
from conftest import spy_calls
from imagesets.batching import BatchOptions, EpochBatches, batches, epoch_indices
from imagesets.errors import ArgumentError

Array = np.ndarray[Any, Any]


@pytest.fixture(params=["numpy", "numba"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The kernel under test, made the active one for the test."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setattr(kernels, "_active", request.param)
    yield request.param


def _every_value(n: int, shape: tuple[int, ...], seed: int = 5) -> Array:
    """uint8 images holding every value 0..255 several times, in random places."""
    flat = np.resize(np.arange(256, dtype=np.uint8), n * int(np.prod(shape)))
    return np.random.default_rng(seed).permutation(flat).reshape(n, *shape)


def _reference(x: Array, layout: str, dtype: Any, normalize: bool) -> Array:
    """Layout on uint8, cast, then ``/ 255`` in the target dtype: the documented values."""
    if layout == "NCHW":
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    target = np.dtype(dtype or (np.float32 if normalize else np.uint8))
    cast = np.ascontiguousarray(x).astype(target)
    return cast / target.type(255) if normalize else cast


def _check_epoch(images: Any, n: int, size: int, **kw: Any) -> None:
    """One shuffled epoch of ``images`` equals the reference bit for bit, batch by batch."""
    stored = np.asarray(images)
    layout, dtype, normalize = kw.get("layout", "NHWC"), kw.get("dtype"), kw.get("normalize")
    order = epoch_indices(n, seed=7)
    got = list(batches(images, np.arange(n) % 3, size, seed=7, **kw))
    assert [len(x) for x, _ in got] == [len(order[i : i + size]) for i in range(0, n, size)]
    for k, (x, _) in enumerate(got):
        want = _reference(stored[order[k * size : (k + 1) * size]], layout, dtype, bool(normalize))
        assert x.dtype == want.dtype and x.shape == want.shape and x.flags.c_contiguous
        assert x.tobytes() == want.tobytes()


def test_float32_lookup_and_division_are_torchvision_to_tensor_values(kernel: str) -> None:
    """All 256 values: ours == ``np.float32(v) / np.float32(255)`` == the float32 lookup table
    == torch's ``ToTensor`` arithmetic (``tensor.to(float32).div(255)``), bit for bit."""
    torch = pytest.importorskip("torch")
    values = np.arange(256, dtype=np.uint8)
    want = torch.from_numpy(values.copy()).to(torch.float32).div(255).numpy()
    lut = np.arange(256, dtype=np.float32) / np.float32(255)
    assert lut.tobytes() == want.tobytes()
    via_float64 = (np.arange(256, dtype=np.float64) * (1.0 / 255.0)).astype(np.float32)
    assert via_float64.tobytes() == want.tobytes()  # the numba kernel's float32 formula
    for shape in [(16, 16), (16, 16, 1), (8, 16, 2), (4, 8, 8)]:
        images = values.reshape(1, *shape)
        for layout in ("NHWC", "NCHW"):
            x, _ = next(iter(batches(images, [0], 1, normalize=True, layout=layout)))
            assert np.sort(x.reshape(-1)).tobytes() == want.tobytes()
            assert x.tobytes() == _reference(images, layout, None, True).tobytes()


CONVERSIONS = [
    (True, None),
    (True, "float32"),
    (True, "float64"),
    (True, "float16"),
    (False, "float32"),
    (False, "float64"),
    (False, "int16"),
    (False, None),
]


@pytest.mark.parametrize(
    "shape", [(5, 7), (5, 7, 1), (5, 7, 3), (3, 4, 4), (32, 32, 3)],
    ids=["gray", "hw1", "rgb", "rgba", "cifar"],
)  # fmt: skip
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize(("normalize", "dtype"), CONVERSIONS)
def test_every_conversion_is_bit_exact(
    kernel: str, shape: tuple[int, ...], layout: str, normalize: bool, dtype: Any
) -> None:
    _check_epoch(_every_value(75, shape), 75, 16, layout=layout, normalize=normalize, dtype=dtype)


@pytest.mark.parametrize("size", [1, 7, 33, 255, 257])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_odd_batch_sizes_split_over_threads(
    kernel: str, monkeypatch: pytest.MonkeyPatch, size: int, workers: int
) -> None:
    monkeypatch.setattr(batch_convert, "_PARALLEL_BYTES", 0)  # split even the small batches
    images = _every_value(300, (6, 5, 3))
    _check_epoch(images, 300, size, layout="NCHW", normalize=True, workers=workers)
    _check_epoch(images[..., 0], 300, size, layout="NCHW", normalize=True, workers=workers)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_non_contiguous_and_memmapped_images(kernel: str, tmp_path: Path, layout: str) -> None:
    base = _every_value(90, (8, 12, 3))
    strided = base[:, ::2, 1::3]  # (90, 4, 4, 3), no row is contiguous
    assert not strided.flags.c_contiguous
    _check_epoch(strided, 90, 16, layout=layout, normalize=True)
    channels_last = np.ascontiguousarray(base.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    _check_epoch(channels_last, 90, 16, layout=layout, normalize=True, dtype="float64")
    np.save(tmp_path / "x.npy", base)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")  # read-only pages
    _check_epoch(mapped, 90, 16, layout=layout, normalize=True)
    _check_epoch(mapped, 90, 16, layout=layout, dtype="float32")


class _Source:
    """A sample source: each batch arrives gathered (the kernel converts it in order)."""

    def __init__(self, images: Array) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def take(self, indices: Array) -> Array:
        return self.images[indices]


def test_sample_sources_and_chw_copies_give_the_same_bytes(kernel: str) -> None:
    images = _every_value(64, (6, 5, 3))
    labels = np.arange(64) % 5
    kw: dict[str, Any] = {"seed": 2, "normalize": True, "layout": "NCHW"}
    want = [x.tobytes() for x, _ in batches(images, labels, 10, **kw)]
    assert [x.tobytes() for x, _ in batches(_Source(images), labels, 10, **kw)] == want
    copied = EpochBatches(images, labels, BatchOptions(10, chw_copy=True, **kw))
    for _ in range(2):
        copied.set_epoch(0)
        assert [x.tobytes() for x, _ in copied] == want


def test_the_numba_kernel_fills_float_batches_on_several_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("numba")
    monkeypatch.setattr(kernels, "_active", "numba")
    monkeypatch.setattr(batch_convert, "_PARALLEL_BYTES", 0)
    threads = spy_calls(monkeypatch, kernels, "fill")
    numpy_calls = spy_calls(monkeypatch, batch_convert, "_convert_rows")
    images, labels = _every_value(64, (4, 4, 3)), np.zeros(64, np.int64)
    list(batches(images, labels, 32, normalize=True, layout="NCHW", workers=2))
    assert len(set(threads)) == 2 and any(n.startswith("imagesets-convert") for n in threads)
    assert numpy_calls == []
    threads.clear()
    list(batches(images, labels, 32, normalize=True, dtype="float16"))
    assert threads == [] and numpy_calls  # float16: numba does not serve it, numpy does


def test_kernel_name_reports_the_choice_and_the_environment_forces_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kernels, "_active", None)
    monkeypatch.setenv("IMAGESETS_KERNEL", "numpy")
    assert kernels.kernel_name() == "numpy"
    assert not kernels.serves(np.dtype(np.float32))
    monkeypatch.setattr(kernels, "_active", None)
    monkeypatch.setenv("IMAGESETS_KERNEL", "fortran")
    with pytest.raises(ArgumentError, match="IMAGESETS_KERNEL: expected one of numba, numpy"):
        kernels.kernel_name()
    monkeypatch.setattr(kernels, "_active", None)
    monkeypatch.setitem(sys.modules, "numba", None)  # numba not installed: import fails
    monkeypatch.setenv("IMAGESETS_KERNEL", "numba")
    with pytest.raises(ArgumentError, match=r"numba is not installed.*imagesets\[fast\]"):
        kernels.kernel_name()
    monkeypatch.setattr(kernels, "_active", None)
    monkeypatch.delenv("IMAGESETS_KERNEL")
    assert kernels.kernel_name() == "numpy"  # unset and no numba: numpy, and it says so


def test_numba_is_imported_only_by_the_first_converted_batch() -> None:
    code = (
        "import sys, numpy as np\n"
        "import imagesets, imagesets.batching as b\n"
        "x = np.zeros((4, 2, 2, 3), np.uint8)\n"
        "list(b.batches(x, np.arange(4), 2))\n"
        "assert 'numba' not in sys.modules, 'uint8 batches imported numba'\n"
        "list(b.batches(x, np.arange(4), 2, normalize=True, layout='NCHW'))\n"
        "from imagesets._kernels import kernel_name\n"
        "assert ('numba' in sys.modules) == (kernel_name() == 'numba'), kernel_name()\n"
        "print(kernel_name())\n"
    )
    src = Path(batching.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(src), *filter(None, sys.path)])},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in kernels.KERNELS


def test_the_modes_agree_with_the_numba_module() -> None:
    numba_kernels = pytest.importorskip("imagesets._numba_kernels")  # needs numba
    assert (kernels._CAST, kernels._DIVIDE, kernels._MULTIPLY) == (
        numba_kernels.CAST,
        numba_kernels.DIVIDE,
        numba_kernels.MULTIPLY,
    )
