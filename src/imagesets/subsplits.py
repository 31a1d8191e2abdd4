"""Split arithmetic: seeded class-stratified parts, tfds-style slices and their provenance.

Everything here picks *row numbers* of a split; :meth:`imagesets.dataset.Split.part` turns
them into index views over the same memory maps (no image is copied).

**Stratified parts** (:func:`stratified_parts`). Each part asks for a fraction of the split
(a float in (0, 1]) or a number of images (an int >= 1). Every class ``c`` with ``n_c`` images
gives part ``p`` either ``floor(n_c * f_p)`` or ``ceil(n_c * f_p)`` images (``f_p`` = count / N
for a count), so each class's share is within one image of the asked fraction. Each part's
total is ``N * f_p`` rounded half up (a count exactly) whenever the classes allow it, which
they always do for one part and its rest (``validation=``); with several parts it may be the
other neighbour of ``N * f_p`` (one class of 10 split 2.5 / 2.5 / 5 gives 3 / 2 / 5).

Which images: the images of class ``c``, in stored order, are permuted by
:func:`permutation` seeded with ``[seed, c]`` and cut into consecutive runs, one per part in
the order asked. The permutation comes from numpy's raw
PCG64 bit stream (stable across numpy versions and machines, NEP 19), not from
``Generator.permutation``, whose algorithm is not promised; all rounding is exact integer
arithmetic on the decimal the caller wrote (``0.1`` is 1/10).

**Slices** (:func:`parse_slice`): ``"train[:90%]"``, ``"train[90%:]"``, ``"train[:1000]"``,
``"test[-100:]"``, ``"train[10%:20%]"``: ``base[start:stop]`` with each bound empty, an int
(absolute row, negative from the end) or an int percent (-100..100). A percent bound ``p`` of
a split of ``N`` images is row ``floor(p * N / 100 + 1/2)`` (half up, exact), counted from the
end when negative; so ``train[:p%]`` and ``train[p%:]`` are complementary. An absolute bound
beyond the split, a percent beyond 100 or a slice that selects nothing is an
:class:`~imagesets.errors.ArgumentError` (python's slices would clip silently).

>>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
>>> parts = stratified_parts(labels, {"validation": 0.5}, seed=0, rest="train")
>>> [len(p) for p in parts.values()], sorted(labels[parts["validation"]].tolist())
([5, 5], [0, 0, 1, 1, 1])
>>> parse_slice("train[:90%]").rows(1000)
slice(0, 900, None)
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ArgumentError, UnknownSplitError

__all__ = [
    "ManifestView",
    "SliceSpec",
    "close_names",
    "digest",
    "half_up",
    "parse_slice",
    "permutation",
    "split_name",
    "stratified_parts",
    "take_runs",
    "unknown_split",
]

Int64s = NDArray[np.int64]
Size = int | float


def permutation(n: int, seed: int, label: int) -> NDArray[np.intp]:
    """A permutation of ``range(n)`` from ``default_rng([seed, label])``'s raw 64-bit stream.

    Raw bit-generator output is stable across numpy versions and machines (NEP 19), whereas
    ``Generator.permutation``'s algorithm is not promised to stay the same.
    """
    raw = np.random.default_rng([seed, label]).bit_generator.random_raw(n)
    order: NDArray[np.intp] = np.argsort(raw, kind="stable")
    return order


def half_up(value: Fraction) -> int:
    """``value`` rounded to the nearest int, halves up (exact)."""
    return math.floor(value + Fraction(1, 2))


def exact(value: float) -> Fraction:
    """The fraction the caller wrote: ``0.1`` is 1/10, not the binary double's value."""
    return Fraction(repr(float(value)))


def digest(rows: NDArray[Any]) -> str:
    """sha256 of ``rows`` as little-endian int64: names a selection of rows on any machine."""
    data = np.ascontiguousarray(rows, dtype="<i8").tobytes()
    return hashlib.sha256(data).hexdigest()


def _groups(labels: NDArray[Any]) -> tuple[NDArray[Any], list[Int64s]]:
    """The distinct labels (ascending) and, for each, its row numbers in stored order."""
    order = np.argsort(labels, kind="stable")
    values, counts = np.unique(labels, return_counts=True)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    rows = [order[a:b].astype(np.int64) for a, b in itertools.pairwise(bounds)]
    return values, rows


