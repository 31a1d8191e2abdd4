"""Tests of imagesets.batching: order, sharding, conversion, sample sources."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import spy_calls
from imagesets.batching import BatchOptions, BatchPlan, EpochBatches, batches, epoch_indices
from imagesets.errors import ArgumentError, ImagesetsError

Array = np.ndarray[Any, Any]


def _data(n: int = 50, shape: tuple[int, ...] = (5, 4, 3)) -> tuple[Array, Array]:
    rng = np.random.default_rng(123)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    return images, (np.arange(n) % 10).astype(np.uint8)


def _ids(n: int = 50, shape: tuple[int, ...] = (2, 2)) -> tuple[Array, Array]:
    """Images whose every pixel is the sample number (n <= 256), labels the same number."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, *shape)).copy()
    return images, np.arange(n, dtype=np.int64)


def _order(**kwargs: Any) -> list[int]:
    images, labels = _ids()
    return [int(v) for _, y in batches(images, labels, 7, **kwargs) for v in y]


def test_same_seed_and_epoch_give_the_same_order() -> None:
    assert _order(seed=5, epoch=3) == _order(seed=5, epoch=3)


def test_order_is_the_documented_pcg64_permutation() -> None:
    expected = np.random.default_rng([5, 3]).permutation(50).tolist()
    assert _order(seed=5, epoch=3) == expected


def test_epochs_and_seeds_differ() -> None:
    assert _order(seed=5, epoch=0) != _order(seed=5, epoch=1)
    assert _order(seed=5, epoch=0) != _order(seed=6, epoch=0)


def test_seed_none_draws_fresh_entropy() -> None:
    assert _order(seed=None) != _order(seed=None)
    assert sorted(_order(seed=None)) == list(range(50))


def test_no_shuffle_keeps_storage_order() -> None:
    assert _order(shuffle=False) == list(range(50))


@pytest.mark.parametrize("epoch", [0, 1, 7])
def test_every_image_is_seen_exactly_once_per_epoch(epoch: int) -> None:
    images, labels = _ids()
    seen = [int(x[i, 0, 0]) for x, _ in batches(images, labels, 8, seed=1, epoch=epoch)
            for i in range(len(x))]  # fmt: skip
    assert sorted(seen) == list(range(50))


def test_images_and_labels_stay_paired() -> None:
    images, labels = _ids()
    for x, y in batches(images, labels, 9, seed=2):
        assert x[:, 0, 0].tolist() == y.tolist()


def test_batch_sizes_with_and_without_drop_last() -> None:
    images, labels = _ids()
    sizes = [len(y) for _, y in batches(images, labels, 16, seed=0)]
    dropped = [len(y) for _, y in batches(images, labels, 16, seed=0, drop_last=True)]
    assert sizes == [16, 16, 16, 2]
    assert dropped == [16, 16, 16]


def test_drop_last_keeps_the_same_order_prefix() -> None:
    assert _order(seed=4, drop_last=True) == _order(seed=4)[:49]


@pytest.mark.parametrize("count", [1, 3, 4, 7])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_are_disjoint_and_complete(count: int, drop_last: bool) -> None:
    parts = [_order(seed=9, shard=(i, count), drop_last=drop_last) for i in range(count)]
    flat = [v for part in parts for v in part]
    assert len(flat) == len(set(flat))
    if not drop_last:
        assert sorted(flat) == list(range(50))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shards_with_drop_last_have_equal_length_and_batch_count() -> None:
    images, labels = _ids()
    counts = {len(list(batches(images, labels, 4, seed=1, shard=(i, 3), drop_last=True)))
              for i in range(3)}  # fmt: skip
    lengths = {len(epoch_indices(50, seed=1, shard=(i, 3), drop_last=True)) for i in range(3)}
    assert lengths == {16}
    assert counts == {4}


def test_shards_are_shuffled_slices_of_the_epoch_permutation() -> None:
    perm = epoch_indices(50, seed=3, epoch=2)
    assert epoch_indices(50, seed=3, epoch=2, shard=(1, 4)).tolist() == perm[1::4].tolist()
    assert _order(seed=3, epoch=2, shard=(1, 4)) != sorted(perm[1::4].tolist())


