"""Progress bars where people are (issue 12): tqdm.auto bars, on a terminal or in a Jupyter
kernel, quiet in a pipe, forced by IMAGESETS_PROGRESS=0/1, and -q always wins."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

import imagesets
from imagesets import _progress
from imagesets.errors import ArgumentError


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_progress.ENV, raising=False)


def test_quiet_in_a_pipe_shown_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _progress.enabled(True)
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert _progress.enabled(True) and not _progress.enabled(False)


CASES = [("1", False, True), ("0", True, False), (" 1 ", False, True), ("", False, False)]


@pytest.mark.parametrize(("value", "tty", "shown"), CASES)
def test_the_environment_forces_it(
    monkeypatch: pytest.MonkeyPatch, value: str, tty: bool, shown: bool
) -> None:
    monkeypatch.setenv(_progress.ENV, value)
    monkeypatch.setattr(sys, "stderr", _Tty() if tty else io.StringIO())
    assert _progress.enabled(True) is shown
    assert not _progress.enabled(False)  # progress=False / -q always wins


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_a_bad_value_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_progress.ENV, value)
    with pytest.raises(ArgumentError, match=rf"IMAGESETS_PROGRESS='{value}': expected 0 .* or 1"):
        _progress.enabled(True)


def test_a_jupyter_kernel_counts_as_a_place_to_show(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress.in_notebook() and _progress.enabled(True)
    shell.config = {"TerminalIPythonApp": {}}  # plain IPython in a terminal: not a notebook
    assert not _progress.in_notebook()


def test_bars_come_from_tqdm_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    from tqdm.auto import tqdm

    monkeypatch.setenv(_progress.ENV, "1")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = _progress.bar(True, total=3, desc="demo")
    assert isinstance(bar, tqdm) and not bar.disable
    bar.update(3)
    bar.close()
    assert "demo" in err.getvalue()


def test_a_prepare_draws_its_bar_when_forced(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], cache: Path
) -> None:
    monkeypatch.setenv(_progress.ENV, "1")
    imagesets.prepare("mnist", "test", sample=True, progress=True)
    assert "prepare mnist test" in capfd.readouterr().err
    monkeypatch.setenv(_progress.ENV, "0")
    imagesets.prepare("fashion-mnist", "test", sample=True, progress=True)
    assert capfd.readouterr().err == ""
