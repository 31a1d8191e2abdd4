"""EMNIST: NIST's ``gzip.zip``, one zip of IDX ``.gz`` files for all six EMNIST variants.

Members (``V`` is the variant: ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits``
or ``mnist``; ``S`` is ``train`` or ``test``)::

    gzip/emnist-V-S-images-idx3-ubyte.gz   uint8 (N, 28, 28), each image stored TRANSPOSED
    gzip/emnist-V-S-labels-idx1-ubyte.gz   uint8 (N,)
    gzip/emnist-V-mapping.txt              lines "label code [code...]" (ASCII codes)

The reader serves the images upright (each 28x28 image transposed back, in chunks, in place)
and, when the variant's mapping file is in the zip, takes the class names from it: the
character of the last code of each line (``"1 65 97"`` -> ``"a"``, as torchvision names EMNIST
Letters), ``"N/A"`` for a label the mapping does not list. Every header is bounded by what its
member can hold before anything is allocated.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from ..errors import FormatError
from . import ReadRequest, ReadResult, SplitWriter
from .idx import IdxHeader, read_stream

__all__ = ["VARIANTS", "member_names", "read_split"]

#: The six EMNIST variants, as the member names spell them.
VARIANTS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
_MAX_RATIO = 1032  # deflate cannot expand more than about 1032:1
_MAX_MAPPING = 1 << 16
_CHUNK = 8192
_MISSING = "N/A"


def member_names(variant: str, split: str) -> dict[str, str]:
    """``{"images", "labels", "mapping"}`` -> the zip member names of one variant's split."""
    stem = f"gzip/emnist-{variant}"
    return {
        "images": f"{stem}-{split}-images-idx3-ubyte.gz",
        "labels": f"{stem}-{split}-labels-idx1-ubyte.gz",
        "mapping": f"{stem}-mapping.txt",
    }


def _variant(request: ReadRequest) -> str:
    variant = request.options.get("variant")
    if variant not in VARIANTS:
        raise request.option_error("variant", f"one of {', '.join(VARIANTS)}")
    return str(variant)


def _split(request: ReadRequest) -> str:
    if request.split not in ("train", "test"):
        raise FormatError(
            f"EMNIST {request.dataset}: the zip holds 'train' and 'test' members, the split is "
            f"{request.split!r}; fix the entry's split names"
        )
    return request.split


@contextmanager
def _gzip_errors(label: Path) -> Iterator[None]:
    try:
        yield
    except FormatError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(
            f"EMNIST member {label}: the gzip stream is corrupt or cut short ({exc}); delete "
            "gzip.zip and download it again"
        ) from exc


def _bounded(label: Path, stored: int, header: IdxHeader, want: tuple[int, ...]) -> None:
    """Refuse a header of the wrong rank or item size, or one claiming more than ``stored``
    compressed bytes can hold, before anything is allocated."""
    if header.dtype != np.dtype("u1") or len(header.shape) != len(want):
        raise FormatError(
            f"EMNIST member {label}: expected uint8 data of {len(want)} dimension(s), found "
            f"{header.dtype} {header.shape}"
        )
    if any(w and d != w for d, w in zip(header.shape[1:], want[1:], strict=True)):
        raise FormatError(
            f"EMNIST member {label}: expected images of {want[1:]}, found {header.shape[1:]}"
        )
    if header.nbytes > stored * _MAX_RATIO:
        raise FormatError(
            f"EMNIST member {label}: header says {header.shape} ({header.nbytes} bytes), a "
            f"gzip member of {stored} bytes cannot hold that; the file is damaged"
        )


def _read_idx(
    reader: Any, label: Path, stored: int, role: str, out: SplitWriter
) -> np.ndarray[Any, Any]:
    want = (0, 28, 28) if role == "images" else (0,)

    def allocate(header: IdxHeader) -> np.ndarray[Any, Any]:
        _bounded(label, stored, header, want)
        return out.array(role, header.shape, np.uint8)

    with _gzip_errors(label), gzip.GzipFile(fileobj=reader, mode="rb") as fh:
        return read_stream(cast(IO[bytes], fh), label, allocate)


def _upright(images: np.ndarray[Any, Any]) -> None:
    """Transpose each ``(28, 28)`` image of ``images`` in place, a chunk at a time."""
    for start in range(0, images.shape[0], _CHUNK):
        chunk = images[start : start + _CHUNK]
        chunk[...] = chunk.transpose(0, 2, 1).copy()


