"""Exports of a split to the interchange formats clusters store data in.

Every export reads a :class:`~imagesets.dataset.Split` through its image source, one example
at a time, and streams: memory stays bounded by one shard's open file (a tar member or a
Parquet row group of :data:`ROW_GROUP` examples), whatever the split's size.

* ``webdataset``: tar shards ``{split}-{k:06d}.tar`` of ``shard_size`` examples each; example
  ``i`` is the members ``{i:08d}.png`` (or ``.jpg``: the stored JPEG bytes of a packed split,
  unchanged), ``{i:08d}.cls`` (the label as ASCII decimal) and, when the split has extra
  per-example arrays (CIFAR-100's ``coarse_labels``), ``{i:08d}.json``. Readable by the
  ``webdataset`` library.
* ``parquet``: files ``{split}-{k:05d}-of-{n:05d}.parquet`` with an ``image`` struct column
  ``{bytes: binary, path: string}`` and an int64 ``label`` column, plus extras, and the
  ``huggingface`` schema metadata HF writes (``Image`` and ``ClassLabel`` features), so
  ``datasets.load_dataset("parquet", ...)`` decodes images and names classes.
* ``folder``: ``{split}/{class name}/{i:08d}.png`` (or ``.jpg``), the class-per-folder tree
  :func:`imagesets.from_folder` reads back (a label path ``animals/cat`` becomes nested
  folders).

Pixels survive every round trip exactly: fixed-size arrays are written as lossless PNG, and a
packed split's JPEG and PNG bytes are written as stored (other encodings are decoded and
written as PNG). A split with digit boxes (SVHN full numbers) has no class labels and is not
exported. pyarrow (Parquet, :func:`to_hf`) and ``datasets`` (:func:`to_hf`) are imported on
use; without them a :class:`~imagesets.errors.MissingDependencyError` names the ``export``
extra.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import ArgumentError, require
from .sources import ArraySource, BoxedSource, EncodedSource

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Split

__all__ = [
    "FORMATS",
    "ROW_GROUP",
    "Example",
    "examples",
    "export_split",
    "shard_ranges",
    "to_hf",
    "write_shard",
]

Format = Literal["webdataset", "parquet", "folder"]
#: The export formats, as ``imagesets export --format`` takes them.
FORMATS: tuple[Format, ...] = ("webdataset", "parquet", "folder")
#: Examples per Parquet row group (and per Arrow record batch of :func:`to_hf`).
ROW_GROUP = 256
#: Examples per shard (tar or Parquet file) unless ``shard_size`` says otherwise.
DEFAULT_SHARD_SIZE = 10_000


@dataclass(frozen=True)
class Example:
    """One example as exported: ``index`` in the split, the encoded ``image`` and its file
    extension (``"png"`` or ``"jpg"``), the integer ``label``, its ``class_name`` and the
    extra per-example values by array name (JSON-ready)."""

    index: int
    image: bytes
    ext: str
    label: int
    class_name: str
    extras: dict[str, Any]


def _extra_names(split: Split) -> list[str]:
    """Per-example arrays besides the images, their stored ``shapes`` (each image carries
    its own) and the labels; 1-d ones only."""
    layout = set(split.source.layout) | {"images", "labels", "shapes"}
    names = sorted(k for k in split.arrays if k not in layout)
    for k in names:
        arr = split.arrays[k]
        if arr.ndim != 1:
            raise ArgumentError(
                f"export of split {split.name!r}: the per-example array {k!r} has shape "
                f"{arr.shape}; only one value per example (shape (N,)) can be exported"
            )
    return names


def _check_exportable(split: Split) -> None:
    if isinstance(split.source, BoxedSource):
        raise ArgumentError(
            f"split {split.name!r} holds images with digit boxes and no class labels, which "
            "none of the export formats (webdataset, parquet, folder, to_hf) carries; export "
            "a split with class labels"
        )
    if "labels" not in split.arrays:
        raise ArgumentError(f"split {split.name!r} has no class labels to export")


def _png(pixels: np.ndarray[Any, Any]) -> bytes:
    from PIL import Image  # Pillow only when an image is encoded

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _plain(raw: bytes) -> str | None:
    """``"jpg"`` or ``"png"`` when every decoder gives these bytes the pixels imagesets
    decodes (an RGB or grey JPEG, an RGB PNG without transparency), else None."""
    from PIL import Image  # Pillow only when an image is written

    try:
        with Image.open(io.BytesIO(raw)) as im:
            fmt, mode, info = im.format, im.mode, im.info
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    if fmt == "JPEG" and mode in ("RGB", "L"):
        return "jpg"
    if fmt == "PNG" and mode == "RGB" and "transparency" not in info:
        return "png"
    return None


def _encoded(split: Split, i: int) -> tuple[bytes, str]:
    """Image ``i`` as encoded bytes and extension: stored RGB or grey JPEG and RGB PNG bytes
    as they are, else a lossless PNG of the pixels imagesets decodes (palette, alpha, CMYK,
    16-bit and other encodings are converted exactly as :func:`imagesets.imaging.decode`
    converts them, so every reader sees the same pixels)."""
    source = split.source
    if isinstance(source, EncodedSource):
        raw = source.raw(i)
        ext = _plain(raw)
        return (raw, ext) if ext is not None else (_png(source.image(i)), "png")
    assert isinstance(source, ArraySource)
    return _png(source.image(i)), "png"


def examples(split: Split, start: int = 0, stop: int | None = None) -> Iterator[Example]:
    """The examples ``start..stop`` of ``split``, one at a time (nothing else is held).

    Raises:
        ArgumentError: a split with digit boxes, without labels, or with a per-example array
            of more than one value per example.
    """
    _check_exportable(split)
    extras = _extra_names(split)
    labels = split.arrays["labels"]
    stop = len(split) if stop is None else stop
    for i in range(start, stop):
        image, ext = _encoded(split, i)
        label = int(labels[i])
        values = {k: split.arrays[k][i].item() for k in extras}
        yield Example(i, image, ext, label, _class_name(split, label), values)


def _class_name(split: Split, label: int) -> str:
    return split.classes[label] if 0 <= label < len(split.classes) else str(label)


def shard_ranges(n: int, shard_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``0..n`` in shards of ``shard_size`` (at least one)."""
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ArgumentError(f"shard_size: expected an int >= 1, found {shard_size!r}")
    return [(a, min(a + shard_size, n)) for a in range(0, n, shard_size)] or [(0, 0)]


