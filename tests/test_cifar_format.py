"""CIFAR readers: both editions, both variants, the real meta files, and hostile input."""

from __future__ import annotations

import hashlib
import io
import itertools
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets import archives
from imagesets._pickle import restricted_loads
from imagesets.errors import CatalogError, FormatError, UnsafeArchiveError, UnsafePickleError
from imagesets.formats import ReadRequest
from imagesets.formats.cifar import parse_python_meta, read_binary_split, read_python_split
from imagesets.testing import MemoryWriter
from imagesets.testing.cifar import (
    CIFAR100_FINE_TO_COARSE,
    binary_records,
    make_fake_cifar,
    malicious_pickle,
    py2_pickle,
    write_cifar_binary,
    write_cifar_python,
    write_malicious_cifar_python,
)

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-data"
READERS = {"python": read_python_split, "binary": read_binary_split}
N_TRAIN, N_TEST = 23, 7
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Fake splits and archives: {variant: {"splits": ..., style: archive path}}."""
    root = tmp_path_factory.mktemp("cifar")
    made: dict[str, Any] = {}
    for variant in ("cifar10", "cifar100"):
        splits = make_fake_cifar(variant, N_TRAIN, N_TEST, seed=7)
        paths: dict[str, Any] = {"splits": splits}
        for style in ("py2", "py3-bytes", "py3-str"):
            paths[style] = write_cifar_python(
                root / f"{variant}-{style}.tar.gz", variant, *splits.values(), pickle_style=style
            )
        paths["binary"] = write_cifar_binary(
            root / f"{variant}-bin.tar.gz", variant, *splits.values()
        )
        made[variant] = paths
    return made


def _read(
    edition: str, archive: Path, variant: str, split: str, count: int | None = None, **options: Any
) -> tuple[MemoryWriter, dict[str, Any], list[int]]:
    calls: list[int] = []
    request = ReadRequest(
        dataset=variant,
        split=split,
        files={"archive": archive},
        options={"variant": variant, **options},
        count=count,
        progress=calls.append,
    )
    out = MemoryWriter()
    return out, READERS[edition](request, out).manifest(), calls


STYLES = [("python", "py2"), ("python", "py3-bytes"), ("python", "py3-str"), ("binary", "binary")]


@pytest.mark.parametrize(("edition", "style"), STYLES)
@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("with_count", [True, False])
def test_round_trip(
    fakes: dict[str, Any], edition: str, style: str, variant: str, split: str, with_count: bool
) -> None:
    expected = fakes[variant]["splits"][split]
    count = len(expected.images) if with_count else None
    out, result, progress = _read(edition, fakes[variant][style], variant, split, count)
    images = out.arrays["images"]
    assert images.dtype == np.uint8
    assert images.shape == (len(expected.images), 32, 32, 3)
    np.testing.assert_array_equal(images, expected.images)
    np.testing.assert_array_equal(out.arrays["labels"], expected.labels)
    assert out.arrays["labels"].dtype == np.uint8
    assert sum(progress) == len(expected.images)
    if variant == "cifar10":
        assert set(out.arrays) == {"images", "labels"}
        assert result == {"classes": CIFAR10}
    else:
        np.testing.assert_array_equal(out.arrays["coarse_labels"], expected.coarse_labels)
        assert result["classes"][26] == "fine_26"
        assert result["superclasses"] == [f"coarse_{i:02d}" for i in range(20)]


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
def test_binary_and_python_editions_give_identical_arrays(
    fakes: dict[str, Any], variant: str
) -> None:
    py, py_meta, _ = _read("python", fakes[variant]["py2"], variant, "train")
    bn, bn_meta, _ = _read("binary", fakes[variant]["binary"], variant, "train")
    assert py.arrays.keys() == bn.arrays.keys()
    for name in py.arrays:
        assert py.arrays[name].tobytes() == bn.arrays[name].tobytes()
    assert py_meta == bn_meta


def test_nhwc_transpose_puts_red_green_blue_in_the_last_axis(tmp_path: Path) -> None:
    images = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    images[0, 0, 1] = (10, 20, 30)  # row 0, column 1
    record = binary_records(make_fake_cifar("cifar10", 1, 1)["test"]._replace(images=images))
    assert record[1 + 1] == 10 and record[1 + 1024 + 1] == 20 and record[1 + 2048 + 1] == 30
    archive = write_cifar_binary(tmp_path / "c.tar.gz", "cifar10", (images, [3]), (images, [4]))
    out, _, _ = _read("binary", archive, "cifar10", "test")
    assert out.arrays["images"][0, 0, 1].tolist() == [10, 20, 30]


def test_fake_cifar100_coarse_labels_follow_the_real_map(fakes: dict[str, Any]) -> None:
    split = fakes["cifar100"]["splits"]["train"]
    np.testing.assert_array_equal(split.coarse_labels, CIFAR100_FINE_TO_COARSE[split.labels])
    assert np.bincount(CIFAR100_FINE_TO_COARSE, minlength=20).tolist() == [5] * 20
    assert CIFAR100_FINE_TO_COARSE[[19, 26, 29, 99]].tolist() == [11, 13, 15, 13]


# -- the real meta files ---------------------------------------------------------------------


def test_real_cifar10_batches_meta_through_the_restricted_unpickler() -> None:
    data = (REAL / "cifar-10" / "batches.meta").read_bytes()
    assert hashlib.md5(data).hexdigest() == "5ff9c542aee3614f3951f8cda6e48888"
    names = parse_python_meta(data, "cifar10", "batches.meta")
    assert names == {"classes": CIFAR10}
    assert restricted_loads(data, "batches.meta")[b"num_cases_per_batch"] == 10000


def test_real_cifar100_meta_through_the_restricted_unpickler() -> None:
    data = (REAL / "cifar-100" / "meta").read_bytes()
    assert hashlib.md5(data).hexdigest() == "7973b15100ade9c7d40fb424638fde48"
    names = parse_python_meta(data, "cifar100", "meta")
    fine, coarse = names["classes"], names["superclasses"]
    assert (len(fine), fine[0], fine[26], fine[-1]) == (100, "apple", "crab", "worm")
    assert fine == sorted(fine)
    assert (len(coarse), coarse[0], coarse[-1]) == (20, "aquatic_mammals", "vehicles_2")
    assert coarse[13] == "non-insect_invertebrates"  # where crab (26) goes in the map


def test_real_meta_inside_a_real_layout_archive_with_member_md5(tmp_path: Path) -> None:
    splits = make_fake_cifar("cifar10", 5, 2)
    archive = write_cifar_python(tmp_path / "c.tar.gz", "cifar10", *splits.values())
    real = (REAL / "cifar-10" / "batches.meta").read_bytes()
    archive = _rewrite(archive, {"cifar-10-batches-py/batches.meta": real})
    md5 = {"batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}
    _, result, _ = _read("python", archive, "cifar10", "test", member_md5=md5)
    assert result["classes"][0] == "airplane"


# -- one pass, placement and counts ------------------------------------------------------------


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every pass the readers make over an archive."""
    opened: list[Path] = []
    real = archives.iter_files

    def counting(archive: Path, select: Any = None) -> Any:
        opened.append(archive)
        return real(archive, select)

    monkeypatch.setattr(archives, "iter_files", counting)
    return opened