def test_shards_without_a_seed_use_seed_0_like_distributed_sampler() -> None:
    parts = [_order(shard=(i, 3)) for i in range(3)]
    assert parts == [_order(seed=0, shard=(i, 3)) for i in range(3)]
    assert sorted(v for part in parts for v in part) == list(range(50))
    assert BatchOptions(4, shard=(0, 2)).seed == 0
    assert BatchOptions(4, shard=(0, 2), shuffle=False).seed is None
    assert epoch_indices(50, seed=None, shard=(1, 2)).tolist() == _order(seed=0, shard=(1, 2))


BAD_OPTIONS = [
    ({"epoch": 1.5}, r"epoch: expected an int >= 0, found 1.5 \(float\)"),
    ({"epoch": -1}, "epoch: expected an int >= 0, found -1"),
    ({"epoch": True}, "epoch: expected an int"),
    ({"shard": 5}, r"shard: expected a pair \(index, count\).* found 5"),
    ({"shard": (1, 2, 3)}, "shard: expected a pair"),
    ({"shard": "01"}, "shard: expected a pair"),
    ({"shard": (3, 2)}, r"shard: the index must be in 0..1 for 2 shards, found \(3, 2\)"),
    ({"shard": (2, 2)}, "index must be in 0..1"),
    ({"shard": (0, 0)}, "shard count: expected an int >= 1"),
    ({"shard": (0.5, 2)}, "shard index: expected an int"),
    ({"seed": -1}, "seed: expected an int >= 0"),
    ({"seed": 1.0}, "seed: expected an int"),
    ({"shuffle": "yes"}, "shuffle: expected True or False"),
    ({"layout": "HWC"}, "layout: expected one of"),
    ({"normalize": True, "dtype": np.uint8}, "float dtype"),
    ({"dtype": "pixels"}, "dtype: expected a numpy dtype"),
    ({"transform": 3}, "transform: expected None or a callable"),
    ({"workers": 0}, "workers: expected an int >= 1"),
    ({"prefetch": -2}, "prefetch: expected an int >= 1"),
    ({"sed": 1}, r"unknown keyword 'sed' \(did you mean 'seed'\?\); the keywords are shuffle"),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_OPTIONS)
def test_bad_options_are_one_clear_error_at_call_time(kwargs: dict[str, Any], match: str) -> None:
    images, labels = _ids()
    with pytest.raises(ArgumentError, match=match):
        batches(images, labels, 4, **kwargs)  # raised by the call, before any iteration


@pytest.mark.parametrize("size", [0, -1, -3, 1.5, 2.5, True, "8", None])
def test_bad_batch_size_is_refused(size: Any) -> None:
    images, labels = _ids()
    with pytest.raises(ArgumentError, match=r"batch_size: expected an int >= 1, found"):
        batches(images, labels, size)


def test_options_accept_numpy_integers_and_store_ints() -> None:
    opts = BatchOptions(np.int64(8), seed=np.uint32(3), epoch=np.int32(2), shard=(np.int8(1), 2))
    assert (opts.batch_size, opts.seed, opts.epoch, opts.shard) == (8, 3, 2, (1, 2))
    assert all(type(v) is int for v in (opts.batch_size, opts.seed, opts.epoch, *opts.shard))
    assert _order(seed=np.int64(5), epoch=np.int64(3)) == _order(seed=5, epoch=3)


def test_argument_error_is_an_imagesets_value_and_type_error() -> None:
    with pytest.raises(ArgumentError) as info:
        BatchOptions(0)
    assert isinstance(info.value, ImagesetsError)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_mismatched_labels_and_bad_images_are_refused() -> None:
    images, labels = _ids()
    with pytest.raises(ValueError, match=r"labels: expected an integer array of shape \(50,\)"):
        batches(images, labels[:-1], 4)
    with pytest.raises(ValueError, match="labels"):
        batches(images, labels.astype(np.float32), 4)
    with pytest.raises(ValueError, match=r"images: expected shape"):
        batches(images.reshape(50, 4), labels, 4)
    with pytest.raises(ArgumentError, match="take"):
        batches([[1]] * 50, labels, 4)  # type: ignore[arg-type]


def test_default_output_is_uint8_as_stored_and_int64_labels() -> None:
    images, labels = _data()
    x, y = next(iter(batches(images, labels, 8, shuffle=False)))
    assert x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x, images[:8])
    np.testing.assert_array_equal(y, labels[:8])
    assert type(x) is np.ndarray and x.flags.c_contiguous and x.flags.writeable