def parse_mapping(data: bytes, label: str) -> tuple[str, ...]:
    """Class names from a mapping file: index = label, the character of each line's last
    code, ``"N/A"`` for labels it does not list.

    Raises:
        FormatError: a line that is not ``label code [code...]`` with label 0..255 and codes
            of printable ASCII characters, or a label given twice.
    """
    names: dict[int, str] = {}
    try:
        lines = data.decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise FormatError(f"EMNIST mapping {label}: not ASCII text") from None
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not all(f.isdigit() and len(f) <= 3 for f in fields):
            raise FormatError(
                f"EMNIST mapping {label} line {number}: expected 'label code [code...]' in "
                f"decimal, found {line[:60]!r}"
            )
        value, code = int(fields[0]), int(fields[-1])
        if value > 255 or not 33 <= code <= 126 or value in names:
            raise FormatError(
                f"EMNIST mapping {label} line {number}: label 0..255 given once and an ASCII "
                f"character code 33..126 expected, found {line[:60]!r}"
            )
        names[value] = chr(code)
    if not names:
        raise FormatError(f"EMNIST mapping {label}: no label is listed")
    return tuple(names.get(i, _MISSING) for i in range(max(names) + 1))


def read_split(request: ReadRequest, out: SplitWriter) -> ReadResult:
    """Read one split of an EMNIST variant (option ``variant``) from ``gzip.zip`` (role
    ``archive``).

    Writes ``images`` uint8 ``(N, 28, 28)`` upright, 0-255, and ``labels`` uint8 ``(N,)`` as
    the files give them (EMNIST Letters: 1..26).

    Raises:
        FormatError: a member missing or damaged, counts that differ, labels outside the
            mapping, or a mapping that cannot be parsed.
        UnsafeArchiveError: a member with an unsafe name.
    """
    from ..archives import iter_files

    path = request.file("archive")
    variant, split = _variant(request), _split(request)
    wanted = member_names(variant, split)
    roles = {name: role for role, name in wanted.items()}
    limit = path.stat().st_size * _MAX_RATIO
    found: dict[str, np.ndarray[Any, Any]] = {}
    classes: tuple[str, ...] | None = None
    for member, reader in iter_files(path, select=lambda m: m.name in roles):
        role, label = roles[member.name], Path(f"{path}/{member.name}")
        if role == "mapping":
            if member.size > _MAX_MAPPING:
                raise FormatError(
                    f"EMNIST mapping {label}: {member.size} bytes, expected at most "
                    f"{_MAX_MAPPING}; the file is damaged"
                )
            classes = parse_mapping(reader.read(_MAX_MAPPING + 1), str(label))
            continue
        found[role] = _read_idx(reader, label, min(member.size, limit), role, out)
        if role == "images":
            _upright(found[role])
            request.progress(found[role].shape[0])
    missing = [wanted[r] for r in ("images", "labels") if r not in found]
    if missing:
        raise FormatError(
            f"{path}: no member {', '.join(missing)}; is this NIST's EMNIST gzip.zip? Delete it "
            "and download it again"
        )
    images, labels = found["images"], found["labels"]
    if images.shape[0] != labels.shape[0]:
        raise FormatError(
            f"{path}: {wanted['images']} holds {images.shape[0]} images but "
            f"{wanted['labels']} holds {labels.shape[0]} labels"
        )
    _check_labels(labels, classes, path, wanted)
    mapping = wanted["mapping"] if classes is not None else None
    return ReadResult(classes=classes, extras={"class_mapping": mapping})


def _check_labels(
    labels: np.ndarray[Any, Any],
    classes: tuple[str, ...] | None,
    path: Path,
    wanted: dict[str, str],
) -> None:
    """Every label is one the mapping lists (when the zip has the mapping)."""
    if classes is None or not len(labels):
        return
    listed = np.array([name != _MISSING for name in classes] + [False] * (256 - len(classes)))
    bad = ~listed[labels]
    if bad.any():
        first = int(labels[int(np.argmax(bad))])
        raise FormatError(
            f"{path}: {wanted['labels']} holds label {first}, which {wanted['mapping']} does "
            f"not list (it lists {int(listed.sum())} labels); the file is damaged"
        )
