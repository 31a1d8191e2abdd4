"""What a fresh process imports: the warm path of ``load_data`` and the light CLI commands
(issue 10). Timings live in bench/bench_startup.py; here only which modules get imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import imagesets

NEVER_ON_THE_WARM_PATH = (
    "requests",
    "urllib3",
    "ssl",
    "PIL",
    "tarfile",
    "zipfile",
    "gzip",
    "tqdm",
    "filelock",
    "logging",
    "imagesets.fetch",
    "imagesets.fetch_limits",
    "imagesets.fetch_streams",
    "imagesets.formats",
    "imagesets.store_write",
)

PROBE = """
import json, sys, io, contextlib
with contextlib.redirect_stdout(io.StringIO()):
{body}
print(json.dumps(sorted(sys.modules)))
"""


def _modules(body: str, cache: Path) -> set[str]:
    env = {**os.environ, "IMAGESETS_HOME": str(cache)}
    code = PROBE.format(body="\n".join("    " + line for line in body.splitlines()))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _hits(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_warm_load_data_imports_no_reader_and_no_network(cache: Path) -> None:
    imagesets.load("mnist", sample=True, progress=False)  # prepare, in this process
    for call in (
        "imagesets.load_data('mnist', sample=True)",
        "imagesets.load('mnist', sample=True)",
    ):
        modules = _modules(f"import imagesets\n{call}", cache)
        assert "numpy" in modules
        assert _hits(modules, NEVER_ON_THE_WARM_PATH) == [], call


@pytest.mark.parametrize("argv", [["list"], ["info", "mnist"], ["path", "mnist"]])
def test_light_commands_import_neither_numpy_nor_requests(cache: Path, argv: list[str]) -> None:
    modules = _modules(f"from imagesets.cli import main\nmain({argv!r})", cache)
    assert "imagesets.cli" in modules
    assert _hits(modules, ("numpy", "requests", "PIL", *NEVER_ON_THE_WARM_PATH)) == []


def test_resolving_a_name_imports_no_reader() -> None:
    modules = _modules("from imagesets import catalog\ncatalog.get('mnist')", Path("/nonexistent"))
    assert _hits(modules, ("numpy", "PIL", "tarfile", "lzma", "imagesets.formats")) == []