def test_normalize_gives_float32_in_unit_range_divided_by_255() -> None:
    images, labels = _data()
    x, _ = next(iter(batches(images, labels, 8, shuffle=False, normalize=True)))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, images[:8].astype(np.float32) / 255)
    full = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    xf, _ = next(iter(batches(full, [0], 1, normalize=True)))
    assert xf.min() == 0.0 and xf.max() == 1.0


def test_nchw_layout_moves_channels_first() -> None:
    images, labels = _data()
    x, _ = next(iter(batches(images, labels, 8, shuffle=False, layout="NCHW")))
    assert x.shape == (8, 3, 5, 4) and x.flags.c_contiguous
    np.testing.assert_array_equal(x, images[:8].transpose(0, 3, 1, 2))


def test_grayscale_gets_a_channel_axis_only_in_nchw() -> None:
    images, labels = _data(shape=(6, 5))
    x_hwc, _ = next(iter(batches(images, labels, 4, shuffle=False)))
    x_chw, _ = next(iter(batches(images, labels, 4, shuffle=False, layout="NCHW")))
    assert x_hwc.shape == (4, 6, 5)
    assert x_chw.shape == (4, 1, 6, 5)
    np.testing.assert_array_equal(x_chw[:, 0], images[:4])


def test_normalize_and_nchw_together_with_float64() -> None:
    images, labels = _data()
    x, _ = next(
        iter(batches(images, labels, 8, seed=1, normalize=True, layout="NCHW", dtype="float64"))
    )
    idx = epoch_indices(50, seed=1)[:8]
    assert x.dtype == np.float64 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, images[idx].transpose(0, 3, 1, 2) / 255.0)


def test_dtype_without_normalize_casts_unscaled() -> None:
    images, labels = _data()
    x, _ = next(iter(batches(images, labels, 8, shuffle=False, dtype=np.float16)))
    assert x.dtype == np.float16
    np.testing.assert_array_equal(x, images[:8].astype(np.float16))


def test_works_on_a_read_only_memmap(tmp_path: Path) -> None:
    images, labels = _data(n=300, shape=(28, 28))
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", labels)
    mm_x = np.load(tmp_path / "images.npy", mmap_mode="r")
    mm_y = np.load(tmp_path / "labels.npy", mmap_mode="r")
    got = list(batches(mm_x, mm_y, 64, seed=8, epoch=1))
    want = list(batches(images, labels, 64, seed=8, epoch=1))
    assert len(got) == len(want) == 5
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert type(gx) is np.ndarray and gx.flags.writeable
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    assert not mm_x.flags.writeable


