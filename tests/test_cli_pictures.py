"""`imagesets show` and `grid` with bad options: one error line, exit 1, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagesets.cli import main


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command, check it failed with one error line, and return that line."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("imagesets: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("scale", ["-3", "0"])
def test_show_refuses_a_scale_below_1(capsys: pytest.CaptureFixture[str], scale: str) -> None:
    err = _fails(capsys, "show", "mnist", "--sample", "--scale", scale, "-q")
    assert f"scale: expected an int >= 1, found {scale}" in err


def test_show_caps_a_huge_scale_and_says_the_max(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.png"
    err = _fails(capsys, "show", "mnist", "--sample", "--scale", "100000", "--out", str(out))
    assert "the largest side is 8192 px, so use a scale of at most 292" in err
    assert not out.exists()


@pytest.mark.parametrize("per_class", ["0", "-1"])
def test_grid_refuses_per_class_below_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, per_class: str
) -> None:
    out = tmp_path / "g.png"
    err = _fails(capsys, "grid", "mnist", "--sample", "--per-class", per_class, "--out", str(out))
    assert f"per_class: expected an int >= 1, found {per_class}" in err
    assert not out.exists()


def test_grid_with_an_absurd_per_class_is_capped_or_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "g.png"
    argv = ["grid", "mnist", "--sample", "--per-class", "1000000000", "--out", str(out)]
    assert main([*argv, "--scale", "1"]) == 0  # capped at the largest class of the sample
    capsys.readouterr()
    err = _fails(capsys, *argv, "--scale", "100")
    assert "Mpx); the largest is 67 Mpx (8192 x 8192): lower per_class or scale" in err


@pytest.mark.parametrize("command", [["show", "--index", "3"], ["grid", "--per-class", "2"]])
def test_unknown_picture_extension_lists_the_writable_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    out = tmp_path / "x.xyz"
    err = _fails(capsys, command[0], "mnist", "--sample", *command[1:], "--out", str(out))
    assert "has the extension '.xyz', which is not an image format Pillow can write" in err
    assert ".png" in err and ".jpg" in err and ".webp" in err
    assert not out.exists()


@pytest.mark.parametrize("command", [["show", "--index", "3"], ["grid", "--per-class", "2"]])
def test_picture_into_a_missing_folder_names_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    out = tmp_path / "nope" / "x.png"
    err = _fails(capsys, command[0], "mnist", "--sample", *command[1:], "--out", str(out))
    assert f"the folder '{out.parent}' of '{out}' does not exist; create it first" in err
