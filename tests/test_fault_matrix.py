"""Every mirror fault against every fetch path: the cache ends bit-exact, or untouched.

Faults (served by :mod:`imagesets.testing.server`): 403, 500, an HTML page with status 200,
wrong bytes, a connection dropped mid-body, a trickle, a redirect loop, and ``Range`` ignored
on resume. Paths: :func:`imagesets.download`, :func:`imagesets.load` and, for wrong bytes,
:func:`imagesets.import_files`.

- fallback: every file's first URL has the fault, its second URL is good: the cache must hold
  the right bytes (and ``load`` the right arrays).
- all fail: the faulty URL is the only one: the call raises a FetchError and the cache is
  untouched: no file in ``downloads/`` (a ``.part`` of a dropped or trickled transfer may stay,
  by design, for resume, and must then be a true prefix), and no prepared split.

A fault that the fetch layer heals on the same URL (``Range`` ignored) has only the fallback
case, with a single URL. The rate window is 0.5 s so a trickle is caught quickly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from conftest import fake_entry
from imagesets import catalog
from imagesets.errors import FetchError, OfflineError, VerificationError
from imagesets.testing.idx import write_fake_mnist
from imagesets.testing.server import LoopbackServer

NAME = "fault-mnist"

FAULTS: dict[str, dict[str, Any]] = {
    "403": {"mode": "403"},
    "500": {"mode": "500"},
    "html": {"mode": "html"},
    "wrong": {"mode": "wrong"},
    "drop": {"mode": "drop", "after": 10},
    "trickle": {"mode": "trickle", "delay": 0.05},
    "redirect-loop": {"mode": "redirect"},
    "ignore-range": {"mode": "ignore-range"},
}
HEALED = {"ignore-range"}  # the same URL still gives the file
KEEPS_PART = {"drop", "trickle"}  # the part is kept for resume
VERIFY = {"html", "wrong"}  # wrong bytes: a VerificationError when no URL is good


@pytest.fixture
def originals(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The four fake MNIST files in ``tmp_path/src`` (train 60, test 20)."""
    return write_fake_mnist(tmp_path / "src", {"train": 60, "test": 20})


@pytest.fixture(autouse=True)
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGESETS_RATE_WINDOW", "0.5")
    monkeypatch.delenv("IMAGESETS_MIN_RATE", raising=False)


def _serve(
    server: LoopbackServer, tmp_path: Path, files: dict[str, Any], fault: str, fallback: bool
) -> Iterator[None]:
    for name in files:
        data = (tmp_path / "src" / name).read_bytes()
        server.add(f"/bad/{name}", data)
        server.add(f"/good/{name}", data)
        spec = dict(FAULTS[fault])
        if spec["mode"] == "redirect":
            spec["location"] = f"/bad/{name}"  # to itself: a loop
        server.fail(f"/bad/{name}", spec.pop("mode"), **spec)
    bases = [server.url("/bad/")] + (
        [server.url("/good/")] if fallback and fault not in HEALED else []
    )
    catalog.register(fake_entry(NAME, files, bases))
    try:
        yield
    finally:
        catalog.unregister(NAME)


@pytest.fixture
def setup(
    request: pytest.FixtureRequest, server: LoopbackServer, tmp_path: Path, originals: Any
) -> Iterator[None]:
    fault, fallback = request.param
    yield from _serve(server, tmp_path, originals, fault, fallback)


def _downloads(cache: Path) -> Path:
    return cache / "downloads" / NAME