def test_transform_gets_a_reproducible_generator_per_batch() -> None:
    images, labels = _data()

    def jitter(x: Array, rng: np.random.Generator) -> Array:
        return x + rng.random(x.shape, dtype=np.float32)

    def run(epoch: int) -> list[Array]:
        kw: dict[str, Any] = {"seed": 3, "epoch": epoch, "normalize": True, "transform": jitter}
        return [x for x, _ in batches(images, labels, 16, **kw)]

    first, again, other = run(0), run(0), run(1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    plain = next(iter(batches(images, labels, 16, seed=3, normalize=True)))[0]
    noise = first[0] - plain
    assert noise.min() >= 0 and noise.max() < 1 and not np.array_equal(noise, 0 * noise)


def test_transform_streams_differ_per_epoch_batch_and_shard() -> None:
    images, labels = _data(n=64)

    def noise(x: Array, rng: np.random.Generator) -> Array:
        return rng.random(4)

    def draws(epoch: int, shard: tuple[int, int] | None = None) -> list[list[float]]:
        kw: dict[str, Any] = {"seed": 3, "epoch": epoch, "shard": shard, "transform": noise}
        return [x.tolist() for x, _ in batches(images, labels, 16, **kw)]

    epoch0 = draws(0)
    assert epoch0 == draws(0)
    assert all(a != b for a, b in zip(epoch0, draws(1), strict=True))
    assert len({tuple(d) for d in epoch0}) == len(epoch0)
    assert draws(0, (0, 2))[0] != draws(0, (1, 2))[0]


def test_batch_plan_length_matches_the_batches() -> None:
    for shard in (None, (0, 3), (2, 3)):
        for drop_last in (False, True):
            opts = BatchOptions(7, seed=1, shard=shard, drop_last=drop_last)
            plan = BatchPlan.create(50, opts)
            assert len(plan) == len(list(plan.batch_indices()))
    assert len(BatchPlan.create(50, BatchOptions(7, seed=1))) == 8
    assert len(BatchPlan.create(50, BatchOptions(7, seed=1, drop_last=True))) == 7


def test_batch_plan_fixes_a_fresh_seed_once() -> None:
    plan = BatchPlan.create(50, BatchOptions(7))
    assert plan.indices().tolist() == plan.indices().tolist()
    assert isinstance(plan.seed, int)


def test_epoch_batches_advance_one_epoch_per_iteration() -> None:
    images, labels = _ids()
    loader = EpochBatches(images, labels, BatchOptions(10, seed=4))
    first = [y.tolist() for _, y in loader]
    second = [y.tolist() for _, y in loader]
    assert first == [y.tolist() for _, y in batches(images, labels, 10, seed=4, epoch=0)]
    assert second == [y.tolist() for _, y in batches(images, labels, 10, seed=4, epoch=1)]
    loader.set_epoch(0)
    assert [y.tolist() for _, y in loader] == first
    assert len(loader) == 5
    with pytest.raises(ArgumentError, match="epoch: expected an int >= 0, found -1"):
        loader.set_epoch(-1)


class _Decoding:
    """A sample source that 'decodes' on access and records the threads it ran in."""

    def __init__(self, images: Array) -> None:
        self.images = images
        self.threads: set[str] = set()
        self.calls = 0

    def __len__(self) -> int:
        return len(self.images)

    def take(self, indices: Array) -> Array:
        self.threads.add(threading.current_thread().name)
        self.calls += 1
        return self.images[indices]


def test_sample_source_batches_equal_the_array_batches() -> None:
    images, labels = _data(n=200)
    source = _Decoding(images)
    kw: dict[str, Any] = {"seed": 2, "normalize": True, "layout": "NCHW"}
    got = list(batches(source, labels, 16, workers=2, prefetch=3, **kw))
    want = list(batches(images, labels, 16, **kw))
    assert len(got) == len(want) == 13
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    assert source.threads and all(name.startswith("imagesets") for name in source.threads)


def test_sample_source_prefetch_is_bounded() -> None:
    images, labels = _data(n=200)
    source = _Decoding(images)
    stream = batches(source, labels, 10, seed=0, workers=1, prefetch=2)
    next(stream)
    assert source.calls <= 3
    stream.close()  # type: ignore[attr-defined]
    assert source.calls <= 3


def test_sample_source_errors_reach_the_caller() -> None:
    class Broken(_Decoding):
        def take(self, indices: Array) -> Array:
            return self.images[indices][:1]

    images, labels = _data()
    with pytest.raises(ValueError, match=r"Broken.take: expected an array of 8 samples"):
        list(batches(Broken(images), labels, 8, seed=0))


def test_bad_worker_counts_are_refused() -> None:
    images, labels = _data()
    with pytest.raises(ArgumentError, match="workers: expected an int >= 1, found 0"):
        batches(_Decoding(images), labels, 8, seed=0, workers=0)
    with pytest.raises(ArgumentError, match="prefetch: expected an int >= 1, found 0"):
        batches(_Decoding(images), labels, 8, seed=0, prefetch=0)


def test_packed_jpeg_store_is_a_sample_source() -> None:
    import io

    from imagesets.imaging import encode
    from imagesets.packed import PackedImages, PackedWriter
    from imagesets.testing.images import photo

    buf = io.BytesIO()
    writer = PackedWriter(buf)
    for i in range(20):
        writer.append(encode(photo(24, 32, i)))
    packed = PackedImages(buf.getvalue(), writer.offsets(), size=16)
    decoded = packed.take(np.arange(20))
    labels = np.arange(20) % 3
    got = list(batches(packed, labels, 6, seed=1, layout="NCHW", workers=2))
    want = list(batches(decoded, labels, 6, seed=1, layout="NCHW"))
    assert [x.shape for x, _ in got] == [(6, 3, 16, 16)] * 3 + [(2, 3, 16, 16)]
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


# --- one-pass conversion (issue 15): bit-exact on every path ------------------------------------


def _every_value(n: int, shape: tuple[int, ...]) -> Array:
    """uint8 images holding every value 0..255 several times, in random places."""
    flat = np.resize(np.arange(256, dtype=np.uint8), n * int(np.prod(shape)))
    return np.random.default_rng(5).permutation(flat).reshape(n, *shape)


def _reference(x: Array, layout: str, dtype: Any, normalize: bool) -> Array:
    """The documented values, made the plain way: layout on uint8, cast, then ``/ 255`` in the
    target dtype (for float32 ``np.float32(x) / np.float32(255)``, torchvision's ToTensor)."""
    if layout == "NCHW":
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    target = np.dtype(dtype or (np.float32 if normalize else np.uint8))
    cast = np.ascontiguousarray(x).astype(target)
    return cast / target.type(255) if normalize else cast


CONVERSIONS = [
    (True, None),
    (True, "float32"),
    (True, "float64"),
    (True, "float16"),
    (False, None),
    (False, "float32"),
    (False, "int16"),
]


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 3), (4, 5, 1)], ids=["gray", "rgb", "hw1"])
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize(("normalize", "dtype"), CONVERSIONS)
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_conversion_is_bit_exact_on_every_path(
    monkeypatch: pytest.MonkeyPatch,
    shape: tuple[int, ...],
    layout: str,
    normalize: bool,
    dtype: Any,
    workers: int,
) -> None:
    import imagesets.batch_convert as batch_convert

    # tiny chunks and no size floor, so every batch is cut in chunks and split over threads
    monkeypatch.setattr(batch_convert, "_CHUNK_BYTES", 2 * int(np.prod(shape)))
    monkeypatch.setattr(batch_convert, "_PARALLEL_BYTES", 0)
    images = _every_value(120, shape)
    labels = np.arange(120) % 7
    kw: dict[str, Any] = {"seed": 3, "normalize": normalize, "layout": layout, "dtype": dtype}
    order = epoch_indices(120, seed=3)
    for source in (images, _Decoding(images)):
        got = list(batches(source, labels, 50, workers=workers, **kw))
        assert [len(x) for x, _ in got] == [50, 50, 20]
        for k, (x, y) in enumerate(got):
            idx = order[50 * k : 50 * (k + 1)]
            want = _reference(images[idx], layout, dtype, normalize)
            assert x.dtype == want.dtype and x.shape == want.shape and x.flags.c_contiguous
            assert x.tobytes() == want.tobytes()  # bit for bit, not just numerically equal
            assert y.dtype == np.int64 and y.tolist() == labels[idx].tolist()


