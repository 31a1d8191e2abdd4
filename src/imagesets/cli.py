"""The ``imagesets`` command: ``main(argv) -> int``, errors as one clear line and exit code 1.

Every command is a small function taking the parsed arguments; the table ``COMMANDS`` wires
each to its argparse sub-parser. ``-v`` shows the traceback of an error; ``--json`` prints
machine-readable output where it makes sense.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import __version__, api
from .errors import ArgumentError, ImagesetsError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image

    from .catalog import DatasetSpec
    from .dataset import Split

    Array = np.ndarray[Any, Any]

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet


# --------------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    specs = api.list_datasets(root=args.root)
    for problem in api.catalog_problems(root=args.root):
        sys.stderr.write(f"imagesets: skipped a catalog file: {problem}\n")
    if args.json:
        _out(json.dumps([{"name": s.name, "title": s.title} for s in specs], indent=1))
        return 0
    width = max(len(s.name) for s in specs)
    for s in specs:
        shape = "x".join(map(str, s.image_shape)) or "various"
        _out(f"{s.name:<{width}}  {shape:<8}  {len(s.classes):>4} classes  {_counts(s)}")
    return 0


def _counts(spec: DatasetSpec) -> str:
    """``train 18 (3 skipped), test 5``: images kept per split, and for a folder dataset the
    files its prepared form skipped (undecodable), shown apart."""
    local = next((e for e in spec.editions if e.local is not None), None)
    parts = []
    for sp in spec.splits:
        skipped = local.counts.get(sp.name, sp.count) - sp.count if local else 0
        parts.append(f"{sp.name} {sp.count:,}" + (f" ({skipped:,} skipped)" if skipped else ""))
    return ", ".join(parts)


def _shape(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) if shape else "variable (packed, decoded on access)"


def cmd_info(args: argparse.Namespace) -> int:
    if args.skipped:
        return _print_skipped(args)
    info = api.info(args.name, root=args.root)
    files = api.files(args.name, root=args.root)
    spec = next(s for s in api.list_datasets(root=args.root) if s.name == info.name)
    if args.json:
        data = info.as_dict()
        data["files"] = [dataclasses.asdict(f) for f in files]
        _out(json.dumps(data, indent=1))
        return 0
    _out(f"{info.name}: {info.title}")
    for label, value in (("homepage", info.homepage), ("license", info.license)):
        if value:
            _out(f"  {label}: {value}")
    _out("  splits: " + _counts(spec))
    _out(f"  image shape: {_shape(info.image_shape)}, {len(info.classes)} classes")
    _out("  classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(info.classes)))
    for key, names in info.label_names.items():
        _out(f"  {key}: " + ", ".join(names))
    for f in files:
        _out(f"  file {f.describe()}")
    if info.citation:
        _out(f"  cite: {info.citation}")
    return 0


def _print_skipped(args: argparse.Namespace) -> int:
    """Skipped files of every prepared variant of the dataset (nothing is prepared)."""
    for variant, split, row in api.skipped(args.name, root=args.root):
        _out(f"{variant}/{split}\t{row.get('path')}\t{row.get('reason')}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    paths = api.download(args.name, args.split, root=args.root, progress=_progress(args))
    for name, path in paths.items():
        _out(f"{name}\t{path}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    done = api.prepare(
        args.name,
        args.split,
        sample=args.sample,
        options=_options(args),
        force=args.force,
        root=args.root,
        progress=_progress(args),
        engine=args.engine,
        address=args.address,
    )
    for split, path in done.items():
        _out(f"{split}\t{path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    result = api.import_files(
        args.name, args.paths, root=args.root, progress=_progress(args), link=args.link
    )
    for name in result.imported:
        _out(f"imported {name}")
    for name in result.already:
        _out(f"already in the cache: {name}")
    for path in result.unmatched:
        _out(f"not a file of {args.name}: {path}")
    for note in result.notes:
        _out(f"note: {note}")
    if args.prepare:
        for split, path in api.prepare(args.name, root=args.root, progress=_progress(args)).items():
            _out(f"{split}\t{path}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    rows = api.verify(args.name, root=args.root, progress=_progress(args))
    for row in rows:
        _out(f"{row.status:<8} {row.name}" + (f"  ({row.detail})" if row.detail else ""))
    bad = [r for r in rows if r.status == "corrupt"]
    if bad:
        raise ImagesetsError(
            f"{len(bad)} cached file(s) of {args.name} are corrupt; delete them "
            f"({', '.join(str(r.path) for r in bad)}) and run `imagesets download {args.name}`"
        )
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    for kind, path in api.paths(args.name, root=args.root).items():
        _out(f"{kind}\t{path}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    for path in api.clean(args.name, downloads=args.downloads, root=args.root):
        _out(f"removed {path}")
    return 0


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
        options=_options(args) or None,
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


def cmd_prepare_folder(args: argparse.Namespace) -> int:
    from .folders import from_folder

    ds = from_folder(
        args.path,
        name=args.name,
        size=args.size,
        max_side=args.max_side,
        label_depth=args.label_depth,
        root=args.root,
        persist=True,
        progress=_progress(args),
        force=args.force,
        split_fractions=_fractions(args.split_fractions),
        seed=args.seed,
    )
    total = sum(len(s) for s in ds.splits.values())
    skipped = sum(len(s.skipped) for s in ds.splits.values())
    shape = _shape(ds.info.image_shape)
    _out(f"dataset {ds.info.name}: {args.path} ({shape})")
    for name, split in ds.splits.items():
        _out(f"{name}\t{len(split)} images\t{len(split.classes)} classes")
    _out(
        f"{total} images, {skipped} skipped"
        + (f": see imagesets info {ds.info.name} --skipped" if skipped else "")
    )
    return 0


def _fractions(text: str | None) -> dict[str, float] | None:
    """``train=0.8,validation=0.1`` as ``{"train": 0.8, "validation": 0.1}``."""
    if text is None:
        return None
    out: dict[str, float] = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ArgumentError(
                f"--split-fractions {text!r}: expected NAME=FRACTION pairs separated by commas, "
                "e.g. train=0.8,validation=0.1,test=0.1"
            ) from None
    return out


def cmd_export(args: argparse.Namespace) -> int:
    written = api.export(
        args.name,
        args.out,
        format=args.format,
        splits=args.split,
        shard_size=args.shard_size,
        sample=args.sample,
        options=_options(args),
        root=args.root,
        progress=_progress(args),
        engine=args.engine,
        address=args.address,
    )
    for split, paths in written.items():
        for path in paths:
            _out(f"{split}\t{path}")
    return 0


def cmd_hash(args: argparse.Namespace) -> int:
    for p in args.files:
        entry = api.file_entry(p, progress=_progress(args))
        _out(
            f"[[files]]\nname = {json.dumps(entry['name'])}\nsize = {entry['size']}\n"
            f'sha256 = "{entry["sha256"]}"\nmd5 = "{entry["md5"]}"\nurls = []\n'
        )
    return 0


# --------------------------------------------------------------------------- parser


def _name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="dataset name (see `imagesets list`)")


def _split_opts(p: argparse.ArgumentParser, many: bool) -> None:
    if many:
        p.add_argument("--split", action="append", help="a split (repeatable; default: all)")
    else:
        p.add_argument("--split", help="the split (default: train, else the dataset's first split)")


def _sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sample", action="store_true", help="the small bundled sample (offline)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a reader option (repeatable), e.g. raw_labels=true, size=64",
    )


def _options(args: argparse.Namespace) -> dict[str, bool | int | str]:
    """``--option KEY=VALUE`` pairs; true/false become bools and digits ints."""
    out: dict[str, bool | int | str] = {}
    for item in getattr(args, "option", []):
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ImagesetsError(f"--option {item!r}: expected KEY=VALUE, e.g. size=64")
        low = raw.lower()
        out[key] = low == "true" if low in ("true", "false") else int(raw) if raw.isdigit() else raw
    return out


def _setup_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _setup_info(p: argparse.ArgumentParser) -> None:
    _name(p)
    _sample(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--skipped", action="store_true", help="list files skipped at prepare")


def _setup_download(p: argparse.ArgumentParser) -> None:
    _name(p)
    _split_opts(p, True)


def _setup_prepare(p: argparse.ArgumentParser) -> None:
    _setup_download(p)
    _sample(p)
    p.add_argument("--force", action="store_true", help="rebuild even if fresh")
    _engine(p)


def _setup_import(p: argparse.ArgumentParser) -> None:
    _name(p)
    p.add_argument("paths", nargs="+", help="files or folders holding the original files")
    p.add_argument("--link", action="store_true", help="hard-link instead of copying")
    p.add_argument("--prepare", action="store_true", help="then prepare the dataset")


def _setup_clean(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="dataset (default: every dataset)")
    p.add_argument("--downloads", action="store_true", help="also remove the original files")


def _setup_show(p: argparse.ArgumentParser) -> None:
    _name(p)
    _split_opts(p, False)
    _sample(p)
    p.add_argument("--index", type=int, help="the example (default: 100, or 0 if fewer)")
    p.add_argument("--out", help="write the image, scaled up, to this file (.png, .jpg, ...)")
    p.add_argument("--scale", type=int, help="enlargement for --out (default: to ~224 pixels)")
    p.add_argument(
        "--term",
        action="store_true",
        help="draw the image in the terminal with colour half-blocks (grays unless "
        "COLORTERM=truecolor)",
    )
    p.add_argument("--width", type=int, help="columns of --term (default: fit the terminal)")


def _decode_size(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--size",
        type=int,
        help="decode a packed split's images resized and centre-cropped to SIZExSIZE",
    )


def _setup_grid(p: argparse.ArgumentParser) -> None:
    _name(p)
    _split_opts(p, False)
    _sample(p)
    p.add_argument("--per-class", type=int, default=10, help="images per row")
    p.add_argument("--by", default="class", choices=("class", "superclass"), help="one row per")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--scale", type=int, default=2, help="enlargement of each image")
    _decode_size(p)


def _setup_stats(p: argparse.ArgumentParser) -> None:
    _name(p)
    _split_opts(p, False)
    _sample(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _decode_size(p)


def _setup_audit(p: argparse.ArgumentParser) -> None:
    from ._audit_defaults import PIXEL_THRESHOLD, SIDE, THRESHOLD

    _name(p)
    _split_opts(p, True)
    _sample(p)
    p.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help="fingerprint cosine similarity of a candidate pair, in (0, 1]",
    )
    p.add_argument(
        "--pixel-threshold",
        type=float,
        default=PIXEL_THRESHOLD,
        help="pixel correlation (best 1-pixel shift) of a near pair, in (0, 1]",
    )
    p.add_argument("--side", type=int, default=SIDE, help="fingerprint side in pixels, 2..64")
    p.add_argument("--json", action="store_true", help="counts and the pairs as JSON")
    p.add_argument("--limit", type=int, default=1000, help="most pairs listed")
    p.add_argument("--out", help="write the top pairs side by side to this PNG")
    p.add_argument("--top", type=int, default=16, help="pairs drawn in --out")
    _decode_size(p)


def _setup_browse(p: argparse.ArgumentParser) -> None:
    _name(p)
    _split_opts(p, False)
    _sample(p)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--no-open", action="store_true", help="print the address, open no browser")


def _setup_prepare_folder(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a folder of class folders (optionally under train/, test/)")
    p.add_argument(
        "--name", help="dataset name (default: the folder's name; NAME-folder for a built-in's)"
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument("--size", type=int, help="fixed-size arrays SIZExSIZE (resize + crop)")
    form.add_argument("--max-side", type=int, help="packed JPEGs re-encoded to this max side")
    p.add_argument(
        "--label-depth",
        type=int,
        help="cut label paths to this many levels; 0: the whole folder is one class",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if the folder is unchanged")
    p.add_argument(
        "--split-fractions",
        metavar="NAME=F,...",
        help="divide a tree without split folders, e.g. train=0.8,validation=0.1,test=0.1 "
        "(seeded, stratified, remembered)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --split-fractions (default: 0)")


def _engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="run here, or as Ray tasks"
    )
    p.add_argument("--address", help="the Ray cluster (HOST:PORT or auto; default: a local Ray)")


def _setup_export(p: argparse.ArgumentParser) -> None:
    _setup_download(p)
    _sample(p)
    p.add_argument(
        "--format",
        required=True,
        choices=("webdataset", "parquet", "folder"),
        help="tar shards (.png/.jpg + .cls), Hugging Face Parquet, or class folders",
    )
    p.add_argument("--shard-size", type=int, default=10_000, help="examples per shard file")
    _engine(p)
    p.add_argument("out", help="the folder to write the shards (or class folders) in")


def _setup_hash(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="files to hash")


#: command -> (help, parser setup, handler)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "list": ("list the datasets", _setup_list, cmd_list),
    "info": ("facts about a dataset", _setup_info, cmd_info),
    "download": ("fetch and verify the original files", _setup_download, cmd_download),
    "prepare": ("download and prepare the arrays", _setup_prepare, cmd_prepare),
    "import": ("verify local files and put them in the cache", _setup_import, cmd_import),
    "verify": ("re-hash the cached originals and prepared arrays", _name, cmd_verify),
    "path": ("where a dataset lives in the cache", _name, cmd_path),
    "clean": ("remove prepared arrays (and originals)", _setup_clean, cmd_clean),
    "show": ("print one example's label and draw it", _setup_show, cmd_show),
    "grid": ("a sprite of K images per class", _setup_grid, cmd_grid),
    "stats": ("per-channel mean/std and class counts", _setup_stats, cmd_stats),
    "audit": ("exact and near-duplicate images across splits", _setup_audit, cmd_audit),
    "browse": ("a local gallery of a split in the browser", _setup_browse, cmd_browse),
    "prepare-folder": (
        "make a dataset of a class-folder tree",
        _setup_prepare_folder,
        cmd_prepare_folder,
    ),
    "hash": ("print catalog file entries for files", _setup_hash, cmd_hash),
    "export": ("write webdataset shards, parquet or class folders", _setup_export, cmd_export),
}


EPILOG = """examples:
  imagesets show mnist --index 100 --term     draw train image 100 in the terminal
  imagesets grid cifar10 --out grid.png       10 images of each class in one PNG
  imagesets audit fashion-mnist --json        duplicate images within and across splits

