"""Cut the bundled samples from the official files: the first N train and test examples.

Run from the project root: ``python tools/make_samples.py [--real ../shared/real-data]``.
Writes IDX .gz files (deterministic: gzip mtime 0) into src/imagesets/data/samples/<dataset>/
and prints the catalog file entries (size, sha256) to paste into ``_builtin.py``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from pathlib import Path

FILES = {
    "train-images-idx3-ubyte.gz": 16,
    "train-labels-idx1-ubyte.gz": 8,
    "t10k-images-idx3-ubyte.gz": 16,
    "t10k-labels-idx1-ubyte.gz": 8,
}


def cut(src: Path, dst: Path, header: int, n: int) -> None:
    raw = gzip.decompress(src.read_bytes())
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(raw[3])]
    item = 1
    for d in dims[1:]:
        item *= d
    body = raw[header : header + n * item]
    new = raw[:4] + n.to_bytes(4, "big") + raw[8:header] + body
    with dst.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--real", type=Path, default=Path("../shared/real-data"))
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    for ds, folder in (("mnist", "mnist"), ("fashion-mnist", "fashion-mnist")):
        out = Path("src/imagesets/data/samples") / ds
        out.mkdir(parents=True, exist_ok=True)
        for name, header in FILES.items():
            cut(args.real / folder / name, out / name, header, args.n)
            data = (out / name).read_bytes()
            print(ds, name, len(data), hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()
