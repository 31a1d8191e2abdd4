"""docs/walkthrough.ipynb runs offline without error, says what the deck says, and is committed
without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.ipynb"


def test_walkthrough_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: strip them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def _text(nb: object) -> str:
    out = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and o.name == "stdout":
                out.append(o.text)
            assert o.output_type != "error", f"{o.ename}: {o.evalue}"
    return "".join(out)


@pytest.mark.slow
def test_walkthrough_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed in a kernel (its own process: the conftest network guard does not reach it, so
    IMAGESETS_OFFLINE=1 makes any download attempt an error)."""
    monkeypatch.setenv("IMAGESETS_OFFLINE", "1")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    monkeypatch.delenv("IMAGESETS_WALKTHROUGH_FULL", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = _text(nb)
    assert "train_images shape :  (1000, 28, 28)" in text
    assert "train label [100] = 5" in text
    assert "train label [100] = 8 (Bag)" in text
    assert "| 8     | Bag         |" in text
    assert "normalize=True     : min 0.0 max 1.0 float32" in text
    assert "| aquatic_mammals | beaver, dolphin, otter, seal, whale |" in text
    assert "1 animals/domestic/dog 3" in text
    assert "| undecodable |" in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 6  # the two sample images and the grids
