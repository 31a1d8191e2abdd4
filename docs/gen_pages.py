"""Pages of the documentation site generated from the code, so they cannot drift from it.

``mkdocs.yml`` loads this file as a mkdocs hook (``hooks:``): ``on_config`` lists the dataset
pages in the navigation, ``on_files`` adds the generated pages to the build (in memory; nothing
is written into ``docs/``). The generators are plain functions that return Markdown, so
``tests/test_docs_site.py`` runs them without mkdocs:

- :func:`dataset_page` / :func:`datasets_index`: one page per built-in catalog entry (the JSON
  files in ``src/imagesets/data/catalog/``) and a table of them all;
- :func:`cli_reference`: every command of the argparse parser (``imagesets.cli.build_parser``);
- :func:`error_reference`: every subclass of ``ImagesetsError``, with its docstring.

Hooks were chosen over the mkdocs-gen-files plugin: the hook is one file with no further
dependency, and it can also put the generated pages into the navigation (gen-files would need
mkdocs-literate-nav for that, and its current release pulls in a fork of mkdocs).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagesets
from imagesets import errors
from imagesets._registry import READER_OPTIONS
from imagesets.catalog import DatasetSpec, Edition, spec_from_dict

PACKAGE = Path(imagesets.__file__).parent
CATALOG = PACKAGE / "data" / "catalog"

#: Practical notes per dataset, beyond what its catalog entry says (``description``,
#: ``manual``). Keyed by canonical name; tests/test_docs_site.py fails on a name that is not in
#: the catalog.
QUIRKS: dict[str, str] = {
    "svhn": (
        "The `.mat` files label the digit 0 as **10**. imagesets serves 0-9 (label 0 is the "
        'digit 0), as keras-style code expects; `options={"raw_labels": True}` '
        "(`--option raw_labels=true`) keeps the files' 1-10, in a cache variant of its own."
    ),
    "svhn-full": (
        "Like `svhn`, the digit 0 is labelled 10 in `digitStruct.mat` and served as 0 "
        "(`raw_labels=True` keeps 10). `digitStruct.mat` is HDF5: `pip install "
        "'imagesets[svhn]'` for h5py. Each example is an image and its digit boxes."
    ),
    "cats-vs-dogs": (
        "The zip holds files that are not JPEGs (no JFIF header) or do not decode at all "
        "(empty, truncated). They are never dropped silently: each is recorded with its reason "
        'in `split.skipped` and counted in `split.manifest["audit"]` (`imagesets info '
        "cats-vs-dogs --skipped`). There is no official test split: a seeded, class-stratified "
        "80/20 split is made and its members recorded in the manifest."
    ),
    "imagenet": (
        "The archives need a login, so nothing is downloaded: fetch the three files into one "
        "folder, then `imagesets import imagenet DIR` verifies and caches them (any other "
        "command says the same, as a `ManualDownloadError`). Label = index of the sorted "
        "WordNet id (0 = n01440764, tench), as torchvision, TFDS and timm use."
    ),
    "stl10": (
        "The binary files store each image column-major; imagesets serves them upright. The "
        "`unlabeled` split (100,000 images) is fetched only on request and has no labels."
    ),
    "flowers102": (
        "`imagelabels.mat` is 1-based; labels are served 0-based (label 0 = pink primrose)."
    ),
    "qmnist": (
        "The first 10,000 test images are MNIST's test set; the per-example columns "
        "(`writer_id`, `nist_hsf`, ...) come as extra int32 arrays of the split."
    ),
}

for _emnist in ("byclass", "bymerge", "balanced", "digits", "mnist"):
    QUIRKS[f"emnist-{_emnist}"] = (
        "NIST stores every EMNIST image **transposed** (row and column swapped); imagesets "
        "serves them upright, so they look like MNIST's digits. All five EMNIST entries share "
        "one download (`gzip.zip`, 562 MB), fetched once."
    )


# --------------------------------------------------------------------------- helpers


def _cell(text: object) -> str:
    """Text for a Markdown table cell: pipes escaped, newlines folded."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: object) -> str:
    """An inline code span (pipes escaped, for tables)."""
    return f"`{_cell(text)}`"


def _size(n: int | None) -> str:
    if n is None:
        return "unpublished"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            human = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return f"{n:,} bytes ({human})"
        value /= 1024
    raise AssertionError("unreachable")


def _shape(shape: tuple[int, ...]) -> str:
    return "variable size (packed store, or arrays with `size=`)" if not shape else str(shape)


def _indent(text: str) -> str:
    return "\n".join(("    " + line) if line else "" for line in text.splitlines())


# --------------------------------------------------------------------------- datasets


def catalog_specs() -> list[DatasetSpec]:
    """The built-in catalog entries (not the user's), sorted by name."""
    files = sorted(CATALOG.glob("*.json"))
    return [spec_from_dict(json.loads(f.read_bytes()), f"builtin {f.name}") for f in files]


