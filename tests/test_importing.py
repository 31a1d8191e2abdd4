"""imagesets import: one read per file, links, and nothing unverified left behind."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from imagesets import importing
from imagesets.catalog import RemoteFile
from imagesets.errors import VerificationError


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