@pytest.mark.parametrize(("edition", "style"), [("python", "py2"), ("binary", "binary")])
def test_a_given_count_reads_the_archive_once(
    fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch, edition: str, style: str
) -> None:
    opened = _passes(monkeypatch)
    _read(edition, fakes["cifar10"][style], "cifar10", "train", N_TRAIN)
    assert len(opened) == 1
    _read(edition, fakes["cifar10"][style], "cifar10", "train")  # no count: a counting pass
    assert len(opened) == 3


@pytest.mark.parametrize(("edition", "style"), [("python", "py2"), ("binary", "binary")])
@pytest.mark.parametrize(("split", "n"), [("train", N_TRAIN), ("test", N_TEST)])
def test_a_count_other_than_the_archive_holds_is_a_format_error(
    fakes: dict[str, Any], edition: str, style: str, split: str, n: int
) -> None:
    archive = fakes["cifar10"][style]
    for count in (n - 1, n + 1):
        with pytest.raises(FormatError) as info:
            _read(edition, archive, "cifar10", split, count)
        message = str(info.value)
        assert message.startswith(f"{archive}: split {split!r} holds {n} images, expected {count}")
        assert ("batches [" in message) == (split == "train")


def _uneven_binary(fakes: dict[str, Any], sizes: list[int]) -> tuple[Path, Any]:
    """The CIFAR-10 binary archive with train batches of ``sizes`` images (same images)."""
    split = fakes["cifar10"]["splits"]["train"]
    bounds = np.cumsum([0, *sizes])
    parts = {
        f"cifar-10-batches-bin/data_batch_{k}.bin": binary_records(
            split._replace(images=split.images[a:b], labels=split.labels[a:b])
        )
        for k, (a, b) in enumerate(itertools.pairwise(bounds), start=1)
    }
    return _rewrite(fakes["cifar10"]["binary"], dict(parts)), split


