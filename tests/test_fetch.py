"""Tests of imagesets.fetch (and the fetch verbs of imagesets.api) against the loopback server.

Mirrors, retries, resume, verification, offline mode, the cache root and ``import``. Every
request goes to 127.0.0.1 (the ``no_network`` fixture refuses anything else).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import api, fetch
from imagesets.catalog import RemoteFile
from imagesets.errors import CacheError, FetchError, OfflineError, VerificationError
from imagesets.testing.server import LoopbackServer

DS = "ds"


def _bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def _rf(name: str, data: bytes, *urls: str) -> RemoteFile:
    return RemoteFile(name, len(data), hashlib.sha256(data).hexdigest(), urls=tuple(urls))


def _fetch(rf: RemoteFile, folder: Path, **kwargs: Any) -> Path:
    return fetch.fetch_file(DS, rf, folder, progress=False, **kwargs)


def _visible(folder: Path) -> list[str]:
    """Files a reader of the cache could mistake for data (not hidden lock files)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _paths(server: LoopbackServer) -> list[str]:
    return [path for _, path, _ in server.requests]


@pytest.fixture
def blob(server: LoopbackServer) -> tuple[bytes, RemoteFile]:
    """A 300 kB file served at /cat/f.bin, its catalog URL."""
    data = _bytes(300_000)
    server.add("/cat/f.bin", data)
    return data, _rf("f.bin", data, server.url("/cat/f.bin"))


# --------------------------------------------------------------------------- mirrors and order


def test_candidate_urls_put_user_mirrors_first_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGESETS_MIRROR", "http://127.0.0.1:1/a/  file:///srv/b")
    rf = _rf("x y.gz", b"abc", "http://127.0.0.1:1/c1", "http://127.0.0.1:1/c2")
    assert fetch.candidate_urls(DS, rf) == [
        "http://127.0.0.1:1/a/ds/x%20y.gz",
        "file:///srv/b/ds/x%20y.gz",
        "http://127.0.0.1:1/c1",
        "http://127.0.0.1:1/c2",
    ]