def _classes_section(spec: DatasetSpec) -> list[str]:
    rows = ["| label | name |", "|---:|---|"]
    rows += [f"| {i} | {_code(name)} |" for i, name in enumerate(spec.classes)]
    title = f"{len(spec.classes):,} classes"
    out = ["## Classes", ""]
    if len(spec.classes) > 20:
        out += [f'??? info "{title} (click to expand)"', "", _indent("\n".join(rows)), ""]
    else:
        out += [f"{title}:", "", *rows, ""]
    for kind, names in spec.label_names.items():
        out += [
            f'??? info "{kind}: {len(names)} names"',
            "",
            _indent(", ".join(_code(n) for n in names)),
            "",
        ]
    return out


def _edition_section(spec: DatasetSpec, edition: Edition, index: int) -> list[str]:
    user = READER_OPTIONS.get(edition.format, ())
    out = [
        f"### Edition `{edition.name}`" + (" (default)" if index == 0 else ""),
        "",
        f"- format: `{edition.format}`",
        "- options you may pass (`options={...}`, `--option KEY=VALUE`): "
        + (", ".join(f"`{o}`" for o in user) if user else "none"),
    ]
    if edition.options:
        fixed = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in edition.options.items())
        out.append(f"- set by the entry: {fixed}")
    out += ["", "| file | size | sha256 | md5 |", "|---|---|---|---|"]
    for f in edition.files:
        out.append(
            f"| `{f.name}` | {_size(f.size)} | {_code(f.sha256) if f.sha256 else 'none'} "
            f"| {_code(f.md5) if f.md5 else '-'} |"
        )
    out += ["", "Mirrors, tried in this order after `IMAGESETS_MIRROR`:", ""]
    for f in edition.files:
        urls = ", ".join(f"<{u}>" for u in f.urls) if f.urls else "none (manual download)"
        out.append(f"- `{f.name}`: {urls}")
    out += ["", "Files per split:", ""]
    for split, roles in edition.splits.items():
        parts = ", ".join(f"{role} = `{name}`" for role, name in roles.items())
        out.append(f"- `{split}`: {parts}")
    return [*out, ""]


def dataset_page(spec: DatasetSpec) -> str:
    """The Markdown page of one catalog entry."""
    out = [f"# {spec.title} (`{spec.name}`)", "", spec.description, ""]
    if spec.aliases:
        out += ["Also accepted as " + ", ".join(f"`{a}`" for a in spec.aliases) + ".", ""]
    out += [
        "```python",
        "import imagesets",
        "",
        f'ds = imagesets.load("{spec.name}")',
        "```",
        "",
        "## Facts",
        "",
        "| | |",
        "|---|---|",
        f"| image shape | {_shape(spec.image_shape)} |",
        f"| classes | {len(spec.classes):,} |",
        f"| keras labels | `{spec.keras_labels}` ("
        + ("`(N,)`" if spec.keras_labels == "flat" else "`(N, 1)`")
        + " from `load_data`) |",
        f"| license | {_cell(spec.license) or 'unspecified'} |",
        f"| homepage | <{spec.homepage}> |" if spec.homepage else "| homepage | none |",
        "",
        "## Splits",
        "",
        "| split | examples | fetched |",
        "|---|---:|---|",
    ]
    for s in spec.splits:
        out.append(f"| `{s.name}` | {s.count:,} | {'on request' if s.optional else 'always'} |")
    out.append("")
    if spec.sample is not None:
        counts = ", ".join(f"{k} {v:,}" for k, v in spec.sample.counts.items())
        out += [f"A sample ships in the package (`sample=True`, `--sample`): {counts}.", ""]
    out += _classes_section(spec)
    quirks = [f"Manual download: {spec.manual}."] if spec.manual else []
    quirks += [QUIRKS[spec.name]] if spec.name in QUIRKS else []
    if quirks:
        out += ["## Quirks", "", *(f"- {q}" for q in quirks), ""]
    out += ["## Files and checksums", ""]
    if spec.shared_downloads:
        out += [f"Downloads are shared with the other entries of `{spec.shared_downloads}`.", ""]
    for i, ed in enumerate(spec.editions):
        out += _edition_section(spec, ed, i)
    out += ["### Checksum provenance", "", spec.provenance or "not recorded", ""]
    out += ["## Citation", "", spec.citation or "none given", ""]
    return "\n".join(out)


