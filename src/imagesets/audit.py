"""Duplicate audit: exact and near-duplicate images within and across the splits of a dataset.

* **Exact** duplicates: two images whose pixels are byte for byte the same (a 128-bit BLAKE2b
  hash of each image's pixels; a packed split's images are hashed as decoded to ``size``).
* **Near** duplicates, in two steps. First, candidates: two images whose *fingerprints* have a
  cosine similarity of at least ``threshold`` (default :data:`THRESHOLD`). A fingerprint is the
  image in grayscale, shrunk to ``side`` x ``side`` (default :data:`SIDE`) by tent-weighted
  averages reaching the neighbouring cells,
  less its mean, scaled to unit length: a brightness shift and a contrast change leave it
  unchanged, a one-pixel shift or a JPEG re-encoding move it little. Candidates are found by a
  vectorised exhaustive nearest-neighbour search (float32 matrix products, a block of rows at
  a time): for each image, its :data:`NEIGHBOURS` most similar later images above the
  threshold, in ``O(N^2 side^2)`` time and ``O(N side^2)`` memory. (Without that bound a
  dataset of many look-alikes, Fashion-MNIST's plain T-shirts, gave millions of candidates
  and took over 7 minutes; exact copies beyond the bound are still found by their hash.)
  Second, each candidate is checked on its full-size pixels: the correlation of the
  two images (each less its mean brightness), at the best of the nine shifts by at most one
  pixel (borders cropped), must be at least ``pixel_threshold`` (default
  :data:`PIXEL_THRESHOLD`). A one-pixel shift keeps the fingerprint of a smooth 32 x 32
  image above 0.95, but a busy one can fall below it: lower ``threshold`` to catch those.
  Similar-looking but distinct drawings (MNIST's ones, 0.97-0.99)
  pass the first step and fail the second; a JPEG re-encoding (0.995 and up), a one-pixel
  shift or a brightness change pass both. An image with no contrast at all (one flat colour) has no
  fingerprint: it is matched by exact hash only.

Lower ``threshold`` or ``pixel_threshold`` to catch pairs that differ more (at the price of more
candidates to check, and of pairs of distinct images); raise them for only the closest pairs.

>>> report = audit(dataset.splits)  # doctest: +SKIP
>>> report.counts[("train", "test")]  # doctest: +SKIP
{'exact': 0, 'near': 12, 'images': 10}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._audit_defaults import PIXEL_THRESHOLD, SIDE, THRESHOLD
from .errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .dataset import Split
    from .sources import Pixels

__all__ = [
    "PIXEL_THRESHOLD",
    "SIDE",
    "THRESHOLD",
    "AuditReport",
    "audit",
    "exact_hashes",
    "fingerprints",
]

#: A packed split's images are decoded to this side unless ``size`` says otherwise.
DECODE_SIZE = 64
_CHUNK = 2048  # images read at a time
_BLOCK = 512  # rows of the similarity matrix computed at a time
#: Candidates kept per image: its most similar later images above the threshold.
NEIGHBOURS = 8

F32 = NDArray[np.float32]
Tick = Callable[[int], None]


def _area_matrix(n: int, side: int) -> F32:
    """``(side, n)``: row ``k`` is a tent of weights over the pixels around the centre of cell
    ``k`` of ``side`` equal cells, reaching the centres of both neighbouring cells (each cell
    twice as wide as in a plain area average, so a shift by one pixel moves the fingerprint
    little), rows summing to 1."""
    width = n / side
    centres = (np.arange(side) + 0.5) * width
    pixel = np.arange(n) + 0.5
    weights = np.clip(1 - np.abs(pixel[None, :] - centres[:, None]) / width, 0, None)
    out: F32 = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def _chunks(pixels: Pixels, chunk: int = _CHUNK) -> Iterator[NDArray[Any]]:
    for start in range(0, len(pixels), chunk):
        yield np.asarray(pixels[start : start + chunk])


def fingerprints(pixels: Pixels, side: int = SIDE, tick: Tick | None = None) -> F32:
    """float32 ``(N, side * side)``: each image's fingerprint (see the module docstring),
    unit length, or all zeros for a flat image. ``pixels`` is uint8 ``(N, H, W)`` or
    ``(N, H, W, C)`` (an array or a split's lazy pixels)."""
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or not 2 <= side <= 64:
        raise ArgumentError(f"side: expected an int in 2..64, found {side!r}")
    h, w = int(pixels.shape[1]), int(pixels.shape[2])
    rows, cols = _area_matrix(h, min(side, h)), _area_matrix(w, min(side, w)).T
    out = np.zeros((len(pixels), rows.shape[0] * cols.shape[1]), np.float32)
    start = 0
    for block in _chunks(pixels):
        gray = block.astype(np.float32)
        if gray.ndim == 4:
            gray = gray.mean(axis=3)
        small = np.matmul(np.matmul(rows, gray), cols).reshape(len(block), -1)
        small -= small.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(small, axis=1, keepdims=True)
        flat = norm[:, 0] < 1e-3
        small /= np.where(flat[:, None], 1.0, norm)
        small[flat] = 0.0
        out[start : start + len(block)] = small
        start += len(block)
        if tick:
            tick(len(block))
    return out


def exact_hashes(pixels: Pixels, tick: Tick | None = None) -> NDArray[np.void]:
    """``(N,)`` 16-byte BLAKE2b digests of each image's pixel bytes (and shape)."""
    digests: list[bytes] = []
    for block in _chunks(pixels):
        block = np.ascontiguousarray(block)
        tag = repr(block.shape[1:]).encode()
        digests.extend(hashlib.blake2b(row.data, digest_size=16, key=tag).digest() for row in block)
        if tick:
            tick(len(block))
    return np.frombuffer(b"".join(digests), dtype="V16")


def _exact_pairs(hashes: NDArray[np.void]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every pair ``i < j`` of equal hashes (global indices)."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(hashes)])
    left: list[int] = []
    right: list[int] = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        members = np.sort(order[start : start + size])
        a, b = np.triu_indices(size, k=1)
        left.extend(members[a].tolist())
        right.extend(members[b].tolist())
    return np.asarray(left, np.int64), np.asarray(right, np.int64)


def _near_pairs(
    prints: F32, threshold: float, tick: Tick | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64], F32]:
    """Pairs ``i < j`` with ``prints[i] . prints[j] >= threshold`` (for each ``i`` its
    :data:`NEIGHBOURS` most similar ``j``), and their similarity."""
    left, right, sims = [], [], []
    for start in range(0, len(prints), _BLOCK):
        stop = min(start + _BLOCK, len(prints))
        block = prints[start:stop] @ prints[start:].T  # (rows, N - start)
        rows = np.arange(stop - start)
        block[rows[:, None] >= np.arange(block.shape[1])[None, :]] = -2.0  # j > i only
        if block.shape[1] > NEIGHBOURS:
            top = np.argpartition(block, -NEIGHBOURS, axis=1)[:, -NEIGHBOURS:]
            best = np.take_along_axis(block, top, axis=1)
            i, col = np.nonzero(best >= threshold)
            j = top[i, col]
        else:
            i, j = np.nonzero(block >= threshold)
        left.append(i + start)
        right.append(j + start)
        sims.append(block[i, j])
        if tick:
            tick(stop - start)
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return (
        np.concatenate(left).astype(np.int64),
        np.concatenate(right).astype(np.int64),
        np.concatenate(sims).astype(np.float32),
    )


def _take(pixels: Pixels, rows: NDArray[np.int64]) -> NDArray[Any]:
    """Rows ``rows`` (sorted or not) of ``pixels`` as one array."""
    if isinstance(pixels, np.ndarray):
        return np.asarray(pixels[rows])
    return np.asarray(pixels.take(rows))


def pixel_similarity(a: NDArray[Any], b: NDArray[Any]) -> F32:
    """float32 ``(n,)``: for each pair of images ``a[k]``, ``b[k]`` (uint8 ``(n, H, W[, C])``),
    the correlation (-1..1) of their pixels in grayscale (the mean of the channels: JPEG's
    chroma subsampling does not count), each image less its mean, at the best of the nine
    shifts of ``b`` by -1..1 pixels in each direction (one-pixel borders cropped; 0 when one
    of them is flat)."""
    x = a.astype(np.float32).reshape(*a.shape[:3], -1).mean(axis=3, keepdims=True)
    y = b.astype(np.float32).reshape(*b.shape[:3], -1).mean(axis=3, keepdims=True)
    x -= x.mean(axis=(1, 2, 3), keepdims=True)
    y -= y.mean(axis=(1, 2, 3), keepdims=True)
    h, w = x.shape[1:3]
    core = x[:, 1 : h - 1, 1 : w - 1]
    core_norm = np.sqrt((core * core).sum(axis=(1, 2, 3)))
    best = np.full(len(x), -1.0, np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = y[:, 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
            norm = core_norm * np.sqrt((moved * moved).sum(axis=(1, 2, 3)))
            dot = (core * moved).sum(axis=(1, 2, 3))
            best = np.maximum(best, np.where(norm > 0, dot / np.maximum(norm, 1e-12), 0.0))
    return best


def _verify(
    pixels: list[Pixels], owner: NDArray[Any], starts: NDArray[Any],
    i: NDArray[np.int64], j: NDArray[np.int64], chunk: int = 4096,
) -> F32:  # fmt: skip
    """:func:`pixel_similarity` of each candidate pair (global indices ``i``, ``j``)."""
    out = np.zeros(len(i), np.float32)
    for start in range(0, len(i), chunk):
        ii, jj = i[start : start + chunk], j[start : start + chunk]
        a = np.empty((len(ii), *pixels[0].shape[1:]), np.uint8)
        b = np.empty_like(a)
        for which, (glob, dest) in enumerate(((ii, a), (jj, b))):
            del which
            for s in np.unique(owner[glob]).tolist():
                mine = owner[glob] == s
                local = glob[mine] - starts[s]
                order = np.argsort(local, kind="stable")
                rows = np.empty_like(local)
                rows[order] = np.arange(len(local))
                dest[mine] = _take(pixels[s], local[order])[rows]
        out[start : start + chunk] = pixel_similarity(a, b)
    return out


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit` found.

    Attributes:
        splits: split name -> its number of images, in the order audited.
        threshold: the fingerprint similarity of a candidate pair.
        side: the fingerprint side.
        pixel_threshold: the smallest pixel correlation of a near-duplicate pair.
        candidates: the number of candidate pairs checked on their pixels.
        pairs: one row per pair, sorted by similarity (highest first), as numpy arrays:
            ``split_a``, ``index_a``, ``split_b``, ``index_b`` (split positions in
            :attr:`splits` and indices in those splits, ``(split_a, index_a) <
            (split_b, index_b)``), ``similarity`` (float32 fingerprint cosine; 1.0 for
            exact), ``pixels`` (float32 pixel correlation; 1.0 for exact) and ``exact``.
        images: the audited splits, to draw pairs from (not part of :meth:`as_dict`).
    """

    splits: dict[str, int]
    threshold: float
    side: int
    pixel_threshold: float
    candidates: int
    pairs: dict[str, NDArray[Any]]
    images: Mapping[str, Split] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.pairs["similarity"])

    @property
    def counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """``(split_a, split_b)`` -> ``exact`` pairs, ``near`` pairs (not exact), and
        ``images``: images of ``split_b`` with a duplicate (exact or near) in ``split_a``
        (for ``("train", "test")``: the test images that have a twin in train, ciFAIR's
        measure). Every pair of splits audited is listed, zeros included."""
        names = list(self.splits)
        out: dict[tuple[str, str], dict[str, int]] = {}
        p = self.pairs
        for a in range(len(names)):
            for b in range(a, len(names)):
                rows = (p["split_a"] == a) & (p["split_b"] == b)
                exact = int(np.count_nonzero(rows & p["exact"]))
                images = np.unique(p["index_b"][rows])
                if a == b:
                    images = np.union1d(images, p["index_a"][rows])
                out[(names[a], names[b])] = {
                    "exact": exact,
                    "near": int(np.count_nonzero(rows)) - exact,
                    "images": len(images),
                }
        return out

    def table(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The pairs as rows ``{"a": split, "i": index, "b": split, "j": index,
        "similarity": float, "kind": "exact"|"near"}``, most similar first."""
        names, p = list(self.splits), self.pairs
        count = len(self) if limit is None else min(limit, len(self))
        return [
            {
                "a": names[int(p["split_a"][k])],
                "i": int(p["index_a"][k]),
                "b": names[int(p["split_b"][k])],
                "j": int(p["index_b"][k]),
                "similarity": round(float(p["similarity"][k]), 4),
                "pixels": round(float(p["pixels"][k]), 4),
                "kind": "exact" if p["exact"][k] else "near",
            }
            for k in range(count)
        ]

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Plain JSON-ready data: splits, threshold, side, counts (``"a/b"`` keys), pairs."""
        return {
            "splits": self.splits,
            "threshold": self.threshold,
            "side": self.side,
            "pixel_threshold": self.pixel_threshold,
            "candidates": self.candidates,
            "counts": {f"{a}/{b}": c for (a, b), c in self.counts.items()},
            "pairs": self.table(limit),
        }

    def picture(self, top: int = 16, scale: int | None = None) -> Image.Image:
        """The ``top`` most similar pairs side by side, one pair a row, each with its splits,
        indices and similarity; an RGB Pillow image."""
        from PIL import Image, ImageDraw

        from .notebook import picture_of
        from .viz import _font, scaled

        rows = self.table(top)
        if not rows:
            raise ArgumentError("picture: the audit found no pairs to draw")
        tiles = [
            (np.asarray(picture_of(self.images[r["a"]], r["i"]).convert("RGB")),
             np.asarray(picture_of(self.images[r["b"]], r["j"]).convert("RGB")))
            for r in rows
        ]  # fmt: skip
        side = max(max(a.shape[:2]) for pair in tiles for a in pair)
        scale = scale if scale is not None else max(1, 96 // side)
        cell, font = side * scale, _font(12)
        text_w = 300
        sheet = Image.new("RGB", (2 * cell + text_w + 12, len(rows) * (cell + 4) + 4), "white")
        draw = ImageDraw.Draw(sheet)
        for k, (row, (a, b)) in enumerate(zip(rows, tiles, strict=True)):
            top_y = 4 + k * (cell + 4)
            sheet.paste(scaled(a, scale).convert("RGB"), (4, top_y))
            sheet.paste(scaled(b, scale).convert("RGB"), (8 + cell, top_y))
            text = f"{row['a']} {row['i']} ~ {row['b']} {row['j']}  {row['kind']}"
            text += f" {row['similarity']:.3f}/{row['pixels']:.3f}"
            at = (12 + 2 * cell, top_y + cell // 2)
            draw.text(at, text, fill="black", font=font, anchor="lm")
        return sheet


def _check_unit(name: str, value: object) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    if not ok:
        raise ArgumentError(f"{name}: expected a number in (0, 1], found {value!r}")


def _pixels(split: Split, size: int | None) -> Pixels:
    if split.kind != "arrays" and size is None:
        size = DECODE_SIZE
    return split.pixels(size)


def audit(
    splits: Mapping[str, Split],
    *,
    threshold: float = THRESHOLD,
    side: int = SIDE,
    pixel_threshold: float = PIXEL_THRESHOLD,
    size: int | None = None,
    progress: bool = False,
) -> AuditReport:
    """Exact and near-duplicate pairs within and across ``splits`` (see the module docstring).

    Args:
        splits: split name -> split, e.g. ``dataset.splits``; images of one shape across them
            (a packed split is decoded to ``size`` x ``size``, default :data:`DECODE_SIZE`).
        threshold: cosine similarity in (0, 1] at or above which two images are
            near-duplicates (default :data:`THRESHOLD`).
        side: fingerprint side, 2..64 (default :data:`SIDE`).
        pixel_threshold: the smallest pixel correlation in (0, 1] of a near pair (default
            :data:`PIXEL_THRESHOLD`).
        size: the decode side of packed splits.
        progress: a bar over fingerprinting and the search.

    Raises:
        ArgumentError: a bad threshold or side, no splits, or splits of different shapes.
    """
    _check_unit("threshold", threshold)
    _check_unit("pixel_threshold", pixel_threshold)
    if not splits:
        raise ArgumentError("audit: no splits to audit")
    pixels = {name: _pixels(split, size) for name, split in splits.items()}
    shapes = {name: tuple(p.shape[1:]) for name, p in pixels.items()}
    if len(set(shapes.values())) > 1:
        raise ArgumentError(
            f"audit: the splits hold images of different shapes {shapes}; audit them one at a"
            " time, or pass size= to decode packed splits to one size"
        )
    from ._progress import bar

    total = sum(len(p) for p in pixels.values())
    with bar(progress, total=3 * total, desc="audit", unit="img") as meter:
        prints = np.concatenate([fingerprints(p, side, meter.update) for p in pixels.values()])
        hashes = np.concatenate([exact_hashes(p, meter.update) for p in pixels.values()])
        near_i, near_j, sims = _near_pairs(prints, float(threshold), meter.update)
    owner = np.repeat(np.arange(len(pixels)), [len(p) for p in pixels.values()])
    starts = np.r_[0, np.cumsum([len(p) for p in pixels.values()])][:-1]
    diffs = _verify(list(pixels.values()), owner, starts, near_i, near_j)
    close = diffs >= pixel_threshold
    exact_i, exact_j = _exact_pairs(hashes)
    pairs = _merge(exact_i, exact_j, near_i[close], near_j[close], sims[close], diffs[close])
    i, j = pairs["i"], pairs["j"]
    return AuditReport(
        splits={name: len(p) for name, p in pixels.items()},
        threshold=float(threshold),
        side=int(side),
        pixel_threshold=float(pixel_threshold),
        candidates=len(near_i),
        pairs={
            "split_a": owner[i],
            "index_a": i - starts[owner[i]],
            "split_b": owner[j],
            "index_b": j - starts[owner[j]],
            "similarity": pairs["similarity"],
            "pixels": pairs["pixels"],
            "exact": pairs["exact"],
        },
        images=splits,
    )


def _merge(
    exact_i: NDArray[np.int64],
    exact_j: NDArray[np.int64],
    near_i: NDArray[np.int64],
    near_j: NDArray[np.int64],
    sims: F32,
    diffs: F32,
) -> dict[str, NDArray[Any]]:
    """One row per pair (``i < j``, global indices): exact pairs with similarity 1, near
    pairs that are not exact, most similar first (then by ``i``, ``j``)."""
    width = np.int64(max(int(near_j.max(initial=0)), int(exact_j.max(initial=0))) + 1)
    exact_keys = exact_i * width + exact_j
    near_keys = near_i * width + near_j
    fresh = ~np.isin(near_keys, exact_keys)
    keys = np.concatenate([exact_keys, near_keys[fresh]])
    similarity = np.concatenate([np.ones(len(exact_keys), np.float32), sims[fresh]])
    pixels = np.concatenate([np.ones(len(exact_keys), np.float32), diffs[fresh]])
    exact = np.r_[np.ones(len(exact_keys), bool), np.zeros(int(fresh.sum()), bool)]
    order = np.lexsort((keys, -similarity))
    return {
        "i": keys[order] // width,
        "j": keys[order] % width,
        "similarity": similarity[order],
        "pixels": pixels[order],
        "exact": exact[order],
    }
