"""EMNIST's gzip.zip reader: upright images, class names from the mapping file, bounds, and the
six entries sharing one download."""

from __future__ import annotations

import copy
import gzip
import hashlib
import string
import zipfile
from pathlib import Path

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, get_reader
from imagesets.formats.emnist import member_names, parse_mapping
from imagesets.testing import MemoryWriter
from imagesets.testing.emnist import fake_emnist_split, mapping_text, write_fake_emnist
from imagesets.testing.idx import idx_bytes
from imagesets.testing.server import LoopbackServer

DIGITS = list(string.digits)


def _glyph_l() -> np.ndarray:
    """An upright 'L': a vertical stroke down column 5 and a foot along row 22."""
    img = np.zeros((28, 28), np.uint8)
    img[4:23, 5] = 255
    img[22, 5:20] = 200
    return img


def _read(path: Path, variant: str = "digits", split: str = "train") -> MemoryWriter:
    out = MemoryWriter()
    request = ReadRequest("emnist-x", split, {"archive": path}, {"variant": variant})
    result = get_reader("emnist")(request, out)
    out.result = result  # type: ignore[attr-defined]
    return out


def test_an_asymmetric_glyph_comes_out_upright(tmp_path: Path) -> None:
    upright = np.stack([_glyph_l(), _glyph_l()[::-1]])
    path = write_fake_emnist(
        tmp_path / "gzip.zip", "digits", {"train": (upright, np.array([1, 2], np.uint8))}, DIGITS
    )
    with zipfile.ZipFile(path) as zf:  # NIST's bytes are the transpose
        raw = gzip.decompress(zf.read(member_names("digits", "train")["images"]))
    stored = np.frombuffer(raw[16:], np.uint8).reshape(2, 28, 28)
    assert np.array_equal(stored[0], _glyph_l().T) and not np.array_equal(stored[0], _glyph_l())
    out = _read(path)
    assert np.array_equal(out.arrays["images"], upright)
    assert out.arrays["labels"].tolist() == [1, 2]


def test_upright_in_chunks_covers_every_image(tmp_path: Path) -> None:
    images, labels = fake_emnist_split(8200, DIGITS, seed=3)  # more than one chunk of 8192
    path = write_fake_emnist(tmp_path / "gzip.zip", "digits", {"test": (images, labels)}, DIGITS)
    out = _read(path, split="test")
    assert np.array_equal(out.arrays["images"], images)


def test_class_names_come_from_the_mapping_file(tmp_path: Path) -> None:
    letters = ["N/A", *string.ascii_lowercase]
    assert mapping_text(letters).splitlines()[0] == "1 65 97"  # as NIST's Letters mapping
    images, labels = fake_emnist_split(30, letters, seed=1)
    assert labels.min() == 1
    path = write_fake_emnist(tmp_path / "gzip.zip", "letters", {"train": (images, labels)}, letters)
    out = _read(path, "letters")
    assert out.result.classes == tuple(letters)  # type: ignore[attr-defined]
    assert out.result.extras == {"class_mapping": "gzip/emnist-letters-mapping.txt"}  # type: ignore[attr-defined]


def test_without_the_mapping_file_the_manifest_says_so(tmp_path: Path) -> None:
    images, labels = fake_emnist_split(5, DIGITS, seed=1)
    path = write_fake_emnist(tmp_path / "gzip.zip", "mnist", {"train": (images, labels)}, None)
    out = _read(path, "mnist")
    assert out.result.classes is None  # type: ignore[attr-defined]
    assert out.result.extras == {"class_mapping": None}  # type: ignore[attr-defined]


def test_a_label_the_mapping_does_not_list_is_refused(tmp_path: Path) -> None:
    images, labels = fake_emnist_split(5, DIGITS, seed=1)
    labels[2] = 12
    path = write_fake_emnist(tmp_path / "gzip.zip", "digits", {"train": (images, labels)}, DIGITS)
    with pytest.raises(FormatError, match="holds label 12, which gzip/emnist-digits-mapping"):
        _read(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"0 48\n0 49\n", "given once"),
        (b"0 x\n", "expected 'label code"),
        (b"0 300\n", "ASCII character code"),
        (b"\xff\n", "not ASCII"),
        (b"\n", "no label is listed"),
    ],
)
def test_a_bad_mapping_is_refused(text: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        parse_mapping(text, "m.txt")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_header_larger_than_its_member_is_refused_before_allocating(tmp_path: Path) -> None:
    names = member_names("digits", "train")
    huge = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (10**7, 28, 28))
    path = _zip(tmp_path / "gzip.zip", {
        names["images"]: gzip.compress(huge),
        names["labels"]: idx_bytes(np.zeros(3, np.uint8)),
    })  # fmt: skip
    with pytest.raises(FormatError, match="cannot hold that"):
        _read(path)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((2, 28, 27), np.uint8), r"expected images of \(28, 28\)"),
        (np.zeros((2, 28, 28), np.int32), "expected uint8 data"),
        (np.zeros((2, 784), np.uint8), "expected uint8 data of 3 dimension"),
    ],
)
def test_wrong_image_headers_are_refused(tmp_path: Path, images: np.ndarray, match: str) -> None:
    names = member_names("digits", "train")
    path = _zip(tmp_path / "gzip.zip", {
        names["images"]: idx_bytes(images), names["labels"]: idx_bytes(np.zeros(2, np.uint8)),
    })  # fmt: skip
    with pytest.raises(FormatError, match=match):
        _read(path)