def test_float32_values_are_torchvision_to_tensor_values() -> None:
    """ToTensor: ``torch.from_numpy(hwc).permute(2, 0, 1).contiguous().to(float32).div(255)``,
    an IEEE float32 division of each value; all 256 of ours equal ``np.float32(v) / 255``."""
    images = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    x, _ = next(iter(batches(images, [0], 1, normalize=True, layout="NCHW")))
    want = np.arange(256, dtype=np.float32) / np.float32(255)
    assert x.reshape(-1).tobytes() == want.tobytes()
    assert x.reshape(-1)[255] == 1.0 and x.reshape(-1)[51] == np.float32(0.2)


def test_big_batches_are_converted_on_several_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import imagesets.batch_convert as batch_convert

    seen = spy_calls(monkeypatch, batch_convert, "_convert_rows")
    monkeypatch.setattr(batch_convert, "_PARALLEL_BYTES", 0)
    monkeypatch.setattr(batch_convert._kernels, "_active", "numpy")  # numba: tests/test_kernels.py
    images, labels = _data(n=64)
    list(batches(images, labels, 32, normalize=True, workers=2))
    assert len(set(seen)) == 2 and any(n.startswith("imagesets-convert") for n in seen)
    seen.clear()
    list(batches(images, labels, 32, normalize=True, workers=1))
    assert seen and set(seen) == {threading.current_thread().name}


