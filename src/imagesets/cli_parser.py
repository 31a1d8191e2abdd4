"""The argparse side of the ``imagesets`` command: the arguments each command takes (the
``_setup_*`` functions and their shared pieces), the examples under ``--help`` (``EPILOG``), the
help formatter, and the small helpers every command uses to read its parsed arguments
(``_options``, ``_progress``) and to print (``_out``). ``imagesets.cli`` wires these to the
handlers (``COMMANDS``) and builds the parser.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .errors import ImagesetsError


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet


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


def _options(args: argparse.Namespace) -> dict[str, bool | int | str] | None:
    """``--option KEY=VALUE`` pairs; true/false become bools and digits ints. None when none
    is given, as the API's default: a folder dataset's form is then the one it was prepared
    as (``prepare-folder --size``), for every command alike."""
    items = getattr(args, "option", None)
    if not items:
        return None
    out: dict[str, bool | int | str] = {}
    for item in items:
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
