"""imagesets import: one read per file, links, and nothing unverified left behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from imagesets import fetch, importing
from imagesets.catalog import RemoteFile
from imagesets.errors import VerificationError
from imagesets.testing.server import LoopbackServer


def _rf(name: str, data: bytes) -> RemoteFile:
    return RemoteFile(name, len(data), hashlib.sha256(data).hexdigest())


def test_each_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"x" * 5000
    src = tmp_path / "given.bin"
    src.write_bytes(data)
    opened: list[str] = []
    real_open = Path.open

    def counting_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self == src:
            opened.append(mode)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    result = importing.import_files(
        "d", [_rf("a.bin", data)], [src], tmp_path / "cache", progress=False
    )
    assert result.imported == ["a.bin"] and opened == ["rb"]
    assert (tmp_path / "cache" / "a.bin").read_bytes() == data


def test_link_shares_the_inode_and_a_mismatch_leaves_nothing(tmp_path: Path) -> None:
    good, bad = b"good" * 100, b"evil" * 100
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "g.bin").write_bytes(good)
    (tmp_path / "in" / "b.bin").write_bytes(bad)
    files = [_rf("g.bin", good), _rf("b.bin", good[:-4] + b"diff")]
    cache = tmp_path / "cache"
    with pytest.raises(VerificationError, match=r"b\.bin: sha256"):
        importing.import_files("d", files, [tmp_path / "in"], cache, progress=False, link=True)
    assert (cache / "g.bin").stat().st_ino == (tmp_path / "in" / "g.bin").stat().st_ino
    assert sorted(p.name for p in cache.iterdir()) == [".import.lock", "g.bin"]


def test_present_files_are_not_read_again(tmp_path: Path) -> None:
    data = b"y" * 300
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "a.bin").write_bytes(data)
    src = tmp_path / "a-copy.bin"
    src.write_bytes(data)
    result = importing.import_files(
        "d", [_rf("a.bin", data)], [src], tmp_path / "cache", progress=False
    )
    assert result.already == ["a.bin"] and not result.imported


# --------------------------------------------------------------------------- killed processes

_CHILD = """
import hashlib, sys, time
from pathlib import Path
from imagesets import fetch, importing
from imagesets.catalog import RemoteFile

action, src, folder, marker = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
real_hash_file = importing.hash_file

def stalling_hash_file(path, algorithms, *, progress=False, out=None):
    # write the first MiB of the copy, then hang until killed
    out.write(path.read_bytes()[: 1 << 20])
    marker.touch()
    time.sleep(60)

if action == "import":
    data = src.read_bytes()
    rf = RemoteFile("a.bin", len(data), hashlib.sha256(data).hexdigest())
    importing.hash_file = stalling_hash_file
    importing.import_files("d", [rf], [src], folder, progress=False)
else:  # download from the URL in sys.argv[5], a trickling loopback server
    data = src.read_bytes()
    rf = RemoteFile("a.bin", len(data), hashlib.sha256(data).hexdigest(), urls=(sys.argv[5],))
    fetch.fetch_file("d", rf, folder, progress=False)
"""


def _killed_mid(action: str, tmp_path: Path, data: bytes, *extra: str) -> Path:
    """Run ``action`` in a child process, SIGKILL it mid-way; returns the cache folder."""
    src, folder, marker = tmp_path / "given.bin", tmp_path / "cache", tmp_path / "marker"
    src.write_bytes(data)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    env = {**os.environ, "PYTHONPATH": str(Path(importing.__file__).parents[1])}
    env.pop("IMAGESETS_RATE_WINDOW", None)
    args = [sys.executable, str(script), action, str(src), str(folder), str(marker), *extra]
    child = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not _started(action, folder, marker):
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never got going"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return folder


def _started(action: str, folder: Path, marker: Path) -> bool:
    if action == "import":
        return marker.exists()
    part = folder / "a.bin.part"
    return part.exists() and part.stat().st_size > 0


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_import_killed_mid_copy_is_cleaned_up_by_the_next_import(tmp_path: Path) -> None:
    data = bytes(range(256)) * (12 << 10)  # 3 MiB
    folder = _killed_mid("import", tmp_path, data)
    assert len(_leftovers(folder)) == 1  # the dead import's part: 1 MiB
    result = importing.import_files(
        "d", [_rf("a.bin", data)], [tmp_path / "given.bin"], folder, progress=False
    )
    assert result.imported == ["a.bin"]
    assert (folder / "a.bin").read_bytes() == data
    assert _leftovers(folder) == []


def test_download_killed_mid_file_then_imported_leaves_no_part(
    tmp_path: Path, server: LoopbackServer
) -> None:
    data = bytes(range(256)) * 40
    server.add("/a.bin", data)
    server.fail("/a.bin", "trickle", delay=0.01)
    folder = _killed_mid("download", tmp_path, data, server.url("/a.bin"))
    assert _leftovers(folder) == ["a.bin.part"]  # kept for resume by design
    importing.import_files(
        "d", [_rf("a.bin", data)], [tmp_path / "given.bin"], folder, progress=False
    )
    assert (folder / "a.bin").read_bytes() == data
    assert _leftovers(folder) == []  # the imported file made the dead download's part useless


def test_download_killed_mid_file_is_resumed_by_the_next_fetch(
    tmp_path: Path, server: LoopbackServer
) -> None:
    data = bytes(range(256)) * 40
    server.add("/a.bin", data)
    server.fail("/a.bin", "trickle", delay=0.01, times=1)
    folder = _killed_mid("download", tmp_path, data, server.url("/a.bin"))
    kept = (folder / "a.bin.part").stat().st_size
    rf = RemoteFile(
        "a.bin", len(data), hashlib.sha256(data).hexdigest(), urls=(server.url("/a.bin"),)
    )
    assert fetch.fetch_file("d", rf, folder, progress=False).read_bytes() == data  # lock is free
    assert server.requests[-1][2] == f"bytes={kept}-"
    assert _leftovers(folder) == []
