"""The folder fingerprint check (imagesets.listing.take) on a 100,000-file tree, against its
floors: a bare ``os.lstat`` loop over the same files, and ``find -printf`` (C, one process).

Stand-alone: ``python bench/bench_fingerprint.py [N_FILES]``. Builds N empty ``.jpg`` files in
1,000 class folders of a temp dir, then times each warm (the tree in the page cache), best of 5.
The check is timed as a load runs it: one walk with the recorded ``racy_since`` (no file is
racy: steady state) and the comparison with the recorded fingerprint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from imagesets.listing import take


def build(root: Path, n: int, classes: int = 1000) -> list[str]:
    paths = []
    for c in range(classes):
        folder = root / f"class{c:04d}"
        folder.mkdir()
        for i in range(n // classes):
            path = folder / f"img{i:05d}.jpg"
            path.touch()
            paths.append(str(path))
    return paths


def best(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = build(root, n)
        since = time.time_ns() + 10**9  # nothing racy: the steady state of a prepared folder
        recorded = take(root, racy_since=since).record()

        def check() -> bool:
            return take(root, racy_since=since).matches(recorded)

        def lstat_loop() -> None:
            for p in paths:
                os.lstat(p)

        def find() -> None:
            subprocess.run(
                ["find", tmp, "-type", "f", "-printf", "%P %s %T@\n"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        assert check()
        rows = [
            ("fingerprint check (listing.take + compare)", best(check)),
            ("floor: bare os.lstat loop over the files", best(lstat_loop)),
            ("floor: find -printf path size mtime", best(find)),
        ]
        print(f"{len(paths):,} files in 1,000 folders, warm, best of 5")
        for label, t in rows:
            print(f"  {label:<46} {t * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
