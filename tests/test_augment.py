"""Tests of imagesets.augment against slow per-sample references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from imagesets.augment import (
    Compose,
    Normalize,
    RandomCrop,
    RandomFlip,
    normalize,
    random_crop,
    random_flip,
)
from imagesets.batching import batches
from imagesets.errors import ArgumentError

Array = np.ndarray[Any, Any]


def _batch(shape: tuple[int, ...] = (6, 8, 7, 3)) -> Array:
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


def _slow_crop(batch: Array, size: int, padding: int, seed: int, mode: str) -> Array:
    """Per-sample reference NHWC crop drawing offsets the documented way."""
    rng = np.random.default_rng(seed)
    top = rng.integers(0, batch.shape[1] + 2 * padding - size + 1, len(batch))
    left = rng.integers(0, batch.shape[2] + 2 * padding - size + 1, len(batch))
    out = []
    for image, t, u in zip(batch, top, left, strict=True):
        pad = [(padding, padding), (padding, padding)] + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, pad, mode=mode)  # type: ignore[call-overload]
        out.append(padded[t : t + size, u : u + size])
    return np.stack(out)


@pytest.mark.parametrize("mode", ["constant", "reflect"])
@pytest.mark.parametrize("shape", [(6, 8, 7, 3), (6, 8, 7)])
def test_random_crop_matches_the_slow_reference(mode: Any, shape: tuple[int, ...]) -> None:
    batch = _batch(shape)
    got = random_crop(batch, 5, 2, np.random.default_rng(4), mode=mode)
    np.testing.assert_array_equal(got, _slow_crop(batch, 5, 2, 4, mode))
    assert got.shape == (6, 5, 5, *shape[3:]) and got.dtype == np.uint8
    assert got.flags.c_contiguous


def test_random_crop_pads_with_zeros_and_uses_varied_offsets() -> None:
    batch = np.full((200, 4, 4), 9, np.uint8)
    got = random_crop(batch, 4, 2, np.random.default_rng(0))
    assert (got == 0).any() and (got == 9).any()
    assert len({g.tobytes() for g in got}) > 10


def test_random_crop_nchw_equals_nhwc() -> None:
    batch = _batch()
    nhwc = random_crop(batch, (5, 6), 1, np.random.default_rng(2))
    nchw = random_crop(batch.transpose(0, 3, 1, 2), (5, 6), 1, np.random.default_rng(2),
                       layout="NCHW")  # fmt: skip
    assert nchw.shape == (6, 3, 5, 6)
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))


def test_random_crop_without_padding_is_a_window_of_the_original() -> None:
    batch = _batch()
    np.testing.assert_array_equal(random_crop(batch, (8, 7), 0, np.random.default_rng(1)), batch)
    got = random_crop(batch, (8, 3), 0, np.random.default_rng(1))
    starts = [next(u for u in range(5) if np.array_equal(g, b[:, u : u + 3]))
              for g, b in zip(got, batch, strict=True)]  # fmt: skip
    assert len(set(starts)) > 1


def test_random_crop_is_deterministic_per_seed() -> None:
    batch = _batch()
    a = random_crop(batch, 6, 3, np.random.default_rng(7))
    b = random_crop(batch, 6, 3, np.random.default_rng(7))
    c = random_crop(batch, 6, 3, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("size", "padding"), [(9, 0), (13, 2), (4, -1), (0, 0)])
def test_random_crop_refuses_sizes_that_do_not_fit(size: int, padding: int) -> None:
    with pytest.raises(ArgumentError, match="random_crop"):
        random_crop(_batch(), size, padding, np.random.default_rng(0))


def test_bad_rank_or_layout_is_refused() -> None:
    with pytest.raises(ArgumentError, match=r"found shape \(8, 7\)"):
        random_flip(_batch()[0, :, :, 0], np.random.default_rng(0))
    with pytest.raises(ArgumentError, match="layout 'CHW'"):
        random_flip(_batch(), np.random.default_rng(0), layout="CHW")  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_random_flip_mirrors_exactly_the_drawn_samples(layout: Any) -> None:
    batch = _batch((64, 5, 6, 3))
    data = batch if layout == "NHWC" else batch.transpose(0, 3, 1, 2)
    got = random_flip(data, np.random.default_rng(3), layout=layout)
    chosen = np.random.default_rng(3).random(64) < 0.5
    w_axis = 2 if layout == "NHWC" else 3
    for i in range(64):
        want = np.flip(data[i], axis=w_axis - 1) if chosen[i] else data[i]
        np.testing.assert_array_equal(got[i], want)
    assert 0 < chosen.sum() < 64


def test_random_flip_probabilities_and_no_mutation() -> None:
    batch = _batch()
    before = batch.copy()
    np.testing.assert_array_equal(random_flip(batch, np.random.default_rng(0), p=0.0), batch)
    np.testing.assert_array_equal(
        random_flip(batch, np.random.default_rng(0), p=1.0), batch[:, :, ::-1]
    )
    np.testing.assert_array_equal(batch, before)
    with pytest.raises(ArgumentError, match=r"p must be in \[0, 1\]"):
        random_flip(batch, np.random.default_rng(0), p=1.5)


def test_random_flip_works_on_read_only_input() -> None:
    batch = _batch()
    batch.flags.writeable = False
    got = random_flip(batch, np.random.default_rng(0), p=1.0)
    assert got.flags.writeable


def test_normalize_per_channel_nhwc_and_nchw() -> None:
    batch = _batch().astype(np.float32) / 255
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    got = normalize(batch, mean, std)
    want = (batch - np.array(mean, np.float32)) / np.array(std, np.float32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)
    chw = normalize(batch.transpose(0, 3, 1, 2), mean, std, layout="NCHW")
    np.testing.assert_allclose(chw, want.transpose(0, 3, 1, 2), rtol=1e-6)


def test_normalize_grayscale_uint8_with_one_value() -> None:
    batch = _batch((4, 5, 5))
    got = normalize(batch, [33.0], 2.0)
    np.testing.assert_allclose(got, (batch.astype(np.float32) - 33) / 2, rtol=1e-6)


def test_normalize_refuses_wrong_channel_counts_and_zero_std() -> None:
    with pytest.raises(ArgumentError, match=r"mean has 2 values.*3 channel"):
        normalize(_batch(), (0.1, 0.2), 1.0)
    with pytest.raises(ArgumentError, match="std must not contain 0"):
        normalize(_batch(), 0.5, (1.0, 0.0, 1.0))


def test_compose_runs_steps_in_order_with_one_generator() -> None:
    batch = _batch()
    aug = Compose((RandomCrop(6, padding=2), RandomFlip(), Normalize(127.5, 127.5)))
    got = aug(batch, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    want = normalize(random_flip(random_crop(batch, 6, 2, rng), rng), 127.5, 127.5)
    np.testing.assert_array_equal(got, want)
    assert got.shape == (6, 6, 6, 3) and got.dtype == np.float32


def test_compose_as_batches_transform_is_reproducible() -> None:
    images = _batch((40, 8, 8, 3))
    labels = np.arange(40)
    aug = Compose((RandomCrop(8, 2, layout="NCHW"), RandomFlip(layout="NCHW")))
    kw: dict[str, Any] = {"seed": 1, "normalize": True, "layout": "NCHW", "transform": aug}
    a = [x for x, _ in batches(images, labels, 16, **kw)]
    b = [x for x, _ in batches(images, labels, 16, **kw)]
    assert [x.shape for x in a] == [(16, 3, 8, 8), (16, 3, 8, 8), (8, 3, 8, 8)]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
