"""A full disk while downloading or importing: a CacheError saying how many bytes are needed,
how many are free and where; never a raw OSError, never a part file left growing.

Two ways to fill the disk: an ENOSPC injected into the part file's writes (anywhere), and, when
we are root, a real 2 MiB tmpfs mounted by the test.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import imagesets
from imagesets import fetch, importing
from imagesets.catalog import RemoteFile
from imagesets.errors import CacheError
from imagesets.testing.server import LoopbackServer

DS = "ds"


def _bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def _rf(name: str, data: bytes, *urls: str) -> RemoteFile:
    return RemoteFile(name, len(data), hashlib.sha256(data).hexdigest(), urls=tuple(urls))


def _md5_only(name: str, data: bytes, *urls: str) -> RemoteFile:
    return RemoteFile(name, None, None, md5=hashlib.md5(data).hexdigest(), urls=tuple(urls))


class _FullAfter:
    """A file whose writes fail with ``code`` once ``room`` bytes have been written."""

    def __init__(self, fh: Any, room: int, code: int) -> None:
        self._fh, self._room, self._code = fh, room, code

    def write(self, data: Any) -> int:
        if self._room <= 0:
            raise OSError(self._code, os.strerror(self._code))
        n = self._fh.write(bytes(data)[: self._room])  # a short write first, as the kernel does
        self._room -= n
        return int(n)

    def __enter__(self) -> _FullAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _fill_disk_after(monkeypatch: pytest.MonkeyPatch, room: int, code: int, marker: str) -> None:
    """Writes to any file whose name contains ``marker`` fail after ``room`` bytes."""
    real_open = Path.open

    def open_(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(self, mode, *args, **kwargs)
        if marker in self.name and ("w" in mode or "+" in mode):
            return _FullAfter(fh, room, code)
        return fh

    monkeypatch.setattr(Path, "open", open_)


def _assert_space_message(err: CacheError, folder: Path, action: str) -> str:
    msg = str(err)
    assert action in msg and str(folder) in msg
    assert "needs" in msg and "bytes free" in msg and "shutil.disk_usage" in msg
    assert "IMAGESETS_HOME" in msg
    return msg


# --------------------------------------------------------------------------- injected ENOSPC


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_disk_full_mid_download_is_a_cache_error_and_the_part_resumes(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    data = _bytes(3 << 20)
    server.add("/f.bin", data)
    server.add("/g.bin", data)
    rf = _rf("f.bin", data, server.url("/f.bin"), server.url("/g.bin"))
    with monkeypatch.context() as m:
        _fill_disk_after(m, 1_500_000, code, ".part")
        with pytest.raises(CacheError) as err:
            fetch.fetch_file(DS, rf, tmp_path, progress=False)
    msg = _assert_space_message(err.value, tmp_path, "downloading f.bin")
    assert f"{len(data) - 1_500_000} more bytes" in msg
    assert "f.bin.part (1500000 bytes) is kept" in msg and "resumes" in msg
    assert server.hits("/g.bin") == 0  # another URL would not help
    part = tmp_path / "f.bin.part"
    assert part.read_bytes() == data[:1_500_000]  # stopped where the disk was full
    assert fetch.fetch_file(DS, rf, tmp_path, progress=False).read_bytes() == data
    assert server.requests[-1] == ("GET", "/f.bin", "bytes=1500000-")
    assert not part.exists()


def test_disk_full_mid_import_is_a_cache_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(3 << 20)
    src = tmp_path / "given.bin"
    src.write_bytes(data)
    cache = tmp_path / "cache"
    _fill_disk_after(monkeypatch, 1 << 20, errno.ENOSPC, ".import-")
    with pytest.raises(CacheError) as err:
        importing.import_files(DS, [_rf("a.bin", data)], [src], cache, progress=False)
    msg = _assert_space_message(err.value, cache, f"importing {src}")
    assert f"{len(data) - (1 << 20)} more bytes" in msg and "partial copy was removed" in msg
    assert sorted(p.name for p in cache.iterdir()) == [".import.lock"]


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


@pytest.fixture
def tiny_disk(monkeypatch: pytest.MonkeyPatch) -> int:
    """shutil.disk_usage reports 1000 bytes free everywhere."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(10**6, 10**6 - 1000, 1000))
    return 1000


