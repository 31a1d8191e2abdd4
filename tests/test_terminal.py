"""`imagesets show --term`: the image in half-blocks, truecolour or grays (issue 12)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from imagesets import viz
from imagesets.cli import main

CELL_RGB = re.compile(r"\x1b\[38;2;(\d+);(\d+);(\d+)m\x1b\[48;2;(\d+);(\d+);(\d+)m\u2580")
CELL_GRAY = re.compile(r"\x1b\[38;5;(\d+)m\x1b\[48;5;(\d+)m\u2580")


def test_truecolour_cells_carry_the_top_and_bottom_pixels() -> None:
    image = np.zeros((4, 2, 3), np.uint8)
    image[0, 0] = (255, 0, 0)
    image[1, 0] = (0, 0, 255)
    image[2:, 1] = (10, 20, 30)
    lines = viz.terminal_preview(image, 2, truecolor=True).split("\n")
    assert len(lines) == 2 and all(line.endswith("\x1b[0m") for line in lines)
    cells = [[tuple(map(int, m)) for m in CELL_RGB.findall(line)] for line in lines]
    assert cells[0] == [(255, 0, 0, 0, 0, 255), (0, 0, 0, 0, 0, 0)]
    assert cells[1] == [(0, 0, 0, 0, 0, 0), (10, 20, 30, 10, 20, 30)]


def test_grayscale_fallback_uses_the_gray_ramp() -> None:
    image = np.array([[0, 255], [128, 255]], np.uint8)
    (line,) = viz.terminal_preview(image, 2, truecolor=False).split("\n")
    assert [tuple(map(int, m)) for m in CELL_GRAY.findall(line)] == [(232, 244), (255, 255)]
    assert "38;2;" not in line


@pytest.mark.parametrize(("colorterm", "truecolor"), [("truecolor", True), ("24bit", True),
                                                      ("", False), ("256", False)])  # fmt: skip
def test_colorterm_decides(colorterm: str, truecolor: bool) -> None:
    assert viz.truecolor_terminal({"COLORTERM": colorterm}) is truecolor


def test_width_and_default_size() -> None:
    image = np.zeros((28, 28), np.uint8)
    assert viz.terminal_preview(image, 10).count("\n") == 4  # 10 x 10 px -> 5 lines
    lines = viz.terminal_preview(image).split("\n")  # 28 px: 56 columns (when the terminal fits)
    assert len(CELL_RGB.findall(lines[0])) == min(56, len(CELL_RGB.findall(lines[0])))
    with pytest.raises(Exception, match=r"width: expected an int >= 1"):
        viz.terminal_preview(image, 0)


def test_cli_show_term_prints_the_seed_label_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLORTERM", "truecolor")
    argv = ["show", "fashion-mnist", "--sample", "--index", "100", "--term", "--width", "28"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "train label [100] = 8 (Bag)\n" in out
    assert len(CELL_RGB.findall(out)) == 28 * 14
    monkeypatch.setenv("COLORTERM", "")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert len(CELL_GRAY.findall(out)) == 28 * 14 and not CELL_RGB.findall(out)
