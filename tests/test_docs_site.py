"""The documentation site's generated pages (docs/gen_pages.py, a mkdocs hook) cover what they
generate from: every catalog entry has a page with its files and checksums, every error class
is in the error reference with what to do, every CLI command is in the CLI reference; and the
whole site builds with ``mkdocs build --strict`` (mkdocs is in the ``docs`` extra, which
``make test`` installs, so in CI this is never skipped).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import imagesets
from imagesets import errors
from imagesets.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "src" / "imagesets" / "data" / "catalog"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_pages", ROOT / "docs" / "gen_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    out: dict[str, str] = gen.pages()
    return out


def test_every_catalog_entry_has_a_page(pages: dict[str, str]) -> None:
    """One page per JSON entry, listed in the index, with the entry's facts and every file's
    size, sha256 (or md5 where that is all there is) and URLs."""
    names = sorted(f.stem for f in CATALOG.glob("*.json"))
    assert names and sorted(s.name for s in gen.catalog_specs()) == names
    index = pages["datasets/index.md"]
    for name in names:
        page = pages[f"datasets/{name}.md"]
        entry = json.loads((CATALOG / f"{name}.json").read_text(encoding="utf-8"))
        assert f"[`{name}`]({name}.md)" in index
        for field in ("title", "provenance", "citation"):
            assert entry[field] in page, (name, field)
        for split, facts in entry["splits"].items():
            assert f"| `{split}` | {facts['count']:,} |" in page, (name, split)
        assert f"{len(entry['classes']):,} classes" in page
        for edition in entry["editions"]:
            for f in edition["files"]:
                assert f"`{f['name']}`" in page
                assert f.get("sha256", f.get("md5")) in page, (name, f["name"])
                assert all(f"<{url}>" in page for url in f.get("urls", [])), (name, f["name"])
                if "size" in f:
                    assert f"{f['size']:,} bytes" in page


def test_quirks_name_catalog_datasets_and_the_known_ones_are_there(pages: dict[str, str]) -> None:
    """A quirk text keyed by a name that is not in the catalog is an error (a renamed entry
    would silently lose its quirks); the issue's four quirks are on their pages."""
    names = {f.stem for f in CATALOG.glob("*.json")}
    assert set(gen.QUIRKS) <= names, set(gen.QUIRKS) - names
    assert "**10**" in pages["datasets/svhn.md"]
    assert "**transposed**" in pages["datasets/emnist-byclass.md"]
    assert "split.skipped" in pages["datasets/cats-vs-dogs.md"]
    assert "Manual download:" in pages["datasets/imagenet.md"]
    assert "imagesets import imagenet DIR" in pages["datasets/imagenet.md"]


def test_many_classes_are_collapsed(pages: dict[str, str]) -> None:
    assert '??? info "1,000 classes (click to expand)"' in pages["datasets/imagenet.md"]
    assert "??? info" not in pages["datasets/mnist.md"]


def test_every_error_class_is_in_the_error_reference(pages: dict[str, str]) -> None:
    """Every class of errors.__all__ and the subclasses defined elsewhere (found by the
    generator's walk) has a section with its docstring, which says what to do."""
    page = pages["errors.md"]
    classes = gen.error_classes()
    assert set(errors.__all__) <= {c.__name__ for c in classes}
    assert {"UndecodableImageError", "ClusterError"} <= {c.__name__ for c in classes}
    for cls in classes:
        assert f"## {cls.__name__}\n" in page
        doc = inspect.cleandoc(cls.__doc__ or "")
        assert "What to do:" in doc, f"{cls.__module__}.{cls.__name__}: no 'What to do:'"
        assert doc.replace("What to do:", "**What to do:**") in page


def test_every_cli_command_is_in_the_cli_reference(pages: dict[str, str]) -> None:
    page = pages["cli.md"]
    assert COMMANDS
    for name in COMMANDS:
        assert f"### {name}\n" in page
        assert f"usage: imagesets {name} " in page
    assert "`--per-class PER_CLASS` | images per row (default: 10) |" in page


def test_generated_pages_are_not_in_git() -> None:
    """The generated pages exist only in the build: a copy in docs/ would shadow and drift."""
    docs = ROOT / "docs"
    assert not (docs / "datasets").exists()
    assert not (docs / "cli.md").exists() and not (docs / "errors.md").exists()


def _mkdocs_build(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``project`` (not ``--quiet``: that drops the warnings
    before strict mode counts them, and a broken link passes)."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs missing: CI must install the docs extra (make test does)")
        pytest.skip("the docs extra is not installed (make test installs it)")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs is not None
    src = str(Path(imagesets.__file__).parents[1])
    return subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=project,
        env={
            "PATH": str(Path(sys.executable).parent),
            "PYTHONPATH": src,
            "HOME": str(tmp_path),
            "NO_MKDOCS_2_WARNING": "1",
            "IMAGESETS_HOME": str(tmp_path / "cache"),
        },
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """The whole site builds with --strict (broken links, missing references fail it)."""
    result = _mkdocs_build(ROOT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    assert (site / "datasets" / "svhn" / "index.html").is_file()
    assert "ManualDownloadError" in (site / "errors" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_mkdocs_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    """The strict build is strict: the same project with one broken link fails."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copyfile(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    with (project / "docs" / "walkthrough.md").open("a", encoding="utf-8") as f:
        f.write("\nSee [the missing page](missing.md).\n")
    result = _mkdocs_build(project, tmp_path)
    assert result.returncode != 0
    assert "missing.md" in result.stdout + result.stderr