@pytest.mark.usefixtures("tiny_disk")
def test_too_little_space_fails_before_fetching(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    with pytest.raises(CacheError) as err:
        fetch.fetch_file(DS, _rf("f.bin", data, server.url("/f.bin")), tmp_path, progress=False)
    msg = _assert_space_message(err.value, tmp_path, "downloading f.bin")
    assert "5000 more bytes, 1000 bytes free" in msg and "nothing was written" in msg
    assert server.requests == []
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.usefixtures("tiny_disk")
def test_too_little_space_counts_a_kept_part(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data[:4500])  # only 500 bytes still to come
    rf = _rf("f.bin", data, server.url("/f.bin"))
    assert fetch.fetch_file(DS, rf, tmp_path, progress=False).read_bytes() == data


@pytest.mark.usefixtures("tiny_disk")
def test_too_little_space_for_a_dataset_fails_before_any_file(
    fake_mnist: dict[str, Any], cache: Path
) -> None:
    total = sum(f["size"] for f in fake_mnist["files"].values())
    with pytest.raises(CacheError) as err:
        imagesets.download("fake-mnist", progress=False)
    msg = _assert_space_message(err.value, cache / "downloads" / "fake-mnist", "4 file(s)")
    assert f"{total} more bytes" in msg
    assert fake_mnist["server"].requests == []


@pytest.mark.usefixtures("tiny_disk")
def test_too_little_space_fails_an_import_before_copying(tmp_path: Path) -> None:
    data = _bytes(5000)
    src = tmp_path / "given.bin"
    src.write_bytes(data)
    cache = tmp_path / "cache"
    with pytest.raises(CacheError) as err:
        importing.import_files(DS, [_rf("a.bin", data)], [src], cache, progress=False)
    assert "5000 more bytes, 1000 bytes free" in _assert_space_message(err.value, cache, "import")
    assert sorted(p.name for p in cache.iterdir()) == [".import.lock"]


# --------------------------------------------------------------------------- a real small disk


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted at ``tmp_path/small`` (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_real_full_disk_mid_download(server: LoopbackServer, small_tmpfs: Path) -> None:
    data = _bytes(3 << 20)
    server.add("/f.bin", data)
    rf = _md5_only("f.bin", data, server.url("/f.bin"))  # no size: no check up front
    folder = small_tmpfs / "dl"
    with pytest.raises(CacheError) as err:
        fetch.fetch_file(DS, rf, folder, progress=False)
    msg = _assert_space_message(err.value, folder, "downloading f.bin")
    assert "size unpublished" in msg and "is kept" in msg
    kept = (folder / "f.bin.part").read_bytes()
    assert 0 < len(kept) <= 2 << 20 and kept == data[: len(kept)]
    assert not (folder / "f.bin").exists()


def test_real_full_disk_before_download(server: LoopbackServer, small_tmpfs: Path) -> None:
    data = _bytes(3 << 20)
    server.add("/f.bin", data)
    folder = small_tmpfs / "dl"
    with pytest.raises(CacheError) as err:
        fetch.fetch_file(DS, _rf("f.bin", data, server.url("/f.bin")), folder, progress=False)
    assert f"{len(data)} more bytes" in _assert_space_message(err.value, folder, "f.bin")
    assert server.requests == []


def test_real_full_disk_before_and_during_import(
    small_tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(3 << 20)
    src = tmp_path / "given.bin"
    src.write_bytes(data)
    folder = small_tmpfs / "dl"
    with pytest.raises(CacheError, match="nothing was written"):
        importing.import_files(DS, [_rf("a.bin", data)], [src], folder, progress=False)
    monkeypatch.setattr(importing, "check_space", lambda *a: None)  # reach the real ENOSPC
    with pytest.raises(CacheError) as err:
        importing.import_files(DS, [_rf("a.bin", data)], [src], folder, progress=False)
    assert "partial copy was removed" in _assert_space_message(err.value, folder, "import")
    assert sorted(p.name for p in folder.iterdir()) == [".import.lock"]
    assert shutil.disk_usage(folder).used < 1 << 20  # the space came back
