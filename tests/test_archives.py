"""Safe archive access: round trips per suffix, streaming reads, refused members, extraction."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from imagesets import archives
from imagesets.errors import FormatError, UnsafeArchiveError
from imagesets.testing.cifar import write_unsafe_tar, write_unsafe_zip

FILES = {
    "root/a.txt": b"alpha\n",
    "root/sub/b.bin": bytes(range(256)) * 40,
    "root/empty": b"",
}

TAR_MODES = {".tar": "w", ".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz"}


def _write_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        folder = tarfile.TarInfo("root")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("root/", b"")
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _archive(tmp_path: Path, suffix: str, files: dict[str, bytes] = FILES) -> Path:
    path = tmp_path / f"a{suffix}"
    return (
        _write_zip(path, files) if suffix == ".zip" else _write_tar(path, files, TAR_MODES[suffix])
    )


@pytest.mark.parametrize("suffix", [*TAR_MODES, ".zip"])
def test_members_and_reads_round_trip(tmp_path: Path, suffix: str) -> None:
    path = _archive(tmp_path, suffix)
    listed = list(archives.members(path))
    assert listed[0] == archives.Member("root", 0, is_dir=True)
    assert {m.name: m.size for m in listed if not m.is_dir} == {k: len(v) for k, v in FILES.items()}
    read = {m.name: r.read() for m, r in archives.iter_files(path)}
    assert read == FILES
    got = archives.read_members(path, {"./root/sub/b.bin": 1 << 20}, what="the test archive")
    assert got == {"./root/sub/b.bin": FILES["root/sub/b.bin"]}


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_extract_writes_every_file(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / "out"
    written = archives.extract(_archive(tmp_path, suffix), target)
    assert sorted(written) == sorted(target / name for name in FILES)
    for name, data in FILES.items():
        assert (target / name).read_bytes() == data


def test_select_skips_unwanted_members_and_reads_in_chunks(tmp_path: Path) -> None:
    path = _archive(tmp_path, ".tar.gz")
    for member, reader in archives.iter_files(path, select=lambda m: m.basename == "b.bin"):
        assert member.name == "root/sub/b.bin"
        parts = [reader.read(1000) for _ in range(11)]
        assert b"".join(parts) == FILES["root/sub/b.bin"]
        assert reader.read(10) == b""


def test_member_basename_and_safe_name_normalisation() -> None:
    assert archives.Member("a/b/c.bin", 3).basename == "c.bin"
    assert archives.safe_name("./x//y/./z", "t.tar") == "x/y/z"
    assert archives.safe_name("./", "t.tar") == ""


@pytest.mark.parametrize(
    "kind", ["parent", "absolute", "symlink", "hardlink", "device", "fifo", "backslash"]
)
def test_unsafe_tar_members_are_refused(tmp_path: Path, kind: str) -> None:
    path = write_unsafe_tar(tmp_path / "bad.tar.gz", kind)
    with pytest.raises(UnsafeArchiveError, match=r"bad\.tar\.gz.*evil"):
        list(archives.members(path))
    with pytest.raises(UnsafeArchiveError):
        list(archives.iter_files(path, select=lambda m: False))
    target = tmp_path / "deep" / "er" / "out"
    with pytest.raises(UnsafeArchiveError):
        archives.extract(path, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temporary folder was removed too
    assert not list(tmp_path.rglob("evil*"))
    assert not Path("/tmp/evil.txt").exists()


@pytest.mark.parametrize("kind", ["parent", "absolute", "drive", "backslash", "symlink", "fifo"])
def test_unsafe_zip_members_are_refused_before_any_read(tmp_path: Path, kind: str) -> None:
    path = write_unsafe_zip(tmp_path / "bad.zip", kind)
    with pytest.raises(UnsafeArchiveError, match=r"bad\.zip.*evil"):
        next(archives.iter_files(path))  # refused before even the safe first member
    with pytest.raises(UnsafeArchiveError):
        archives.extract(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.rglob("evil*"))


def test_plain_tar_with_safe_members_is_accepted_by_the_unsafe_writer_baseline(
    tmp_path: Path,
) -> None:
    # The hostile fixtures start with a safe member: prove it alone is read fine.
    path = write_unsafe_tar(tmp_path / "bad.tar.gz", "symlink")
    first = next(archives.iter_files(path))
    assert first[0].name == "data/ok.txt"
    assert first[1].read() == b"fine\n"


def test_truncated_gzip_is_a_format_error_naming_the_archive(tmp_path: Path) -> None:
    import os

    path = _archive(tmp_path, ".tar.gz", {"root/big": os.urandom(200_000)})
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(FormatError, match=r"a\.tar\.gz.*truncated or corrupt"):
        for _, reader in archives.iter_files(path):
            reader.read()


def test_not_an_archive_and_unknown_suffix(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(FormatError, match=r"junk\.zip"):
        list(archives.members(junk))
    with pytest.raises(FormatError, match=r"unknown archive type.*\.tar\.gz"):
        list(archives.members(tmp_path / "file.rar"))


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".zip"])
def test_read_members_bounds_each_member_and_stops_once_all_are_found(
    tmp_path: Path, suffix: str
) -> None:
    what = "the test archive"
    path = _archive(tmp_path, suffix, {**FILES, "root/late.txt": b"after"})
    size = len(FILES["root/sub/b.bin"])
    got = archives.read_members(path, {"root/sub/b.bin": size, "root/a.txt": 6}, what=what)
    assert got == {"root/sub/b.bin": FILES["root/sub/b.bin"], "root/a.txt": b"alpha\n"}
    with pytest.raises(FormatError, match=rf"!root/sub/b\.bin: {size} bytes, expected at most "
                       rf"{size - 1}; is this the test archive\?"):  # fmt: skip
        archives.read_members(path, {"root/sub/b.bin": size - 1}, what=what)
    with pytest.raises(FormatError, match="no member root/nope, root/zzz; is this the test"):
        archives.read_members(path, {"root/zzz": 1, "root/a.txt": 9, "root/nope": 1}, what=what)


def test_read_members_refuses_a_member_stored_twice_and_never_reads_past_the_last(
    tmp_path: Path,
) -> None:
    def tar(name: str, members: list[tuple[str, bytes]]) -> Path:
        with tarfile.open(tmp_path / name, "w") as out:
            for member, data in members:
                info = tarfile.TarInfo(member)
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
        return tmp_path / name

    what = "the test archive"
    twice = tar("twice.tar", [("a", b"1"), ("a", b"2"), ("b", b"3")])
    with pytest.raises(FormatError, match=r"twice\.tar!a: the member occurs twice"):
        archives.read_members(twice, {"a": 9, "b": 9}, what=what)
    cut = tar("cut.tar", [("list.txt", b"x y\n"), ("big.bin", bytes(50_000))])
    cut.write_bytes(cut.read_bytes()[:20_000])  # truncated inside big.bin
    assert archives.read_members(cut, {"list.txt": 10}, what=what) == {"list.txt": b"x y\n"}
    with pytest.raises(FormatError):
        archives.read_members(cut, {"list.txt": 10, "big.bin": 60_000}, what=what)


def test_read_member_missing_and_extract_into_non_empty_target(tmp_path: Path) -> None:
    path = _archive(tmp_path, ".tar")
    with pytest.raises(FormatError, match=r"no member root/nope; is this the test archive\?"):
        archives.read_members(path, {"root/nope": 10, "root/a.txt": 10}, what="the test archive")
    target = tmp_path / "full"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(FileExistsError):
        archives.extract(path, target)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(archives.extract(path, empty)) == len(FILES)


def _nested(tmp_path: Path, inner_files: dict[str, dict[str, bytes]]) -> Path:
    outer = tmp_path / "train.tar"
    with tarfile.open(outer, "w") as tar:
        for name, files in inner_files.items():
            inner = _write_tar(tmp_path / name, files, "w").read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(inner)
            tar.addfile(info, io.BytesIO(inner))
    return outer


def test_tar_of_tars_is_streamed_member_by_member(tmp_path: Path) -> None:
    outer = _nested(tmp_path, {"n01.tar": {"n01/1.JPEG": b"one"}, "n02.tar": {"n02/2.JPEG": b"2"}})
    seen = {}
    for member, reader in archives.iter_files(outer):
        for inner, jpeg in archives.iter_tar_stream(reader, label=f"{outer}!{member.name}"):
            if jpeg is not None:
                seen[inner.name] = jpeg.read()
    assert seen == {"n01/1.JPEG": b"one", "n02/2.JPEG": b"2"}


def test_unsafe_member_inside_an_inner_tar_names_both_levels(tmp_path: Path) -> None:
    inner = write_unsafe_tar(tmp_path / "n03.tar", "parent", mode="w").read_bytes()
    outer = tmp_path / "train.tar"
    with tarfile.open(outer, "w") as tar:
        info = tarfile.TarInfo("n03.tar")
        info.size = len(inner)
        tar.addfile(info, io.BytesIO(inner))
    with pytest.raises(UnsafeArchiveError, match=r"train\.tar!n03\.tar.*\.\."):
        for member, reader in archives.iter_files(outer):
            list(archives.iter_tar_stream(reader, label=f"{outer}!{member.name}"))


def test_zip_with_unknown_method_or_bad_offset_is_a_format_error(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: zipfile's NotImplementedError and OSError(EINVAL)."""
    import zipfile

    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/x.bin", b"x" * 100)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")  # compression method 99
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"m\.zip"):
        for _, reader in archives.iter_files(path):
            reader.read()
    data = bytearray(path.read_bytes())
    data[central + 42 : central + 46] = (0xFFFFFFF0).to_bytes(4, "little")  # local header offset
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"m\.zip"):
        for _, reader in archives.iter_files(path):
            reader.read()
