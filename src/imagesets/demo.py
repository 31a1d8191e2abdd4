"""The offline demo (``make demo``, ``python -m imagesets.demo [OUT_DIR]``).

Walks the course's first steps on the bundled samples, with no network: load MNIST keras-style,
print the shapes and sample 100 with its label, list the Fashion-MNIST class names, and write
pictures (sample 100 scaled up, and a sprite of each dataset) as PNGs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import load, load_data, viz

__all__ = ["main"]


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the demo, writing PNGs into ``argv[0]`` (default ``out/``)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "out")
    out.mkdir(parents=True, exist_ok=True)
    (train_images, train_labels), (test_images, test_labels) = load_data("mnist", sample=True)
    _say("MNIST sample (the first 1,000 train and test images of the official files)")
    for name, arr in (
        ("train_images", train_images),
        ("train_labels", train_labels),
        ("test_images", test_images),
        ("test_labels", test_labels),
    ):
        _say(f"{name} shape : {arr.shape} {arr.dtype}")
    index = 100
    _say(f"train label [{index}] = {train_labels[index]}")
    _say(viz.ascii_preview(train_images[index]))
    viz.scaled(train_images[index], 8).save(out / "mnist-train-100.png")
    fashion = load("fashion-mnist", sample=True)
    _say("\nFashion-MNIST classes:")
    for number, name in enumerate(fashion.info.classes):
        _say(f"  {number}  {name}")
    train = fashion["train"]
    image, label = train[index]
    _say(f"train label [{index}] = {label} ({train.class_name(label)})")
    viz.scaled(image, 8).save(out / "fashion-mnist-train-100.png")
    for ds, split in (("mnist", None), ("fashion-mnist", train)):
        split = split or load(ds, sample=True)["train"]
        viz.grid(split.pixels(), split.labels, split.classes, per_class=10).save(
            out / f"{ds}-grid.png"
        )
    _say(f"\nwrote {', '.join(sorted(p.name for p in out.glob('*.png')))} in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