def take_runs(labels: NDArray[Any], counts: NDArray[np.int64], seed: int) -> list[Int64s]:
    """Cut each class's permuted rows into consecutive runs, one per part.

    Args:
        labels: ``(N,)`` non-negative integers.
        counts: int ``(K, P)``: row ``k`` the sizes of the parts taken from the ``k``-th
            distinct label (ascending), summing to at most that label's count.
        seed: a non-negative int; class ``c`` is permuted by :func:`permutation` ``[seed, c]``.

    Returns:
        ``P`` int64 arrays of row numbers, each sorted ascending, pairwise disjoint.
    """
    values, groups = _groups(labels)
    parts: list[list[Int64s]] = [[] for _ in range(counts.shape[1])]
    for k, (value, rows) in enumerate(zip(values, groups, strict=True)):
        order = rows[permutation(len(rows), seed, int(value))]
        cuts = np.concatenate([[0], np.cumsum(counts[k])])
        for p in range(counts.shape[1]):
            parts[p].append(order[cuts[p] : cuts[p + 1]])
    return [np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts]


# --------------------------------------------------------------------------- stratified parts


def _fractions(sizes: Mapping[str, Size], n: int, what: str) -> list[Fraction]:
    """Each asked size as a fraction of ``n``; an ArgumentError for anything else."""
    out = []
    for name, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
            raise ArgumentError(
                f"{what}: {name!r} must be a fraction in (0, 1] or a number of images >= 1, "
                f"found {size!r}"
            )
        if isinstance(size, (int, np.integer)):
            if not 1 <= size <= n:
                raise ArgumentError(
                    f"{what}: {name!r} = {size} images, but the split has {n}; "
                    f"expected 1..{n} (or a fraction in (0, 1))"
                )
            out.append(Fraction(int(size), n))
        else:
            if not (math.isfinite(size) and 0 < size <= 1):
                raise ArgumentError(
                    f"{what}: {name!r} = {size}; a fraction must be in (0, 1] "
                    "(or pass an int number of images)"
                )
            out.append(exact(float(size)))
    if sum(out, Fraction(0)) > 1:
        raise ArgumentError(
            f"{what}: the parts {dict(sizes)} ask for {float(sum(out)):.6g} of the split "
            f"({n} images); together they must be at most 1 (all of it)"
        )
    return out


