"""Each framework adapter against the numpy batches it wraps (same values, same order).

The framework tests skip, saying which package is missing, when it is not installed; the
MissingDependencyError tests run everywhere by hiding the module.
"""

from __future__ import annotations

import builtins
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.batching import batches
from imagesets.errors import ArgumentError, MissingDependencyError

Array = np.ndarray[Any, Any]
KW: dict[str, Any] = {"seed": 3, "epoch": 1, "normalize": True, "layout": "NCHW"}


def _skip_without(module: str, extra: str) -> Any:
    return pytest.importorskip(
        module, reason=f"{module} is not installed: pip install 'imagesets[{extra}]'"
    )


@pytest.fixture
def data(tmp_path: Path) -> tuple[Array, Array]:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (37, 6, 5, 3), dtype=np.uint8))
    np.save(tmp_path / "y.npy", rng.integers(0, 10, 37).astype(np.uint8))
    return np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def _want(data: tuple[Array, Array], **kw: Any) -> list[tuple[Array, Array]]:
    return list(batches(data[0], data[1], 8, **{**KW, **kw}))


def _assert_same(got: list[tuple[Array, Array]], want: list[tuple[Array, Array]]) -> None:
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx.dtype == wx.dtype
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make importing the named top-level module fail, as if it were not installed."""

    def hide_module(name: str) -> None:
        real_import = builtins.__import__
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, key)

        def fake(module: str, *args: Any, **kwargs: Any) -> Any:
            if module == name or module.startswith(name + "."):
                raise ImportError(f"No module named {module!r}")
            return real_import(module, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake)
        monkeypatch.setattr("importlib.import_module", lambda m: fake(m))

    return hide_module


@pytest.mark.parametrize(
    ("module", "extra", "call"),
    [
        ("torch", "torch", "torch.torch_loader"),
        ("torch", "torch", "torch.to_torch_dataset"),
        ("tensorflow", "tf", "tensorflow.to_tf_dataset"),
        ("jax", "jax", "jax.jax_batches"),
        ("dask", "dask", "dask.to_dask"),
    ],
)
def test_missing_framework_names_the_extra(
    hide: Any, data: tuple[Array, Array], module: str, extra: str, call: str
) -> None:
    import importlib

    adapter_name, func_name = call.split(".")
    adapter = importlib.import_module(f"imagesets.adapters.{adapter_name}")
    hide(module)
    args = (data[0], data[1], 8) if func_name != "to_dask" else (data[0], data[1])
    if func_name == "to_torch_dataset":
        args = args[:2]
    with pytest.raises(MissingDependencyError, match=rf"pip install 'imagesets\[{extra}\]'"):
        getattr(adapter, func_name)(*args)


def test_torch_loader_equals_numpy_batches(data: tuple[Array, Array]) -> None:
    torch = _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    loader = torch_loader(data[0], data[1], 8, **KW)
    got = [(x.numpy(), y.numpy()) for x, y in loader]
    assert len(loader) == 5
    _assert_same(got, _want(data))
    x, y = next(iter(torch_loader(data[0], data[1], 8, seed=0)))
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (8, 3, 6, 5)


def test_torch_loader_serves_the_next_epoch_each_iteration(data: tuple[Array, Array]) -> None:
    _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    loader = torch_loader(data[0], data[1], 8, shard=(1, 2), drop_last=True, **KW)
    first = [(x.numpy(), y.numpy()) for x, y in loader]
    second = [(x.numpy(), y.numpy()) for x, y in loader]
    _assert_same(first, _want(data, shard=(1, 2), drop_last=True))
    _assert_same(second, _want(data, shard=(1, 2), drop_last=True, epoch=2))
    loader.set_epoch(1)
    _assert_same([(x.numpy(), y.numpy()) for x, y in loader], first)


def test_torch_loader_device_and_pin_memory(data: tuple[Array, Array]) -> None:
    torch = _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    x, _ = next(iter(torch_loader(data[0], data[1], 8, seed=0, device="cpu")))
    assert x.device == torch.device("cpu")
    if torch.cuda.is_available():
        x, _ = next(iter(torch_loader(data[0], data[1], 8, seed=0, pin_memory=True)))
        assert x.is_pinned()
    else:
        with pytest.raises(ArgumentError, match=r"pin_memory=True: .* none"):
            torch_loader(data[0], data[1], 8, seed=0, pin_memory=True)


def test_torch_dataset_items_are_chw_floats_like_to_tensor(data: tuple[Array, Array]) -> None:
    torch = _skip_without("torch", "torch")
    from imagesets.adapters.torch import to_torch_dataset

    ds = to_torch_dataset(data[0], data[1])
    assert isinstance(ds, torch.utils.data.Dataset) and len(ds) == 37
    image, label = ds[4]
    assert isinstance(label, int) and label == int(data[1][4])
    np.testing.assert_array_equal(image.numpy(), data[0][4].transpose(2, 0, 1) / np.float32(255))
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=False)
    x, y = next(iter(loader))
    want = next(iter(batches(data[0], data[1], 8, shuffle=False, normalize=True, layout="NCHW")))
    _assert_same([(x.numpy(), y.numpy())], [want])


def test_torch_dataset_grayscale_transform_and_pickle(data: tuple[Array, Array]) -> None:
    _skip_without("torch", "torch")
    from PIL import Image

    from imagesets.adapters.torch import to_torch_dataset

    gray = np.asarray(data[0][:, :, :, 0])
    assert to_torch_dataset(gray, data[1])[0][0].shape == (1, 6, 5)
    ds = to_torch_dataset(gray, data[1], transform=lambda im: (type(im), im.size))
    assert ds[0][0] == (Image.Image, (5, 6))
    copy = pickle.loads(pickle.dumps(to_torch_dataset(gray, data[1])))
    np.testing.assert_array_equal(copy[3][0].numpy(), to_torch_dataset(gray, data[1])[3][0])
    with pytest.raises(ArgumentError, match="expected 37 labels, found 36"):
        to_torch_dataset(gray, data[1][:-1])


@pytest.mark.slow
def test_tf_dataset_equals_numpy_batches(data: tuple[Array, Array]) -> None:
    tf = _skip_without("tensorflow", "tf")
    from imagesets.adapters.tensorflow import to_tf_dataset

    ds = to_tf_dataset(data[0], data[1], 8, **KW)
    assert ds.element_spec[0].shape.as_list() == [None, 3, 6, 5]
    assert ds.element_spec[0].dtype == tf.float32 and ds.element_spec[1].dtype == tf.int64
    first = [(x.numpy(), y.numpy()) for x, y in ds]
    second = [(x.numpy(), y.numpy()) for x, y in ds]
    _assert_same(first, _want(data))
    _assert_same(second, _want(data, epoch=2))
    dropped = to_tf_dataset(data[0], data[1], 8, seed=0, drop_last=True)
    assert dropped.element_spec[0].shape.as_list() == [8, 6, 5, 3]
    assert [x.dtype for x, _ in dropped.take(1)] == [tf.uint8]


def test_jax_batches_equal_numpy_batches(data: tuple[Array, Array]) -> None:
    jax = _skip_without("jax", "jax")
    from imagesets.adapters.jax import jax_batches

    pairs = list(jax_batches(data[0], data[1], 8, **KW))
    assert all(isinstance(x, jax.Array) and isinstance(y, jax.Array) for x, y in pairs)
    got = [(np.asarray(x), np.asarray(y)) for x, y in pairs]
    _assert_same(got, _want(data))
    device = jax.devices()[0]
    x, _ = next(iter(jax_batches(data[0], data[1], 8, seed=0, device=device)))
    assert x.devices() == {device}
    assert list(jax_batches(data[0][:0], data[1][:0], 8, seed=0)) == []


def test_dask_arrays_wrap_the_memmap_without_copying(data: tuple[Array, Array]) -> None:
    _skip_without("dask.array", "dask")
    from imagesets.adapters.dask import to_dask

    x, y = to_dask(data[0], data[1], chunks=10)
    assert x.chunks[0] == y.chunks[0] == (10, 10, 10, 7)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x.compute(), data[0])
    np.testing.assert_array_equal(y.compute(), data[1])
    assert any(getattr(value, "array", None) is data[0] for value in dict(x.dask).values())
    idx = np.array([5, 30, 2])
    np.testing.assert_array_equal(x[idx].compute(), data[0][idx])


def test_dask_tells_apart_slices_of_one_memmap(data: tuple[Array, Array]) -> None:
    _skip_without("dask.array", "dask")
    from imagesets.adapters.dask import to_dask

    a, _ = to_dask(data[0][:10], data[1][:10])
    b, _ = to_dask(data[0][10:20], data[1][10:20])
    again, _ = to_dask(data[0][:10], data[1][:10])
    assert a.name != b.name and a.name == again.name
    got = (a.astype(np.int16) - b.astype(np.int16)).compute()
    np.testing.assert_array_equal(got, data[0][:10].astype(np.int16) - data[0][10:20])


def test_dask_refuses_bad_chunks_and_mismatched_labels(data: tuple[Array, Array]) -> None:
    _skip_without("dask.array", "dask")
    from imagesets.adapters.dask import to_dask

    with pytest.raises(ArgumentError, match="chunks"):
        to_dask(data[0], data[1], chunks=0)
    with pytest.raises(ArgumentError, match=r"labels: expected shape \(37,\)"):
        to_dask(data[0], data[1][:5])
    auto_x, auto_y = to_dask(data[0], data[1])
    assert auto_x.chunks[0] == auto_y.chunks[0]


FEEDS = [
    ("torch", "torch_loader"),
    ("tensorflow", "to_tf_dataset"),
    ("jax", "jax_batches"),
]
BAD = [
    ({"epoch": 1.5}, "epoch: expected an int >= 0, found 1.5"),
    ({"shard": 5}, r"shard: expected a pair \(index, count\)"),
    ({"shard": (3, 2)}, "shard: the index must be in 0..1"),
    ({"seed": -1}, "seed: expected an int >= 0"),
]


@pytest.mark.parametrize(("module", "func"), FEEDS)
@pytest.mark.parametrize(("kwargs", "match"), BAD)
def test_every_feed_refuses_bad_options_like_batches(
    data: tuple[Array, Array], module: str, func: str, kwargs: dict[str, Any], match: str
) -> None:
    import importlib

    feed = getattr(importlib.import_module(f"imagesets.adapters.{module}"), func)
    for size in (0, -1, 1.5):
        with pytest.raises(ArgumentError, match="batch_size: expected an int >= 1"):
            feed(data[0], data[1], size)
    with pytest.raises(ArgumentError, match=match):
        feed(data[0], data[1], 8, **kwargs)
    with pytest.raises(ArgumentError, match=rf"{func}: unknown keyword 'epochs' \(did you mean"):
        feed(data[0], data[1], 8, epochs=2)


def test_adapters_share_one_keyword_list() -> None:
    """No adapter spells out the batch keywords again: they are BatchOptions' fields."""
    import inspect

    from imagesets.adapters import jax, tensorflow, torch
    from imagesets.batching import BatchOptions

    names = {f for f in BatchOptions.__dataclass_fields__ if f != "batch_size"}
    for func in (batches, torch.torch_loader, tensorflow.to_tf_dataset, jax.jax_batches):
        params = set(inspect.signature(func).parameters)
        assert not params & names, func.__name__
        assert "options" in params


