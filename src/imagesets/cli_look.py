"""The ``imagesets`` commands that look at the pictures of one dataset: ``show`` (one example),
``grid`` (a sprite per class), ``stats`` (per-channel mean/std, class counts), ``audit``
(duplicate images across splits) and ``browse`` (a local gallery), with ``_load_split``, the
split they share. Heavy modules (viz, Pillow, audit, gallery) are imported inside each command.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from . import api
from .cli_parser import _options, _out, _progress
from .errors import ImagesetsError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image

    from .dataset import Split

    Array = np.ndarray[Any, Any]


def _load_split(args: argparse.Namespace) -> Split:
    """The split ``--split`` of ``NAME`` (prepared first if needed), with --sample/--option.

    Without ``--split``: ``train``, or the dataset's first split when it has no ``train`` (a
    folder without split folders has only ``all``); without ``--option``: the default form
    (a folder dataset's is the one ``prepare-folder`` built). Sets ``args.split``.
    """
    base = list(api.info(args.name, root=args.root).splits)
    one = args.split is not None and args.split.split("[")[0] in base
    ds = api.load(
        args.name,
        [args.split] if one else None,  # else every split, parts of a recorded split rule too
        root=args.root,
        sample=args.sample,
        options=_options(args),
        progress=_progress(args),
    )
    if args.split is None:
        names = list(ds.splits)
        args.split = "train" if "train" in names or not names else names[0]
    return ds[args.split]


def cmd_show(args: argparse.Namespace) -> int:
    """One example: its label (or digits) and its picture at its own size, scaled up."""
    from . import viz

    split = _load_split(args)
    for key, arr in split.arrays.items():
        _out(f"{args.split}_{key} shape : {tuple(arr.shape)}")
    if args.index is None:  # example 100 (the README's), or the first of a small split
        args.index = 100 if len(split) > 100 else 0
    if not 0 <= args.index < len(split):
        raise ImagesetsError(
            f"--index {args.index} is out of range: {args.split} has "
            f"{len(split)} examples (0..{len(split) - 1})"
        )
    image, target = split[args.index]
    scale = args.scale if args.scale is not None else max(1, 224 // max(image.shape[:2]))
    if split.kind == "boxed":
        digits = " ".join(str(int(d)) for d in target["label"])
        _out(f"{args.split} digits [{args.index}] = {digits} ({len(target)} boxes)")
        picture = _boxes_picture(image, target, scale)
    else:
        named = split.class_name(target)
        suffix = f" ({named})" if named != str(int(target)) else ""
        _out(f"{args.split} label [{args.index}] = {int(target)}{suffix}")
        picture = viz.scaled(image, scale)
    if args.out:
        viz.save_picture(picture, args.out)
        _out(f"wrote {args.out}")
    elif args.term:
        _out(_term_picture(split, args.index, args.width))
    elif not args.quiet:
        _out(viz.ascii_preview(image))
    return 0


def _term_picture(split: Split, index: int, width: int | None) -> str:
    """Example ``index`` drawn with half-blocks (boxes drawn), truecolour when ``COLORTERM``
    says so, else grays."""
    import numpy as np

    from . import viz
    from .notebook import picture_of

    picture = np.asarray(picture_of(split, index))
    return viz.terminal_preview(picture, width, truecolor=viz.truecolor_terminal())


def _boxes_picture(image: Array, digits: Array, scale: int) -> Image.Image:
    from .viz_boxes import draw_boxes

    return draw_boxes(image, digits, scale=scale)


def cmd_grid(args: argparse.Namespace) -> int:
    """A sprite of --per-class images per class; a packed split is decoded to --size."""
    from . import viz

    split = _load_split(args)
    if split.kind != "arrays":
        split.pixels(args.size)  # a packed split without --size: the one error saying so
    picture = split.grid(args.per_class, args.by, scale=args.scale, size=args.size)
    viz.save_picture(picture, args.out)
    labels, names = viz.grid_rows(split, args.by)
    largest = max(viz.pick_per_class(labels, len(names), args.per_class), key=len, default=[])
    _out(f"wrote {args.out} ({len(names)} rows x {len(largest)})")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Per-channel mean and std and class counts; a packed split is decoded to --size."""
    split = _load_split(args)
    result = split.stats(size=args.size)
    if args.json:
        _out(json.dumps(result.as_dict(), indent=1))
        return 0
    _out(f"{args.name} {args.split}: {result.channels.count:,} images, pixels scaled to [0, 1]")
    _out("  mean " + ", ".join(f"{m:.4f}" for m in result.mean))
    _out("  std  " + ", ".join(f"{s:.4f}" for s in result.std) + "  (over all pixels)")
    for label, n in enumerate(result.class_counts.tolist()):
        _out(f"  {label:>4} {split.class_name(label):<24} {n:>8,}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Exact and near-duplicate images within and across the splits (imagesets.audit)."""
    from . import viz
    from .audit import audit

    ds = api.load(
        args.name,
        args.split,
        root=args.root,
        sample=args.sample,
        options=_options(args),
        progress=_progress(args),
    )
    report = audit(
        ds.splits,
        threshold=args.threshold,
        pixel_threshold=args.pixel_threshold,
        side=args.side,
        size=args.size,
        progress=_progress(args),
    )
    if args.out and len(report):
        viz.save_picture(report.picture(args.top), args.out)
    if args.json:
        _out(json.dumps({**report.as_dict(args.limit), "limit": args.limit}, indent=1))
        return 0
    sizes = ", ".join(f"{k} {v:,}" for k, v in report.splits.items())
    _out(f"{args.name} ({sizes}): {report.candidates:,} candidate pairs checked on pixels")
    for (a, b), c in report.counts.items():
        share = f" ({100 * c['images'] / max(report.splits[b], 1):.2f} % of {b})"
        _out(f"  {a}/{b}: {c['exact']:,} exact, {c['near']:,} near; {c['images']:,} images{share}")
    for row in report.table(min(args.limit, 10)):
        _out(f"  {row['a']} {row['i']} ~ {row['b']} {row['j']}  {row['kind']}"
             f"  fingerprint {row['similarity']:.4f}  pixels {row['pixels']:.4f}")  # fmt: skip
    if args.out:
        _out(f"wrote {args.out}" if len(report) else f"no pairs: {args.out} not written")
    return 0


def cmd_browse(args: argparse.Namespace) -> int:
    """A local gallery of one split on 127.0.0.1, opened in the browser; Ctrl-C stops it."""
    from .gallery import Gallery

    split = _load_split(args)
    gallery = Gallery(args.name, split, port=args.port)
    _out(f"imagesets gallery of {args.name} {args.split}: {gallery.url}  (Ctrl-C stops it)")
    sys.stdout.flush()
    if not args.no_open:
        import webbrowser

        webbrowser.open(gallery.url)
    try:
        gallery.serve_forever()
    except KeyboardInterrupt:
        _out("stopped")
    finally:
        gallery.close()
    return 0