-v (tracebacks and logs) and -q (no progress bars) go before or after the command.
Progress bars show on a terminal or in a notebook; IMAGESETS_PROGRESS=0/1 forces them."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help lines end with ``(default: X)`` when an option has a default worth showing
    (not None, False, an empty list, or already in the text); examples keep their layout;
    help starts in column 24 at least, so that every command name fits on its help line."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_help_position", 24)
        super().__init__(prog, **kwargs)
        self._action_max_length = 22  # argparse widens it to fit options, never narrows

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, [], argparse.SUPPRESS) and "default" not in text
        if shown and (action.option_strings or action.nargs in ("?", "*")):
            text += " (default: %(default)s)"
        return text


def _verbosity(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="tracebacks and logs"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every command: one help line each, examples below."""
    parser = argparse.ArgumentParser(
        prog="imagesets",
        description="The classic image datasets as numpy arrays: fetch, prepare, look, audit.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imagesets {__version__}")
    _verbosity(parser, False)
    common = argparse.ArgumentParser(add_help=False)
    _verbosity(common, argparse.SUPPRESS)  # after the command: set only when given
    common.add_argument("--root", help="cache root (default: $IMAGESETS_HOME or user cache)")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, setup, handler) in COMMANDS.items():
        sub = subs.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            parents=[common],
            formatter_class=_HelpFormatter,
        )
        setup(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 success, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # names from undecodable folder names print, escaped
        reconfigure(errors="backslashreplace")
    if args.verbose:  # logging only when asked: importing it costs a light command ~10 ms
        import logging

        logging.basicConfig(level=logging.INFO, format="imagesets: %(message)s")
    try:
        return int(args.handler(args))
    except (ImagesetsError, OSError) as exc:
        if args.verbose:
            traceback.print_exc()
        sys.stderr.write(f"imagesets: error: {_message(exc)}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("imagesets: interrupted\n")
        return 130


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ImagesetsError) else f"{type(exc).__name__}: {text}"
