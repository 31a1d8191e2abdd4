"""Seeded mutation fuzzing of every reader (issue 9): only ImagesetsError may escape.

Cases run in a worker process (``python -m imagesets.testing.fuzz``) with its address space
capped at its baseline plus 1.5 GB and a 5 s alarm per case; a worker that dies or stops
answering is restarted and its case counted as a failure with its seed. Reproduce one case
with ``imagesets.testing.fuzz.run_case(target, seed)``. ``IMAGESETS_FUZZ_CASES`` sets the cases
per target (default 250: about 3,000 in all, well under a minute).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesets.errors import FormatError
from imagesets.formats import ReadRequest, ReadResult, _guarded
from imagesets.testing import MemoryWriter
from imagesets.testing.fuzz import TARGETS, mutate

CASES = int(os.environ.get("IMAGESETS_FUZZ_CASES", "250"))
MEMORY = 3 << 29  # 1.5 GB above the worker's baseline
ALARM = 5
ANSWER_WITHIN = 20.0  # seconds before the parent gives up on a worker (the alarm failed)
SRC = str(Path(__file__).resolve().parents[1] / "src")


class _Worker:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        args = [sys.executable, "-m", "imagesets.testing.fuzz", "--memory", str(MEMORY),
                "--alarm", str(ALARM)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True)  # fmt: skip

    def ask(self, target: str, seed: int) -> dict[str, Any] | None:
        """The worker's answer for one case, or None if it died or hung."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{target} {seed}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_WITHIN)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()


def _fuzz(targets: list[str], cases: int) -> tuple[Counter[str], list[dict[str, Any]], int]:
    outcomes: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    peak = 0
    worker = _Worker()
    try:
        for target in targets:
            for seed in range(cases):
                answer = worker.ask(target, seed)
                if answer is None:
                    worker.close()
                    worker = _Worker()
                    answer = {"target": target, "seed": seed, "outcome": "died", "rss": 0}
                outcomes[answer["outcome"]] += 1
                peak = max(peak, answer["rss"])
                if answer["outcome"] not in ("ok", "refused"):
                    failures.append(answer)
    finally:
        worker.close()
    return outcomes, failures, peak


@pytest.mark.parametrize("targets", [
    ["idx-images", "idx-labels", "pickle", "cifar-python", "cifar-binary"],
    ["mat", "mat-raw", "hdf5"],
    ["tar", "zip", "jpeg", "png", "packed"],
    ["emnist", "emnist-member"],
    ["stl10", "imagenette"],
    ["oxford-pet", "oxford-pet-images", "eurosat"],
    ["tiny-imagenet", "tiny-imagenet-text"],
    ["food101", "flowers102", "flowers102-labels", "flowers102-setid"],
])  # fmt: skip
def test_mutated_files_raise_only_our_errors(targets: list[str]) -> None:
    outcomes, failures, peak = _fuzz(targets, CASES)
    print(f"fuzz {targets}: {sum(outcomes.values())} cases {dict(outcomes)}, peak RSS {peak}")
    assert sum(outcomes.values()) == CASES * len(targets)
    assert not failures, failures[:10]
    assert peak < MEMORY


def test_every_reader_is_fuzzed() -> None:
    assert set(TARGETS) >= {"idx-images", "cifar-python", "cifar-binary", "pickle", "mat",
                            "hdf5", "tar", "zip", "jpeg", "png", "packed", "emnist",
                            "emnist-member", "stl10", "imagenette", "oxford-pet",
                            "oxford-pet-images", "eurosat", "tiny-imagenet",
                            "tiny-imagenet-text", "food101", "flowers102", "flowers102-labels",
                            "flowers102-setid"}  # fmt: skip


def test_mutations_are_seeded_and_change_the_bytes() -> None:
    data = bytes(range(256)) * 4
    first = mutate(data, np.random.default_rng(7))
    assert first == mutate(data, np.random.default_rng(7))
    assert sum(mutate(data, np.random.default_rng(s)) != data for s in range(50)) >= 45


def test_reader_boundary_turns_raw_errors_into_format_errors() -> None:
    def broken(request: ReadRequest, out: Any) -> ReadResult:
        raise KeyError("x")

    with pytest.raises(FormatError, match=r"/data/f\.bin: could not be read as 'd' split 's'"):
        _guarded(broken)(ReadRequest("d", "s", {"file": Path("/data/f.bin")}), MemoryWriter())


def test_worker_death_is_counted_with_its_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies (here: killed before answering) is restarted; the case is a failure."""
    calls = {"n": 0}
    real_ask = _Worker.ask

    def ask(self: _Worker, target: str, seed: int) -> dict[str, Any] | None:
        calls["n"] += 1
        if calls["n"] == 2:
            self.proc.kill()
            self.proc.wait()
        return real_ask(self, target, seed)

    monkeypatch.setattr(_Worker, "ask", ask)
    outcomes, failures, _ = _fuzz(["tar"], 3)
    assert outcomes["died"] == 1 and failures[0]["seed"] == 1
    assert outcomes["ok"] + outcomes["refused"] == 2
