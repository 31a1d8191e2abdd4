"""Fake SVHN "full numbers" archives in the real layout (``train.tar.gz``, ``test.tar.gz``, ...).

A real archive holds one folder ``<split>/`` with ``1.png .. N.png`` (RGB PNGs of varying size),
``digitStruct.mat`` and ``see_bboxes.m``, in no particular order. ``digitStruct.mat`` is a
MATLAB v7.3 file, that is HDF5 behind a 512-byte MATLAB user block: the group ``digitStruct``
holds ``name`` and ``bbox``, ``(N, 1)`` arrays of object references into ``#refs#``. A name is a
``(len, 1)`` uint16 char array; a bbox is a group of five datasets ``height``, ``label``,
``left``, ``top``, ``width``, each an inline ``(1, 1)`` double for a single-digit image, or a
``(k, 1)`` array of references to ``(1, 1)`` doubles for a k-digit image. Writing needs h5py.

>>> import tempfile, pathlib
>>> fake = write_fake_svhn_full(pathlib.Path(tempfile.mkdtemp()) / "test.tar.gz", n=3, seed=0)
>>> len(fake.pngs), fake.box_offsets.tolist()[:2], fake.boxes.dtype.names[:2]
(3, [0, 1], ('image', 'label'))
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..formats.svhn_full import BOX_DTYPE

__all__ = [
    "FIELDS",
    "MATLAB_HEADER",
    "FakeSvhnFull",
    "fake_boxes",
    "fake_png",
    "write_digit_struct",
    "write_fake_svhn_full",
    "write_tar",
]

#: The bbox fields in the order MATLAB stores them (alphabetical).
FIELDS = ("height", "label", "left", "top", "width")
MATLAB_HEADER = (
    (
        b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970 "
        b"HDF5 schema 1.00 ."
    ).ljust(116)
    + bytes(8)
    + b"\x00\x02IM"
)
_USER_BLOCK = 512


@dataclass(frozen=True)
class FakeSvhnFull:
    """What a fake archive holds, in image order (index ``i`` is ``f"{i + 1}.png"``).

    Attributes:
        pngs: the PNG files' bytes.
        shapes: int32 ``(N, 2)`` ``(height, width)`` of each image.
        boxes: ``BOX_DTYPE`` ``(M,)``, every digit, by image, with the file's labels 1..10.
        box_offsets: int64 ``(N + 1,)``: image ``i``'s digits are ``boxes[o[i]:o[i + 1]]``.
    """

    pngs: list[bytes]
    shapes: NDArray[np.int32]
    boxes: NDArray[Any]
    box_offsets: NDArray[np.int64]

    def digits(self, i: int) -> NDArray[Any]:
        """The digits of image ``i`` (0-based)."""
        return self.boxes[self.box_offsets[i] : self.box_offsets[i + 1]]


def fake_png(rng: np.random.Generator, height: int, width: int) -> bytes:
    """A random-noise RGB PNG of ``height x width`` pixels."""
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def fake_boxes(rng: np.random.Generator, shapes: NDArray[np.int32], max_digits: int = 4) -> (
    tuple[NDArray[Any], NDArray[np.int64]]
):  # fmt: skip
    """Random digit boxes for images of ``shapes``: ``(boxes, box_offsets)``.

    Image 0 has one digit and image 1 two, the first labelled 10 (the digit 0), so that every
    fake of two images or more has single- and multi-digit entries and the label 10.
    """
    counts = rng.integers(1, max_digits + 1, len(shapes))
    counts[:2] = [1, 2][: len(counts)]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    boxes = np.zeros(int(offsets[-1]), BOX_DTYPE)
    boxes["image"] = np.repeat(np.arange(len(shapes)), counts)
    boxes["label"] = rng.integers(1, 11, len(boxes))
    if len(shapes) > 1:
        boxes["label"][offsets[1]] = 10
    heights, widths = shapes[boxes["image"], 0], shapes[boxes["image"], 1]
    boxes["left"] = rng.integers(-1, widths // 2)
    boxes["top"] = rng.integers(-1, heights // 2)
    boxes["width"] = rng.integers(1, widths // 2 + 1)
    boxes["height"] = rng.integers(1, heights + 1)
    return boxes, offsets


def _field_values(digits: NDArray[Any], name: str) -> NDArray[np.float64]:
    return digits[name].astype(np.float64)


def _write_field(f: Any, group: Any, refs: Any, name: str, values: NDArray[np.float64]) -> None:
    """``group[name]``: an inline ``(1, 1)`` double, or ``(k, 1)`` references to such doubles."""
    if len(values) == 1:
        group.create_dataset(name, data=values.reshape(1, 1))
        return
    import h5py

    targets = np.empty((len(values), 1), dtype=h5py.ref_dtype)
    for j, value in enumerate(values):
        target = refs.create_dataset(f"{group.name.rsplit('/', 1)[-1]}{name}{j}", data=[[value]])
        target.attrs["MATLAB_class"] = np.bytes_("double")
        targets[j, 0] = target.ref
    group.create_dataset(name, data=targets)


def _write_name(refs: Any, key: str, name: str) -> Any:
    chars = refs.create_dataset(key, data=np.array([[ord(c)] for c in name], np.uint16))
    chars.attrs["MATLAB_class"] = np.bytes_("char")
    chars.attrs["MATLAB_int_decode"] = np.int32(2)
    return chars.ref


def write_digit_struct(
    names: Sequence[str], boxes: NDArray[Any], box_offsets: NDArray[np.int64]
) -> bytes:
    """The bytes of a MATLAB v7.3 ``digitStruct.mat`` for ``names`` and their digits.

    ``boxes`` are ``BOX_DTYPE`` grouped by image as ``box_offsets`` says; labels are written as
    given (1..10 in the real files).
    """
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", userblock_size=_USER_BLOCK) as f:
        refs, struct = f.create_group("#refs#"), f.create_group("digitStruct")
        struct.attrs["MATLAB_class"] = np.bytes_("struct")
        name_refs = np.empty((len(names), 1), dtype=h5py.ref_dtype)
        bbox_refs = np.empty((len(names), 1), dtype=h5py.ref_dtype)
        for i, name in enumerate(names):
            name_refs[i, 0] = _write_name(refs, f"n{i}", name)
            group = refs.create_group(f"b{i}")
            group.attrs["MATLAB_class"] = np.bytes_("struct")
            digits = boxes[box_offsets[i] : box_offsets[i + 1]]
            for field in FIELDS:
                _write_field(f, group, refs, field, _field_values(digits, field))
            bbox_refs[i, 0] = group.ref
        struct.create_dataset("name", data=name_refs)
        struct.create_dataset("bbox", data=bbox_refs)
    data = bytearray(buf.getvalue())
    data[: len(MATLAB_HEADER)] = MATLAB_HEADER
    return bytes(data)


def write_tar(path: Path, members: Sequence[tuple[str, bytes]], folder: str | None = None) -> None:
    """A ``.tar.gz`` at ``path`` with ``members`` (name, bytes) in the order given.

    ``folder``, if given, is added first as a folder entry (as ``tar czf`` writes it).
    """
    with tarfile.open(path, "w:gz") as tf:
        if folder is not None:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def write_fake_svhn_full(
    path: Path, n: int, seed: int = 0, *, split: str | None = None, max_digits: int = 4
) -> FakeSvhnFull:
    """Write a fake SVHN full-numbers archive to ``path``; return what it holds.

    The archive holds the folder ``<split>/`` (``split`` defaults to the name of ``path`` up to
    the first dot) with ``1.png .. n.png`` (RGB, 8-31 pixels high, 10-49 wide), a MATLAB v7.3
    ``digitStruct.mat`` and a ``see_bboxes.m``, every member at a random (shuffled) position.
    """
    rng = np.random.default_rng(seed)
    split = split if split is not None else path.name.split(".")[0]
    shapes = np.stack([rng.integers(8, 32, n), rng.integers(10, 50, n)], axis=1).astype(np.int32)
    pngs = [fake_png(rng, int(h), int(w)) for h, w in shapes]
    boxes, offsets = fake_boxes(rng, shapes, max_digits)
    names = [f"{i + 1}.png" for i in range(n)]
    members = [(f"{split}/{name}", png) for name, png in zip(names, pngs, strict=True)]
    members.append((f"{split}/digitStruct.mat", write_digit_struct(names, boxes, offsets)))
    members.append((f"{split}/see_bboxes.m", b"load digitStruct.mat\n"))
    order = rng.permutation(len(members))
    write_tar(path, [members[k] for k in order], folder=f"{split}/")
    return FakeSvhnFull(pngs, shapes, boxes, offsets)


def register_fake_svhn_full(name: str, folder: Path, server: Any) -> str:
    """Register a copy of the built-in ``svhn-full`` entry as ``name``, its train (7), test
    (3) and extra (2) archives written as fakes in ``folder`` and served by ``server`` (an
    :class:`imagesets.testing.server.LoopbackServer`) at ``/full/<file>``; returns the name."""
    import copy
    import hashlib

    from .. import catalog

    entry = copy.deepcopy(catalog.builtin_entry("svhn-full"))
    entry["name"], entry["aliases"] = name, []
    for split, n in (("train", 7), ("test", 3), ("extra", 2)):
        entry["splits"][split]["count"] = n
        path = folder / f"{split}.tar.gz"
        write_fake_svhn_full(path, n, seed=n)
        data = path.read_bytes()
        server.add(f"/full/{path.name}", data)
        file = next(f for f in entry["editions"][0]["files"] if f["name"] == path.name)
        file.update(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            urls=[server.url(f"/full/{path.name}")],
        )
    return catalog.register(entry).name