def datasets_index(specs: list[DatasetSpec]) -> str:
    """The table of every built-in dataset, each linking to its page."""
    out = [
        "# Datasets",
        "",
        "Every built-in catalog entry, generated from `src/imagesets/data/catalog/*.json` at "
        "build time. Your own entries: see [Your own datasets](../own-datasets.md).",
        "",
        "| name | title | image shape | classes | splits | download | license |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for spec in specs:
        splits = ", ".join(f"{s.name} {s.count:,}" for s in spec.splits)
        sizes = [f.size for f in spec.editions[0].files] if spec.editions else []
        total = _size(sum(s or 0 for s in sizes)).split(" (")[-1].rstrip(")")
        shape = str(spec.image_shape) if spec.image_shape else "variable"
        out.append(
            f"| [`{spec.name}`]({spec.name}.md) | {_cell(spec.title)} | {shape} "
            f"| {len(spec.classes):,} | {splits} | {total} | {_cell(spec.license)} |"
        )
    return "\n".join([*out, ""])


# --------------------------------------------------------------------------- CLI


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the imagesets parser has no subcommands")


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    rows = ["| argument | help |", "|---|---|"]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            name = ", ".join(action.option_strings)
            if action.nargs != 0:
                name += " " + formatter._format_args(action, action.dest.upper())
        else:
            name = formatter._format_args(action, action.dest)
        text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {_code(name)} | {_cell(text)} |")
    return rows


def cli_reference() -> str:
    """Every ``imagesets`` command: usage, description and arguments, from the parser."""
    from imagesets.cli import build_parser

    parser = build_parser()
    subs = _subcommands(parser)
    out = [
        "# CLI reference",
        "",
        "Generated from the argparse parser (`imagesets.cli.build_parser`) at build time; "
        "`imagesets COMMAND --help` prints the same. `python -m imagesets` is the same command.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        "## Global options",
        "",
        *_arguments(parser),
        "",
        "## Commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    out += [f"| [`{n}`](#{n}) | {_cell(p.description)} |" for n, p in subs.items()]
    out.append("")
    for name, sub in subs.items():
        out += [
            f"### {name}",
            "",
            sub.description or "",
            "",
            "```text",
            sub.format_usage().strip(),
            "```",
            "",
            *_arguments(sub),
            "",
        ]
    if parser.epilog:
        out += ["## Examples", "", "```text", parser.epilog.strip(), "```", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- errors


def _modules_defining_errors() -> Iterator[str]:
    """Modules of the package whose source defines a class named ``...Error`` (found by
    parsing, not importing, so the heavy adapters are imported only if they define one)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.ClassDef) and n.name.endswith("Error") for n in tree.body):
            rel = path.relative_to(PACKAGE.parent).with_suffix("")
            yield ".".join(rel.parts)


def error_classes() -> list[type[errors.ImagesetsError]]:
    """``ImagesetsError`` and every subclass defined in the package, depth first."""
    for module in _modules_defining_errors():
        importlib.import_module(module)
    found: list[type[errors.ImagesetsError]] = []

    def walk(cls: type[errors.ImagesetsError]) -> None:
        if cls not in found and cls.__module__.startswith("imagesets"):
            found.append(cls)
            for sub in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
                walk(sub)

    walk(errors.ImagesetsError)
    return found


def error_reference() -> str:
    """Every error class: where it lives, what it is also catchable as, cause and remedy."""
    classes = error_classes()
    out = [
        "# Error reference",
        "",
        "Every error imagesets raises on purpose is an `ImagesetsError`; each also inherits the "
        "builtin a caller would naturally catch. Every message says what failed, on which "
        "input, what was expected, what was found and what to do. Generated at build time from "
        "the classes' docstrings (`src/imagesets/errors.py` and the modules below).",
        "",
        "| error | catch it also as | module |",
        "|---|---|---|",
    ]
    for cls in classes:
        builtins_ = [
            b.__name__
            for b in cls.__mro__[1:]
            if b.__module__ == "builtins" and b not in (object, BaseException, Exception)
        ]
        out.append(
            f"| [`{cls.__name__}`](#{cls.__name__.lower()}) | {', '.join(builtins_) or '-'} "
            f"| `{cls.__module__}` |"
        )
    out.append("")
    for cls in classes:
        parents = ", ".join(f"`{b.__name__}`" for b in cls.__bases__)
        out += [
            f"## {cls.__name__}",
            "",
            f"`{cls.__module__}.{cls.__name__}`, a subclass of {parents}",
            "",
            inspect.cleandoc(cls.__doc__ or "").replace("What to do:", "**What to do:**"),
            "",
        ]
    return "\n".join(out)


# --------------------------------------------------------------------------- mkdocs hooks


def pages() -> dict[str, str]:
    """Every generated page: its path under ``docs/`` -> its Markdown."""
    specs = catalog_specs()
    out = {"datasets/index.md": datasets_index(specs)}
    out.update({f"datasets/{s.name}.md": dataset_page(s) for s in specs})
    out["cli.md"] = cli_reference()
    out["errors.md"] = error_reference()
    return out


def on_config(config: Any) -> Any:
    """Put every dataset page under the ``Datasets`` section of the navigation."""
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Datasets" in item:
            section = item["Datasets"]
            section += [{s.name: f"datasets/{s.name}.md"} for s in catalog_specs()]
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the build (in memory)."""
    from mkdocs.structure.files import File

    for path, text in pages().items():
        files.append(File.generated(config, path, content=text))
    return files
