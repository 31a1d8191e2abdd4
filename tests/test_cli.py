"""The command line, run in-process through ``imagesets.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imagesets.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and "mnist" in out and "fashion-mnist" in out
    code, out, _ = run(capsys, "info", "fashion_mnist")
    assert code == 0 and "8 Bag" in out and "MIT" in out
    code, out, _ = run(capsys, "info", "mnist", "--json")
    data = json.loads(out)
    assert data["splits"] == {"train": 60000, "test": 10000}
    assert data["files"][0]["sha256"].startswith("440fcabf")


def test_show_prints_label_with_class_name_and_writes_png(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    png = tmp_path / "bag.png"
    code, out, _ = run(capsys, "show", "fashion-mnist", "--sample", "--out", str(png), "-q")
    assert code == 0
    assert "train_images shape : (1000, 28, 28)" in out
    assert "train label [100] = 8 (Bag)" in out
    with Image.open(png) as img:
        assert img.size == (224, 224)
    code, out, _ = run(capsys, "show", "mnist", "--sample", "--split", "test", "--index", "100")
    assert "test label [100] = 6" in out and "@" in out  # the terminal preview


def test_grid_writes_sprite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "grid.png"
    code, out, _ = run(capsys, "grid", "mnist", "--sample", "--per-class", "4", "--out", str(png))
    assert code == 0 and "10 rows x 4" in out
    with Image.open(png) as img:
        assert img.height == 10 * (56 + 2) + 2


def test_errors_are_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "info", "mnsit")
    assert code == 1 and out == ""
    assert err.startswith("imagesets: error: unknown dataset 'mnsit'; did you mean 'mnist'")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "show", "mnist", "--sample", "--index", "5000")
    assert code == 1 and "out of range" in err


def test_verbose_adds_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "info", "mnsit", "-v")
    assert code == 1 and "Traceback" in err and "did you mean" in err


def test_download_prepare_path_verify_clean(
    capsys: pytest.CaptureFixture[str], fake_mnist: dict[str, Any], cache: Path
) -> None:
    code, out, _ = run(capsys, "download", "fake-mnist", "-q")
    assert code == 0 and "train-images-idx3-ubyte.gz" in out
    code, out, _ = run(capsys, "prepare", "fake-mnist", "-q")
    assert code == 0 and str(cache / "prepared" / "fake-mnist" / "default" / "train") in out
    code, out, _ = run(capsys, "path", "fake-mnist")
    assert str(cache / "downloads" / "fake-mnist") in out
    code, out, _ = run(capsys, "verify", "fake-mnist", "-q")
    assert code == 0 and out.count("ok") == 6  # 4 originals, 2 prepared splits
    target = cache / "downloads" / "fake-mnist" / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(b"\0" * target.stat().st_size)
    code, out, err = run(capsys, "verify", "fake-mnist", "-q")
    assert code == 1 and "corrupt" in out and "corrupt" in err
    code, out, _ = run(capsys, "clean", "fake-mnist", "--downloads")
    assert code == 0 and not (cache / "prepared" / "fake-mnist" / "default").exists()
    assert not target.exists()


def test_import_command(capsys: pytest.CaptureFixture[str], real_data: Path) -> None:
    code, out, _ = run(capsys, "import", "mnist", str(real_data / "mnist"), "-q")
    assert code == 0 and out.count("imported") == 4
    code, out, _ = run(
        capsys, "import", "mnist", str(real_data / "mnist" / "t10k-labels-idx1-ubyte.gz"), "-q"
    )
    assert "already in the cache" in out


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "imagesets", "list"], capture_output=True, text=True, check=True
    )
    assert "fashion-mnist" in out.stdout


def test_demo_runs_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagesets import demo

    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    assert demo.main([str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "train label [100] = 5" in out and "Ankle boot" in out
    assert len(list((tmp_path / "out").glob("*.png"))) == 4
