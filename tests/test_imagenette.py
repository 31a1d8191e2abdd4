"""Imagenette (issue 13): wnid folders -> class indices and names, the noisy-labels CSV as
extra label columns aligned with the images written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets import catalog
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, get_reader
from imagesets.testing import MemoryWriter
from imagesets.testing.archives import write_tgz
from imagesets.testing.imagenet import image_bytes
from imagesets.testing.imagenette import write_fake_imagenette

ENTRY = catalog.builtin_entry("imagenette")
OPTIONS = ENTRY["editions"][0]["options"]
WNIDS = OPTIONS["wnids"]


def _read(path: Path, split: str, **options: Any) -> tuple[MemoryWriter, Any]:
    out = MemoryWriter()
    request = ReadRequest("imagenette", split, {"archive": path}, {**OPTIONS, **options})
    return out, get_reader("imagenette")(request, out)


def test_wnid_folders_map_to_the_published_names() -> None:
    spec = catalog.get("imagenette")
    names = dict(zip(spec.label_names["wnids"], spec.classes, strict=True))
    assert names["n01440764"] == "tench" and names["n03888257"] == "parachute"
    assert names["n02102040"] == "English springer" and list(WNIDS) == sorted(WNIDS)
    assert [e.name for e in spec.editions] == ["320", "full", "160"]
    assert spec.editions[0].files[0].name == "imagenette2-320.tgz"


@pytest.mark.parametrize("csv_first", [False, True])
def test_labels_and_noisy_columns(tmp_path: Path, csv_first: bool) -> None:
    path = tmp_path / "imagenette2-320.tgz"
    fake = write_fake_imagenette(path, {"train": 7, "val": 4}, WNIDS, 0, csv_first=csv_first)
    for split in ("train", "val"):
        out, result = _read(path, split)
        assert out.arrays["labels"].tolist() == fake.labels[split]
        assert result.label_names["wnids"] == tuple(WNIDS)
        assert result.extras["noisy_label_columns"] == [
            "noisy_labels_1", "noisy_labels_25", "noisy_labels_5", "noisy_labels_50"]  # fmt: skip
        for column, values in fake.noisy[split].items():
            assert out.arrays[column].dtype == np.int64
            assert out.arrays[column].tolist() == values, column
            assert out.arrays[column].tolist() != fake.labels[split] or len(values) < 3


def test_fixed_size_arrays_carry_the_columns_too(tmp_path: Path) -> None:
    path = tmp_path / "imagenette2-160.tgz"
    fake = write_fake_imagenette(path, {"train": 5, "val": 3}, WNIDS, 1)
    out = MemoryWriter()
    request = ReadRequest("imagenette", "val", {"archive": path}, {**OPTIONS, "size": 16}, 3)
    get_reader("imagenette")(request, out)
    assert out.arrays["images"].shape == (3, 16, 16, 3)
    assert out.arrays["noisy_labels_5"].tolist() == fake.noisy["val"]["noisy_labels_5"]
    with pytest.raises(CatalogError, match="sized from the split's count"):
        get_reader("imagenette")(
            ReadRequest("imagenette", "val", {"archive": path}, {**OPTIONS, "size": 16}),
            MemoryWriter(),
        )


_HEADER = (
    "path,noisy_labels_0,noisy_labels_1,noisy_labels_5,noisy_labels_25,noisy_labels_50,is_valid"
)


def _archive(tmp_path: Path, rows: list[str], images: dict[str, bytes] | None = None) -> Path:
    w = WNIDS[0]
    images = images if images is not None else {f"val/{w}/a.JPEG": image_bytes(0)}
    members = {f"imagenette2-320/{n}": d for n, d in images.items()}
    members["imagenette2-320/noisy_imagenette.csv"] = ("\n".join([_HEADER, *rows]) + "\n").encode()
    return write_tgz(tmp_path / "imagenette2-320.tgz", members)


def test_an_undecodable_image_is_skipped_and_the_columns_stay_aligned(tmp_path: Path) -> None:
    w0, w1 = WNIDS[0], WNIDS[1]
    images = {f"val/{w0}/a.JPEG": b"not a jpeg", f"val/{w1}/b.JPEG": image_bytes(1)}
    rows = [f"val/{w0}/a.JPEG,{w0},{w0},{w0},{w0},{w0},True",
            f"val/{w1}/b.JPEG,{w1},{w0},{w1},{w1},{w1},True"]  # fmt: skip
    out, result = _read(_archive(tmp_path, rows, images), "val")
    assert [s.path for s in result.skipped] == [f"val/{w0}/a.JPEG"]
    assert out.arrays["labels"].tolist() == [1] and out.arrays["noisy_labels_1"].tolist() == [0]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("val/{w}/a.JPEG,{o},{w},{w},{w},{w},True", "its folder is another class"),
        ("val/{w}/a.JPEG,{w},{w},{w},{w},{w},False", "is_valid 'False', expected 'True'"),
        ("val/{w}/a.JPEG,{w},n99999999,{w},{w},{w},True", "'n99999999', not one of the classes"),
        ("val/{w}/other.JPEG,{w},{w},{w},{w},{w},True", r"no row for the image val/.*/a\.JPEG"),
    ],
)
def test_a_csv_that_contradicts_the_folders_is_refused(
    tmp_path: Path, row: str, match: str
) -> None:
    path = _archive(tmp_path, [row.format(w=WNIDS[0], o=WNIDS[1])])
    with pytest.raises(FormatError, match=match):
        _read(path, "val")


def test_a_missing_csv_or_an_unknown_folder_is_refused(tmp_path: Path) -> None:
    w = WNIDS[0]
    path = write_tgz(tmp_path / "a.tgz", {f"imagenette2-320/val/{w}/a.JPEG": image_bytes(0)})
    with pytest.raises(FormatError, match=r"no member <top folder>/noisy_imagenette\.csv"):
        _read(path, "val")
    path = _archive(tmp_path, [], {"val/n99999999/a.JPEG": image_bytes(0)})
    with pytest.raises(FormatError, match="folder 'n99999999' is not one of the 10 classes"):
        _read(path, "val")
    with pytest.raises(CatalogError, match="'test'"):
        _read(path, "test")
    with pytest.raises(CatalogError, match="option 'wnids'"):
        _read(path, "val", wnids="n01440764")


def test_a_row_with_surplus_fields_is_read(tmp_path: Path) -> None:
    # csv.DictReader files surplus fields under the key None: the header comes from fieldnames
    w = WNIDS[0]
    path = _archive(tmp_path, [f"val/{w}/a.JPEG,{w},{w},{w},{w},{w},True,surplus"])
    out, _ = _read(path, "val")
    assert out.arrays["noisy_labels_50"].tolist() == [0]