def test_user_mirror_is_tried_before_the_catalog(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(5000)
    server.add("/m2/ds/f.bin", data)
    server.add("/cat/f.bin", data)
    monkeypatch.setenv("IMAGESETS_MIRROR", f"{server.url('/m1')} {server.url('/m2/')}")
    path = _fetch(_rf("f.bin", data, server.url("/cat/f.bin")), tmp_path / "dl")
    assert path.read_bytes() == data
    assert _paths(server) == ["/m1/ds/f.bin", "/m2/ds/f.bin"]  # m1 is a 404; catalog unused


def test_file_mirror_is_used_without_the_network(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(5000)
    (tmp_path / "mirror" / DS).mkdir(parents=True)
    (tmp_path / "mirror" / DS / "f.bin").write_bytes(data)
    server.add("/cat/f.bin", data)
    monkeypatch.setenv("IMAGESETS_MIRROR", (tmp_path / "mirror").as_uri())
    path = _fetch(_rf("f.bin", data, server.url("/cat/f.bin")), tmp_path / "dl")
    assert path.read_bytes() == data
    assert server.requests == []


def test_missing_file_in_file_mirror_moves_on(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(5000)
    server.add("/cat/f.bin", data)
    monkeypatch.setenv("IMAGESETS_MIRROR", (tmp_path / "empty-mirror").as_uri())
    assert _fetch(_rf("f.bin", data, server.url("/cat/f.bin")), tmp_path / "dl").is_file()
    assert server.hits("/cat/f.bin") == 1


def test_404_on_the_first_url_then_a_good_mirror(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/good/f.bin", data)
    rf = _rf("f.bin", data, server.url("/missing/f.bin"), server.url("/good/f.bin"))
    assert _fetch(rf, tmp_path).read_bytes() == data
    assert _paths(server) == ["/missing/f.bin", "/good/f.bin"]  # a 404 is not retried


def test_500_is_retried_then_the_next_url_is_used(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/bad/f.bin", data)
    server.add("/good/f.bin", data)
    server.fail("/bad/f.bin", "500")
    rf = _rf("f.bin", data, server.url("/bad/f.bin"), server.url("/good/f.bin"))
    assert _fetch(rf, tmp_path, retries=2).read_bytes() == data
    assert server.hits("/bad/f.bin") == 3
    assert server.hits("/good/f.bin") == 1


def test_a_passing_500_is_retried_on_the_same_url(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "500", times=1)
    assert _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data
    assert server.hits("/f.bin") == 2


# --------------------------------------------------------------------------- resume


def test_dropped_connection_resumes_with_a_range_request(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(3 << 20)
    server.add("/f.bin", data)
    server.fail("/f.bin", "drop", times=1, after=(3 << 20) // 2)
    path = _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert path.read_bytes() == data
    ranges = [r for _, _, r in server.requests]
    assert ranges[0] is None
    assert len(ranges) == 2 and ranges[1] is not None
    start = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= (3 << 20) // 2
    assert _visible(tmp_path) == ["f.bin"]


def test_dropped_connection_keeps_the_bytes_received(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(600_000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "drop", times=1, after=300_000)
    assert _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data
    assert server.requests[1][2] is not None  # the retry asked for the rest only


def test_server_ignoring_range_starts_over(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(200_000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "ignore-range", times=1)
    (tmp_path / "f.bin.part").write_bytes(b"\x00" * 1000)  # not even a prefix of the data
    path = _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert path.read_bytes() == data
    assert server.requests == [("GET", "/f.bin", "bytes=1000-")]
    assert _visible(tmp_path) == ["f.bin"]


def test_existing_part_is_resumed_across_calls(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(3 << 20, seed=3)
    server.add("/f.bin", data)
    server.fail("/f.bin", "drop", times=1, after=2 << 20)
    rf = _rf("f.bin", data, server.url("/f.bin"))
    with pytest.raises(FetchError, match="dropped mid-file"):
        _fetch(rf, tmp_path, retries=0)
    part = tmp_path / "f.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    assert part.read_bytes() == data[:kept]
    assert not (tmp_path / "f.bin").exists()
    assert _fetch(rf, tmp_path).read_bytes() == data
    assert server.requests[-1] == ("GET", "/f.bin", f"bytes={kept}-")
    assert _visible(tmp_path) == ["f.bin"]


def test_whole_part_is_verified_without_a_body(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data)  # a kill after the last byte, before the rename
    assert _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data
    assert server.requests == [("GET", "/f.bin", "bytes=5000-")]  # answered 416


def test_corrupt_part_is_discarded_and_fetched_again(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(200_000)
    server.add("/f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(b"\xff" * 1000)  # e.g. left by an older file version
    assert _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data


# --------------------------------------------------------------------------- bad bytes


def test_html_page_is_rejected_naming_the_url(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "html")
    url = server.url("/f.bin")
    with pytest.raises(FetchError) as err:
        _fetch(_rf("f.bin", data, url), tmp_path)
    assert url in str(err.value)
    assert "HTML" in str(err.value)
    assert _visible(tmp_path) == []


def test_wrong_bytes_raise_verification_error(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "wrong")
    rf = _rf("f.bin", data, server.url("/f.bin"))
    served = bytes(b ^ 0xFF for b in data[:64]) + data[64:]  # what "wrong" sends
    with pytest.raises(VerificationError) as err:
        _fetch(rf, tmp_path)
    msg = str(err.value)
    assert server.url("/f.bin") in msg
    assert rf.sha256 in msg
    assert hashlib.sha256(served).hexdigest() in msg
    assert _visible(tmp_path) == []
    assert not (tmp_path / "f.bin.part").exists()


def test_more_bytes_than_the_catalog_size_are_rejected(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data + b"extra")
    with pytest.raises(VerificationError, match="sent more"):
        _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert not (tmp_path / "f.bin").exists()


def test_more_bytes_than_the_catalog_size_leave_no_part(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data + b"extra")
    with pytest.raises(VerificationError):
        _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert _visible(tmp_path) == []


def test_wrong_bytes_then_a_good_url(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/a/f.bin", data)
    server.add("/b/f.bin", data)
    server.fail("/a/f.bin", "wrong")
    rf = _rf("f.bin", data, server.url("/a/f.bin"), server.url("/b/f.bin"))
    assert _fetch(rf, tmp_path).read_bytes() == data
    assert server.hits("/a/f.bin") == 1  # wrong bytes are not retried on the same URL


def test_all_urls_failing_lists_each_url_and_why(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bytes(5000)
    for p in ("/m/ds/f.bin", "/down/f.bin", "/portal/f.bin"):
        server.add(p, data)
    server.fail("/down/f.bin", "500")
    server.fail("/portal/f.bin", "html")
    monkeypatch.setenv("IMAGESETS_MIRROR", server.url("/m"))
    server.fail("/m/ds/f.bin", "404")
    urls = [server.url("/down/f.bin"), server.url("/portal/f.bin")]
    with pytest.raises(FetchError) as err:
        _fetch(_rf("f.bin", data, *urls), tmp_path, retries=1)
    assert not isinstance(err.value, VerificationError)
    lines = str(err.value).splitlines()
    assert any(server.url("/m/ds/f.bin") in ln and "404" in ln for ln in lines)
    assert any(urls[0] in ln and "500" in ln and "2 attempts" in ln for ln in lines)
    assert any(urls[1] in ln and "HTML" in ln for ln in lines)
    assert "imagesets import ds" in str(err.value)
    assert _visible(tmp_path) == []


def test_a_file_without_urls_says_so(tmp_path: Path) -> None:
    data = _bytes(10)
    with pytest.raises(FetchError, match="no URL known"):
        _fetch(_rf("f.bin", data), tmp_path)


def test_a_truncated_final_file_is_fetched_again(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    (tmp_path / "f.bin").write_bytes(data[:100])  # e.g. copied there by hand, cut short
    assert _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data
    assert server.requests == [("GET", "/f.bin", None)]


def test_present_file_is_not_fetched_again(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(5000)
    server.add("/f.bin", data)
    rf = _rf("f.bin", data, server.url("/f.bin"))
    _fetch(rf, tmp_path)
    _fetch(rf, tmp_path)
    assert server.hits("/f.bin") == 1


# --------------------------------------------------------------------------- offline


def test_offline_never_touches_the_network(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    with pytest.raises(OfflineError) as err:
        api.download("fake-mnist", progress=False)
    msg = str(err.value)
    for name in fake_mnist["files"]:
        assert name in msg
    assert "imagesets import fake-mnist" in msg
    with pytest.raises(OfflineError, match=r"train-images-idx3-ubyte\.gz"):
        imagesets.load("fake-mnist", progress=False)
    assert fake_mnist["server"].requests == []


def test_offline_error_lists_only_the_missing_files(
    fake_mnist: dict[str, Any], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.download("fake-mnist", progress=False)
    (cache / "downloads" / "fake-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    before = len(fake_mnist["server"].requests)
    monkeypatch.setenv("IMAGESETS_OFFLINE", "yes")
    with pytest.raises(OfflineError) as err:
        api.download("fake-mnist", progress=False)
    msg = str(err.value)
    assert "1 file(s)" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "train-images-idx3-ubyte.gz" not in msg
    assert len(fake_mnist["server"].requests) == before


def test_offline_fetch_file_lists_the_file(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_OFFLINE", "true")
    data = _bytes(10)
    with pytest.raises(OfflineError, match=r"(?s)f\.bin .*imagesets import ds"):
        _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert server.requests == []


def test_offline_load_works_from_the_cache(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.download("fake-mnist", progress=False)
    before = len(fake_mnist["server"].requests)
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    ds = imagesets.load("fake-mnist", progress=False)
    expected = fake_mnist["files"]["t10k-images-idx3-ubyte.gz"]["array"]
    np.testing.assert_array_equal(ds["test"].images, expected)
    assert len(fake_mnist["server"].requests) == before


# --------------------------------------------------------------------------- cache root


def test_downloads_go_under_imagesets_home(fake_mnist: dict[str, Any], cache: Path) -> None:
    paths = api.download("fake-mnist", progress=False)
    folder = cache / "downloads" / "fake-mnist"
    assert paths == {name: folder / name for name in fake_mnist["files"]}
    for name, facts in fake_mnist["files"].items():
        assert hashlib.sha256(paths[name].read_bytes()).hexdigest() == facts["sha256"]


def test_root_argument_overrides_imagesets_home(
    fake_mnist: dict[str, Any], cache: Path, tmp_path: Path
) -> None:
    api.download("fake-mnist", root=tmp_path / "other", progress=False)
    assert (tmp_path / "other" / "downloads" / "fake-mnist").is_dir()
    assert not (cache / "downloads").exists()


@pytest.fixture
def bad_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """IMAGESETS_HOME under a regular file (unusable even for root); TMPDIR watched."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IMAGESETS_HOME", str(blocker / "cache"))
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(systmp))
    monkeypatch.setattr("tempfile.tempdir", str(systmp))
    return blocker / "cache"


def _assert_cache_error(call: Any, bad: Path) -> None:
    with pytest.raises(CacheError) as err:
        call("fake-mnist", progress=False)
    assert str(bad) in str(err.value)
    assert "IMAGESETS_HOME" in str(err.value)
    assert list((bad.parent.parent / "systmp").iterdir()) == []  # no fallback to a temp dir


def test_unwritable_root_is_a_cache_error_without_fallback(
    fake_mnist: dict[str, Any], bad_root: Path, tmp_path: Path
) -> None:
    _assert_cache_error(api.download, bad_root)
    _assert_cache_error(api.prepare, bad_root)
    stray = tmp_path / "x.bin"
    stray.write_bytes(b"x")
    _assert_cache_error(lambda name, **kw: api.import_files(name, [stray], **kw), bad_root)
    assert fake_mnist["server"].requests == []


@pytest.mark.parametrize("call", [imagesets.load, api.load_data], ids=["load", "load_data"])
def test_unwritable_root_on_load_is_a_cache_error(
    fake_mnist: dict[str, Any], bad_root: Path, call: Any
) -> None:
    _assert_cache_error(call, bad_root)


# --------------------------------------------------------------------------- import


@pytest.fixture
def src(fake_mnist: dict[str, Any], tmp_path: Path) -> Path:
    """The folder holding the fake dataset's four original files (written by the fixture)."""
    return tmp_path / "src"


def _cached(cache: Path) -> list[str]:
    folder = cache / "downloads" / "fake-mnist"
    return _visible(folder) if folder.is_dir() else []


def test_import_a_folder(src: Path, cache: Path, fake_mnist: dict[str, Any]) -> None:
    result = api.import_files("fake-mnist", [src], progress=False)
    assert sorted(result.imported) == sorted(fake_mnist["files"])
    assert result.unmatched == [] and result.already == []
    assert _cached(cache) == sorted(fake_mnist["files"])
    again = imagesets.import_files("fake-mnist", [src], progress=False)
    assert again.imported == [] and sorted(again.already) == sorted(fake_mnist["files"])
    imagesets.load("fake-mnist", progress=False)  # no download needed
    assert fake_mnist["server"].requests == []


def test_import_matches_a_renamed_file_by_size_and_sha256(
    src: Path, cache: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "downloaded (1).bin"
    shutil.copy(src / "train-labels-idx1-ubyte.gz", renamed)
    result = api.import_files("fake-mnist", [str(renamed)], progress=False)
    assert result.imported == ["train-labels-idx1-ubyte.gz"]
    cached = cache / "downloads" / "fake-mnist" / "train-labels-idx1-ubyte.gz"
    assert cached.read_bytes() == renamed.read_bytes()


def test_import_refuses_a_catalog_name_with_wrong_bytes(
    src: Path, cache: Path, tmp_path: Path
) -> None:
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    original = (src / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (bad_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes([original[0] ^ 1]) + original[1:])
    with pytest.raises(VerificationError) as err:
        api.import_files("fake-mnist", [bad_dir], progress=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value)
    assert "sha256" in str(err.value)
    assert _cached(cache) == []


def test_import_reports_unmatched_files(src: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = api.import_files("fake-mnist", [src / "t10k-labels-idx1-ubyte.gz", notes])
    assert result.imported == ["t10k-labels-idx1-ubyte.gz"]
    assert result.unmatched == [notes]


def test_import_of_nothing_matching_is_a_fetch_error(
    fake_mnist: dict[str, Any], tmp_path: Path, cache: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(FetchError, match="none of the 1 file"):
        api.import_files("fake-mnist", [notes], progress=False)
    with pytest.raises(FetchError, match="neither a file nor a folder"):
        api.import_files("fake-mnist", [tmp_path / "nope"], progress=False)
    assert _cached(cache) == []


# --------------------------------------------------------------------------- verify


def test_verify_reports_ok_missing_and_corrupt(fake_mnist: dict[str, Any], cache: Path) -> None:
    api.download("fake-mnist", progress=False)
    folder = cache / "downloads" / "fake-mnist"
    assert {r.name: r.status for r in api.verify("fake-mnist", progress=False)} == dict.fromkeys(
        fake_mnist["files"], "ok"
    )
    (folder / "train-images-idx3-ubyte.gz").unlink()
    flipped = folder / "train-labels-idx1-ubyte.gz"
    raw = bytearray(flipped.read_bytes())
    raw[-1] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    cut = folder / "t10k-images-idx3-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:-10])
    rows = {r.name: r for r in api.verify("fake-mnist", progress=False)}
    assert rows["train-images-idx3-ubyte.gz"].status == "missing"
    assert rows["train-labels-idx1-ubyte.gz"].status == "corrupt"
    assert fake_mnist["files"]["train-labels-idx1-ubyte.gz"]["sha256"] in (
        rows["train-labels-idx1-ubyte.gz"].detail
    )
    assert rows["t10k-images-idx3-ubyte.gz"].status == "corrupt"
    assert "size" in rows["t10k-images-idx3-ubyte.gz"].detail
    assert rows["t10k-labels-idx1-ubyte.gz"].status == "ok"
    assert flipped.read_bytes() == bytes(raw)  # verify changes nothing


def test_offline_load_names_every_missing_split_at_once(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        imagesets.load("fake-mnist", progress=False)
    text = str(info.value)
    for name in ("train-images", "train-labels", "t10k-images", "t10k-labels"):
        assert name in text


# --------------------------------------------------------------------------- slow mirrors


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 0.5 s rate window (the default is 30 s), so a trickle is caught in about half a second."""
    monkeypatch.setenv("IMAGESETS_RATE_WINDOW", "0.5")
    monkeypatch.delenv("IMAGESETS_MIN_RATE", raising=False)


@pytest.mark.usefixtures("small_window")
def test_trickling_mirror_is_abandoned_for_the_next_url(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(400)  # a trickle of 1 byte per 0.05 s would take 20 s to finish
    server.add("/slow/f.bin", data)
    server.add("/good/f.bin", data)
    server.fail("/slow/f.bin", "trickle", delay=0.05)
    rf = _rf("f.bin", data, server.url("/slow/f.bin"), server.url("/good/f.bin"))
    assert _fetch(rf, tmp_path).read_bytes() == data
    assert server.hits("/slow/f.bin") == 1  # too slow is not retried on the same URL
    assert server.hits("/good/f.bin") == 1
    resumed = server.requests[-1][2]
    assert resumed is not None and resumed.startswith("bytes=")  # the trickled part was kept
    assert _visible(tmp_path) == ["f.bin"]


@pytest.mark.usefixtures("small_window")
def test_trickle_alone_fails_naming_the_rate_and_keeps_the_part(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(400)
    server.add("/slow/f.bin", data)
    server.fail("/slow/f.bin", "trickle", delay=0.05)
    with pytest.raises(FetchError) as err:
        _fetch(_rf("f.bin", data, server.url("/slow/f.bin")), tmp_path)
    msg = str(err.value)
    assert "too slow" in msg and "IMAGESETS_MIN_RATE" in msg and "IMAGESETS_RATE_WINDOW" in msg
    assert not isinstance(err.value, VerificationError)
    part = tmp_path / "f.bin.part"
    assert 0 < part.stat().st_size < len(data)
    assert part.read_bytes() == data[: part.stat().st_size]
    assert not (tmp_path / "f.bin").exists()


def test_min_rate_zero_turns_the_check_off(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_RATE_WINDOW", "0.2")
    monkeypatch.setenv("IMAGESETS_MIN_RATE", "0")
    data = _bytes(12)
    server.add("/slow/f.bin", data)
    server.fail("/slow/f.bin", "trickle", delay=0.05)
    assert _fetch(_rf("f.bin", data, server.url("/slow/f.bin")), tmp_path).read_bytes() == data


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("IMAGESETS_MIN_RATE", "fast"),
        ("IMAGESETS_MIN_RATE", "-1"),
        ("IMAGESETS_RATE_WINDOW", "0"),
        ("IMAGESETS_RATE_WINDOW", "nan"),
        ("IMAGESETS_MAX_UNSIZED", "1.5"),
        ("IMAGESETS_MAX_UNSIZED", "0"),
    ],
)
def test_bad_limit_settings_are_named(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    data = _bytes(10)
    server.add("/f.bin", data)
    with pytest.raises(FetchError) as err:
        _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert var in str(err.value) and repr(value) in str(err.value)
    assert server.requests == []


# --------------------------------------------------------------------------- redirects


def test_relative_redirect_is_followed_and_keeps_the_range(
    server: LoopbackServer, tmp_path: Path
) -> None:
    data = _bytes(5000)
    server.add("/new/f.bin", data)
    server.fail("/old/f.bin", "redirect", location="../new/f.bin")
    (tmp_path / "f.bin.part").write_bytes(data[:1000])
    assert _fetch(_rf("f.bin", data, server.url("/old/f.bin")), tmp_path).read_bytes() == data
    assert server.requests == [
        ("GET", "/old/f.bin", "bytes=1000-"),
        ("GET", "/new/f.bin", "bytes=1000-"),
    ]


def _chain(server: LoopbackServer, hops: int) -> str:
    """``/r0 -> /r1 -> ... -> /r<hops>`` (the file); returns the first URL."""
    for i in range(hops):
        server.fail(f"/r{i}", "redirect", location=server.url(f"/r{i + 1}"))
    return server.url("/r0")


def test_ten_redirects_are_followed(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(100)
    server.add("/r10", data)
    assert _fetch(_rf("f.bin", data, _chain(server, 10)), tmp_path).read_bytes() == data


def test_eleven_redirects_are_too_many(server: LoopbackServer, tmp_path: Path) -> None:
    data = _bytes(100)
    server.add("/r11", data)
    with pytest.raises(FetchError, match="more than 10 redirects"):
        _fetch(_rf("f.bin", data, _chain(server, 11)), tmp_path)
    assert server.hits("/r11") == 0


BAD_LOCATIONS = {
    "loop": "/bad/f.bin",
    "file": "file:///etc/passwd",
    "ftp": "ftp://127.0.0.1/f.bin",
    "javascript": "javascript:alert(1)",
    "unclosed-ipv6": "http://[::1/f.bin",
    "no-host": "http:///f.bin",
    "bad-port": "http://127.0.0.1:99999/f.bin",
    "none": None,
}


@pytest.mark.parametrize("location", BAD_LOCATIONS.values(), ids=BAD_LOCATIONS.keys())
def test_bad_redirect_falls_through_to_the_next_url(
    server: LoopbackServer, tmp_path: Path, location: str | None
) -> None:
    data = _bytes(5000)
    server.add("/good/f.bin", data)
    server.fail("/bad/f.bin", "redirect", location=location)
    rf = _rf("f.bin", data, server.url("/bad/f.bin"), server.url("/good/f.bin"))
    assert _fetch(rf, tmp_path).read_bytes() == data
    assert server.hits("/good/f.bin") == 1


@pytest.mark.parametrize("location", BAD_LOCATIONS.values(), ids=BAD_LOCATIONS.keys())
def test_bad_redirect_alone_is_a_fetch_error_naming_the_url(
    server: LoopbackServer, tmp_path: Path, location: str | None
) -> None:
    data = _bytes(50)
    server.fail("/bad/f.bin", "redirect", location=location)
    with pytest.raises(FetchError) as err:
        _fetch(_rf("f.bin", data, server.url("/bad/f.bin")), tmp_path, retries=0)
    assert not isinstance(err.value, VerificationError)
    assert server.url("/bad/f.bin") in str(err.value)
    assert "redirect" in str(err.value)
    assert _visible(tmp_path) == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/f.bin", "127.0.0.1:1/f.bin", "http://[::1/f"])
def test_unusable_catalog_url_falls_through(
    server: LoopbackServer, tmp_path: Path, url: str
) -> None:
    data = _bytes(500)
    server.add("/good/f.bin", data)
    assert _fetch(_rf("f.bin", data, url, server.url("/good/f.bin")), tmp_path).read_bytes() == data


# --------------------------------------------------------------------------- unsized and oversized


def _md5_only(name: str, data: bytes, *urls: str) -> RemoteFile:
    return RemoteFile(name, None, None, md5=hashlib.md5(data).hexdigest(), urls=tuple(urls))


def test_endless_body_of_an_unsized_file_stops_at_the_cap(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_MAX_UNSIZED", "100000")
    data = _bytes(1000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "endless", after=3 << 20)
    url = server.url("/f.bin")
    with pytest.raises(FetchError) as err:
        _fetch(_md5_only("f.bin", data, url), tmp_path)
    msg = str(err.value)
    for needle in ("f.bin", url, "100000", "IMAGESETS_MAX_UNSIZED"):
        assert needle in msg
    assert not isinstance(err.value, VerificationError)
    assert _visible(tmp_path) == []  # the oversize part is removed


def test_unsized_file_under_the_cap_is_fetched(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_MAX_UNSIZED", "1000")
    data = _bytes(1000)
    server.add("/f.bin", data)
    assert _fetch(_md5_only("f.bin", data, server.url("/f.bin")), tmp_path).read_bytes() == data


def test_body_longer_than_the_size_is_read_to_size_plus_one_byte(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib3

    data = _bytes(5000)
    server.add("/f.bin", data)
    server.fail("/f.bin", "endless", after=4 << 20)
    consumed: list[int] = []
    real_read1 = urllib3.response.HTTPResponse.read1

    def counting(self: Any, *args: Any, **kwargs: Any) -> bytes:
        chunk: bytes = real_read1(self, *args, **kwargs)
        consumed.append(len(chunk))
        return chunk

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", counting)
    with pytest.raises(VerificationError, match="sent more"):
        _fetch(_rf("f.bin", data, server.url("/f.bin")), tmp_path)
    assert sum(consumed) == len(data) + 1
    assert _visible(tmp_path) == []


# --------------------------------------------------------------------------- IMAGESETS_MIRROR


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:8000/mirror", "http://localhost:8000/mirror"),
        ("/srv/mirror", "file:///srv/mirror"),
        ("ftp://127.0.0.1/m", "http://, https:// or file://"),
        ("http://", "http://, https:// or file://"),
    ],
)
def test_mirror_without_a_usable_scheme_is_a_clear_error(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch, value: str, hint: str
) -> None:
    monkeypatch.setenv("IMAGESETS_MIRROR", f"http://127.0.0.1:1/ok {value}")
    with pytest.raises(FetchError) as err:
        imagesets.download("fake-mnist", progress=False)
    msg = str(err.value)
    assert "IMAGESETS_MIRROR" in msg and repr(value) in msg
    assert "http://, https:// or file://" in msg and hint in msg
    assert fake_mnist["server"].requests == []
