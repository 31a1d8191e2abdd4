"""Fresh-process startup: imagesets against a bare ``import numpy``, paired in one run.

Each figure is a whole ``python -c ...`` process (what a user's script or the CLI pays),
measured in interleaved rounds so the machine's noise hits both sides alike; the medians and
minimums are printed with the difference to the baseline.

Goals (issue 10): a warm ``load_data('mnist')`` within 30 ms of ``import numpy``;
``imagesets list``, ``info`` and ``path`` under 100 ms and importing neither numpy nor requests.

    python bench/bench_startup.py [--rounds 21] [--root CACHE]

``--root`` must hold a prepared MNIST (``imagesets import mnist DIR --prepare``); by default
the bundled sample is prepared into a temporary folder and ``load_data('mnist', sample=True)``
is timed (the same code path, 1,000 images a split).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CLI = "import sys; from imagesets.cli import main; sys.exit(main({argv!r}))"
CASES = {
    "import numpy (baseline)": "import numpy",
    "import imagesets": "import imagesets",
    "load_data warm": "import imagesets; imagesets.load_data('mnist'{sample})",
    "load warm": "import imagesets; imagesets.load('mnist'{sample})['train'][100]",
    "imagesets list": CLI.format(argv=["list"]),
    "imagesets info": CLI.format(argv=["info", "mnist"]),
    "imagesets path": CLI.format(argv=["path", "mnist"]),
}
#: The same warm call timed inside the process, after ``import numpy``: what imagesets adds on
#: top of numpy, free of the process start's noise.
AFTER_NUMPY = (
    "import time, numpy\nt = time.perf_counter()\nimport imagesets\n"
    "imagesets.load_data('mnist'{sample})\nprint(time.perf_counter() - t)"
)

HEAVY = ("numpy", "requests", "urllib3", "PIL", "tarfile", "zipfile", "tqdm", "filelock")
PROBE = (
    "import sys, io, contextlib\n{code}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
)


def run_once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def imported(code: str, env: dict[str, str]) -> str:
    body = code.replace("sys.exit(", "(")
    probe = PROBE.format(
        code=f"with contextlib.redirect_stdout(io.StringIO()):\n    {body}", heavy=HEAVY
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True)
    return out.stdout.decode().strip().splitlines()[-1] if out.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--root", help="a cache root with MNIST prepared (default: sample)")
    args = parser.parse_args()
    env = dict(os.environ)
    # Bytecode caches as a user's install has them (the package's .pyc files are written on the
    # first run; with PYTHONDONTWRITEBYTECODE every run would compile our sources again).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sample = "" if args.root else ", sample=True"
    with tempfile.TemporaryDirectory() as tmp:
        env["IMAGESETS_HOME"] = args.root or tmp
        if not args.root:
            subprocess.run(
                [sys.executable, "-c", "import imagesets; imagesets.load('mnist', sample=True)"],
                env=env,
                check=True,
            )
        codes = {k: v.format(sample=sample) for k, v in CASES.items()}
        for code in codes.values():  # warm the page cache and the .pyc files
            run_once(code, env)
        times: dict[str, list[float]] = {k: [] for k in codes}
        for _ in range(args.rounds):
            for name, code in codes.items():
                times[name].append(run_once(code, env))
        inside = [
            float(
                subprocess.run(
                    [sys.executable, "-c", AFTER_NUMPY.format(sample=sample)],
                    env=env,
                    check=True,
                    capture_output=True,
                ).stdout
            )
            for _ in range(args.rounds)
        ]
        base = statistics.median(times["import numpy (baseline)"])
        print(f"{'case':<26} {'median':>9} {'min':>9} {'vs numpy':>10}  heavy modules imported")
        for name, xs in times.items():
            med = statistics.median(xs)
            heavy = imported(codes[name], env) if name.startswith("imagesets ") else ""
            print(
                f"{name:<26} {med * 1e3:8.1f}ms {min(xs) * 1e3:8.1f}ms "
                f"{(med - base) * 1e3:+9.1f}ms  {heavy}"
            )
        print(
            f"load_data warm, timed in-process after import numpy: median "
            f"{statistics.median(inside) * 1e3:.1f} ms, min {min(inside) * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
