"""CIFAR-10 and CIFAR-100 readers, for both the python (pickle) and the binary edition.

Format names and functions (for :data:`imagesets.formats.READERS`):

- ``"cifar-python"``: :func:`read_python_split` reads ``cifar-{10,100}-python.tar.gz``;
- ``"cifar-binary"``: :func:`read_binary_split` reads ``cifar-{10,100}-binary.tar.gz``.

``request.files["archive"]`` is the archive, ``request.options["variant"]`` is ``"cifar10"`` or
``"cifar100"`` (optionally ``"member_md5"``: member basename -> md5 to cross-check), and
``request.split`` is ``"train"`` or ``"test"``. Both editions give identical arrays:

- ``images``: uint8 (N, 32, 32, 3) NHWC, values 0..255 (the files store CHW rows of 1024 R,
  1024 G, 1024 B; transposed once, here);
- ``labels``: uint8 (N,), 0..9 (CIFAR-10) or the fine label 0..99 (CIFAR-100);
- ``coarse_labels``: uint8 (N,), 0..19 (CIFAR-100 only).

They return a ``ReadResult`` with the ``classes`` (plus the label names ``superclasses`` for
CIFAR-100) from the archive's meta files. Members are streamed from the archive, never
extracted; memory is bounded by one batch file beyond the output arrays.

An archive's member order need not be the batch order, so each batch goes at an offset set by
its number into arrays created at their final size. With ``request.count`` (what the pipeline
passes) that takes one pass: the batches must split ``count`` as evenly as possible in number
order (CIFAR-10 train: ``data_batch_k`` holds 10,000 images at ``(k - 1) * 10,000``); a batch of
another size is skipped and the pass ends in a :class:`FormatError` naming the archive, the
expected and the found counts. (Buffering out-of-order batches instead could hold 120 MB.)
Without ``request.count``, a first pass counts the images of each batch.

Pickles are untrusted: they go through :class:`imagesets._pickle.RestrictedUnpickler`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import archives
from .._pickle import pickled_dict, pickled_field, restricted_loads
from ..errors import CatalogError, FormatError
from . import ReadRequest, ReadResult, SplitWriter
from ._cifar_layout import (
    _LAYOUTS,
    _VARIANTS,
    _even_split,
    _Variant,
    parse_binary_meta,
    parse_python_meta,
)

__all__ = [
    "parse_binary_meta",
    "parse_python_meta",
    "read_binary_split",
    "read_python_split",
]

_IMAGE_BYTES = 3 * 32 * 32
#: The most images one batch file holds: CIFAR-100's train file (CIFAR-10 batches hold 10,000).
MAX_BATCH_IMAGES = 50_000
#: The largest python batch pickle: the pixels, two label lists and slack for the names.
MAX_PICKLE_BYTES = MAX_BATCH_IMAGES * (_IMAGE_BYTES + 64) + (16 << 20)
MAX_META_BYTES = 1 << 20  # meta pickles and text files hold at most 120 class names
_CHUNK_RECORDS = 2048  # binary records read at a time: ~6 MB
_TRANSPOSE_BLOCK = 512  # images transposed at a time: 1.5 MB, stays in cache

# --------------------------------------------------------------------------------------------
# one read: context, passes, output


@dataclass
class _Context:
    request: ReadRequest
    edition: str
    variant_name: str
    variant: _Variant
    root: str
    batches: tuple[str, ...]
    meta: tuple[str, ...]
    seen_roots: set[str] = field(default_factory=set)

    @property
    def archive(self) -> str:
        return str(self.request.file("archive"))

    def path(self, basename: str) -> str:
        return f"{self.root}/{basename}"

    def label(self, member: archives.Member) -> str:
        return f"{self.archive}!{member.name}"

    def wants(self, member: archives.Member) -> bool:
        self.seen_roots.add(member.name.split("/", 1)[0])
        return member.name in {self.path(b) for b in (*self.batches, *self.meta)}


def _context(request: ReadRequest, edition: str) -> _Context:
    variant = request.options.get("variant")
    if variant not in _VARIANTS:
        raise CatalogError(
            f"dataset {request.dataset!r}: format {edition!r} needs options.variant "
            f"'cifar10' or 'cifar100', the entry gives {variant!r}"
        )
    root, splits, meta = _LAYOUTS[(edition, variant)]
    request.check_split(sorted(splits), edition)
    batches = splits[request.split]
    return _Context(request, edition, variant, _VARIANTS[variant], root, batches, meta)


def _missing_error(ctx: _Context, missing: set[str]) -> FormatError:
    hint = ""
    for (edition, variant), (root, _, _) in _LAYOUTS.items():
        if root in ctx.seen_roots and root != ctx.root:
            hint = f"; this looks like the {edition} archive of {variant}: check the catalog entry"
    return FormatError(
        f"{ctx.archive}: not a {ctx.variant.title} {ctx.edition} archive: missing members "
        f"{sorted(missing)}; top-level folders found: {sorted(ctx.seen_roots)}{hint}"
    )


def _selected(ctx: _Context) -> Iterator[tuple[archives.Member, archives.MemberReader]]:
    """The wanted members, in archive order; errors on duplicates and, at the end, on gaps.

    Stops reading the archive as soon as every wanted member was seen.
    """
    wanted, seen = {ctx.path(b) for b in (*ctx.batches, *ctx.meta)}, set()
    files = archives.iter_files(ctx.request.file("archive"), select=ctx.wants)
    with contextlib.closing(files):
        for member, reader in files:
            if member.name in seen:
                raise FormatError(f"{ctx.label(member)}: the member occurs twice in the archive")
            seen.add(member.name)
            yield member, reader
            if seen == wanted:
                return
    raise _missing_error(ctx, wanted - seen)


def _md5(ctx: _Context, member: archives.Member) -> Any:
    """A running md5 when the catalog publishes one for ``member``, else None (no hashing)."""
    wanted = ctx.request.options.get("member_md5", {}).get(member.basename)
    return None if wanted is None else hashlib.md5(usedforsecurity=False)


def _check_md5(ctx: _Context, member: archives.Member, md5: Any) -> None:
    if md5 is None:
        return
    expected, digest = ctx.request.options["member_md5"][member.basename], md5.hexdigest()
    if expected.lower() != digest:
        raise FormatError(
            f"{ctx.label(member)}: md5 {digest} differs from the published {expected}; "
            "the archive is corrupt or not the official one: delete it and download it again"
        )


def _read_checked(ctx: _Context, member: archives.Member, reader: archives.MemberReader) -> bytes:
    limit = MAX_META_BYTES if member.basename in ctx.meta else MAX_PICKLE_BYTES
    if member.size > limit:
        raise FormatError(
            f"{ctx.label(member)}: the member claims {member.size} bytes, a {ctx.variant.title} "
            f"file holds at most {limit}; the archive is not the official one: download it again"
        )
    data = reader.read(member.size)
    if len(data) != member.size:
        raise FormatError(
            f"{ctx.label(member)}: expected {member.size} bytes, read {len(data)}; "
            "the archive is truncated: download it again"
        )
    md5 = _md5(ctx, member)
    if md5 is not None:
        md5.update(data)
    _check_md5(ctx, member, md5)
    return data


class _Output:
    """The split's arrays, created at the size of ``plan`` (batch -> images), and the batches
    found; ``why`` tells errors where the plan came from."""

    def __init__(self, ctx: _Context, out: SplitWriter, plan: dict[str, int], why: str) -> None:
        self.ctx, self.plan, self.why, self.found = ctx, plan, why, dict[str, int]()
        total = sum(plan.values())
        self.images = out.array("images", (total, 32, 32, 3), np.uint8)
        self.labels = out.array("labels", (total,), np.uint8)
        coarse = ctx.variant.superclasses
        self.coarse = out.array("coarse_labels", (total,), np.uint8) if coarse else None

    def offset(self, member: archives.Member, n: int) -> int | None:
        """Where ``member``'s ``n`` images go; None (skip it) if ``n`` is not as planned."""
        self.found[member.basename] = n
        if self.plan[member.basename] != n:
            return None
        order = self.ctx.batches
        return sum(self.plan[b] for b in order[: order.index(member.basename)])

    def put(self, at: int, rows: np.ndarray[Any, Any], labels: list[np.ndarray[Any, Any]],
            source: str) -> None:  # fmt: skip
        """Write CHW ``rows`` (n, 3072) and ``labels`` ([fine] or [fine, coarse]) at ``at``."""
        n = len(rows)
        self._check_range(labels[0], self.ctx.variant.classes, "labels", source)
        self.labels[at : at + n] = labels[0]
        if self.coarse is not None:
            self._check_range(labels[1], self.ctx.variant.superclasses, "coarse labels", source)
            self.coarse[at : at + n] = labels[1]
        for start in range(0, n, _TRANSPOSE_BLOCK):
            block = rows[start : start + _TRANSPOSE_BLOCK]
            for c in range(3):  # inner loop over 1024 pixels, not over 3 channels: 3x faster
                plane = block[:, c * 1024 : (c + 1) * 1024].reshape(len(block), 32, 32)
                self.images[at + start : at + start + len(block), :, :, c] = plane
        self.ctx.request.progress(n)

    @staticmethod
    def _check_range(values: np.ndarray[Any, Any], limit: int, what: str, source: str) -> None:
        if values.size and (int(values.min()) < 0 or int(values.max()) >= limit):
            raise FormatError(
                f"{source}: {what} must lie in 0..{limit - 1}, found "
                f"{int(values.min())}..{int(values.max())}"
            )

    def check(self) -> None:
        """A :class:`FormatError` naming expected and found counts if they differ."""
        if self.found == self.plan:
            return
        found, expected = [self.found[b] for b in self.ctx.batches], list(self.plan.values())
        detail = f" (batches {found}, expected {expected}: {self.why})" if len(found) > 1 else ""
        raise FormatError(
            f"{self.ctx.archive}: split {self.ctx.request.split!r} holds {sum(found)} images, "
            f"expected {sum(expected)}{detail}; the archive is not the official one or the "
            "catalog count is wrong: download the archive again or fix the entry's split count"
        )


