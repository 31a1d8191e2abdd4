"""Which prepared form of a dataset is asked for, and whether a prepared split is still fresh.

A :class:`Variant` is the bundled sample or the full data, plus the reader options that change
the output (``raw_labels=True``, ``size=64``); each has its own folder
``prepared/<dataset>/<variant.name>/``. :func:`is_fresh` compares a manifest with what the
current catalog and code would make. Imports no reader, no numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._registry import READER_OPTIONS
from .catalog import DatasetSpec, Edition
from .errors import ArgumentError, CacheError
from .manifest import FORMAT_VERSION, Manifest

__all__ = [
    "DEFAULT",
    "SAMPLE",
    "Variant",
    "expected_sources",
    "is_fresh",
    "local_edition",
    "local_fresh",
    "local_roles",
    "recorded_options",
]

DEFAULT = "default"
SAMPLE = "sample"
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,40}")


@dataclass(frozen=True)
class Variant:
    """The bundled sample or the full data, and the reader options that change the output."""

    sample: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(
        cls,
        sample: bool = False,
        options: Mapping[str, Any] | None = None,
        spec: DatasetSpec | None = None,
    ) -> Variant:
        """A variant, its options checked: a mapping of names to bool, int or str values, and
        (given ``spec``) only options that the dataset's readers take. ``options=None`` for a
        folder dataset is the variant it was prepared as (:func:`recorded_options`).

        Raises:
            ArgumentError: ``options`` not a mapping, a bad key or value, or an option the
                dataset's format does not take (the message lists those it takes).
        """
        if not isinstance(sample, bool):
            raise ArgumentError(f"sample must be True or False, found {sample!r}")
        if options is None and spec is not None and not sample:
            options = recorded_options(spec)
        if options is not None and not isinstance(options, Mapping):
            raise ArgumentError(
                f"options must be a dict of reader options such as {{'size': 64}}, found "
                f"{type(options).__name__} {options!r}"
            )
        items = tuple(sorted((options or {}).items(), key=lambda kv: str(kv[0])))
        for key, value in items:
            ok_value = isinstance(value, (bool, int)) or (
                isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", value)
            )
            if not (isinstance(key, str) and _KEY.fullmatch(key)) or not ok_value:
                raise ArgumentError(
                    f"reader option {key!r}={value!r}: expected a name of letters, digits and _ "
                    "with a bool, int or short plain str value"
                )
        if spec is not None:
            _check_known(spec, sample, [k for k, _ in items])
        return cls(sample, items)

    @property
    def name(self) -> str:
        """``default``, ``sample``, or e.g. ``default-raw_labels=True`` (a folder name)."""
        base = SAMPLE if self.sample else DEFAULT
        tail = "".join(f"-{k}={_slug(v)}" for k, v in self.options)
        return base + tail

    @property
    def flags(self) -> str:
        """The CLI flags that select this variant."""
        return (" --sample" if self.sample else "") + "".join(
            f" --option {k}={v}" for k, v in self.options
        )

    def rebuild_hint(self, spec: DatasetSpec) -> str:
        """The command that rebuilds this variant of ``spec``."""
        return f"`imagesets prepare {spec.name}{self.flags} --force`"


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", str(value))


def _check_known(spec: DatasetSpec, sample: bool, keys: list[str]) -> None:
    editions = [spec.sample] if sample and spec.sample else list(spec.editions)
    known = sorted({k for e in editions for k in READER_OPTIONS.get(e.format, ())})
    unknown = [k for k in keys if k not in known]
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes no options"
        raise ArgumentError(
            f"{spec.name}: unknown reader option {', '.join(map(repr, unknown))}; {takes} "
            f"(format {', '.join(sorted({e.format for e in editions}))})"
        )


def local_edition(spec: DatasetSpec) -> Edition | None:
    """The local edition of a folder dataset (``from_folder``, ``prepare-folder``), or None."""
    return next((e for e in spec.editions if e.local is not None), None)


def recorded_options(spec: DatasetSpec) -> dict[str, Any] | None:
    """The reader options a folder dataset was prepared with (``{"size": 64}``, or ``{}`` for
    the packed store), as its entry records them under the edition option ``prepared``; None
    for other datasets (and for folder entries written before it was recorded)."""
    edition = local_edition(spec)
    prepared = edition.options.get("prepared") if edition is not None else None
    return dict(prepared) if isinstance(prepared, Mapping) else None


def local_fresh(edition: Edition, split: str, manifest: Manifest) -> bool:
    """A split of a folder dataset is fresh when the manifest's listing (the fingerprint its
    reader took before reading) and classes are those of the entry; the entry is brought up
    to date with the folder by :func:`imagesets.folders.refresh` before any load."""
    listings = edition.options.get("listings")
    expected = listings.get(split) if isinstance(listings, Mapping) else None
    return (
        expected is not None
        and manifest.get("listing") == dict(expected)
        and list(manifest.classes) == list(edition.options.get("classes", manifest.classes))
    )


def local_roles(edition: Edition, split: str) -> dict[str, Path]:
    """A local edition's ``{role: folder}`` for one split (paths relative to ``local``)."""
    base = Path(edition.local or ".")
    return {role: base / rel for role, rel in edition.splits[split].items()}


def expected_sources(edition: Edition, split: str) -> dict[str, dict[str, Any]]:
    """What a manifest records as the sources of ``split`` built from ``edition``."""
    if edition.local is not None:
        return {role: {"path": str(p)} for role, p in local_roles(edition, split).items()}
    return {
        role: {"name": f.name, "sha256": f.sha256, "size": f.size}
        for role, f in edition.files_for(split).items()
    }


def edition_named(spec: DatasetSpec, variant: Variant, name: str) -> Edition | None:
    """The edition ``name`` of ``spec`` (the sample edition for a sample variant)."""
    if variant.sample:
        return spec.sample
    return next((e for e in spec.editions if e.name == name), None)


def is_fresh(spec: DatasetSpec, split: str, variant: Variant, manifest: Manifest) -> bool:
    """True when ``manifest`` describes this split as the current catalog and code make it.

    Raises:
        CacheError: the folder holds another dataset, or was written by a newer imagesets.
    """
    hint = variant.rebuild_hint(spec)
    if manifest.dataset != spec.name or manifest.split != split:
        raise CacheError(
            f"prepared cache for {spec.name} {split} holds {manifest.dataset!r} "
            f"{manifest.split!r} instead (a foreign cache); rebuild it with {hint}"
        )
    if manifest.format_version > FORMAT_VERSION:
        raise CacheError(
            f"prepared cache for {spec.name} {split} has format version "
            f"{manifest.format_version}, this imagesets reads {FORMAT_VERSION}; upgrade "
            f"imagesets or rebuild with {hint}"
        )
    edition = edition_named(spec, variant, manifest.edition)
    return (
        manifest.format_version == FORMAT_VERSION
        and edition is not None
        and split in edition.splits
        and dict(manifest.sources) == expected_sources(edition, split)
        and dict(manifest.options) == dict(variant.options)
        and (edition.local is None or local_fresh(edition, split, manifest))
    )