@pytest.mark.parametrize("shape", [(6, 5, 3), (6, 5)], ids=["rgb", "gray"])
def test_chw_copy_serves_the_same_bytes_and_is_made_once(shape: tuple[int, ...]) -> None:
    images = _every_value(60, shape)
    labels = np.arange(60) % 4
    kw: dict[str, Any] = {"seed": 4, "normalize": True, "layout": "NCHW"}
    plain = EpochBatches(images, labels, BatchOptions(16, **kw))
    copied = EpochBatches(images, labels, BatchOptions(16, chw_copy=True, **kw))
    made = []
    for _ in range(2):  # two epochs: the copy is made on the first and kept
        got, want = list(copied), list(plain)
        assert len(got) == len(want) == 4
        for (gx, gy), (wx, wy) in zip(got, want, strict=True):
            assert gx.shape == wx.shape and gx.tobytes() == wx.tobytes()
            assert gy.tolist() == wy.tolist()
        made.append(copied._chw)
    if len(shape) == 3:
        assert made[0] is not None and made[0] is made[1] and made[0].shape == (60, 3, 6, 5)
    else:
        assert made == [None, None]  # grayscale needs no transpose
    with pytest.raises(ArgumentError, match="chw_copy: expected True or False"):
        BatchOptions(4, chw_copy=1)


@pytest.mark.parametrize("shard", [None, (1, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_uint8_batches_are_the_gather_of_the_epoch_order_on_any_array(
    tmp_path: Path, shard: tuple[int, int] | None, drop_last: bool
) -> None:
    """The plain path (np.take per batch): the bytes, order and labels of ``x[order[i:i+b]]``,
    served as fresh C-contiguous plain arrays whatever the array's memory layout."""
    base = _every_value(101, (6, 10, 3))
    np.save(tmp_path / "x.npy", base)
    arrays = {
        "contiguous": base,
        "memmap": np.load(tmp_path / "x.npy", mmap_mode="r"),
        "strided": base[:, ::2, 1::3],
        "fortran": np.asfortranarray(base),
        "gray view": base[..., 1],
    }
    labels = (np.arange(101) * 7 % 10).astype(np.uint8)
    kw: dict[str, Any] = {"seed": 11, "epoch": 2, "shard": shard, "drop_last": drop_last}
    order = epoch_indices(101, **kw)
    for name, images in arrays.items():
        got = list(batches(images, labels, 8, **kw))
        starts = range(0, len(order) - len(order) % 8 if drop_last else len(order), 8)
        assert len(got) == len(starts), name
        for (x, y), start in zip(got, starts, strict=True):
            idx = order[start : start + 8]
            want = np.asarray(images)[idx]
            assert type(x) is np.ndarray and x.flags.c_contiguous and x.flags.writeable, name
            assert x.shape == want.shape and x.tobytes() == want.tobytes(), name
            assert y.dtype == np.int64 and y.tolist() == labels[idx].tolist(), name


@pytest.mark.parametrize("gather_first", [0, 1 << 30], ids=["kernel-reads-rows", "take-first"])
@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 3)], ids=["gray", "rgb"])
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_numba_kernel_paths_give_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
    gather_first: int,
    shape: tuple[int, ...],
    layout: str,
    workers: int,
) -> None:
    """Rows shorter than ``_GATHER_FIRST_ROW_BYTES`` are gathered by np.take chunk by chunk and
    then converted; longer ones are read by the kernel: both serve the documented bytes, with
    chunk edges falling inside each thread's row range."""
    pytest.importorskip("numba")
    import imagesets.batch_convert as batch_convert

    monkeypatch.setattr(batch_convert._kernels, "_active", "numba")
    monkeypatch.setattr(batch_convert, "_GATHER_FIRST_ROW_BYTES", gather_first)
    monkeypatch.setattr(batch_convert, "_CHUNK_BYTES", 3 * int(np.prod(shape)))
    monkeypatch.setattr(batch_convert, "_PARALLEL_BYTES", 0)
    images = _every_value(130, shape)
    labels = np.arange(130) % 9
    order = epoch_indices(130, seed=4)
    for normalize, dtype in [(True, None), (True, "float64"), (False, None)]:
        kw: dict[str, Any] = {"seed": 4, "layout": layout, "normalize": normalize}
        got = list(batches(images, labels, 50, dtype=dtype, workers=workers, **kw))
        assert [len(x) for x, _ in got] == [50, 50, 30]
        for k, (x, y) in enumerate(got):
            idx = order[50 * k : 50 * (k + 1)]
            want = _reference(images[idx], layout, dtype, normalize)
            assert x.dtype == want.dtype and x.shape == want.shape and x.flags.c_contiguous
            assert x.tobytes() == want.tobytes()
            assert y.tolist() == labels[idx].tolist()