def test_batches_that_do_not_split_the_count_evenly_are_a_format_error(
    fakes: dict[str, Any],
) -> None:
    archive, _ = _uneven_binary(fakes, [6, 5, 5, 4, 3])  # 23 images, as the count says
    with pytest.raises(FormatError, match=r"holds 23 images, expected 23 \(batches \[6, 5, 5, 4, "
                       r"3\], expected \[5, 5, 5, 4, 4\]: the count 23 split evenly"):  # fmt: skip
        _read("binary", archive, "cifar10", "train", N_TRAIN)


def test_without_a_count_batches_of_any_size_go_in_number_order(fakes: dict[str, Any]) -> None:
    archive, split = _uneven_binary(fakes, [6, 5, 5, 4, 3])
    out, _, progress = _read("binary", archive, "cifar10", "train")
    np.testing.assert_array_equal(out.arrays["images"], split.images)
    np.testing.assert_array_equal(out.arrays["labels"], split.labels)
    assert sorted(progress) == [3, 4, 5, 5, 6]


# -- integrity ---------------------------------------------------------------------------------


def _rewrite(archive: Path, replace: dict[str, bytes | None]) -> Path:
    """Copy ``archive`` with members replaced (bytes), dropped (None) or added."""
    with tarfile.open(archive, "r:gz") as src:
        members = {m.name: src.extractfile(m).read() if m.isreg() else None for m in src}  # type: ignore[union-attr]
    members.update(replace)
    out = archive.with_name("re-" + archive.name)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out


@pytest.mark.parametrize(("edition", "style", "member"), [
    ("python", "py2", "data_batch_3"), ("binary", "binary", "data_batch_3.bin"),
    ("python", "py2", "batches.meta")])  # fmt: skip
def test_member_md5_mismatch_is_an_error(
    fakes: dict[str, Any], edition: str, style: str, member: str
) -> None:
    with pytest.raises(FormatError, match=rf"{member}: md5 .* differs from the published 0+"):
        _read(edition, fakes["cifar10"][style], "cifar10", "train", member_md5={member: "0" * 32})


def test_member_md5_match_passes(fakes: dict[str, Any]) -> None:
    with tarfile.open(fakes["cifar10"]["binary"], "r:gz") as tar:
        raw = tar.extractfile("cifar-10-batches-bin/test_batch.bin").read()  # type: ignore[union-attr]
    md5 = {"test_batch.bin": hashlib.md5(raw).hexdigest()}
    out, _, _ = _read("binary", fakes["cifar10"]["binary"], "cifar10", "test", member_md5=md5)
    assert len(out.arrays["images"]) == N_TEST


