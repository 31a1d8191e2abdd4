"""Split's training feeds: batches, shards, adapters and the dataset's own normaliser."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import imagesets


@pytest.fixture
def train(fake_mnist: dict[str, Any]) -> imagesets.Split:
    return imagesets.load("fake-mnist", progress=False)["train"]


def test_batches_cover_the_epoch_once_in_a_seeded_order(train: imagesets.Split) -> None:
    first = [y for _, y in train.batches(16, seed=3)]
    again = [y for _, y in train.batches(16, seed=3)]
    other = [y for _, y in train.batches(16, seed=3, epoch=1)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    x, y = next(iter(train.batches(16, shuffle=False)))
    assert x.shape == (16, 28, 28) and y.dtype == np.int64
    assert np.array_equal(x, train.images[:16]) and np.array_equal(y, train.labels[:16])
    seen = np.concatenate(list(_indices(train, seed=3)))
    assert np.array_equal(np.sort(seen), np.arange(len(train)))


def _indices(split: imagesets.Split, **kwargs: Any) -> list[np.ndarray]:
    """Recover each batch's rows from the images (fake images are unique)."""
    flat = split.images.reshape(len(split), -1)
    lookup = {row.tobytes(): i for i, row in enumerate(flat)}
    return [
        np.array([lookup[r.tobytes()] for r in x.reshape(len(x), -1)])
        for x, _ in split.batches(16, **kwargs)
    ]


def test_normalize_layout_and_split_default(fake_mnist: dict[str, Any]) -> None:
    norm = imagesets.load("fake-mnist", normalize=True, progress=False)["train"]
    x, _ = next(iter(norm.batches(8, shuffle=False, layout="NCHW")))
    assert x.dtype == np.float32 and x.shape == (8, 1, 28, 28)
    assert np.allclose(x[:, 0], norm.arrays["images"][:8] / 255.0)


def test_shards_are_disjoint_and_complete(train: imagesets.Split) -> None:
    parts = [train.shard(i, 3) for i in range(3)]
    assert sum(len(p) for p in parts) == len(train)
    rows = np.concatenate([p.images.reshape(len(p), -1) for p in parts])
    assert len(np.unique(rows, axis=0)) == len(train)
    with pytest.raises(ValueError, match=r"shard\(index, count\)"):
        train.shard(3, 3)


def test_torch_loader_matches_numpy_batches(train: imagesets.Split) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is installed by requirements-test.txt")
    ours = list(train.batches(16, seed=1, normalize=True, layout="NCHW"))
    theirs = list(train.torch_loader(16, seed=1))
    assert len(ours) == len(theirs)
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert isinstance(tx, torch.Tensor) and np.array_equal(tx.numpy(), x)
        assert np.array_equal(ty.numpy(), y)
    item_x, item_y = train.to_torch()[5]
    assert tuple(item_x.shape) == (1, 28, 28) and item_y == int(train.labels[5])


def test_to_dask_is_lazy_and_equal(train: imagesets.Split) -> None:
    pytest.importorskip("dask", reason="dask is in the test extra")
    images, labels = train.to_dask(chunks=16)
    assert images.chunks[0][0] == 16
    assert np.array_equal(images.compute(), train.images)
    assert np.array_equal(labels.compute(), train.labels)


def test_normalizer_uses_the_split_statistics(train: imagesets.Split) -> None:
    step = train.normalizer()
    x, _ = next(iter(train.batches(len(train), shuffle=False, normalize=True)))
    out = step(x, np.random.default_rng(0))
    assert abs(float(out.mean())) < 1e-3 and abs(float(out.std()) - 1) < 1e-3


def test_readme_sharded_batches_need_no_seed(train: imagesets.Split) -> None:
    """README: ``split.batches(256, shard=(rank, world_size))``; every rank agrees (seed 0)."""
    world_size = 3
    parts = [np.concatenate([y for _, y in train.batches(16, shard=(rank, world_size))])
             for rank in range(world_size)]  # fmt: skip
    again = [np.concatenate([y for _, y in train.batches(16, seed=0, shard=(rank, world_size))])
             for rank in range(world_size)]  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    rows = np.concatenate([i for r in range(world_size) for i in _indices(train, shard=(r, 3))])
    assert np.array_equal(np.sort(rows), np.arange(len(train)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epoch": 1.5}, "epoch: expected an int >= 0"),
        ({"epoch": -1}, "epoch: expected an int >= 0"),
        ({"shard": 5}, "shard: expected a pair"),
        ({"shard": (3, 2)}, "shard: the index must be in 0..1"),
    ],
)
def test_split_feeds_refuse_bad_options(
    train: imagesets.Split, kwargs: dict[str, Any], match: str
) -> None:
    from imagesets.errors import ArgumentError

    for size in (0, -1, 1.5):
        with pytest.raises(ArgumentError, match="batch_size"):
            train.batches(size)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=match):
        train.batches(16, **kwargs)
    pytest.importorskip("torch", reason="PyTorch is installed by requirements-test.txt")
    with pytest.raises(ArgumentError, match=match):
        train.torch_loader(16, **kwargs)