def test_torch_loader_sharded_without_seed_matches_seed_0(data: tuple[Array, Array]) -> None:
    _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    for rank in range(2):
        got = [(x.numpy(), y.numpy()) for x, y in torch_loader(*data, 8, shard=(rank, 2))]
        _assert_same(got, _want(data, epoch=0, seed=0, shard=(rank, 2)))


# --- torch_loader(device=...): uint8 to the device, converted there (issue 15) ------------------


def _all_values(shape: tuple[int, ...]) -> tuple[Array, Array]:
    flat = np.resize(np.arange(256, dtype=np.uint8), 40 * int(np.prod(shape)))
    images = np.random.default_rng(9).permutation(flat).reshape(40, *shape)
    return images, np.arange(40) % 3


@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 3)], ids=["gray", "rgb"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(
    ("normalize", "dtype"),
    [(True, None), (True, "float64"), (True, "float16"), (False, None), (False, "float32")],
)
def test_torch_loader_on_a_device_equals_the_host_path_bit_for_bit(
    shape: tuple[int, ...], layout: str, normalize: bool, dtype: Any
) -> None:
    """The device path (uint8 moved, converted by torch ops) runs on the CPU here, and serves
    the bytes of the numpy path: ToTensor's float32 ``x / 255`` for the defaults."""
    torch = _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    images, labels = _all_values(shape)
    kw: dict[str, Any] = {"seed": 1, "normalize": normalize, "layout": layout, "dtype": dtype}
    loader = torch_loader(images, labels, 16, device="cpu", **kw)
    assert loader.on_device is not None and not loader.pin_memory
    got = [(x.numpy(), y.numpy()) for x, y in loader]
    want = list(batches(images, labels, 16, **kw))
    assert len(got) == len(want) == 3
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx.dtype == wx.dtype and gx.shape == wx.shape and gx.flags.c_contiguous
        assert gx.tobytes() == wx.tobytes()
        assert gy.dtype == np.int64 and gy.tolist() == wy.tolist()
    host = [x.numpy() for x, _ in torch_loader(images, labels, 16, **kw)]
    assert all(h.tobytes() == w.tobytes() for h, (w, _) in zip(host, want, strict=True))
    if normalize and dtype is None:  # the defaults: torchvision's ToTensor values
        x, _ = next(iter(torch_loader(images, labels, 40, shuffle=False, device="cpu")))
        chw = torch.from_numpy(images).reshape(40, *shape[:2], -1).permute(0, 3, 1, 2)
        assert torch.equal(x, chw.contiguous().to(torch.float32).div(255))


def test_torch_loader_on_a_device_takes_torch_dtypes_and_refuses_bad_ones() -> None:
    torch = _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    images, labels = _all_values((4, 4, 3))
    x, _ = next(iter(torch_loader(images, labels, 8, device="cpu", dtype=torch.bfloat16)))
    assert x.dtype == torch.bfloat16 and x.shape == (8, 3, 4, 4)
    want = torch.from_numpy(next(iter(batches(images, labels, 8, seed=None, shuffle=False,
                                              normalize=True, layout="NCHW")))[0])  # fmt: skip
    x, _ = next(iter(torch_loader(images, labels, 8, device="cpu", shuffle=False)))
    assert torch.equal(x, want)
    with pytest.raises(ArgumentError, match=r"needs a float dtype, found torch\.int32"):
        torch_loader(images, labels, 8, device="cpu", dtype=torch.int32)
    with pytest.raises(ArgumentError, match="dtype: expected a torch or numpy dtype"):
        torch_loader(images, labels, 8, device="cpu", dtype="no-such-type")


def test_torch_loader_with_a_transform_converts_on_the_host() -> None:
    """A transform takes numpy batches: the batch is converted and transformed, then moved."""
    _skip_without("torch", "torch")
    from imagesets.adapters.torch import torch_loader

    def flip(x: Array, rng: np.random.Generator) -> Array:
        return x[..., ::-1].copy()

    images, labels = _all_values((4, 4, 3))
    loader = torch_loader(images, labels, 8, device="cpu", seed=2, transform=flip)
    assert loader.on_device is None
    got = [x.numpy() for x, _ in loader]
    want = [x for x, _ in batches(images, labels, 8, seed=2, transform=flip, normalize=True,
                                  layout="NCHW")]  # fmt: skip
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
