"""Every entry point behaves the same (issue 10): offline or online, a failed fetch names every
missing file of the splits asked for, with its size, checksum and the import command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import imagesets
from imagesets.cli import main
from imagesets.errors import FetchError

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _cli(argv: list[str]) -> Callable[[], Any]:
    def run() -> None:
        if main([*argv, "-q"]) != 0:
            raise FetchError("cli failed")

    return run


ENTRY_POINTS: dict[str, Callable[[], Any]] = {
    "load_data": lambda: imagesets.load_data("fake-mnist", progress=False),
    "load": lambda: imagesets.load("fake-mnist", progress=False),
    "prepare": lambda: imagesets.prepare("fake-mnist", progress=False),
    "download": lambda: imagesets.download("fake-mnist", progress=False),
}


@pytest.mark.parametrize("mode", ["offline", "online"])
@pytest.mark.parametrize("entry", [*ENTRY_POINTS, "cli-prepare", "cli-download", "cli-show"])
def test_every_entry_point_names_every_missing_file(
    fake_mnist: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    entry: str,
    mode: str,
) -> None:
    server = fake_mnist["server"]
    if mode == "offline":
        monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    else:
        for name in FILES:
            server.fail(f"/fake/{name}", "500")
    if entry.startswith("cli-"):
        verb = entry[4:]
        assert (
            main([verb, "fake-mnist", "-q", *(["--split", "test"] if verb == "show" else [])]) == 1
        )
        message = capsys.readouterr().err
        expected = FILES[2:] if verb == "show" else FILES  # show asks for one split
    else:
        with pytest.raises(FetchError) as err:
            ENTRY_POINTS[entry]()
        message = str(err.value)
        expected = FILES
    for name in expected:
        assert name in message, f"{entry} ({mode}) does not name {name}: {message}"
    assert "imagesets import fake-mnist" in message
    assert "sha256" in message and "bytes" in message
    if mode == "online":
        assert all(server.hits(f"/fake/{n}") >= 1 for n in expected)  # every file was tried