def test_missing_members_counts_and_corrupt_gzip_are_refused(tmp_path: Path) -> None:
    names = member_names("digits", "train")
    images = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    only = _zip(tmp_path / "a.zip", {names["images"]: images})
    with pytest.raises(FormatError, match="no member gzip/emnist-digits-train-labels"):
        _read(only)
    counts = _zip(tmp_path / "b.zip", {
        names["images"]: images, names["labels"]: idx_bytes(np.zeros(2, np.uint8))})  # fmt: skip
    with pytest.raises(FormatError, match=r"holds 3 images but .* holds 2 labels"):
        _read(counts)
    corrupt = _zip(tmp_path / "c.zip", {names["images"]: images[:40] + b"\0" * 9})
    with pytest.raises(FormatError, match="gzip stream is corrupt"):
        _read(corrupt)


def test_a_bad_variant_or_split_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gzip.zip"
    path.write_bytes(b"")
    with pytest.raises(CatalogError, match="option 'variant' must be one of byclass"):
        get_reader("emnist")(
            ReadRequest("e", "train", {"archive": path}, {"variant": "x"}), MemoryWriter()
        )
    with pytest.raises(FormatError, match="split is 'val'"):
        get_reader("emnist")(
            ReadRequest("e", "val", {"archive": path}, {"variant": "digits"}), MemoryWriter()
        )


def test_the_emnist_entries_share_one_download(
    tmp_path: Path, server: LoopbackServer, cache: Path
) -> None:
    path = tmp_path / "gzip.zip"
    digits = {s: fake_emnist_split(n, DIGITS, seed=k) for k, (s, n) in
              enumerate({"train": 12, "test": 6}.items())}  # fmt: skip
    mnist = {s: fake_emnist_split(n, DIGITS, seed=9 + k) for k, (s, n) in
             enumerate({"train": 8, "test": 4}.items())}  # fmt: skip
    write_fake_emnist(path, "digits", digits, DIGITS)
    write_fake_emnist(path, "mnist", mnist, DIGITS, append=True)
    data = path.read_bytes()
    server.add("/e/gzip.zip", data)
    names = []
    for variant, fake in (("digits", digits), ("mnist", mnist)):
        entry = copy.deepcopy(catalog.builtin_entry(f"emnist-{variant}"))
        entry.update(name=f"fake-emnist-{variant}", aliases=[], shared_downloads="fake-emnist")
        entry["splits"] = {s: {"count": len(fake[s][1])} for s in fake}
        entry["editions"][0]["files"] = [{
            "name": "gzip.zip", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "urls": [server.url("/e/gzip.zip")]}]  # fmt: skip
        names.append(catalog.register(entry).name)
    try:
        for name, fake in zip(names, (digits, mnist), strict=True):
            ds = imagesets.load(name, progress=False)
            for split, (images, labels) in fake.items():
                assert np.array_equal(ds[split].images, images)
                assert np.array_equal(ds[split].labels, labels)
        assert server.hits("/e/gzip.zip") == 1
        assert sorted(p.name for p in (cache / "downloads").iterdir()) == ["fake-emnist"]
    finally:
        for name in names:
            catalog.unregister(name)


def test_shared_downloads_must_be_a_plain_name() -> None:
    entry = copy.deepcopy(catalog.builtin_entry("emnist-digits"))
    assert catalog.spec_from_dict(entry).downloads_name == "emnist"
    entry["shared_downloads"] = "../x"
    with pytest.raises(CatalogError, match="shared_downloads"):
        catalog.spec_from_dict(entry)
    del entry["shared_downloads"]
    assert catalog.spec_from_dict(entry).downloads_name == "emnist-digits"
