"""The one image sink (formats/image_sink.py), ReadResult, and the collapsed format registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets._registry import ALIASES, READER_OPTIONS, READERS
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, ReadResult, Skip
from imagesets.formats.image_sink import (
    ImageOptions,
    ImageSource,
    Record,
    write_images,
)
from imagesets.imaging import backends, decode, encode
from imagesets.packed import PackedImages
from imagesets.testing import MemoryWriter
from imagesets.testing.images import photo

GOOD = [encode(photo(30, 40, seed)) for seed in range(5)]
BAD = GOOD[0][: len(GOOD[0]) // 2]  # a truncated JPEG
CALLS: list[int] = []


def _source(
    datas: list[bytes], count: int | None = None, checked: str | None = None
) -> ImageSource:
    """Records ``r0, r1, ...`` of ``datas``; each call of ``records`` is counted in CALLS."""

    def records() -> Iterator[Record]:
        CALLS.append(1)
        for i, data in enumerate(datas):
            yield Record(f"r{i}", i % 3, data)

    CALLS.clear()
    return ImageSource("arch.tar", records, count, checked)


def _options(**options: Any) -> ImageOptions:
    return ImageOptions.parse(ReadRequest("d", "s", {}, {"workers": 2, **options}))


def test_fixed_with_unknown_count_checks_first_and_skips_with_reasons() -> None:
    source = _source([GOOD[0], BAD, GOOD[1], b"", GOOD[2]])
    out, done = MemoryWriter(), []
    written = write_images(source, _options(size=16), out, done.append)
    assert written.count == 3 and written.extras == {"imaging": backends()}
    assert written.skipped == (Skip("r1", "truncated"), Skip("r3", "zero bytes"))
    assert out.arrays["labels"].tolist() == [0, 2, 1]
    for row, data in enumerate([GOOD[0], GOOD[1], GOOD[2]]):
        np.testing.assert_array_equal(out.arrays["images"][row], decode(data, size=16))
    assert CALLS == [1, 1] and sum(done) == 5  # a check pass, then the main pass


def test_fixed_with_a_known_count_reads_once() -> None:
    source = _source([GOOD[0], BAD, GOOD[1]], count=2)
    out = MemoryWriter()
    written = write_images(source, _options(size=8), out, lambda n: None)
    assert written.count == 2 and written.skipped == (Skip("r1", "truncated"),)
    assert CALLS == [1]


@pytest.mark.parametrize("options", [{"size": 8}, {}])
@pytest.mark.parametrize(("count", "found"), [(1, "more than 1"), (3, "only 2")])
def test_a_known_count_that_is_wrong_is_an_error(
    options: dict[str, Any], count: int, found: str
) -> None:
    source = _source([GOOD[0], BAD, GOOD[1]], count=count)
    with pytest.raises(FormatError, match=rf"arch\.tar: found {found} decodable images, expected"):
        write_images(source, _options(**options), MemoryWriter(), lambda n: None)


@pytest.mark.parametrize("options", [{"size": 8}, {"max_side": 16}])
def test_a_checked_source_that_fails_is_an_error_not_a_skip(options: dict[str, Any]) -> None:
    source = _source([GOOD[0], BAD], count=2, checked="it passed the audit")
    with pytest.raises(FormatError, match=r"arch\.tar!r1.*truncated.*\(it passed the audit\)"):
        write_images(source, _options(**options), MemoryWriter(), lambda n: None)


def test_packed_keeps_originals_and_uses_known_shapes() -> None:
    def records() -> Iterator[Record]:
        yield Record("a", 1, GOOD[0])
        yield Record("b", 0, BAD)
        yield Record("c", 2, b"not decoded: its shape is known", shape=(7, 9))

    out = MemoryWriter()
    written = write_images(ImageSource("z", records), _options(), out, lambda n: None)
    assert written.count == 2 and written.skipped == (Skip("b", "truncated"),)
    data = out.blobs["data"].getvalue()
    assert written.extras == {"max_side": None, "bytes": len(data), "imaging": backends()}
    packed = PackedImages(data, out.arrays["offsets"])
    assert packed.raw(0) == GOOD[0] and packed.raw(1).startswith(b"not decoded")
    assert out.arrays["shapes"].tolist() == [[30, 40], [7, 9]]
    assert out.arrays["labels"].tolist() == [1, 2]


def test_packed_reencodes_at_max_side_and_reads_files(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(GOOD[3])

    def records() -> Iterator[Record]:
        yield Record("a.jpg", 0, tmp_path / "a.jpg")
        yield Record("gone.jpg", 0, tmp_path / "gone.jpg")

    out = MemoryWriter()
    written = write_images(ImageSource("t", records), _options(max_side=20), out, lambda n: None)
    assert written.skipped[0].path == "gone.jpg" and written.skipped[0].reason.startswith("unread")
    assert out.arrays["shapes"].tolist() == [[15, 20]] and written.extras["max_side"] == 20


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"size": 8, "max_side": 8}, "'max_side' must be absent when 'size' is given"),
        ({"size": 0}, "'size' must be a positive integer"),
        ({"workers": 0}, "'workers' must be a positive integer"),
    ],
)
def test_options_are_parsed_once_for_every_source(options: dict[str, Any], match: str) -> None:
    with pytest.raises(CatalogError, match=match):
        ImageOptions.parse(ReadRequest("d", "s", {}, options))


# --- ReadResult --------------------------------------------------------------------------------


def test_read_result_manifest_keeps_the_keys_the_reader_stated() -> None:
    result = ReadResult(
        classes=("a", "b"),
        label_names={"superclasses": ("x",)},
        skipped=(Skip("p", "truncated"),),
        count=3,
        extras={"audit": {"images": 4}},
    )
    assert result.manifest() == {
        "classes": ["a", "b"],
        "superclasses": ["x"],
        "skipped": [{"path": "p", "reason": "truncated"}],
        "count": 3,
        "audit": {"images": 4},
    }
    assert ReadResult(labels_are_class_indices=False).manifest() == {
        "labels_are_class_indices": False
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"extras": {"skipped": []}},
        {"extras": {"count": 1}},
        {"label_names": {"classes": ("a",)}},
        {"label_names": {"wnids": ("n",)}, "extras": {"wnids": []}},
    ],
)
def test_read_result_refuses_extras_that_repeat_typed_keys(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="repeat the keys"):
        ReadResult(**kwargs)


# --- registry ----------------------------------------------------------------------------------


def test_one_reader_per_image_source_and_old_names_alias_it() -> None:
    readers = {READERS[name] for name in ("image-folder", "ilsvrc2012", "petimages")}
    assert len(readers) == 3
    for old, new in ALIASES.items():
        assert READERS[old] == READERS[new] and READER_OPTIONS[old] == READER_OPTIONS[new]
    assert len(set(READERS.values())) == len(READERS) - len(ALIASES) == 16


def test_backends_name_the_libraries_that_decode_and_resize(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cv2
    import PIL
    import simplejpeg

    from imagesets import imaging

    assert backends() == {
        "decoder": f"simplejpeg {simplejpeg.__version__} (JPEG), Pillow {PIL.__version__}",
        "resizer": f"OpenCV {cv2.__version__}",
    }
    monkeypatch.setattr(imaging, "_cv2", lambda: None)
    monkeypatch.setattr(imaging, "_simplejpeg", lambda: None)
    pillow = f"Pillow {PIL.__version__}"
    assert backends() == {"decoder": pillow, "resizer": f"{pillow} (BILINEAR)"}


def test_a_split_the_reader_does_not_hold_is_an_entry_error() -> None:
    request = ReadRequest("zoo", "val", {}, {})
    request.check_split(("train", "val"), "the zoo zip")
    with pytest.raises(
        CatalogError,
        match=r"dataset 'zoo': the zoo zip holds the splits \['train', 'test'\], not 'val'; "
        "fix the entry",
    ):
        request.check_split(("train", "test"), "the zoo zip")