# --------------------------------------------------------------------------------------------
# editions


@dataclass(frozen=True)
class _Edition:
    count: Callable[[_Context, archives.Member, archives.MemberReader], int]
    fill: Callable[[_Context, archives.Member, archives.MemberReader, _Output], None]
    meta: Callable[[_Context, dict[str, tuple[archives.Member, bytes]]], dict[str, list[str]]]


def _python_batch(
    ctx: _Context, member: archives.Member, reader: archives.MemberReader
) -> tuple[np.ndarray[Any, Any], list[np.ndarray[Any, Any]]]:
    """(rows uint8 (n, 3072), [fine labels, coarse labels?]) of one python batch file."""
    source = ctx.label(member)
    loaded = restricted_loads(_read_checked(ctx, member, reader), source)  # frees the raw bytes
    batch = pickled_dict(loaded, source, "batch")
    rows = pickled_field(batch, "data", source)
    if not (isinstance(rows, np.ndarray) and rows.dtype == np.uint8 and rows.ndim == 2
            and rows.shape[1] == _IMAGE_BYTES and len(rows) > 0):  # fmt: skip
        found = (
            f"{rows.dtype} {rows.shape}" if isinstance(rows, np.ndarray) else type(rows).__name__
        )
        raise FormatError(f"{source}: field 'data' must be uint8 (N, 3072), found {found}")
    fields = [ctx.variant.label_field] + (["coarse_labels"] if ctx.variant.superclasses else [])
    return rows, [_python_labels(batch, f, len(rows), source) for f in fields]


