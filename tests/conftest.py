"""Shared fixtures: a temporary cache root, a loopback HTTP server, the real data, no network."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from imagesets import catalog, import_files
from imagesets.testing.entries import retarget_with_fakes
from imagesets.testing.idx import write_fake_mnist
from imagesets.testing.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "real-data"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    loopback = isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost"))
    if inet and not loopback:
        raise ConnectionRefusedError(f"tests may only reach loopback, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection that is not to 127.0.0.1 (the real mirrors are never touched)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache root in IMAGESETS_HOME; no user mirrors, not offline."""
    root = tmp_path / "cache"
    monkeypatch.setenv("IMAGESETS_HOME", str(root))
    monkeypatch.delenv("IMAGESETS_MIRROR", raising=False)
    monkeypatch.delenv("IMAGESETS_OFFLINE", raising=False)
    monkeypatch.setattr("imagesets.fetch.BACKOFF", 0.01)
    return root


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A loopback HTTP server (see imagesets.testing.server)."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def real_data() -> Path:
    """../shared/real-data; in CI its absence is a failure, elsewhere a skip."""
    if not REAL_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real data missing at {REAL_DATA}; CI must run the real-data tests")
        pytest.skip(f"real data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def fake_mnist(tmp_path: Path, server: LoopbackServer) -> Iterator[dict[str, Any]]:
    """A registered dataset ``fake-mnist`` (train 60, test 20) served by the loopback server.

    Yields ``{"name", "files": {file name: {"size", "sha256", "array"}}, "server", "spec"}``.
    """
    files = write_fake_mnist(tmp_path / "src", {"train": 60, "test": 20})
    for name in files:
        server.add(f"/fake/{name}", (tmp_path / "src" / name).read_bytes())
    entry = fake_entry("fake-mnist", files, [server.url("/fake/")])
    spec = catalog.register(entry)
    yield {"name": "fake-mnist", "files": files, "server": server, "spec": spec}
    catalog.unregister("fake-mnist")


def fake_entry(name: str, files: dict[str, dict[str, Any]], bases: list[str]) -> dict[str, Any]:
    """A catalog entry (plain data) for MNIST-named IDX files served from ``bases``."""
    split_files = {
        "train": {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"},
        "test": {"images": "t10k-images-idx3-ubyte.gz", "labels": "t10k-labels-idx1-ubyte.gz"},
    }
    counts = {
        "train": len(files["train-labels-idx1-ubyte.gz"]["array"]),
        "test": len(files["t10k-labels-idx1-ubyte.gz"]["array"]),
    }
    return {
        "name": name,
        "title": "fake MNIST",
        "image_shape": [28, 28],
        "classes": [str(i) for i in range(10)],
        "splits": {s: {"count": n} for s, n in counts.items()},
        "editions": [
            {
                "name": "idx",
                "format": "idx",
                "splits": split_files,
                "files": [
                    {
                        "name": f,
                        "size": d["size"],
                        "sha256": d["sha256"],
                        "urls": [b + f for b in bases],
                    }
                    for f, d in files.items()
                ],
            }
        ],
    }


def imported_fake(
    builtin: str,
    tmp_path: Path,
    roots: Sequence[str],
    *,
    counts: dict[str, int],
    seed: int,
    folder: Callable[[dict[str, Any]], Path] | None = None,
) -> Iterator[str]:
    """The built-in entry ``builtin`` retargeted at fakes written in ``tmp_path/given`` (no
    server: the files are imported from ``folder(fakes)``, default that folder), registered
    and imported under each of ``tmp_path/root``; yields its name, unregistered after."""
    entry, fakes = retarget_with_fakes(
        catalog.builtin_entry(builtin), tmp_path / "given", "http://127.0.0.1:1/",
        counts=counts, seed=seed,
    )  # fmt: skip
    spec = catalog.register(entry)
    given = folder(fakes) if folder is not None else tmp_path / "given"
    for root in roots:
        import_files(spec.name, [given], root=tmp_path / root, progress=False)
    yield spec.name
    catalog.unregister(spec.name)


@pytest.fixture
def pets_entry(tmp_path: Path) -> Iterator[str]:
    """Fake Cats & Dogs zip (corrupt and truncated JPEGs included), imported under a and b."""
    yield from imported_fake("cats-vs-dogs", tmp_path, ("a", "b"), counts={"train": 24, "test": 6},
                             seed=4)  # fmt: skip


def _thread_name(*args: Any) -> str:
    return threading.current_thread().name


def spy_calls(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, note: Callable[..., Any] = _thread_name
) -> list[Any]:
    """Let every call of ``owner.name`` through and record ``note(*args)`` of each, in order
    (by default the calling thread's name); a method's ``args`` start with ``self``."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def spy(*args: Any) -> Any:
        calls.append(note(*args))
        return real(*args)

    monkeypatch.setattr(owner, name, spy)
    return calls


@pytest.fixture
def sized_takes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """``(decode threads of the source, calling thread's name)`` of every sized ``take`` of an
    encoded source (packed stores, boxed splits) made during the test."""
    from imagesets.sources import EncodedSource

    def note(source: EncodedSource, *args: Any) -> tuple[int, str]:
        return source._workers, _thread_name()

    return spy_calls(monkeypatch, EncodedSource, "_take_sized", note)
