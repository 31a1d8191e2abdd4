"""QMNIST: the IDX reader's ``label_columns`` option gives the 8 extended label columns as
named per-example arrays; MNIST's 1-D labels are read as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import CatalogError, FormatError
from imagesets.formats import ReadRequest, get_reader
from imagesets.testing import MemoryWriter
from imagesets.testing.entries import retarget_with_fakes
from imagesets.testing.idx import write_idx
from imagesets.testing.server import LoopbackServer

COLUMNS = ["labels", "nist_hsf", "writer_id", "writer_digit_index", "nist_class_code",
           "nist_digit_index", "duplicate", "unused"]  # fmt: skip


def test_the_eight_columns_are_named_arrays(tmp_path: Path, server: LoopbackServer) -> None:
    original = catalog.builtin_entry("qmnist")
    assert original["editions"][0]["options"]["label_columns"] == COLUMNS
    entry, fakes = retarget_with_fakes(original, tmp_path, server.url("/q/"))
    for f in entry["editions"][0]["files"]:
        server.add(f"/q/{f['name']}", (tmp_path / f["name"]).read_bytes())
    catalog.register(entry)
    try:
        ds = imagesets.load("fake-qmnist", progress=False)
        for split in ("train", "test"):
            images, table = fakes["idx"].facts[split]
            assert table.shape == (len(images), 8) and len(np.unique(table[:, 2])) > 1
            arrays = ds[split].arrays
            assert set(COLUMNS) <= set(arrays)
            for i, name in enumerate(COLUMNS):
                assert arrays[name].dtype == np.int32 and arrays[name].shape == (len(images),)
                assert np.array_equal(arrays[name], table[:, i]), name
            assert np.array_equal(ds[split].labels, table[:, 0])
            assert np.array_equal(ds[split].images, images)
    finally:
        catalog.unregister("fake-qmnist")


def _files(tmp_path: Path, labels: np.ndarray[Any, Any], n: int = 4) -> dict[str, Path]:
    return {
        "images": write_idx(tmp_path / "i.gz", np.zeros((n, 28, 28), np.uint8)),
        "labels": write_idx(tmp_path / "l.gz", labels),
    }


def _read(files: dict[str, Path], options: dict[str, Any]) -> MemoryWriter:
    out = MemoryWriter()
    get_reader("idx")(ReadRequest("q", "train", files, options), out)
    return out


def test_a_table_of_another_width_or_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"labels of shape \(N, 8\), found .* \(4, 3\)"):
        _read(_files(tmp_path, np.zeros((4, 3), np.int32)), {"label_columns": COLUMNS})
    with pytest.raises(FormatError, match=r"holds 4 images but l\.gz holds 5 labels"):
        _read(_files(tmp_path, np.zeros((5, 8), np.int32)), {"label_columns": COLUMNS})
    with pytest.raises(FormatError, match="1-D labels"):  # MNIST's reading is unchanged
        _read(_files(tmp_path, np.zeros((4, 8), np.int32)), {})


@pytest.mark.parametrize(
    "value", [[], ["writer_id", "labels"], ["labels", "labels"], ["labels", "a b"], "labels", [1]]
)
def test_a_malformed_label_columns_option_is_refused(tmp_path: Path, value: Any) -> None:
    with pytest.raises(CatalogError, match="option 'label_columns' must be a list of unique"):
        _read(_files(tmp_path, np.zeros((4, 8), np.int32)), {"label_columns": value})


def test_mnist_labels_read_as_before(tmp_path: Path) -> None:
    labels = np.arange(4, dtype=np.uint8)
    out = _read(_files(tmp_path, labels), {})
    assert sorted(out.arrays) == ["images", "labels"]
    assert out.arrays["labels"].dtype == np.uint8 and out.arrays["labels"].tolist() == [0, 1, 2, 3]
