"""A fake ``kagglecatsanddogs_5340.zip``: the real layout with the real defects, small.

The zip holds ``PetImages/Cat/{0..per_class-1}.jpg`` and the same for ``Dog``, a ``Thumbs.db`` in
each folder, ``CDLA-Permissive-2.0.pdf`` and ``readme[1].txt`` at the top level, folder entries,
all in a seeded shuffled archive order. Most files are JFIF JPEGs of varying size; a few, at
seeded positions, carry the defects of the real file (:data:`DEFECTS`, :data:`KINDS`): an empty
file (like ``Cat/666.jpg``), PNG, BMP and GIF content named ``.jpg``, an Exif JPEG without JFIF,
a JPEG whose JFIF segment comes after an Exif one (past byte 10, within 512), a truncated JPEG,
text named ``.jpg``, a JPEG with extraneous bytes before its end marker and one with JFIF
revision 2.01 (the last two decode, with libjpeg warnings).

>>> import tempfile, pathlib
>>> fake = write_fake_petimages(pathlib.Path(tempfile.mkdtemp()) / "pets.zip", per_class=8)
>>> fake.summary()["undecodable"], fake.summary()["no_jfif_but_decodes"]
(4, 4)
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .images import photo

__all__ = ["DEFECTS", "KINDS", "FakeKind", "FakePetImages", "write_fake_petimages"]

_CLASSES = ("Cat", "Dog")
_EXIF_PAYLOAD = 100  # bytes of the Exif APP1 payload: puts a following JFIF at byte 110
_TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00"  # empty IFD0


def _encode(h: int, w: int, seed: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    extra = {"quality": 85} if fmt == "JPEG" else {}
    Image.fromarray(photo(h, w, seed)).save(buf, format=fmt, **extra)
    return buf.getvalue()


def _jpeg(h: int, w: int, seed: int) -> bytes:
    return _encode(h, w, seed, "JPEG")


def _app1_exif() -> bytes:
    payload = (b"Exif\x00\x00" + _TIFF).ljust(_EXIF_PAYLOAD, b"\x00")
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _without_app0(data: bytes) -> bytes:
    """The JPEG's segments after its JFIF APP0 (Pillow always writes one right after SOI)."""
    length = int.from_bytes(data[4:6], "big")
    return data[4 + length :]


def _exif_only(h: int, w: int, seed: int) -> bytes:
    return b"\xff\xd8" + _app1_exif() + _without_app0(_jpeg(h, w, seed))


def _exif_then_jfif(h: int, w: int, seed: int) -> bytes:
    return b"\xff\xd8" + _app1_exif() + _jpeg(h, w, seed)[2:]