class _Table:
    """Controlled rounding of the table ``n_k * f_p`` (classes x parts, the last part the
    rest): each cell to its floor or ceiling, each row to ``n_k``, each column but the rest
    to its target total (else to the floor or ceiling of its exact total; a fractional
    table meets these bounds, so an integer one exists). Augmenting paths of a bipartite
    flow over the cells with a fractional part, raising the columns to their floors, then
    to their targets, then to their ceilings; deterministic."""

    def __init__(self, n: list[int], fracs: list[Fraction]) -> None:
        q = math.lcm(*(f.denominator for f in fracs))
        nums = [f.numerator * (q // f.denominator) for f in fracs]
        self.floor = [[nk * p // q for p in nums] for nk in n]
        self.rem = [[nk * p % q for p in nums] for nk in n]
        self.need = [nk - sum(row) for nk, row in zip(n, self.floor, strict=True)]
        total = sum(n)
        self.col_floor = [sum(row[p] for row in self.floor) for p in range(len(fracs))]
        self.exact = [total * f for f in fracs]
        self.up = [[False] * len(fracs) for _ in n]
        self.row_flow = [0] * len(n)
        self.col_flow = [0] * len(fracs)

    def solve(self, targets: list[int]) -> list[list[int]]:
        """The rounded table; the column totals ``targets`` where reachable."""
        lower = [math.floor(e) - c for e, c in zip(self.exact, self.col_floor, strict=True)]
        upper = [math.ceil(e) - c for e, c in zip(self.exact, self.col_floor, strict=True)]
        # the rest: any total its cells allow (the parts asked for come first)
        lower[-1], upper[-1] = 0, sum(1 for row in self.rem if row[-1])
        wanted = [t - c for t, c in zip(targets, self.col_floor, strict=True)]
        middle = [max(lo, min(w, hi)) for lo, w, hi in zip(lower, wanted, upper, strict=True)]
        for caps in (lower, middle, upper):
            self._greedy(caps)
            while self._augment(caps):
                pass
        if self.row_flow != self.need:  # pragma: no cover - a fractional solution exists
            raise AssertionError("stratified rounding found no solution")
        return [
            [f + int(u) for f, u in zip(frow, urow, strict=True)]
            for frow, urow in zip(self.floor, self.up, strict=True)
        ]

    def _greedy(self, caps: list[int]) -> None:
        for p, cap in enumerate(caps):
            rows = sorted(range(len(self.need)), key=lambda k: (-self.rem[k][p], k))
            for k in rows:
                if self.col_flow[p] >= cap or self.rem[k][p] == 0:
                    break
                if not self.up[k][p] and self.row_flow[k] < self.need[k]:
                    self._flip(k, p, True)

    def _flip(self, k: int, p: int, up: bool) -> None:
        self.up[k][p] = up
        step = 1 if up else -1
        self.row_flow[k] += step
        self.col_flow[p] += step

    def _augment(self, caps: list[int]) -> bool:
        """One augmenting path from a class short of its count to a part under its cap."""
        parent_of_col: dict[int, int] = {}
        parent_of_row: dict[int, int] = {}
        queue = [k for k in range(len(self.need)) if self.row_flow[k] < self.need[k]]
        seen = set(queue)
        for k in queue:  # the queue grows while it is walked: breadth first
            for p in range(len(caps)):
                if self.up[k][p] or self.rem[k][p] == 0 or p in parent_of_col:
                    continue
                parent_of_col[p] = k
                if self.col_flow[p] < caps[p]:
                    self._apply(p, parent_of_col, parent_of_row)
                    return True
                for j in range(len(self.need)):
                    if self.up[j][p] and j not in seen:
                        seen.add(j)
                        parent_of_row[j] = p
                        queue.append(j)
        return False

    def _apply(self, p: int, parent_of_col: dict[int, int], parent_of_row: dict[int, int]) -> None:
        self.col_flow[p] += 1
        while True:
            k = parent_of_col[p]
            self.up[k][p] = True
            if k not in parent_of_row:
                self.row_flow[k] += 1
                return
            p = parent_of_row[k]
            self.up[k][p] = False


def _targets(total: int, fracs: list[Fraction]) -> list[int]:
    """Each part's size: ``total * f`` rounded half up, the rest what remains."""
    sizes = [half_up(total * f) for f in fracs[:-1]]
    return [*sizes, total - sum(sizes)]


def stratified_parts(
    labels: NDArray[Any],
    sizes: Mapping[str, Size],
    seed: int,
    *,
    rest: str | None = None,
    what: str = "split",
) -> dict[str, Int64s]:
    """Seeded, class-stratified parts of ``range(len(labels))`` (see the module docstring).

    Args:
        labels: ``(N,)`` non-negative integers (all zeros: a plain seeded split).
        sizes: part name -> fraction in (0, 1] or number of images >= 1; together at most
            the whole split. Parts are cut in this order from each class's permutation.
        seed: a non-negative int.
        rest: the name of a part taking every row the others leave (cut last); None to
            leave those rows out.
        what: how error messages name the call (``"validation"``, ``"split_fractions"``).

    Returns:
        part name -> int64 row numbers, sorted ascending, pairwise disjoint; every part
        non-empty.

    Raises:
        ArgumentError: a bad size, sizes over the whole split, a part that would be empty.
    """
    arr = np.asarray(labels)
    n = len(arr)
    if arr.ndim != 1 or (n and (arr.dtype.kind not in "iu" or arr.min() < 0)):
        raise ArgumentError(
            f"{what}: labels must be a 1-d array of non-negative integers, found "
            f"{arr.dtype} {arr.shape}"
        )
    check_seed(seed, what)
    if not sizes:
        raise ArgumentError(f"{what}: expected at least one part, found none")
    fracs = _fractions(sizes, n, what)
    names = list(sizes)
    if rest is not None:
        if rest in sizes:
            raise ArgumentError(f"{what}: part {rest!r} is named twice")
        names.append(rest)
    fracs.append(1 - sum(fracs, Fraction(0)))  # the rest column, kept or not
    _, counts = np.unique(arr, return_counts=True)
    table = _Table([int(c) for c in counts], fracs).solve(_targets(n, fracs))
    runs = take_runs(arr, np.asarray(table, dtype=np.int64), seed)
    parts = dict(zip(names, runs, strict=False))
    empty = [name for name, rows in parts.items() if len(rows) == 0]
    if empty:
        asked = {**sizes, **({rest: "the rest"} if rest else {})}
        raise ArgumentError(
            f"{what}: part {empty[0]!r} of {n} images would be empty (asked {asked}); "
            "ask for a larger share"
        )
    return parts


def check_seed(seed: object, what: str) -> int:
    """``seed`` as a non-negative int, or an ArgumentError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"{what}: seed must be a non-negative int, found {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------- slices


@dataclass(frozen=True)
class Bound:
    """One bound of a slice: ``value`` rows, or percent of the split if ``percent``."""

    value: int
    percent: bool

    def row(self, n: int) -> int:
        """The row this bound names in a split of ``n`` images (0..n)."""
        size = abs(self.value)
        rows = half_up(Fraction(size * n, 100)) if self.percent else size
        return n - rows if self.value < 0 else rows


@dataclass(frozen=True)
class SliceSpec:
    """A split name with an optional tfds-style slice: ``base[start:stop]``."""

    name: str
    base: str
    start: Bound | None = None
    stop: Bound | None = None

    @property
    def sliced(self) -> bool:
        """True if the name has a ``[...]`` part."""
        return self.name != self.base

    def rows(self, n: int) -> slice:
        """The rows of a split of ``n`` images: a slice with a non-negative start < stop.

        Raises:
            ArgumentError: an absolute bound beyond ``n``, or no rows selected.
        """
        for bound in (self.start, self.stop):
            if bound is not None and not bound.percent and abs(bound.value) > n:
                raise ArgumentError(
                    f"split {self.name!r}: bound {bound.value} is beyond split {self.base!r} "
                    f"of {n} images (expected -{n}..{n}, or a percent such as 10%)"
                )
        start = self.start.row(n) if self.start is not None else 0
        stop = self.stop.row(n) if self.stop is not None else n
        if start >= stop:
            raise ArgumentError(
                f"split {self.name!r} selects no images of split {self.base!r} ({n} images: "
                f"rows {start}:{stop})"
            )
        return slice(start, stop)


def _bound(text: str, name: str) -> Bound | None:
    text = text.strip()
    if not text:
        return None
    percent = text.endswith("%")
    digits = text[:-1] if percent else text
    body = digits[1:] if digits.startswith("-") else digits
    if not (body.isascii() and body.isdigit()):
        raise ArgumentError(
            f"split {name!r}: bound {text!r} is not an int or an int percent; write e.g. "
            "'train[:90%]', 'train[90%:]', 'train[:1000]' or 'test[-100:]'"
        )
    value = int(digits)
    if percent and abs(value) > 100:
        raise ArgumentError(f"split {name!r}: percent bound {text!r} is beyond -100%..100%")
    return Bound(value, percent)


def parse_slice(name: str) -> SliceSpec:
    """``"train[:90%]"`` -> its base split ``train`` and bounds; a plain name as it is.

    Raises:
        ArgumentError: brackets that are not one ``[start:stop]`` at the end of the name.
    """
    if "[" not in name and "]" not in name:
        return SliceSpec(name, name)
    base, sep, rest = name.partition("[")
    inner = rest[:-1] if rest.endswith("]") else None
    if not base or not sep or inner is None or "[" in inner or "]" in inner or ":" not in inner:
        raise ArgumentError(
            f"split {name!r}: expected a split name, optionally with one slice "
            "[start:stop] (e.g. 'train[:90%]', 'train[90%:]', 'train[:1000]', 'test[-100:]')"
        )
    start, _, stop = inner.partition(":")
    if ":" in stop:
        raise ArgumentError(f"split {name!r}: a slice has no step; write [start:stop]")
    return SliceSpec(name, base, _bound(start, name), _bound(stop, name))


def split_name(name: str) -> str:
    """The base split of a split name (``"train[:90%]"`` -> ``"train"``)."""
    return parse_slice(name).base


# --------------------------------------------------------------------------- provenance


class ManifestView(Mapping[str, Any]):
    """A sub-split's manifest: its parent's, with ``"subsplit"`` (how its rows were chosen)
    on top. Nothing is copied."""

    def __init__(self, parent: Mapping[str, Any], subsplit: Mapping[str, Any]) -> None:
        self._parent, self._top = parent, {"subsplit": subsplit}

    def __getitem__(self, key: str) -> Any:
        return self._top[key] if key in self._top else self._parent[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._top
        yield from (k for k in self._parent if k not in self._top)

    def __len__(self) -> int:
        return len(self._top) + sum(1 for k in self._parent if k not in self._top)

    def __repr__(self) -> str:
        return f"ManifestView(subsplit={self._top['subsplit']!r})"


def close_names(name: str, names: Sequence[str]) -> list[str]:
    """Names that ``name`` may have meant: those it begins (``val`` -> ``validation``), then
    difflib's close matches."""
    import difflib

    low = name.lower()
    prefix = [n for n in names if low and (n.lower().startswith(low) or low.startswith(n.lower()))]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return list(dict.fromkeys([*prefix, *close]))[:3]


def unknown_split(
    dataset: str, name: str, names: Sequence[str], what: str = ""
) -> UnknownSplitError:
    """The one error for a split ``name`` that ``dataset`` does not have: lists ``names`` and
    suggests close ones."""
    close = close_names(name, names)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return UnknownSplitError(
        f"dataset {dataset!r} has no split {name!r}{what}; its splits are "
        f"{', '.join(names) or 'none'}{hint}"
    )