def _python_labels(
    batch: Mapping[str, Any], name: str, n: int, source: str
) -> np.ndarray[Any, Any]:
    """Field ``name`` of ``batch`` as int64 (n,): a list of n Python ints or an integer array
    (never floats, bools or strings, which would be truncated or misread); range checks come
    when it is written."""
    value = pickled_field(batch, name, source)
    where = f"{source} field {name!r}"
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu" or value.shape != (n,):
            raise FormatError(f"{where}: expected {n} integer labels, found {value.dtype} "
                              f"{value.shape}")  # fmt: skip
        return value.astype(np.int64)
    if not isinstance(value, (list, tuple)) or len(value) != n:
        found = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
        raise FormatError(f"{where}: expected {n} labels (one per image), found {found}")
    bad = next((i for i, v in enumerate(value) if type(v) is not int), None)
    if bad is not None:
        raise FormatError(
            f"{where}: labels must be integers, label {bad} is {value[bad]!r}; the file is not "
            "a genuine CIFAR batch: download the archive again"
        )
    try:
        return np.array(value, dtype=np.int64)
    except OverflowError:
        raise FormatError(f"{where}: a label beyond the int64 range") from None


def _python_count(ctx: _Context, member: archives.Member, reader: archives.MemberReader) -> int:
    return len(_python_batch(ctx, member, reader)[0])


def _python_fill(
    ctx: _Context, member: archives.Member, reader: archives.MemberReader, output: _Output
) -> None:
    rows, labels = _python_batch(ctx, member, reader)
    at = output.offset(member, len(rows))
    if at is not None:
        output.put(at, rows, labels, ctx.label(member))


def _python_meta(
    ctx: _Context, files: dict[str, tuple[archives.Member, bytes]]
) -> dict[str, list[str]]:
    member, data = files[ctx.meta[0]]
    return parse_python_meta(data, ctx.variant_name, ctx.label(member))


def _record_size(ctx: _Context) -> int:
    return (2 if ctx.variant.superclasses else 1) + _IMAGE_BYTES


def _binary_count(ctx: _Context, member: archives.Member, reader: archives.MemberReader) -> int:
    size, record = member.size, _record_size(ctx)
    if size == 0 or size % record or size // record > MAX_BATCH_IMAGES:
        layout = "<coarse><fine><3072 pixels>" if ctx.variant.superclasses else "<label><3072>"
        raise FormatError(
            f"{ctx.label(member)}: {size} bytes is not a whole, non-zero number (at most "
            f"{MAX_BATCH_IMAGES}) of {record}-byte "
            f"{ctx.variant.title} records ({layout}); the file is truncated or not "
            f"{ctx.variant.title} binary: download the archive again"
        )
    return size // record


