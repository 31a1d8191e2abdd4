"""Fake image files, good and broken, and class-per-folder trees built from them.

The pictures are photographic-like (gradients, smooth blobs and grain), so JPEG sizes and decode
times are realistic, unlike flat colours. Every writer is deterministic in its ``seed``.

>>> import tempfile, pathlib
>>> spec = {"animals/cat": ["jpeg", "truncated_jpeg"], "plants": 2}
>>> with tempfile.TemporaryDirectory() as tmp:
...     tree = make_fake_tree(pathlib.Path(tmp), spec)
>>> sorted(tree.skipped.values()), tree.classes
(['truncated'], ['animals/cat', 'plants'])
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "KINDS",
    "FakeTree",
    "make_fake_tree",
    "photo",
    "write_jpeg",
    "write_not_image",
    "write_png",
    "write_truncated_jpeg",
    "write_zero_bytes",
]


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> NDArray[np.float64]:
    """Noise in [0, 1] varying over about ``cell`` pixels, ``(h, w, 3)``."""
    small = (rng.random((max(2, h // cell), max(2, w // cell), 3)) * 255).astype(np.uint8)
    big = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float64) / 255.0


def photo(h: int, w: int, seed: int) -> NDArray[np.uint8]:
    """A photographic-like uint8 ``(h, w, 3)`` RGB picture, values 0..255.

    Colour varies smoothly (gradients, large blobs); detail and grain are mostly in luminance,
    as in photographs, so JPEG's chroma subsampling costs what it costs on real pictures.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    coef = rng.uniform(-1, 1, (3, 3))
    gradient = coef[0] * 0.5 + 0.5 + coef[1] * xx[..., None] * 0.5 + coef[2] * yy[..., None] * 0.5
    picture = 0.35 * gradient + 0.4 * _smooth_noise(rng, h, w, 24)
    picture += 0.25 * _smooth_noise(rng, h, w, 4).mean(axis=2, keepdims=True)
    picture = picture * 255 + rng.normal(0, 4, (h, w, 1))
    out: NDArray[np.uint8] = np.clip(picture, 0, 255).astype(np.uint8)
    return out


#: JPEG colour modes Pillow can write.
_JPEG_MODES = ("RGB", "L", "CMYK")


def write_jpeg(
    path: Path,
    h: int,
    w: int,
    seed: int,
    mode: str = "RGB",
    *,
    quality: int = 90,
    progressive: bool = False,
) -> Path:
    """Write a ``h`` x ``w`` JPEG in ``mode`` (``"RGB"``, ``"L"`` or ``"CMYK"``)."""
    if mode not in _JPEG_MODES:
        raise ValueError(f"write_jpeg: mode {mode!r} is not one of {_JPEG_MODES}; use write_png")
    image = Image.fromarray(photo(h, w, seed)).convert(mode)
    image.save(path, format="JPEG", quality=quality, progressive=progressive)
    return path


def _alpha(h: int, w: int) -> Image.Image:
    ramp = np.linspace(0, 255, w, dtype=np.float64)[None, :].repeat(h, axis=0)
    return Image.fromarray(ramp.astype(np.uint8))


def _png_image(h: int, w: int, seed: int, mode: str) -> Image.Image:
    rgb = Image.fromarray(photo(h, w, seed))
    if mode in ("RGBA", "LA"):
        image = rgb.convert(mode)
        image.putalpha(_alpha(h, w))
        return image
    if mode == "P":
        return rgb.quantize(32)
    if mode == "I;16":
        gray = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
        return Image.fromarray(gray)
    return rgb.convert(mode)


def write_png(path: Path, h: int, w: int, seed: int, mode: str = "RGB") -> Path:
    """Write a PNG (whatever ``path``'s suffix) in ``mode``: RGB, L, RGBA, LA, P, P+t, I;16.

    ``"P+t"`` is a palette image whose colour 0 is transparent; ``"I;16"`` is 16-bit grayscale.
    """
    image = _png_image(h, w, seed, "P" if mode == "P+t" else mode)
    extra = {"transparency": 0} if mode == "P+t" else {}
    image.save(path, format="PNG", **extra)
    return path


def write_truncated_jpeg(path: Path, h: int, w: int, seed: int, keep: float = 0.5) -> Path:
    """Write the first ``keep`` fraction of a JPEG (the header survives, the scan does not)."""
    write_jpeg(path, h, w, seed)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_zero_bytes(path: Path, h: int = 0, w: int = 0, seed: int = 0) -> Path:
    """Write an empty file (like ``PetImages/Cat/666.jpg``)."""
    path.write_bytes(b"")
    return path


def write_not_image(path: Path, h: int = 0, w: int = 0, seed: int = 0) -> Path:
    """Write text that is no image format at all."""
    path.write_text("<html><body>404 Not Found</body></html>\n")
    return path


