"""The ``imagesets`` command: ``main(argv) -> int``, errors as one clear line and exit code 1.

Every command is a small function taking the parsed arguments; the table ``COMMANDS`` wires
each to its argparse sub-parser. ``-v`` shows the traceback of an error; ``--json`` prints
machine-readable output where it makes sense. This module holds the cache and dataset commands
(list, info, download, prepare, import, verify, path, clean, prepare-folder, export, hash),
``COMMANDS``, ``build_parser`` and ``main``; the arguments of each command and the help
formatter live in ``imagesets.cli_parser``, the picture commands (show, grid, stats, audit,
browse) in ``imagesets.cli_look``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import __version__, api
from .cli_look import cmd_audit, cmd_browse, cmd_grid, cmd_show, cmd_stats
from .cli_parser import (
    EPILOG,
    _HelpFormatter,
    _name,
    _options,
    _out,
    _progress,
    _setup_audit,
    _setup_browse,
    _setup_clean,
    _setup_download,
    _setup_export,
    _setup_grid,
    _setup_hash,
    _setup_import,
    _setup_info,
    _setup_list,
    _setup_prepare,
    _setup_prepare_folder,
    _setup_show,
    _setup_stats,
    _verbosity,
)
from .errors import ArgumentError, ImagesetsError

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import DatasetSpec

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


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


# --------------------------------------------------------------------------- wiring


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
