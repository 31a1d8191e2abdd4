"""Every example of README.md and of the hand-written pages of the docs site (docs/*.md) runs:
their ```python blocks and the `imagesets ...` lines of their ```sh blocks, offline, against a
temporary cache and a loopback mirror of the real MNIST and Fashion-MNIST files
(``../shared/real-data``); ```toml blocks (catalog entries) are parsed by the catalog's parser.
Each file runs in a fresh home and cache, with the inputs the examples name (``photos/``,
``~/Downloads/mnist/``); datasets a block registers are forgotten after it.

An example that cannot run offline is marked in the README by an HTML comment right before its
block: ``<!-- not run: REASON -->`` skips the whole block; ``<!-- not run: `imagesets grid
cifar100`: REASON -->`` skips the lines of the next ```sh block that start with the quoted
command. Every marker must match something (no stale markers) and give its reason; a marked
block gets no test item, and the markers test prints how many blocks and lines are marked.
A block in another language holds no code (``text``: a layout or an output) and says so.

Conventions for the sh lines, as a reader types them: ``# comment`` is dropped, ``;`` separates
commands, ``[--flag]`` optional parts are left out, ``~`` is the (temporary) home folder, and
leading ``NAME=value`` words set environment variables for that command.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imagesets import catalog, cli
from imagesets.testing.images import make_fake_tree
from imagesets.testing.server import LoopbackServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: README.md and the hand-written pages of the site (the generated ones live only in memory).
FILES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: Block languages that hold no code to run: layouts and outputs.
NOT_CODE = ("text",)
ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
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


def extract(text: str, source: str = "README.md") -> list[Block]:
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
                f"{source}:{i + 1}: a 'not run' marker must come right before a block"
            )
        i += 1
    return blocks


def split_env(command: str) -> tuple[dict[str, str], str]:
    """``A=1 B=2 imagesets x`` -> ``({"A": "1", "B": "2"}, "imagesets x")``."""
    env: dict[str, str] = {}
    words = command.split(" ")
    while words and ENV_WORD.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, " ".join(words)


def commands(block: Block) -> list[tuple[str, str | None]]:
    """Each ``imagesets ...`` command of an sh block (with any leading ``NAME=value`` words),
    with its skip reason (or None)."""
    out: list[tuple[str, str | None]] = []
    for raw in block.code.splitlines():
        line = raw.split(" #", 1)[0].strip()
        for command in (c.strip() for c in line.split(";")):
            plain = split_env(command)[1]
            if not plain.startswith("imagesets "):
                continue
            reason = block.skip_reason or next(
                (r for p, r in block.line_marks.items() if plain.startswith(p)), None
            )
            out.append((command, reason))
    return out


def argv(command: str, home: Path) -> list[str]:
    """The argv of ``imagesets ...`` with optional ``[...]`` parts dropped and ``~`` expanded."""
    without_optional = re.sub(r"\s*\[[^\]]*\]", "", command)
    words = shlex.split(without_optional)[1:]
    return [str(home) + w[1:] if w.startswith("~/") else w for w in words]


BLOCKS: dict[str, list[Block]] = {
    f.name: extract(f.read_text(encoding="utf-8"), f.name) for f in FILES
}
# Blocks marked <!-- not run: REASON --> get no test item (test_markers_are_used_and_explained
# checks their reasons): the run reports what ran, not skips.
PYTHON = [
    (name, b)
    for name, blocks in BLOCKS.items()
    for b in blocks
    if b.lang == "python" and not b.skip_reason
]
SH = {name: [b for b in blocks if b.lang == "sh"] for name, blocks in BLOCKS.items()}
SH_FILES = [name for name, blocks in SH.items() if any(commands(b) for b in blocks)]
TOML = [
    (name, b)
    for name, blocks in BLOCKS.items()
    for b in blocks
    if b.lang == "toml" and not b.skip_reason
]


def _ids(items: list[tuple[str, Block]]) -> list[str]:
    return [f"{name}:line{b.line}" for name, b in items]


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
    """Every line marker matches a command of its block; every block marker has a reason; every
    block is one the tests run, or is marked, or holds no code (``text``)."""
    for name, blocks in BLOCKS.items():
        for block in blocks:
            cmds = [split_env(c)[1] for c, _ in commands(block)]
            for prefix, reason in block.line_marks.items():
                assert reason, f"{name}:{block.line}: marker for {prefix!r} gives no reason"
                assert any(c.startswith(prefix) for c in cmds), (
                    f"{name}:{block.line}: marker `{prefix}` matches no command of the block"
                )
            runnable = block.lang in ("python", "toml") or (block.lang == "sh" and cmds)
            assert runnable or block.skip_reason or block.lang in NOT_CODE, (
                f"{name}:{block.line}: a ```{block.lang} block the tests cannot run: make it "
                "python, sh (imagesets lines) or toml, or mark it <!-- not run: REASON -->"
            )
            if block.skip_reason is not None:
                assert len(block.skip_reason.strip()) > 10, f"{name}:{block.line}: say why"
    marked = [f"{n}:{b.line}" for n, bs in BLOCKS.items() for b in bs if b.skip_reason]
    print(f"blocks marked not run: {len(marked)} ({', '.join(marked)})")
    readme = BLOCKS["README.md"]
    assert sum(b.lang == "python" for b in readme) >= 3 and sum(b.lang == "sh" for b in readme) >= 3
    assert len(FILES) > 1 and SH_FILES  # the site's hand-written pages are covered too


def test_split_env() -> None:
    assert split_env("A_B=1 C= imagesets x --y=2") == ({"A_B": "1", "C": ""}, "imagesets x --y=2")
    assert split_env("imagesets x A=1") == ({}, "imagesets x A=1")


@pytest.mark.slow
@pytest.mark.parametrize(("source", "block"), PYTHON, ids=_ids(PYTHON))
def test_python_block_runs(
    source: str, block: Block, mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _photos()
    monkeypatch.setattr(catalog, "_USER", {})  # what the block registers is forgotten after it
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(block.code, f"{source}:{block.line}", "exec"), namespace)
    if "train_images" in namespace:  # the opening example: the values its comments give
        assert namespace["train_images"].shape == (60000, 28, 28)
        assert namespace["train_labels"][100] == 5
        assert namespace["image"].shape == (28, 28) and namespace["label"] == 8
        assert namespace["ds"]["train"].classes[namespace["label"]] == "Bag"


@pytest.mark.parametrize(("source", "block"), TOML, ids=_ids(TOML))
def test_toml_block_is_a_catalog_entry(source: str, block: Block) -> None:
    """A TOML example is a valid catalog entry: the parser user entries go through accepts it."""
    spec = catalog.spec_from_dict(tomllib.loads(block.code), f"{source}:{block.line}")
    assert spec.splits and spec.editions


def _photos() -> None:
    """The class-folder tree the folder examples name: ``photos/`` in the working folder."""
    make_fake_tree(
        Path("photos"),
        {"cat": 3, "dog": ["jpeg", "alpha_png", "truncated_jpeg"], "bird/parrot": 2},
        h=24,
        w=32,
    )


def _prepare_inputs(home: Path, real_data: Path) -> None:
    """What the CLI examples assume exists: ~/Downloads/mnist/ and a photos/ folder."""
    downloads = home / "Downloads" / "mnist"
    downloads.mkdir(parents=True)
    for f in (real_data / "mnist").iterdir():
        shutil.copyfile(f, downloads / f.name)
    _photos()


@pytest.mark.slow
@pytest.mark.parametrize("source", SH_FILES)
def test_sh_lines_run(
    source: str,
    mirror: Path,
    real_data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every `imagesets ...` line of the file's sh blocks, in order, exits 0 (or is marked)."""
    _prepare_inputs(mirror, real_data)
    ran, skipped = [], []
    for block in SH[source]:
        for command, reason in commands(block):
            if reason:
                skipped.append(command)
                continue
            env, plain = split_env(command)
            with monkeypatch.context() as m:
                for key, value in env.items():
                    m.setenv(key, value)
                code = cli.main(argv(plain, mirror))
            out = capsys.readouterr()
            assert code == 0, f"{source}:{block.line}: `{command}` exited {code}: {out.err}"
            if command.startswith("imagesets show fashion-mnist --index 100"):
                assert "train label [100] = 8 (Bag)" in out.out
            ran.append(command)
    assert ran, "no sh example ran"
    print(f"{source} sh lines: {len(ran)} run, {len(skipped)} marked not run")