def _prefix_parts(cache: Path, tmp_path: Path) -> None:
    """A resumable part of each file (its first half), as a killed run would leave."""
    folder = _downloads(cache)
    folder.mkdir(parents=True)
    for src in (tmp_path / "src").iterdir():
        data = src.read_bytes()
        (folder / f"{src.name}.part").write_bytes(data[: len(data) // 2])


def _assert_bit_exact(cache: Path, tmp_path: Path, files: dict[str, Any]) -> None:
    folder = _downloads(cache)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(files)
    for name in files:
        assert (folder / name).read_bytes() == (tmp_path / "src" / name).read_bytes(), name


def _assert_untouched(cache: Path, tmp_path: Path, fault: str, monkeypatch: Any) -> None:
    folder = _downloads(cache)
    left = (
        sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        if folder.is_dir()
        else []
    )
    parts = [n for n in left if n.endswith(".part")]
    assert left == parts, f"visible files after a failure: {left}"
    if fault not in KEEPS_PART:
        assert parts == []
    for name in parts:
        data = (tmp_path / "src" / name.removesuffix(".part")).read_bytes()
        kept = (folder / name).read_bytes()
        assert len(kept) < len(data) and data.startswith(kept), name
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    with pytest.raises(OfflineError):  # nothing was prepared
        imagesets.load(NAME, progress=False)


def _cases(fallback: bool) -> list[Any]:
    return [pytest.param((f, fallback), id=f) for f in FAULTS if fallback or f not in HEALED]


# --------------------------------------------------------------------------- download


@pytest.mark.parametrize("setup", _cases(True), indirect=True)
@pytest.mark.usefixtures("setup")
def test_download_falls_back_bit_exact(
    request: pytest.FixtureRequest, cache: Path, tmp_path: Path, originals: Any
) -> None:
    if request.node.callspec.params["setup"][0] == "ignore-range":
        _prefix_parts(cache, tmp_path)
    imagesets.download(NAME, progress=False)
    _assert_bit_exact(cache, tmp_path, originals)


@pytest.mark.parametrize("setup", _cases(False), indirect=True)
@pytest.mark.usefixtures("setup")
def test_download_failing_everywhere_leaves_the_cache_untouched(
    request: pytest.FixtureRequest, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = request.node.callspec.params["setup"][0]
    with pytest.raises(FetchError) as err:
        imagesets.download(NAME, progress=False)
    assert isinstance(err.value, VerificationError) == (fault in VERIFY)
    assert "/bad/" in str(err.value)
    _assert_untouched(cache, tmp_path, fault, monkeypatch)


# --------------------------------------------------------------------------- load


@pytest.mark.parametrize("setup", _cases(True), indirect=True)
@pytest.mark.usefixtures("setup")
def test_load_falls_back_bit_exact(
    request: pytest.FixtureRequest, cache: Path, tmp_path: Path, originals: Any
) -> None:
    if request.node.callspec.params["setup"][0] == "ignore-range":
        _prefix_parts(cache, tmp_path)
    ds = imagesets.load(NAME, progress=False)
    np.testing.assert_array_equal(
        ds["train"].images, originals["train-images-idx3-ubyte.gz"]["array"]
    )
    np.testing.assert_array_equal(
        ds["test"].labels, originals["t10k-labels-idx1-ubyte.gz"]["array"]
    )
    _assert_bit_exact(cache, tmp_path, originals)


@pytest.mark.parametrize("setup", _cases(False), indirect=True)
@pytest.mark.usefixtures("setup")
def test_load_failing_everywhere_leaves_the_cache_untouched(
    request: pytest.FixtureRequest, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = request.node.callspec.params["setup"][0]
    with pytest.raises(FetchError, match="/bad/"):
        imagesets.load(NAME, progress=False)
    _assert_untouched(cache, tmp_path, fault, monkeypatch)


# --------------------------------------------------------------------------- import


def _wrong_copies(tmp_path: Path) -> Path:
    """The four files with the first 64 bytes flipped (what the "wrong" mirror sends)."""
    bad = tmp_path / "bad"
    bad.mkdir()
    for src in (tmp_path / "src").iterdir():
        data = src.read_bytes()
        (bad / src.name).write_bytes(bytes(b ^ 0xFF for b in data[:64]) + data[64:])
    return bad


@pytest.mark.parametrize("setup", [pytest.param(("wrong", True), id="wrong")], indirect=True)
@pytest.mark.usefixtures("setup")
def test_import_of_wrong_bytes_then_right_ones_is_bit_exact(
    cache: Path, tmp_path: Path, originals: Any, server: LoopbackServer
) -> None:
    with pytest.raises(VerificationError, match="sha256"):
        imagesets.import_files(NAME, [_wrong_copies(tmp_path), tmp_path / "src"], progress=False)
    _assert_bit_exact(cache, tmp_path, originals)
    imagesets.load(NAME, progress=False)
    assert server.requests == []


@pytest.mark.parametrize("setup", [pytest.param(("wrong", False), id="wrong")], indirect=True)
@pytest.mark.usefixtures("setup")
def test_import_of_wrong_bytes_only_leaves_the_cache_untouched(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(VerificationError, match="sha256"):
        imagesets.import_files(NAME, [_wrong_copies(tmp_path)], progress=False)
    _assert_untouched(cache, tmp_path, "wrong", monkeypatch)
