"""Every example of README.md runs: its ```python blocks and the `imagesets ...` lines of its
```sh blocks, offline, against a temporary cache and a loopback mirror of the real MNIST and
Fashion-MNIST files (``../shared/real-data``).

An example that cannot run offline is marked in the README by an HTML comment right before its
block: ``<!-- not run: REASON -->`` skips the whole block; ``<!-- not run: `imagesets grid
cifar100`: REASON -->`` skips the lines of the next ```sh block that start with the quoted
command. Every marker must match something (no stale markers), and every skip is counted.

Conventions for the sh lines, as a reader types them: ``# comment`` is dropped, ``;`` separates
commands, ``[--flag]`` optional parts are left out, ``~`` is the (temporary) home folder.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imagesets import cli
from imagesets.testing.images import make_fake_tree
from imagesets.testing.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!--\s*not run:\s*(?:`([^`]+)`:?\s*)?(.+?)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
MIRRORED = ("mnist", "fashion-mnist")


@dataclass
class Block:
    """One fenced block: its language, first code line (1-based), code, and the markers."""

    lang: str
    line: int
    code: str
    skip_reason: str | None = None  # the whole block is not run
    line_marks: dict[str, str] = field(default_factory=dict)  # command prefix -> reason


def extract(text: str) -> list[Block]:
    """The fenced blocks of ``text`` with the ``not run`` markers right before each."""
    blocks: list[Block] = []
    lines = text.splitlines()
    pending: list[tuple[str | None, str]] = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        fence = FENCE.match(lines[i])
        if m:
            pending.append((m.group(1), m.group(2)))
        elif fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            block = Block(fence.group(1), i + 2, "\n".join(lines[i + 1 : end]))
            for prefix, reason in pending:
                if prefix is None:
                    block.skip_reason = reason
                else:
                    block.line_marks[prefix] = reason
            blocks.append(block)
            pending = []
            i = end
        elif lines[i].strip():
            assert not pending, (
                f"README.md:{i + 1}: a 'not run' marker must come right before a block"
            )
        i += 1
    return blocks


def commands(block: Block) -> list[tuple[str, str | None]]:
    """Each ``imagesets ...`` command of an sh block, with its skip reason (or None)."""
    out: list[tuple[str, str | None]] = []
    for raw in block.code.splitlines():
        line = raw.split(" #", 1)[0].strip()
        for command in (c.strip() for c in line.split(";")):
            if not command.startswith("imagesets "):
                continue
            reason = block.skip_reason or next(
                (r for p, r in block.line_marks.items() if command.startswith(p)), None
            )
            out.append((command, reason))
    return out


def argv(command: str, home: Path) -> list[str]:
    """The argv of ``imagesets ...`` with optional ``[...]`` parts dropped and ``~`` expanded."""
    without_optional = re.sub(r"\s*\[[^\]]*\]", "", command)
    words = shlex.split(without_optional)[1:]
    return [str(home) + w[1:] if w.startswith("~/") else w for w in words]


BLOCKS = extract(README.read_text(encoding="utf-8"))
PYTHON = [b for b in BLOCKS if b.lang == "python"]
SH = [b for b in BLOCKS if b.lang == "sh"]


@pytest.fixture
def mirror(real_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """IMAGESETS_MIRROR at a loopback server with the real MNIST and Fashion-MNIST files;
    the working directory and HOME in ``tmp_path``."""
    with LoopbackServer() as srv:
        for name in MIRRORED:
            for f in sorted((real_data / name).iterdir()):
                srv.add(f"/{name}/{f.name}", f.read_bytes())
        monkeypatch.setenv("IMAGESETS_MIRROR", srv.url("/").rstrip("/"))
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        yield tmp_path / "home"


def test_markers_are_used_and_explained() -> None:
    """Every line marker matches a command of its block; every block marker has a reason."""
    for block in BLOCKS:
        cmds = [c for c, _ in commands(block)]
        for prefix, reason in block.line_marks.items():
            assert reason, f"README.md:{block.line}: marker for {prefix!r} gives no reason"
            assert any(c.startswith(prefix) for c in cmds), (
                f"README.md:{block.line}: marker `{prefix}` matches no command of the block"
            )
    assert len(PYTHON) >= 3 and len(SH) >= 3  # the extractor found the README's examples


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs(block: Block, mirror: Path) -> None:
    if block.skip_reason:
        pytest.skip(f"README.md:{block.line}: not run: {block.skip_reason}")
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(block.code, f"README.md:{block.line}", "exec"), namespace)
    if "train_images" in namespace:  # the opening example: the values its comments give
        assert namespace["train_images"].shape == (60000, 28, 28)
        assert namespace["train_labels"][100] == 5
        assert namespace["image"].shape == (28, 28) and namespace["label"] == 8
        assert namespace["ds"]["train"].classes[namespace["label"]] == "Bag"


def _prepare_inputs(home: Path, real_data: Path) -> None:
    """What the CLI examples assume exists: ~/Downloads/mnist/ and a photos/ folder."""
    downloads = home / "Downloads" / "mnist"
    downloads.mkdir(parents=True)
    for f in (real_data / "mnist").iterdir():
        shutil.copyfile(f, downloads / f.name)
    make_fake_tree(
        Path("photos"),
        {"cat": 3, "dog": ["jpeg", "alpha_png", "truncated_jpeg"], "bird/parrot": 2},
        h=24,
        w=32,
    )


@pytest.mark.slow
def test_sh_lines_run(mirror: Path, real_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every `imagesets ...` line of the sh blocks, in README order, exits 0 (or is marked)."""
    _prepare_inputs(mirror, real_data)
    ran, skipped = [], []
    for block in SH:
        for command, reason in commands(block):
            if reason:
                skipped.append(command)
                continue
            code = cli.main(argv(command, mirror))
            out = capsys.readouterr()
            assert code == 0, f"README.md:{block.line}: `{command}` exited {code}: {out.err}"
            if command.startswith("imagesets show fashion-mnist --index 100"):
                assert "train label [100] = 8 (Bag)" in out.out
            ran.append(command)
    assert ran, "no sh example ran"
    print(f"README sh lines: {len(ran)} run, {len(skipped)} marked not run")
