"""Seeded mutation fuzzing of what the layers above the readers parse: catalog entry files (TOML)
and prepared-split manifests (JSON). Only the project's own errors may escape (CatalogError for
entries, CacheError for manifests); the readers' fuzz suite is tests/test_fuzz.py.

Parsing here allocates nothing in proportion to a claimed size (the manifest parser bounds
shapes before any file is mapped), so the cases run in-process; ``IMAGESETS_FUZZ_CASES``
scales them (default 600 each).
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from imagesets import catalog, store
from imagesets.errors import CacheError, CatalogError

CASES = int(os.environ.get("IMAGESETS_FUZZ_CASES", "600"))
SEEDS = range(CASES)

ODD_VALUES: list[Any] = [
    None, True, -1, 0, 2**63, 2**70, 1.5, float("nan"), "", "x" * 300, "../x", "/etc", "a\0b",
    [], [1, "a"], [[1]], {}, {"a": {}}, "|O", "<u1", [["f", "<i8"]], "\udcff",
]  # fmt: skip


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        pos = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[pos] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 2 and buf:
            del buf[pos : pos + rng.randint(1, 16)]
        else:
            buf = buf[: rng.randrange(len(buf) + 1)]
    return bytes(buf)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*prefix, i))
    return found


def _mutate_tree(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(out)[1:])
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return out


# --------------------------------------------------------------------------- catalog entries


@pytest.fixture(scope="module")
def entry_text(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from imagesets._toml import dumps

    entry = catalog.builtin_entry("cifar10")
    entry["name"] = "fuzz-cifar"
    entry.pop("aliases", None)
    return dumps(entry).encode()


def test_fuzzed_entry_files_give_only_catalog_errors(entry_text: bytes, tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    unexpected: list[str] = []
    refused = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        path = folder / "fuzz.toml"
        path.write_bytes(_mutate_bytes(entry_text, rng))
        try:
            catalog._load_entry_file(path)
        except CatalogError:
            refused += 1
        except Exception as exc:
            unexpected.append(f"seed {seed}: {type(exc).__name__}: {exc}")
    assert unexpected == []
    assert refused > CASES // 4  # the mutations do reach the parser's checks


def test_fuzzed_entry_values_give_only_catalog_errors() -> None:
    base = catalog.builtin_entry("cifar100")
    base["name"] = "fuzz-values"
    unexpected = []
    for seed in SEEDS:
        data = _mutate_tree(base, random.Random(seed))
        try:
            catalog.spec_from_dict(data, "fuzz")
        except CatalogError:
            pass
        except Exception as exc:
            unexpected.append(f"seed {seed}: {type(exc).__name__}: {exc}")
    assert unexpected == []


# --------------------------------------------------------------------------- manifests


@pytest.fixture
def prepared(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    import numpy as np

    target = tmp_path / "split"
    with store.SplitBuilder(target) as b:
        b.writer.array("images", (5, 4, 4, 3), np.uint8)[:] = 7
        b.writer.array("labels", (5,), np.int64)[:] = [0, 1, 2, 3, 4]
        b.writer.blob("data").write(b"packed bytes")
        manifest = b.commit({"dataset": "fuzz", "split": "train", "classes": ["a", "b"]})
    return target, json.loads(json.dumps(dict(manifest.raw)))


def test_fuzzed_manifests_give_only_cache_errors(prepared: tuple[Path, dict[str, Any]]) -> None:
    target, good = prepared
    text = json.dumps(good).encode()
    unexpected = []
    for seed in SEEDS:
        rng = random.Random(seed)
        if seed % 2:
            (target / "manifest.json").write_bytes(_mutate_bytes(text, rng))
        else:
            (target / "manifest.json").write_text(json.dumps(_mutate_tree(good, rng)))
        try:
            manifest = store.read_manifest(target)
            assert manifest is not None
            store.open_split(target, manifest)
            store.verify_split(target, manifest)
        except CacheError:
            pass
        except Exception as exc:
            unexpected.append(f"seed {seed}: {type(exc).__name__}: {exc}")
    assert unexpected == []