@pytest.mark.parametrize("cut", [1, 3073 * 2 + 5])
def test_short_binary_records_are_format_errors(fakes: dict[str, Any], cut: int) -> None:
    path = fakes["cifar10"]["binary"]
    with tarfile.open(path, "r:gz") as tar:
        raw = tar.extractfile("cifar-10-batches-bin/data_batch_2.bin").read()  # type: ignore[union-attr]
    bad = _rewrite(path, {"cifar-10-batches-bin/data_batch_2.bin": raw[:-cut]})
    with pytest.raises(
        FormatError, match=r"data_batch_2\.bin: \d+ bytes is not a whole.*3073-byte"
    ):
        _read("binary", bad, "cifar10", "train")


def test_cifar100_binary_record_size_is_3074(fakes: dict[str, Any]) -> None:
    path = fakes["cifar100"]["binary"]
    bad = _rewrite(path, {"cifar-100-binary/test.bin": b"\0" * 3073 * 2})
    with pytest.raises(FormatError, match="3074-byte CIFAR-100 records"):
        _read("binary", bad, "cifar100", "test")


def test_empty_binary_member_is_a_format_error(fakes: dict[str, Any]) -> None:
    bad = _rewrite(fakes["cifar10"]["binary"], {"cifar-10-batches-bin/test_batch.bin": b""})
    with pytest.raises(FormatError, match="non-zero"):
        _read("binary", bad, "cifar10", "test")


def test_truncated_archive_is_a_format_error(fakes: dict[str, Any], tmp_path: Path) -> None:
    data = fakes["cifar10"]["binary"].read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.tar\.gz"):
        _read("binary", cut, "cifar10", "train")


def test_labels_out_of_range_are_format_errors(fakes: dict[str, Any]) -> None:
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    record = binary_records(make_fake_cifar("cifar10", 1, 2)["test"]._replace(images=images))
    bad_label = bytes([12]) + record[1:]
    bad = _rewrite(fakes["cifar10"]["binary"], {"cifar-10-batches-bin/test_batch.bin": bad_label})
    with pytest.raises(FormatError, match=r"labels must lie in 0\.\.9, found \d\.\.12"):
        _read("binary", bad, "cifar10", "test")