# --------------------------------------------------------------------------- writers


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _write_webdataset(split: Split, start: int, stop: int, path: Path, tick: _Tick) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for ex in examples(split, start, stop):
            key = f"{ex.index:08d}"
            _tar_add(tar, f"{key}.{ex.ext}", ex.image)
            _tar_add(tar, f"{key}.cls", str(ex.label).encode())
            if ex.extras:
                _tar_add(tar, f"{key}.json", json.dumps(ex.extras, sort_keys=True).encode())
            tick(1)


def _arrow_schema(split: Split, extras: Sequence[str]) -> Any:
    """The Arrow schema of an export, with the ``huggingface`` features metadata."""
    pa: Any = require("pyarrow", "export", "a Parquet or Hugging Face export")
    fields = [
        pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        pa.field("label", pa.int64()),
    ]
    features: dict[str, Any] = {
        "image": {"_type": "Image"},
        "label": {"names": [_class_name(split, i) for i in range(len(split.classes))],
                  "_type": "ClassLabel"},
    }  # fmt: skip
    for k in extras:
        arrow_type = pa.from_numpy_dtype(split.arrays[k].dtype)
        fields.append(pa.field(k, arrow_type))
        features[k] = {"dtype": str(arrow_type), "_type": "Value"}
    if not split.classes:
        features["label"] = {"dtype": "int64", "_type": "Value"}
    meta = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema(fields, metadata=meta)


