"""Per-channel statistics over all pixels, and class counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import ArgumentError
from imagesets.stats import ChannelStats, channel_stats, class_counts


def _reference(images: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    x = images.astype(np.float64) / 255
    axes = tuple(range(x.ndim - 1)) if images.ndim == 4 else None
    return x.mean(axis=axes), x.std(axis=axes)


def _photos(n: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """Images whose brightness differs from image to image, like real photographs."""
    rng = np.random.default_rng(seed)
    base = rng.integers(20, 230, size=(n, 1, 1, 3))
    noise = rng.normal(0, 25, size=(n, 32, 32, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("chunk", [None, 1, 7, 1000])
def test_matches_float64_numpy_over_all_pixels(chunk: int | None) -> None:
    images = np.random.default_rng(1).integers(0, 256, size=(53, 32, 32, 3), dtype=np.uint8)
    stats = channel_stats(images, chunk=chunk)
    mean, std = _reference(images)
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(stats.std, std, rtol=1e-12)
    assert stats.count == 53
    assert len(stats.mean) == len(stats.std) == 3


def test_result_does_not_depend_on_chunk_size() -> None:
    images = _photos(40)
    assert channel_stats(images, chunk=3) == channel_stats(images, chunk=40)


def test_memmap_input(tmp_path: Path) -> None:
    images = _photos(300, seed=2)
    mm = np.lib.format.open_memmap(
        tmp_path / "x.npy", mode="w+", dtype=np.uint8, shape=images.shape
    )
    mm[:] = images
    mm.flush()
    del mm
    ro = np.load(tmp_path / "x.npy", mmap_mode="r")
    stats = channel_stats(ro, chunk=64)
    mean, std = _reference(images)
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(stats.std, std, rtol=1e-12)


def test_grayscale_has_one_channel() -> None:
    images = np.random.default_rng(3).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    stats = channel_stats(images)
    mean, std = _reference(images)
    assert stats.mean == pytest.approx((float(mean),), rel=1e-12)
    assert stats.std == pytest.approx((float(std),), rel=1e-12)


def test_is_not_the_mean_of_per_image_stds() -> None:
    """The CIFAR-10 trap: 0.2023/0.1994/0.2010 are per-image stds averaged, not the std."""
    images = _photos(200, seed=4)
    stats = channel_stats(images)
    per_image = (images.astype(np.float64) / 255).std(axis=(1, 2)).mean(axis=0)
    _, std = _reference(images)
    np.testing.assert_allclose(stats.std, std, rtol=1e-12)
    assert all(s > p + 0.05 for s, p in zip(stats.std, per_image, strict=True))


def test_constant_images_are_exact() -> None:
    flat = np.full((5, 4, 4, 3), 255, dtype=np.uint8)
    assert channel_stats(flat) == ChannelStats(mean=(1.0, 1.0, 1.0), std=(0.0, 0.0, 0.0), count=5)
    halves = np.stack([np.zeros((2, 2, 1), np.uint8), np.full((2, 2, 1), 255, np.uint8)])
    stats = channel_stats(halves)
    assert stats.mean == (0.5,) and stats.std == (0.5,)  # per-image std would be 0


def test_large_counts_stay_exact_where_float32_sums_drift() -> None:
    images = np.full((4000, 32, 32, 1), 200, dtype=np.uint8)
    images[::2] = 201
    stats = channel_stats(images)
    assert stats.mean[0] == pytest.approx(200.5 / 255, abs=1e-15)
    assert stats.std[0] == pytest.approx(0.5 / 255, abs=1e-15)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 4, 4, 3), np.float32), "uint8 images"),
        (np.zeros((4, 4), np.uint8), "uint8 images"),
        (np.zeros((0, 4, 4, 3), np.uint8), "at least one image"),
    ],
)
def test_bad_inputs(images: np.ndarray[Any, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        channel_stats(images)


def test_class_counts() -> None:
    labels = np.array([0, 2, 2, 9, 9, 9], dtype=np.uint8)
    counts = class_counts(labels, 10)
    assert counts.dtype == np.int64
    assert counts.tolist() == [1, 0, 2, 0, 0, 0, 0, 0, 0, 3]
    assert class_counts(np.array([], dtype=np.int64), 3).tolist() == [0, 0, 0]
    big = np.random.default_rng(5).integers(0, 100, size=50_000)
    np.testing.assert_array_equal(class_counts(big, 100), [np.sum(big == k) for k in range(100)])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 10]), "label 10 is outside 0..9"),
        (np.array([-1, 3]), "label -1 is outside 0..9"),
        (np.array([0.0, 1.0]), "integer labels"),
    ],
)
def test_class_counts_errors(labels: np.ndarray[Any, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        class_counts(labels, 10)
