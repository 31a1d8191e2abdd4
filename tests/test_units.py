"""Units of archive sources (what the Ray engine's tasks read), without Ray.

A serial unit engine stands in for Ray: it pickles each task and unit (as shipping them to a
worker would) and runs them in order. The units of each source must read exactly the records the
local streamed read yields, raise the same errors, and never carry image bytes.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import tarfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import imagesets
from imagesets._parallel import unit_engine
from imagesets.archives import open_range, tar_index
from imagesets.errors import FormatError, UnsafeArchiveError
from imagesets.formats import _petimages_audit, imagenet, petimages
from imagesets.formats._imagenet_devkit import _val_labels
from imagesets.testing.imagenet import image_bytes, tar_bytes, write_fake_ilsvrc


def _no_bytes(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return False
    if isinstance(value, (tuple, list)):
        return all(_no_bytes(v) for v in value)
    return True


@contextlib.contextmanager
def serial_units(shipped: list[Any]) -> Iterator[None]:
    """A unit engine running each pickled task on each pickled unit, in order."""

    def engine(task: Callable[[Any], list[Any]], units: Iterable[Any]) -> Iterator[list[Any]]:
        run = pickle.loads(pickle.dumps(task))
        for unit in units:
            shipped.append(unit)
            yield run(pickle.loads(pickle.dumps(unit)))

    token = unit_engine.set(engine)
    try:
        yield
    finally:
        unit_engine.reset(token)


def by_units(units: Iterable[Any], read: Callable[[Any], list[Any]]) -> list[Any]:
    return [record for unit in units for record in read(unit)]


def test_units_of_imagenet_read_what_the_stream_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = write_fake_ilsvrc(tmp_path, per_class=3, n_val=7, seed=1)
    monkeypatch.setattr(imagenet, "VAL_UNIT", 3)
    units = list(imagenet._train_units(fake.train))
    assert len(units) == 4 and all(_no_bytes(u) for u in units)
    read_train = by_units(units, lambda u: imagenet._train_unit(fake.train, u))
    assert read_train == list(imagenet._train_items(fake.train))
    labels = _val_labels(fake.devkit)
    val_units = imagenet._val_units(fake.val, labels)
    assert [len(u) for u in val_units] == [3, 3, 1] and all(_no_bytes(u) for u in val_units)
    read_val = by_units(val_units, lambda u: imagenet._val_unit(fake.val, u))
    assert read_val == list(imagenet._val_items(fake.val, labels))


def test_units_of_imagenet_raise_the_errors_of_the_stream(tmp_path: Path) -> None:
    """A foreign file in a class tar, and a val tar with a missing image: same FormatError."""
    fake = write_fake_ilsvrc(tmp_path / "f", per_class=2, n_val=3)
    bad = tmp_path / "ILSVRC2012_img_train.tar"
    inner = tar_bytes([("n01440764_1.JPEG", image_bytes(0)), ("notes.txt", b"x")])
    bad.write_bytes(tar_bytes([("n01440764.tar", inner)]))
    with pytest.raises(FormatError) as streamed:
        list(imagenet._train_items(bad))
    with pytest.raises(FormatError) as by_unit:
        by_units(imagenet._train_units(bad), lambda u: imagenet._train_unit(bad, u))
    assert str(by_unit.value) == str(streamed.value) and "notes.txt" in str(streamed.value)
    short = tmp_path / "ILSVRC2012_img_val.tar"
    short.write_bytes(tar_bytes([(f"ILSVRC2012_val_0000000{i}.JPEG", image_bytes(i))
                                 for i in (1, 3)]))  # fmt: skip
    labels = _val_labels(fake.devkit)
    with pytest.raises(FormatError) as streamed:
        list(imagenet._val_items(short, labels))
    with pytest.raises(FormatError) as by_unit:
        imagenet._val_units(short, labels)
    assert str(by_unit.value) == str(streamed.value)
    assert "ILSVRC2012_val_00000002.JPEG" in str(streamed.value)


def test_tar_index_lists_offsets_without_reading_and_refuses_what_it_cannot_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.tar"
    path.write_bytes(tar_bytes([("x/one.bin", b"1" * 700), ("two.bin", b"22")]))
    index = list(tar_index(path))
    assert [(m.name, m.size) for m, _ in index] == [("x/one.bin", 700), ("two.bin", 2)]
    for member, offset in index:
        with open_range(path, offset, member.size) as reader:
            assert reader.read(5) + reader.read() == (b"1" * 700 if member.size == 700 else b"22")
    with pytest.raises(FormatError, match="past its end"):
        open_range(path, index[1][1], 10**6).__enter__()
    gz = tmp_path / "a.tar.gz"
    with tarfile.open(gz, "w:gz") as tf:
        tf.add(path, "a")
    with pytest.raises(FormatError, match=r"uncompressed \.tar"):
        list(tar_index(gz))
    evil = tmp_path / "evil.tar"
    evil.write_bytes(tar_bytes([("../up.bin", b"x")]))
    with pytest.raises(UnsafeArchiveError, match="outside"):
        list(tar_index(evil))


def prepared_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("options", [{"size": 16}, None])
def test_cats_and_dogs_by_units_writes_the_streamed_split(
    pets_entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: Any
) -> None:
    """Audit and rows in member ranges (as Ray tasks read them): the same files, skips with
    the same reasons, and the driver-side streamed readers never run."""
    monkeypatch.setattr(petimages, "UNIT", 4)
    monkeypatch.setattr(_petimages_audit, "AUDIT_UNIT", 6)
    local = imagesets.prepare(pets_entry, root=tmp_path / "a", options=options, progress=False)
    shipped: list[Any] = []

    def refuse(*args: Any) -> Any:
        raise AssertionError("the driver read member bytes")

    monkeypatch.setattr(petimages, "_records", refuse)
    monkeypatch.setattr(_petimages_audit, "iter_files", refuse)
    with serial_units(shipped):
        units = imagesets.prepare(pets_entry, root=tmp_path / "b", options=options,
                                  progress=False)  # fmt: skip
    for split in ("train", "test"):
        assert prepared_files(units[split]) == prepared_files(local[split])
    skipped = json.loads((units["train"] / "manifest.json").read_text())["skipped"]
    assert skipped and all(s["reason"] for s in skipped)
    assert len(shipped) > 4 and all(_no_bytes(u) for u in shipped)