@dataclass(frozen=True)
class Kind:
    """A kind of fake file: how to write it, its suffix, and the skip reason it earns."""

    write: Callable[[Path, int, int, int], Path]
    suffix: str
    reason: str | None = None


def _jpeg(mode: str, progressive: bool = False) -> Callable[[Path, int, int, int], Path]:
    return lambda p, h, w, s: write_jpeg(p, h, w, s, mode, progressive=progressive)


def _png(mode: str) -> Callable[[Path, int, int, int], Path]:
    return lambda p, h, w, s: write_png(p, h, w, s, mode)


#: kind name -> how to write it; ``reason`` is what a reader must report when it skips it.
KINDS: dict[str, Kind] = {
    "jpeg": Kind(_jpeg("RGB"), ".jpg"),
    "gray_jpeg": Kind(_jpeg("L"), ".jpg"),
    "cmyk_jpeg": Kind(_jpeg("CMYK"), ".jpg"),
    "progressive_jpeg": Kind(_jpeg("RGB", progressive=True), ".jpg"),
    "png_as_jpg": Kind(_png("RGB"), ".jpg"),
    "palette_png": Kind(_png("P+t"), ".png"),
    "alpha_png": Kind(_png("RGBA"), ".png"),
    "gray16_png": Kind(_png("I;16"), ".png"),
    "truncated_jpeg": Kind(write_truncated_jpeg, ".jpg", "truncated"),
    "zero_bytes": Kind(write_zero_bytes, ".jpg", "zero bytes"),
    "not_image": Kind(write_not_image, ".jpg", "not an image"),
}

#: files a scanner must ignore: relative path -> the reason it is counted under.
_EXTRAS: dict[str, str] = {
    ".DS_Store": "hidden",
    "._photo.jpg": "hidden",
    "Thumbs.db": "system",
    "desktop.ini": "system",
    "README.txt": "not_image",
    "labels.csv": "not_image",
}


@dataclass(frozen=True)
class FakeTree:
    """What :func:`make_fake_tree` wrote: the facts a scanner and a reader must find.

    Attributes:
        root: the tree's root.
        files: relative posix path -> kind name, for every image-suffixed file in a class folder.
        ignored: reason -> count of files a scanner must ignore.
    """

    root: Path
    files: dict[str, str]
    ignored: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> dict[str, str]:
        """Relative path -> reason, for the files that cannot be decoded."""
        found = {path: KINDS[kind].reason for path, kind in self.files.items()}
        return {path: reason for path, reason in found.items() if reason is not None}

    @property
    def classes(self) -> list[str]:
        """Sorted label paths (the folders holding the files)."""
        return sorted({path.rpartition("/")[0] for path in self.files})


def _write_folder(root: Path, folder: str, kinds: Sequence[str], h: int, w: int) -> dict[str, str]:
    (root / folder).mkdir(parents=True, exist_ok=True)
    written = {}
    for i, kind in enumerate(kinds):
        rel = f"{folder}/img{i:03d}{KINDS[kind].suffix}"
        KINDS[kind].write(root / rel, h, w, zlib.crc32(rel.encode()))
        written[rel] = kind
    return written


def _write_extras(root: Path, folder: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, reason in _EXTRAS.items():
        (root / folder / name).write_bytes(b"\x00extra")
        counts[reason] = counts.get(reason, 0) + 1
    hidden = root / folder / ".cache"  # a hidden folder counts once, its content is not walked
    hidden.mkdir()
    (hidden / "x.jpg").write_bytes(b"")
    counts["hidden"] += 1
    return counts


def make_fake_tree(
    root: Path,
    spec: Mapping[str, int | Sequence[str]],
    *,
    h: int = 48,
    w: int = 64,
    extras: bool = True,
) -> FakeTree:
    """Write a class-per-folder tree under ``root``.

    Args:
        spec: relative folder (posix, any depth, e.g. ``"train/animals/cat"``) -> a count of
            good RGB JPEGs or a list of :data:`KINDS` names, one file each.
        h, w: picture size.
        extras: also write, in each folder of ``spec``, the files a scanner must ignore (hidden
            files, a hidden folder, ``Thumbs.db``, ``desktop.ini``, non-image suffixes).
    """
    files: dict[str, str] = {}
    ignored: dict[str, int] = {}
    for folder, kinds in spec.items():
        names = ["jpeg"] * kinds if isinstance(kinds, int) else list(kinds)
        files.update(_write_folder(root, folder, names, h, w))
        for reason, count in (_write_extras(root, folder) if extras else {}).items():
            ignored[reason] = ignored.get(reason, 0) + count
    return FakeTree(root, files, ignored)
