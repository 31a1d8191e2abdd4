"""Concurrency and crash safety of the cache, with real processes (tests/_worker.py).

Several processes loading one dataset into one empty cache fetch each file once and prepare
each split once, and nobody ever sees a half file; a ``kill -9`` in mid-download leaves only a
``.part`` that the next load resumes; a ``kill -9`` in mid-prepare leaves no split, only a
hidden temporary folder that the next load removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import imagesets
from conftest import fake_entry
from imagesets import catalog
from imagesets.formats import READERS
from imagesets.store import open_split, read_manifest
from imagesets.testing.idx import write_fake_mnist
from imagesets.testing.server import LoopbackServer

WORKER = Path(__file__).with_name("_worker.py")
TIMEOUT = 60.0


class Worker:
    """One ``python tests/_worker.py`` process; its stderr (log lines) goes to a file."""

    started: ClassVar[list[Worker]] = []

    def __init__(self, folder: Path, entry: dict[str, Any], action: str, *args: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        entry_file = folder / "entry.json"
        entry_file.write_text(json.dumps(entry))
        self.err = folder / "stderr.txt"
        self.out = folder / "arrays.npz"
        cmd = [sys.executable, str(WORKER), str(entry_file), action, "--out", str(self.out)]
        with self.err.open("wb") as err:
            self.proc = subprocess.Popen([*cmd, *args], stdout=err, stderr=err)
        Worker.started.append(self)

    def wait(self) -> int:
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(TIMEOUT) == -signal.SIGKILL

    def log(self) -> list[str]:
        return self.err.read_text().splitlines()


def _wait_until(cond: Callable[[], bool], what: str, worker: Worker) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if worker.proc.poll() is not None:
            pytest.fail(f"worker ended before {what}:\n{worker.err.read_text()}")
        if time.monotonic() > deadline:
            worker.proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _expected(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"train_images": array, ...}`` as the worker saves them."""
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    return {key: files[name]["array"] for key, name in names.items()}


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """Kill (by pid) any worker a failed test left running."""
    yield
    for w in Worker.started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(TIMEOUT)
    Worker.started.clear()


@pytest.fixture
def registered() -> Iterator[Callable[[dict[str, Any]], None]]:
    """Register entries in this process too; unregistered afterwards."""
    names: list[str] = []

    def register(entry: dict[str, Any]) -> None:
        catalog.register(entry)
        names.append(entry["name"])

    yield register
    for name in names:
        catalog.unregister(name)


# --------------------------------------------------------------------------- concurrency