def _batch(**fields: Any) -> bytes:
    base: dict[bytes, Any] = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}
    base.update({k.encode(): v for k, v in fields.items()})
    return py2_pickle({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(("payload", "message"), [
    (_batch(data=np.zeros((2, 3071), np.uint8)), r"found uint8 \(2, 3071\)"),
    (_batch(data=np.zeros((2, 3072), np.int16)), r"'data' must be uint8 \(N, 3072\), found int16"),
    (_batch(data=[1, 2]), r"'data' must be uint8 \(N, 3072\), found list"),
    (_batch(labels=[1, 2, 3]), r"expected 2 labels \(one per image\)"),
    (_batch(labels=[b"a", b"b"]), "labels must be integers"),
    (_batch(labels=None), r"no field 'labels'; fields found: \['data'\]"),
    (py2_pickle([1, 2]), "expected a pickled dict"),
    (b"\x80\x02}q\x01(U\x04da", "not a valid pickle"),
])  # fmt: skip
def test_malformed_python_batches_are_format_errors(
    fakes: dict[str, Any], payload: bytes, message: str
) -> None:
    bad = _rewrite(fakes["cifar10"]["py2"], {"cifar-10-batches-py/test_batch": payload})
    with pytest.raises(FormatError, match=message) as info:
        _read("python", bad, "cifar10", "test")
    assert "test_batch" in str(info.value)


def test_python_meta_names_are_decoded_as_latin1(fakes: dict[str, Any]) -> None:
    names = [b"caf\xe9", *(f"c{i}".encode() for i in range(9))]
    meta = py2_pickle({b"label_names": names})
    bad = _rewrite(fakes["cifar10"]["py2"], {"cifar-10-batches-py/batches.meta": meta})
    _, result, _ = _read("python", bad, "cifar10", "test", N_TEST)
    assert result["classes"][:2] == ["caf\u00e9", "c0"]


def test_python_meta_with_the_wrong_number_of_names(fakes: dict[str, Any]) -> None:
    meta = py2_pickle({b"label_names": [b"a", b"b"]})
    bad = _rewrite(fakes["cifar10"]["py2"], {"cifar-10-batches-py/batches.meta": meta})
    with pytest.raises(FormatError, match="expected 10 classes, found 2"):
        _read("python", bad, "cifar10", "test")


def test_missing_member_names_the_layout_and_hints_at_the_other_archive(
    fakes: dict[str, Any],
) -> None:
    with pytest.raises(FormatError, match=r"missing members.*cifar-python archive of cifar100"):
        _read("python", fakes["cifar100"]["py2"], "cifar10", "test")
    dropped = _rewrite(fakes["cifar10"]["binary"], {"cifar-10-batches-bin/data_batch_4.bin": None})
    with pytest.raises(FormatError, match=r"missing members \['cifar-10-batches-bin/data_batch_4"):
        _read("binary", dropped, "cifar10", "train")


def test_duplicate_members_are_refused(fakes: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "dup.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for _ in range(2):
            info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
            info.size = 3073
            tar.addfile(info, io.BytesIO(b"\0" * 3073))
    with pytest.raises(FormatError, match="occurs twice"):
        _read("binary", path, "cifar10", "test")


def test_bad_options_are_catalog_errors(fakes: dict[str, Any]) -> None:
    with pytest.raises(CatalogError, match=r"options\.variant"):
        _read("binary", fakes["cifar10"]["binary"], "cifar1000", "test")
    with pytest.raises(CatalogError, match="not 'validation'"):
        _read("binary", fakes["cifar10"]["binary"], "cifar10", "validation")


def test_unsafe_member_in_a_cifar_archive_is_refused(fakes: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "link.tar.gz"
    with tarfile.open(fakes["cifar10"]["binary"], "r:gz") as src, tarfile.open(path, "w:gz") as dst:
        link = tarfile.TarInfo("cifar-10-batches-bin/readme.html")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        dst.addfile(link)
        for m in src:
            dst.addfile(m, src.extractfile(m))
    with pytest.raises(UnsafeArchiveError, match=r"readme\.html.*symbolic link"):
        _read("binary", path, "cifar10", "test")


# -- hostile pickles ---------------------------------------------------------------------------


def test_the_malicious_pickle_really_is_malicious(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    pickle.loads(malicious_pickle(marker))  # what a plain unpickler does
    assert marker.exists()


@pytest.mark.parametrize("member", ["data_batch_1", "batches.meta"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path, member: str) -> None:
    marker = tmp_path / "pwned"
    archive = write_malicious_cifar_python(tmp_path / "evil.tar.gz", marker, member=member)
    with pytest.raises(
        UnsafePickleError, match=rf"evil\.tar\.gz!cifar-10-batches-py/{member}.*posix\.system"
    ):
        _read("python", archive, "cifar10", "train")
    assert not marker.exists()


@pytest.mark.parametrize(("module", "name"), [
    ("builtins", "eval"), ("__builtin__", "open"), ("os", "system"), ("subprocess", "Popen"),
    ("numpy", "load"), ("numpy.core.multiarray", "scalar"),
    ("copy_reg", "_reconstructor")])  # fmt: skip
def test_globals_outside_the_admitted_set_are_refused(module: str, name: str) -> None:
    payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"U\x01x\x85R."
    with pytest.raises(UnsafePickleError, match=rf"blob: .*global {module}\.{name}, which is not"):
        restricted_loads(payload, "blob")


def test_codecs_encode_is_admitted_only_for_latin1() -> None:
    payload = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R."
    with pytest.raises(UnsafePickleError, match="encoding 'zlib'"):
        restricted_loads(payload, "blob")
    latin1 = payload.replace(b"X\x04\x00\x00\x00zlib", b"X\x06\x00\x00\x00latin1")
    assert restricted_loads(latin1, "blob") == b"x"  # how Python 3 writes bytes in protocol 2
    as_py2_str = payload.replace(b"X\x04\x00\x00\x00zlib", b"U\x06latin1")
    with pytest.raises(UnsafePickleError, match="encoding b'latin1'; only str"):
        restricted_loads(as_py2_str, "blob")


def test_python2_strings_come_back_as_bytes_and_unicode_as_str() -> None:
    loaded = restricted_loads(py2_pickle({b"data": b"\xff\x00", b"name": "caf\u00e9"}), "blob")
    assert loaded == {b"data": b"\xff\x00", b"name": "caf\u00e9"}


def test_python3_bytes_key_pickle_loads_with_bytes_keys_intact() -> None:
    data = pickle.dumps({b"data": np.arange(3, dtype=np.uint8), b"labels": [1]}, protocol=2)
    loaded = restricted_loads(data, "blob")
    assert set(loaded) == {b"data", b"labels"}
    np.testing.assert_array_equal(loaded[b"data"], [0, 1, 2])


# --- bounded allocation and strict labels (issue 9) ---------------------------------------------


def test_twelve_byte_pickle_claiming_2_62_bytes_is_a_format_error() -> None:
    import struct as st

    from imagesets._pickle import restricted_loads
    from imagesets.testing.limits import memory_cap

    data = b"\x80\x02\x8e" + st.pack("<Q", 1 << 62)  # BINBYTES8 of 2**62 bytes, then nothing
    with memory_cap(1 << 30), pytest.raises(FormatError, match=r"batch\.pkl: not a valid pickle"):
        restricted_loads(data, "batch.pkl")


def test_pickled_object_array_is_refused_before_allocating() -> None:
    from imagesets._pickle import restricted_loads
    from imagesets.errors import UnsafePickleError
    from imagesets.testing.cifar import _p2, _p2_int, _p2_tuple, _Py2Global
    from imagesets.testing.limits import memory_cap

    dtype = _p2(_Py2Global("numpy", "dtype")) + _p2_tuple([b"O8", 0, 1])
    dtype += b"R" + _p2_tuple([3, b"|", None, None, None, -1, -1, 0]) + b"b"
    head = _p2(_Py2Global("numpy.core.multiarray", "_reconstruct"))
    head += _p2_tuple([_Py2Global("numpy", "ndarray"), (0,), b"b"]) + b"R"
    shape = _p2_tuple([1 << 29])
    data = b"\x80\x02" + head + b"(" + _p2_int(1) + shape + dtype + b"\x89]" + b"tb."
    with memory_cap(1 << 30), pytest.raises(UnsafePickleError, match=r"obj.pkl: .*dtype b'O8'"):
        restricted_loads(data, "obj.pkl")


def _tar_claiming(path: Path, name: str, claimed: int, actual: bytes) -> Path:
    """A gzip tar whose one member's header claims ``claimed`` bytes but holds ``actual``."""
    import gzip
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = claimed
    with gzip.open(path, "wb") as f:
        f.write(info.tobuf(format=tarfile.GNU_FORMAT) + actual)
    return path


@pytest.mark.parametrize(("edition", "member"), [
    ("binary", "cifar-10-batches-bin/data_batch_1.bin"),
    ("python", "cifar-10-batches-py/data_batch_1"),
])  # fmt: skip
def test_member_claiming_8_gb_is_a_format_error(tmp_path: Path, edition: str, member: str) -> None:
    from imagesets.testing.limits import memory_cap

    path = _tar_claiming(tmp_path / "c.tar.gz", member, 3073 * 2_800_000, bytes(40_000))
    assert path.stat().st_size < 40_000
    request = ReadRequest("cifar10", "train", {"archive": path}, {"variant": "cifar10"})
    read = read_binary_split if edition == "binary" else read_python_split
    with memory_cap(1 << 30), pytest.raises(FormatError, match=r"c\.tar\.gz!cifar-10-batches"):
        read(request, MemoryWriter())


@pytest.mark.parametrize("labels", [[1.5, 2], [1.7, 2], [float("nan"), 1], [b"1", 2], [True, 1]])
def test_non_integer_python_labels_are_format_errors(labels: list[Any]) -> None:
    from imagesets.formats.cifar import _python_labels

    with pytest.raises(FormatError, match="labels must be integers"):
        _python_labels({"labels": labels}, "labels", 2, "b")