def _binary_fill(
    ctx: _Context, member: archives.Member, reader: archives.MemberReader, output: _Output
) -> None:
    at = output.offset(member, _binary_count(ctx, member, reader))
    if at is None:  # the size is known from the tar header: skip the bytes unread
        return
    record, md5 = _record_size(ctx), _md5(ctx, member)
    for start in range(0, member.size // record, _CHUNK_RECORDS):
        recs = _binary_chunk(ctx, member, reader, start, md5)
        heads = [recs[:, 1], recs[:, 0]] if ctx.variant.superclasses else [recs[:, 0]]
        output.put(at + start, recs[:, record - _IMAGE_BYTES :], heads, ctx.label(member))
    _check_md5(ctx, member, md5)


def _binary_chunk(ctx: _Context, member: archives.Member, reader: archives.MemberReader,
                  start: int, md5: Any) -> np.ndarray[Any, Any]:  # fmt: skip
    """Records ``start`` onwards (at most :data:`_CHUNK_RECORDS`) as uint8 (k, record size)."""
    record = _record_size(ctx)
    k = min(_CHUNK_RECORDS, member.size // record - start)
    chunk = reader.read(k * record)
    if len(chunk) != k * record:
        raise FormatError(
            f"{ctx.label(member)}: record {start + len(chunk) // record} is short: the member "
            f"ends after {start * record + len(chunk)} of {member.size} bytes; download again"
        )
    if md5 is not None:
        md5.update(chunk)
    return np.frombuffer(chunk, dtype=np.uint8).reshape(k, record)


def _binary_meta(
    ctx: _Context, files: dict[str, tuple[archives.Member, bytes]]
) -> dict[str, list[str]]:
    data = {name: raw for name, (_, raw) in files.items()}
    return parse_binary_meta(data, ctx.variant_name, f"{ctx.archive}!{ctx.root}")


_EDITIONS: dict[str, _Edition] = {
    "cifar-python": _Edition(_python_count, _python_fill, _python_meta),
    "cifar-binary": _Edition(_binary_count, _binary_fill, _binary_meta),
}


def _count_pass(ctx: _Context, edition: _Edition) -> dict[str, int]:
    return {
        member.basename: edition.count(ctx, member, reader)
        for member, reader in _selected(ctx)
        if member.basename in ctx.batches
    }


def _output(ctx: _Context, edition: _Edition, out: SplitWriter) -> _Output:
    """Arrays planned from ``request.count`` (one pass) or, without it, from a counting pass."""
    count = ctx.request.count
    if count is not None and count > MAX_BATCH_IMAGES * len(ctx.batches):
        raise CatalogError(
            f"dataset {ctx.request.dataset!r}, split {ctx.request.split!r}: count {count} is more "
            f"than {len(ctx.batches)} {ctx.variant.title} batch file(s) hold (at most "
            f"{MAX_BATCH_IMAGES} images each); fix the entry's split count"
        )
    if count is not None:
        why = f"the count {count} split evenly over the batches in number order"
        return _Output(ctx, out, _even_split(count, ctx.batches), why)
    return _Output(ctx, out, _count_pass(ctx, edition), "the archive changed while being read")


def _read(request: ReadRequest, out: SplitWriter, edition_name: str) -> ReadResult:
    ctx, edition = _context(request, edition_name), _EDITIONS[edition_name]
    output = _output(ctx, edition, out)
    meta: dict[str, tuple[archives.Member, bytes]] = {}
    for member, reader in _selected(ctx):
        if member.basename in ctx.meta:
            meta[member.basename] = (member, _read_checked(ctx, member, reader))
        else:
            edition.fill(ctx, member, reader, output)
    output.check()
    names = edition.meta(ctx, meta)
    label_names = {key: tuple(value) for key, value in names.items() if key != "classes"}
    return ReadResult(classes=tuple(names["classes"]), label_names=label_names)


def read_python_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read one split of ``cifar-{10,100}-python.tar.gz`` (format ``"cifar-python"``).

    Writes ``images`` uint8 (N, 32, 32, 3), ``labels`` uint8 (N,) and, for CIFAR-100,
    ``coarse_labels`` uint8 (N,); returns the ``classes`` and (CIFAR-100) the label names
    ``superclasses``.
    Every pickle goes through :class:`imagesets._pickle.RestrictedUnpickler`.
    """
    return _read(request, out, "cifar-python")


def read_binary_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read one split of ``cifar-{10,100}-binary.tar.gz`` (format ``"cifar-binary"``).

    Same arrays and result as :func:`read_python_split`; no pickle is involved.
    """
    return _read(request, out, "cifar-binary")