def _truncated(h: int, w: int, seed: int) -> bytes:
    data = _jpeg(h, w, seed)
    return data[: len(data) // 2]


def _extraneous(h: int, w: int, seed: int) -> bytes:
    data = _jpeg(h, w, seed)
    return data[:-2] + b"\x00\x00\x00" + data[-2:]  # junk before the EOI marker 0xFFD9


def _bad_revision(h: int, w: int, seed: int) -> bytes:
    data = _jpeg(h, w, seed)
    return data[:11] + b"\x02" + data[12:]  # JFIF major version 2


@dataclass(frozen=True)
class FakeKind:
    """A kind of file: how to write it, where ``b"JFIF"`` starts, the reason it is skipped."""

    write: Callable[[int, int, int], bytes]
    jfif_at: int | None
    reason: str | None = None


#: kind name -> how to write it, where its JFIF marker is, and its skip reason (None: decodes).
KINDS: dict[str, FakeKind] = {
    "jpeg": FakeKind(_jpeg, 6),
    "zero_bytes": FakeKind(lambda h, w, s: b"", None, "zero bytes"),
    "png": FakeKind(lambda h, w, s: _encode(h, w, s, "PNG"), None),
    "bmp": FakeKind(lambda h, w, s: _encode(h, w, s, "BMP"), None),
    "gif": FakeKind(lambda h, w, s: _encode(h, w, s, "GIF"), None),
    "exif_jpeg": FakeKind(_exif_only, None),
    "exif_then_jfif": FakeKind(_exif_then_jfif, 10 + _EXIF_PAYLOAD),
    "truncated_jpeg": FakeKind(_truncated, 6, "truncated"),
    "text": FakeKind(
        lambda h, w, s: b"<html><body>404 Not Found</body></html>\n", None, "not an image"
    ),
    "extraneous_bytes": FakeKind(_extraneous, 6),
    "bad_jfif_revision": FakeKind(_bad_revision, 6),
}

#: class -> the defective kinds written at seeded positions of that class folder.
DEFECTS: dict[str, tuple[str, ...]] = {
    "Cat": ("zero_bytes", "png", "exif_jpeg", "truncated_jpeg", "extraneous_bytes"),
    "Dog": ("zero_bytes", "bmp", "gif", "text", "exif_then_jfif", "bad_jfif_revision"),
}

_IGNORED: dict[str, tuple[str, bytes]] = {
    "PetImages/Cat/Thumbs.db": ("system", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
    "PetImages/Dog/Thumbs.db": ("system", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
    "CDLA-Permissive-2.0.pdf": ("top_level", b"%PDF-1.4\n% fake licence\n%%EOF\n"),
    "readme[1].txt": ("top_level", b"Cats and dogs images from the Asirra data set.\n"),
}
_FOLDERS = ("PetImages/", "PetImages/Cat/", "PetImages/Dog/")


@dataclass(frozen=True)
class FakePetImages:
    """What :func:`write_fake_petimages` wrote, and what an audit must find.

    Attributes:
        path: the zip.
        kinds: image member (``PetImages/Cat/3.jpg``) -> :data:`KINDS` name.
        ignored: member -> reason an audit ignores it (``"system"``, ``"top_level"``).
    """

    path: Path
    kinds: dict[str, str]
    ignored: dict[str, str]

    def no_jfif(self, window: int = 512) -> frozenset[str]:
        """Members without ``b"JFIF"`` in their first ``window`` bytes."""
        at = {m: KINDS[k].jfif_at for m, k in self.kinds.items()}
        return frozenset(m for m, pos in at.items() if pos is None or pos + 4 > window)

    @property
    def undecodable(self) -> dict[str, str]:
        """Member -> skip reason, for the members that do not decode."""
        reasons = {m: KINDS[k].reason for m, k in self.kinds.items()}
        return {m: r for m, r in reasons.items() if r is not None}

    @property
    def decodable(self) -> frozenset[str]:
        """The members that decode."""
        return frozenset(self.kinds) - frozenset(self.undecodable)

    def summary(self, window: int = 512) -> dict[str, Any]:
        """What ``imagesets.formats.petimages.audit(path).summary()`` must return."""
        no_jfif, bad = self.no_jfif(window), self.undecodable
        return {
            "images": len(self.kinds),
            "per_class": {c: sum(m.split("/")[1] == c for m in self.kinds) for c in _CLASSES},
            "decodable": len(self.decodable),
            "undecodable": len(bad),
            "no_jfif": len(no_jfif),
            "no_jfif_but_decodes": len(no_jfif - set(bad)),
            "jfif_but_undecodable": len(set(bad) - no_jfif),
            "jfif_window": window,
            "ignored": dict(sorted(self.ignored.items())),
        }


def _class_kinds(cls: str, per_class: int, rng: np.random.Generator) -> list[str]:
    kinds = ["jpeg"] * per_class
    for kind, pos in zip(
        DEFECTS[cls], rng.choice(per_class, len(DEFECTS[cls]), replace=False), strict=True
    ):
        kinds[int(pos)] = kind
    return kinds


def _entries(per_class: int, seed: int) -> tuple[dict[str, str], dict[str, bytes]]:
    rng = np.random.default_rng(seed)
    kinds: dict[str, str] = {}
    payload: dict[str, bytes] = {}
    for cls in _CLASSES:
        for i, kind in enumerate(_class_kinds(cls, per_class, rng)):
            name = f"PetImages/{cls}/{i}.jpg"
            h, w = (int(v) for v in rng.integers(24, 72, 2))
            kinds[name] = kind
            payload[name] = KINDS[kind].write(h, w, int(rng.integers(1 << 31)))
    payload.update({name: data for name, (_, data) in _IGNORED.items()})
    return kinds, payload


def write_fake_petimages(path: Path, per_class: int = 20, seed: int = 0) -> FakePetImages:
    """Write a fake PetImages zip at ``path`` (deterministic in ``seed``); return its facts.

    Args:
        per_class: files per class folder (at least 8: room for the defects and good JPEGs).
        seed: chooses sizes, pictures, defect positions and the archive order.
    """
    need = max(len(d) for d in DEFECTS.values()) + 2
    if per_class < need:
        raise ValueError(
            f"write_fake_petimages: per_class must be at least {need}, found {per_class}"
        )
    kinds, payload = _entries(per_class, seed)
    order = np.random.default_rng([seed, 1]).permutation(len(payload))
    names = list(payload)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for folder in _FOLDERS:
            zf.writestr(zipfile.ZipInfo(folder), b"")
        for i in order:  # a fixed timestamp: the same seed gives the same bytes at any time
            member = zipfile.ZipInfo(names[int(i)], date_time=(2020, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(member, payload[names[int(i)]], compresslevel=1)
    ignored = {name: reason for name, (reason, _) in _IGNORED.items()}
    return FakePetImages(Path(path), kinds, ignored)