def _record_batches(split: Split, start: int, stop: int, schema: Any, tick: _Tick) -> Iterator[Any]:
    """Arrow record batches of :data:`ROW_GROUP` examples each."""
    import pyarrow as pa

    extras = [f.name for f in schema if f.name not in ("image", "label")]
    rows: list[Example] = []

    def flush() -> Any:
        columns = [
            [{"bytes": ex.image, "path": f"{ex.index:08d}.{ex.ext}"} for ex in rows],
            [ex.label for ex in rows],
            *[[ex.extras[k] for ex in rows] for k in extras],
        ]
        return pa.RecordBatch.from_arrays(
            [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
            schema=schema,
        )

    for ex in examples(split, start, stop):
        rows.append(ex)
        if len(rows) == ROW_GROUP:
            yield flush()
            tick(len(rows))
            rows = []
    if rows or start == stop:
        yield flush()
        tick(len(rows))


def _write_parquet(split: Split, start: int, stop: int, path: Path, tick: _Tick) -> None:
    require("pyarrow", "export", "a Parquet export")
    import pyarrow.parquet as pq

    schema = _arrow_schema(split, _extra_names(split))
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _record_batches(split, start, stop, schema, tick):
            writer.write_batch(batch, row_group_size=ROW_GROUP)


def _folder_parts(split: Split, name: str) -> list[str]:
    """The folder components of a class name (``animals/cat`` -> two), each checked."""
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\x00" in part or "\\" in part or part.startswith("."):
            raise ArgumentError(
                f"folder export of split {split.name!r}: the class name {name!r} cannot be a "
                "folder name (empty, '.', '..', a leading dot, a NUL or a backslash); use the "
                "webdataset or parquet format"
            )
    return parts


def _write_folder(split: Split, start: int, stop: int, path: Path, tick: _Tick) -> None:
    made: set[Path] = set()
    for ex in examples(split, start, stop):
        folder = path.joinpath(*_folder_parts(split, ex.class_name))
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        _atomic_write(folder / f"{ex.index:08d}.{ex.ext}", ex.image)
        tick(1)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class _Tick:
    """A tqdm bar on stderr (only on a terminal) as a ``tick(n)`` callable."""

    def __init__(self, total: int, desc: str, show: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=desc,
            unit="img",
            file=sys.stderr,
            leave=False,
            disable=not (show and sys.stderr.isatty()),
        )

    def __call__(self, n: int) -> None:
        if n:
            self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def _nothing(n: int) -> None:
    """A tick that shows nothing (a shard written in a Ray task)."""


_WRITERS = {"webdataset": _write_webdataset, "parquet": _write_parquet, "folder": _write_folder}


def shard_path(out: Path, fmt: Format, split: str, k: int, count: int) -> Path:
    """Where shard ``k`` of ``count`` of ``split`` goes (the folder of a folder export)."""
    if fmt == "webdataset":
        return out / f"{split}-{k:06d}.tar"
    if fmt == "parquet":
        return out / f"{split}-{k:05d}-of-{count:05d}.parquet"
    return out / split


def write_shard(
    split: Split, fmt: Format, out: Path, k: int, count: int, rows: tuple[int, int],
    tick: Any = _nothing,
) -> Path:  # fmt: skip
    """Write shard ``k`` of ``count`` (examples ``rows``) of ``split`` under ``out``.

    A tar or Parquet shard is written under a temporary name unique to this process and
    renamed when complete, so a failed or killed writer never leaves a half shard under the
    final name. Returns the shard's path.
    """
    target = shard_path(out, fmt, split.name, k, count)
    if fmt == "folder":
        _write_folder(split, rows[0], rows[1], target, tick)
        return target
    tmp = target.with_name(f".{target.name}.{os.uname().nodename}.{os.getpid()}.tmp")
    try:
        _WRITERS[fmt](split, rows[0], rows[1], tmp, tick)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check_format(fmt: object) -> Format:
    """``fmt`` if it is one of :data:`FORMATS`, else an :class:`ArgumentError`."""
    for form in FORMATS:
        if fmt == form:
            return form
    raise ArgumentError(f"format: expected one of {', '.join(FORMATS)}, found {fmt!r}")


def plan_export(
    split: Split, fmt: str, out: str | os.PathLike[str], shard_size: int
) -> tuple[Format, list[tuple[int, int]], Path]:
    """Everything checked before a shard is written: the format, the split (exportable, extra
    names), pyarrow for Parquet; then the shards' row ranges and the created output folder.

    Raises:
        ArgumentError, MissingDependencyError: as :func:`export_split`.
    """
    form = check_format(fmt)
    _check_exportable(split)
    _extra_names(split)
    if form == "parquet":
        require("pyarrow", "export", "a Parquet export")
    ranges = shard_ranges(len(split), shard_size)
    target = Path(out).resolve()
    target.mkdir(parents=True, exist_ok=True)
    return form, ranges, target


def export_split(
    split: Split,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    progress: bool = True,
) -> list[Path]:
    """Write ``split`` under the folder ``out`` in ``fmt`` (see the module docstring), one
    shard after another; returns the shards written (the split's folder for ``folder``).

    Raises:
        ArgumentError: an unknown format, a bad ``shard_size``, a split that cannot be
            exported (digit boxes, no labels, a class name that is no folder name).
        MissingDependencyError: Parquet without pyarrow (the ``export`` extra).
    """
    form, ranges, target = plan_export(split, fmt, out, shard_size)
    tick = _Tick(len(split), f"export {split.name} ({form})", progress)
    try:
        written = [
            write_shard(split, form, target, k, len(ranges), rows, tick)
            for k, rows in enumerate(ranges)
        ]
    finally:
        tick.close()
    return list(dict.fromkeys(written))  # a folder export's shards share the split's folder


def to_hf(split: Split, path: str | os.PathLike[str] | None = None, *,
          progress: bool = True) -> Any:  # fmt: skip
    """``split`` as a Hugging Face ``datasets.Dataset``, Arrow-backed and memory-mapped.

    The examples are streamed into an Arrow file (``path``, default a new file
    ``imagesets-hf-*.arrow`` in the temporary folder) in record batches of :data:`ROW_GROUP`,
    then opened with ``datasets.Dataset.from_file``: columns ``image`` (an ``Image`` feature:
    stored PNG/JPEG bytes), ``label`` (a ``ClassLabel`` with the split's class names) and any
    extra per-example arrays. The file is the dataset's storage: keep it while it is used.

    Raises:
        MissingDependencyError: ``datasets`` or pyarrow is not installed (``export`` extra).
        ArgumentError: a split that cannot be exported (see :func:`examples`).
    """
    datasets: Any = require("datasets", "export", "Split.to_hf")
    require("pyarrow", "export", "Split.to_hf")
    import pyarrow as pa

    _check_exportable(split)
    schema = _arrow_schema(split, _extra_names(split))
    if path is None:
        fd, name = tempfile.mkstemp(prefix="imagesets-hf-", suffix=".arrow")
        os.close(fd)
        path = name
    target = Path(path)
    tick = _Tick(len(split), f"to_hf {split.name}", progress)
    try:
        with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for batch in _record_batches(split, 0, len(split), schema, tick):
                writer.write_batch(batch)
    finally:
        tick.close()
    return datasets.Dataset.from_file(str(target))