class Watcher(threading.Thread):
    """Polls the cache while workers race; records anything visible that is not whole."""

    def __init__(self, cache: Path, dataset: str, files: dict[str, dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.downloads = cache / "downloads" / dataset
        self.variant = cache / "prepared" / dataset / "default"
        self.files = files
        self.expected = _expected(files)
        self.seen: set[str] = set()
        self.bad: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.check()
            time.sleep(0.02)

    def check(self) -> None:
        try:
            self._check_downloads()
            self._check_splits()
        except Exception as exc:  # anything odd is a finding, reported by the test
            self.bad.append(f"{type(exc).__name__}: {exc}")

    def _check_downloads(self) -> None:
        if not self.downloads.is_dir():
            return
        for path in self.downloads.iterdir():
            if path.name.startswith(".") or path.name.endswith(".part"):
                continue
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            self.seen.add(path.name)
            if sha != self.files[path.name]["sha256"]:
                self.bad.append(f"{path.name} visible with sha256 {sha}")

    def _check_splits(self) -> None:
        for split in ("train", "test"):
            manifest = read_manifest(self.variant / split)
            if manifest is None:
                continue
            arrays = open_split(self.variant / split, manifest).arrays
            self.seen.add(split)
            for name in ("images", "labels"):
                if not np.array_equal(arrays[name], self.expected[f"{split}_{name}"]):
                    self.bad.append(f"{split}/{name} visible with other values")


def _race(
    tmp_path: Path, fake_mnist: dict[str, Any], cache: Path, actions: list[str]
) -> tuple[list[Worker], Watcher]:
    """Start one worker per action at the same moment against a slow server; wait for all."""
    server: LoopbackServer = fake_mnist["server"]
    for name in fake_mnist["files"]:
        server.fail(f"/fake/{name}", "slow", delay=0.15)
    entry = fake_entry("fake-mnist", fake_mnist["files"], [server.url("/fake/")])
    go = tmp_path / "go"
    workers = [
        Worker(
            tmp_path / f"w{i}", entry, a, "--ready", str(tmp_path / f"ready{i}"), "--go", str(go)
        )
        for i, a in enumerate(actions)
    ]
    _wait_until(
        lambda: all((tmp_path / f"ready{i}").exists() for i in range(len(actions))),
        "every worker to be ready",
        workers[0],
    )
    watcher = Watcher(cache, "fake-mnist", fake_mnist["files"])
    watcher.start()
    go.touch()
    codes = [w.wait() for w in workers]
    watcher.stop.set()
    watcher.join()
    watcher.check()
    assert codes == [0] * len(actions), "\n".join(w.err.read_text() for w in workers)
    return workers, watcher


def _count(workers: list[Worker], prefix: str) -> int:
    return sum(line.startswith(prefix) for w in workers for line in w.log())


def _leftovers(cache: Path) -> list[str]:
    return sorted(
        str(p.relative_to(cache))
        for p in cache.rglob("*")
        if p.name.endswith(".part") or p.name.startswith((".tmp-", ".write-test-"))
    )


@pytest.mark.slow  # four interpreters start on two cores: about 6 s
def test_concurrent_loads_fetch_once_and_prepare_once(
    fake_mnist: dict[str, Any], cache: Path, tmp_path: Path
) -> None:
    # three loaders (prepare lock, then file locks) and one downloader (file locks only)
    workers, watcher = _race(tmp_path, fake_mnist, cache, ["load", "download", "load", "load"])
    server: LoopbackServer = fake_mnist["server"]
    for name in fake_mnist["files"]:
        assert server.hits(f"/fake/{name}") == 1, name
        assert _count(workers, f"fetched {name} ") == 1, name
    assert _count(workers, "prepared fake-mnist train in") == 1
    assert _count(workers, "prepared fake-mnist test in") == 1
    expected = _expected(fake_mnist["files"])
    for w in (workers[0], *workers[2:]):
        with np.load(w.out) as got:
            assert sorted(got.files) == sorted(expected)
            for key, array in expected.items():
                np.testing.assert_array_equal(got[key], array, err_msg=key)
    assert watcher.bad == []
    assert watcher.seen == {*fake_mnist["files"], "train", "test"}
    assert _leftovers(cache) == []


# --------------------------------------------------------------------------- kill -9


def test_kill_during_download_leaves_a_part_that_is_resumed(
    server: LoopbackServer,
    cache: Path,
    tmp_path: Path,
    registered: Callable[[dict[str, Any]], None],
) -> None:
    files = write_fake_mnist(tmp_path / "big", {"train": 3000, "test": 20})  # 2.35 MB images
    for name in files:
        server.add(f"/big/{name}", (tmp_path / "big" / name).read_bytes())
    big = "train-images-idx3-ubyte.gz"
    data = (tmp_path / "big" / big).read_bytes()
    server.fail(f"/big/{big}", "slow", delay=0.03)  # 64 KiB every 30 ms: about 1.1 s
    entry = fake_entry("big-mnist", files, [server.url("/big/")])
    worker = Worker(tmp_path / "w", entry, "load")
    folder = cache / "downloads" / "big-mnist"
    part = folder / f"{big}.part"
    _wait_until(lambda: part.is_file() and part.stat().st_size > 0, "a partial download", worker)
    worker.kill9()

    kept = part.stat().st_size
    assert 0 < kept < len(data)
    assert part.read_bytes() == data[:kept]
    assert not (folder / big).exists()
    assert not (cache / "prepared" / "big-mnist" / "default" / "train").exists()

    server.fail(f"/big/{big}", "ok")  # full speed again
    registered(entry)
    ds = imagesets.load("big-mnist", progress=False)
    np.testing.assert_array_equal(ds["train"].images, files[big]["array"])
    assert [r for _, p, r in server.requests if p == f"/big/{big}"] == [None, f"bytes={kept}-"]
    assert (folder / big).read_bytes() == data
    assert _leftovers(cache) == []


def test_kill_during_prepare_leaves_no_split(
    fake_mnist: dict[str, Any],
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registered: Callable[[dict[str, Any]], None],
) -> None:
    entry = fake_entry("slow-mnist", fake_mnist["files"], [fake_mnist["server"].url("/fake/")])
    entry["editions"][0]["format"] = "slow-idx"
    marker = tmp_path / "in-prepare"
    monkeypatch.setenv("IMAGESETS_TEST_MARKER", str(marker))
    worker = Worker(tmp_path / "w", entry, "load", "--reader", "slow-idx=_worker:slow_read_split")
    _wait_until(marker.exists, "the reader to fill the arrays", worker)
    variant = cache / "prepared" / "slow-mnist" / "default"
    building = [p for p in variant.iterdir() if p.name.startswith(".tmp-train-")]
    assert len(building) == 1 and (building[0] / "images.npy").is_file()
    worker.kill9()

    assert [p.name for p in variant.iterdir()] == [building[0].name]  # no split, only the temp
    assert not (variant / "train").exists()

    monkeypatch.setitem(READERS, "slow-idx", "imagesets.formats.idx:read_split")
    registered(entry)
    ds = imagesets.load("slow-mnist", progress=False)
    expected = _expected(fake_mnist["files"])
    np.testing.assert_array_equal(ds["train"].images, expected["train_images"])
    np.testing.assert_array_equal(ds["test"].labels, expected["test_labels"])
    assert sorted(p.name for p in variant.iterdir()) == ["test", "train"]
    assert _leftovers(cache) == []
