"""How :func:`imagesets.api.load` (and ``load_data``, ``prepare``) shape a catalog entry and
its opened stores into the splits they return.

Holds the folder-dataset steps (``_current`` brings a folder dataset's entry up to date with
its folder, ``_settled`` records the counts of images kept, ``_split_rule`` reads the
``split_fractions`` and seed ``prepare-folder`` recorded), ``_sliced`` (tfds-style slices such
as ``"train[:90%]"`` as index views) and ``_split`` (one :class:`~imagesets.dataset.Split`
from a prepared store). Folders, subsplits and the dataset module (numpy with them) are
imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .cache import Cache
from .catalog import DatasetSpec

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Split
    from .store import StoredSplit


def _split_rule(spec: DatasetSpec) -> tuple[Mapping[str, int | float], int] | None:
    """The ``split_fractions`` and ``seed`` a folder dataset's entry records, if any."""
    for edition in spec.editions:
        rule = edition.options.get("split_rule") if edition.local is not None else None
        if isinstance(rule, Mapping) and isinstance(rule.get("fractions"), Mapping):
            seed = rule.get("seed", 0)
            return rule["fractions"], seed if isinstance(seed, int) else 0
    return None


def _sliced(loaded: Mapping[str, Split], names: Sequence[str]) -> dict[str, Split]:
    """The splits ``names`` as asked, each slice an index view of its base split."""
    from .subsplits import parse_slice

    out = {}
    for text in dict.fromkeys(names):
        spec = parse_slice(text)
        base = loaded[spec.base]
        if not spec.sliced:
            out[text] = base
            continue
        rows = spec.rows(len(base))
        how = {"how": "slice", "slice": text[len(spec.base) :], "rows": [rows.start, rows.stop]}
        out[text] = base.select(rows, name=text, how=how)
    return out


def _current(
    spec: DatasetSpec,
    cache: Cache,
    sample: bool,
    options: Any,
    rebuild: bool,
    *,
    building: bool = False,
) -> DatasetSpec:
    """A folder dataset's entry brought up to date with its folder (others as they are);
    ``building`` (``prepare``) may ask for a variant never prepared."""
    if sample or not any(e.local is not None for e in spec.editions):
        return spec
    from .folders import refresh

    return refresh(spec, cache, options, rebuild=rebuild, building=building)


def _settled(spec: DatasetSpec, cache: Cache, built: Mapping[str, Any]) -> DatasetSpec:
    """A folder dataset's entry with the counts of images kept (others as they are)."""
    if not any(e.local is not None for e in spec.editions):
        return spec
    from .folders import settle

    return settle(spec, cache, built)


def _split(spec: DatasetSpec, name: str, st: StoredSplit, normalize: bool) -> Split:
    from .dataset import Split

    classes = st.manifest.classes or spec.classes
    names = {k: tuple(v) for k, v in spec.label_names.items()}
    names.update({k: tuple(st.manifest[k]) for k in ("superclasses",) if k in st.manifest})
    return Split.stored(
        name,
        dict(st.arrays),
        dict(st.blobs),
        classes,
        normalize=normalize,
        manifest=st.manifest,
        label_names=names,
    )
