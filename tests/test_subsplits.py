"""Validation splits, tfds-style slices, filter/where: seeded, stratified, index views with
their provenance, the same rows on every machine (issue 11, items 6 and 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import ArgumentError, UnknownDatasetError, UnknownSplitError
from imagesets.stats import channel_stats
from imagesets.subsplits import digest, parse_slice, stratified_parts
from imagesets.testing.images import make_fake_tree

#: 37 images: classes 0, 1, 2 with 10 each (interleaved), class 3 with 7 at the end.
LABELS = np.array([i % 3 for i in range(30)] + [3] * 7)
#: sha256 of the row numbers (little-endian int64) chosen for LABELS, computed once. A change
#: of algorithm (permutation, rounding, order of the parts) must fail here.
DIGESTS = {
    0: {
        "validation": "94f6b2847c71ad7385c95b3d8103e5a106311ab32b4c7b71248e0a512590cb64",
        "test": "4220e245b03662122599ed1cb3960e60889e1bf11114c1a7f235f67e0e23f4fd",
        "train": "995a5e152b1697e285c94de750e5fe320c033984dadf530e58a4d2f179b3dedd",
    },
    7: {
        "validation": "bec469051476b308f2d831327c52e2821c6fea2b6aa5baf6f76afaa7ccb81e56",
        "test": "4bccc7b87d081a86cd402cbfeb37e2806d1f395f16527b8894c827d1d6216a62",
        "train": "555570fbb18c484a6bdfc838d922a4e59ed2eb556f701293801314c7adab5a85",
    },
}


def _parts(seed: int) -> dict[str, np.ndarray[Any, Any]]:
    return stratified_parts(LABELS, {"validation": 0.2, "test": 0.1}, seed, rest="train")


@pytest.mark.parametrize("seed", [0, 7])
def test_parts_have_fixed_index_digests(seed: int) -> None:
    parts = _parts(seed)
    assert {k: digest(v) for k, v in parts.items()} == DIGESTS[seed]
    assert parts["validation"].tolist() == (
        [2, 6, 9, 13, 14, 22, 34] if seed == 0 else [4, 9, 10, 18, 20, 26, 32]
    )


def test_a_count_takes_exactly_that_many_with_a_fixed_digest() -> None:
    parts = stratified_parts(LABELS, {"validation": 5}, 0, rest="train")
    assert parts["validation"].tolist() == [2, 6, 9, 22, 34]
    assert digest(parts["train"]) == (
        "29df2c6a118b3c17a0e6821e2cc17d42caec5aa42547730777d8bfbfd7d494c6"
    )


def test_the_same_rows_in_another_process() -> None:
    code = (
        "import numpy as np; from imagesets.subsplits import stratified_parts, digest; "
        "labels = np.array([i % 3 for i in range(30)] + [3] * 7); "
        "p = stratified_parts(labels, {'validation': 0.2, 'test': 0.1}, 7, rest='train'); "
        "print(' '.join(digest(p[k]) for k in ('validation', 'test', 'train')))"
    )
    src = str(Path(imagesets.__file__).parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [DIGESTS[7][k] for k in ("validation", "test", "train")]


def test_each_class_within_one_image_and_totals_exact() -> None:
    rng = np.random.default_rng(2026)
    for case in range(200):
        k = int(rng.integers(1, 9))
        labels = rng.integers(0, k, int(rng.integers(3 * k, 300)))
        n = len(labels)
        shares = rng.dirichlet(np.ones(4))[:3] * rng.uniform(0.3, 1.0)
        sizes = {f"p{i}": round(float(s), 3) for i, s in enumerate(shares) if s >= 0.05}
        sizes = sizes or {"p": 0.5}
        parts = stratified_parts(labels, sizes, case, rest="rest")
        rows = np.concatenate(list(parts.values()))
        assert np.array_equal(np.sort(rows), np.arange(n)), "disjoint and complete"
        asked = {**sizes, "rest": 1 - sum(sizes.values())}
        classes, counts = np.unique(labels, return_counts=True)
        for name, chosen in parts.items():
            assert np.all(np.diff(chosen) > 0), "sorted ascending"
            got = np.bincount(labels[chosen], minlength=k)[classes]
            assert np.all(np.abs(got - counts * asked[name]) < 1 + 1e-9), (case, name)
            if name == "rest":
                continue
            assert abs(len(chosen) - n * asked[name]) < 1, (case, name)
            if len(sizes) == 1:  # one part (validation=): always its total rounded half up
                assert len(chosen) == int(np.floor(n * asked[name] + 0.5)), (case, name)


def test_totals_yield_to_the_classes_when_both_cannot_hold() -> None:
    # one class of 10: parts of 2.5 and 2.5 images cannot both round up, since the class
    # must give the rest its exact 5
    parts = stratified_parts(np.zeros(10, np.int64), {"a": 0.25, "b": 0.25}, 0, rest="c")
    assert [len(p) for p in parts.values()] == [3, 2, 5]


def test_a_plain_seeded_split_without_strata_and_leftovers_left_out() -> None:
    parts = stratified_parts(np.zeros(10, np.int64), {"a": 0.3, "b": 0.25}, 0)
    assert [len(p) for p in parts.values()] == [3, 3]  # 2.5 rounds half up
    assert not set(parts["a"]) & set(parts["b"])


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"validation": 0.7, "test": 0.4}, "at most 1"),
        ({"validation": -0.1}, r"must be in \(0, 1\]"),
        ({"validation": 0}, "expected 1..37"),
        ({"validation": 38}, "expected 1..37"),
        ({"validation": float("nan")}, r"must be in \(0, 1\]"),
        ({"validation": "10%"}, "fraction"),
        ({"validation": True}, "fraction"),
        ({"validation": 0.001}, "would be empty"),
        ({"validation": 1.0}, "'train' of 37 images would be empty"),
    ],
)
def test_bad_sizes_are_one_argument_error(sizes: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        stratified_parts(LABELS, sizes, 0, rest="train")


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed(seed: Any) -> None:
    with pytest.raises(ArgumentError, match="seed"):
        stratified_parts(LABELS, {"validation": 0.2}, seed)


# --------------------------------------------------------------------------- slices


@pytest.mark.parametrize(
    ("name", "n", "rows"),
    [
        ("train[:90%]", 60, (0, 54)),
        ("train[90%:]", 60, (54, 60)),
        ("train[:1000]", 2000, (0, 1000)),
        ("test[-100:]", 250, (150, 250)),
        ("train[10%:20%]", 60, (6, 12)),
        ("train[:50%]", 5, (0, 3)),  # 2.5 rounds half up
        ("train[50%:]", 5, (3, 5)),  # so the two halves are complementary
        ("train[-10%:]", 60, (54, 60)),
        ("train[:-10]", 60, (0, 50)),
        ("train[:]", 7, (0, 7)),
        ("train[:100%]", 7, (0, 7)),
    ],
)
def test_slice_rows_are_exact(name: str, n: int, rows: tuple[int, int]) -> None:
    spec = parse_slice(name)
    assert spec.base == name.split("[")[0] and spec.sliced
    assert spec.rows(n) == slice(*rows)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("train[:120%]", "beyond -100%..100%"),
        ("train[1:2:3]", "no step"),
        ("train[a:]", "not an int"),
        ("train[:1.5%]", "not an int"),
        ("train[5]", "one slice"),
        ("train]", "one slice"),
        ("[:10]", "one slice"),
        ("train[:10]x", "one slice"),
    ],
)
def test_malformed_slices(name: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        parse_slice(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [("train[:1000]", "beyond split 'train' of 60"), ("train[10:10]", "selects no images")],
)
def test_slices_that_select_nothing_or_overrun(name: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        parse_slice(name).rows(60)


# --------------------------------------------------------------------------- through load


def test_load_slices_are_views_with_provenance(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", splits=["train[:90%]", "train[90%:]", "test[-5:]"],
                        progress=False)  # fmt: skip
    assert list(ds.keys()) == ["train[:90%]", "train[90%:]", "test[-5:]"]
    whole = imagesets.load("fake-mnist", progress=False)
    head, tail, last = ds["train[:90%]"], ds["train[90%:]"], ds["test[-5:]"]
    assert (len(head), len(tail), len(last)) == (54, 6, 5)
    assert np.array_equal(head.images, whole.train.images[:54])
    assert np.array_equal(tail.labels, whole.train.labels[54:])
    assert np.array_equal(last.images, whole.test.images[15:])
    assert head.source.rows is None and not head.images.flags.owndata  # type: ignore[attr-defined]
    record = tail.manifest["subsplit"]
    assert record["how"] == "slice" and record["slice"] == "[90%:]" and record["rows"] == [54, 60]
    assert record["parent"] == "train" and record["count"] == 6
    assert record["indices_sha256"] == digest(np.arange(54, 60))
    assert tail.manifest["dataset"] == "fake-mnist"  # the parent's manifest shows through


def test_load_validation_carves_a_stratified_part_of_train(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", validation=0.1, seed=0, progress=False)
    assert list(ds) == ["train", "validation", "test"] and len(ds) == 3
    whole = imagesets.load("fake-mnist", progress=False).train
    train, val = ds.train, ds.validation
    assert (len(train), len(val), len(ds.test)) == (54, 6, 20)
    rows = {k: ds[k].source.rows for k in ("train", "validation")}  # type: ignore[attr-defined]
    assert not set(rows["train"]) & set(rows["validation"])
    assert np.array_equal(np.sort(np.concatenate(list(rows.values()))), np.arange(60))
    assert np.array_equal(val.images, whole.images[rows["validation"]])
    assert np.array_equal(val.labels, whole.labels[rows["validation"]])
    # no copy: both parts read the one memory map of the stored split
    base = val.pixels().base  # type: ignore[union-attr]
    assert base is train.pixels().base and not base.flags.owndata  # type: ignore[union-attr]
    counts = np.bincount(whole.labels, minlength=10)
    got = np.bincount(val.labels, minlength=10)
    assert np.all(np.abs(got - counts * 0.1) < 1)
    expected = stratified_parts(whole.labels, {"validation": 0.1}, 0, rest="train")
    record = val.manifest["subsplit"]
    assert record == {
        "how": "stratified",
        "seed": 0,
        "fractions": {"validation": 0.1},
        "rest": "train",
        "stratified": True,
        "parent": "train",
        "parent_subsplit": None,
        "count": 6,
        "indices_sha256": digest(expected["validation"]),
    }
    again = imagesets.load("fake-mnist", validation=0.1, seed=0, progress=False)
    assert again.validation.manifest["subsplit"] == record
    other = imagesets.load("fake-mnist", validation=0.1, seed=1, progress=False)
    assert other.validation.manifest["subsplit"]["indices_sha256"] != record["indices_sha256"]
    assert len(imagesets.load("fake-mnist", validation=7, progress=False).validation) == 7


def test_row_views_feed_like_the_gathered_arrays(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", validation=0.25, seed=3, progress=False)
    val = ds.validation
    copied = val.images  # gathered on access
    x, y = next(iter(val.batches(len(val), shuffle=False)))
    assert np.array_equal(x, copied) and np.array_equal(y, val.labels)
    shuffled = np.concatenate([b for b, _ in val.batches(4, seed=1)])
    assert sorted(map(bytes, shuffled)) == sorted(map(bytes, copied))
    assert val.stats().mean == channel_stats(copied).mean
    assert np.asarray(val.pixels())[2].tolist() == copied[2].tolist()
    assert val[2][0].tolist() == copied[2].tolist() and val[2][1] == val.labels[2]
    sub = val[1:3]  # a view of a view: rows composed, still no copy
    assert np.array_equal(sub.images, copied[1:3])
    assert "images=uint8[15, 28, 28]" in repr(val)


def test_load_errors_are_one_argument_error(fake_mnist: dict[str, Any]) -> None:
    cases: list[dict[str, Any]] = [
        {"validation": 0},
        {"validation": 60},
        {"validation": 1.0},
        {"validation": -0.1},
        {"validation": "10%"},
        {"validation": 0.1, "split_fractions": {"a": 0.5}},
        {"split_fractions": {"a": 0.5}},  # two splits loaded
        {"splits": "train", "split_fractions": {"a": 0.7, "b": 0.4}},
        {"splits": "train", "split_fractions": {"a": -0.5}},
        {"splits": "train", "split_fractions": {"a[1]": 0.5}},
        {"splits": "test", "validation": 0.1},  # no train
        {"splits": ["train[:120%]"]},
        {"splits": ["trian[:10%]"]},
        {"seed": 3},  # a seed that chooses nothing
        {"validation": 0.1, "seed": -1},
    ]
    for kwargs in cases:
        with pytest.raises(ArgumentError) as info:
            imagesets.load("fake-mnist", progress=False, **kwargs)
        assert str(info.value), kwargs
    with pytest.raises(UnknownSplitError, match=r"no split 'trian'.*did you mean 'train'"):
        imagesets.load("fake-mnist", splits=["trian[:10%]"], progress=False)


def test_split_fractions_divide_the_one_split(fake_mnist: dict[str, Any]) -> None:
    sizes = {"train": 0.8, "validation": 0.1, "test": 0.1}
    ds = imagesets.load("fake-mnist", splits="train", split_fractions=sizes, seed=0,
                        progress=False)  # fmt: skip
    assert list(ds) == ["train", "validation", "test"]
    assert [len(s) for s in ds.values()] == [48, 6, 6]
    assert ds.test.manifest["subsplit"]["fractions"] == sizes
    part = imagesets.load("fake-mnist", splits="train[:50%]", split_fractions={"a": 0.5},
                          progress=False)["a"]  # fmt: skip
    record = part.manifest["subsplit"]
    assert record["parent"] == "train[:50%]" and record["parent_subsplit"]["how"] == "slice"
    assert len(part) == 15


def test_prepare_and_download_take_the_base_of_a_slice(fake_mnist: dict[str, Any]) -> None:
    paths = imagesets.prepare("fake-mnist", ["train[:10%]", "train[10%:]"], progress=False)
    assert list(paths) == ["train"]


# --------------------------------------------------------------------------- ergonomics


def test_dataset_mapping_and_helpful_unknown_split(fake_mnist: dict[str, Any]) -> None:
    ds = imagesets.load("fake-mnist", validation=0.1, progress=False)
    assert len(ds) == 3 and list(ds.keys()) == ["train", "validation", "test"]
    assert "validation" in ds and "val" not in ds and ds.splits["test"] is ds.test
    assert dict(ds.items())["train"] is ds.train and len(list(ds.values())) == 3
    assert ds.info.num_classes == 10 and ds.info.as_dict()["num_classes"] == 10
    with pytest.raises(UnknownSplitError) as by_key:
        ds["val"]
    with pytest.raises(UnknownSplitError) as by_attr:
        ds.val  # noqa: B018
    assert str(by_key.value) == str(by_attr.value)
    assert "did you mean 'validation'" in str(by_key.value)
    assert "train, validation, test" in str(by_key.value)
    assert isinstance(by_key.value, (KeyError, AttributeError, UnknownDatasetError))
    assert not hasattr(ds, "val") and getattr(ds, "val", None) is None
    import copy
    import pickle

    assert copy.copy(ds).info == ds.info  # protocol lookups still see AttributeError
    assert len(pickle.loads(pickle.dumps(ds.info)).classes) == 10


def test_filter_and_where_are_index_views(fake_mnist: dict[str, Any]) -> None:
    train = imagesets.load("fake-mnist", progress=False).train
    some = train.filter(labels=[3, "7"])
    mask = np.isin(train.labels, [3, 7])
    assert np.array_equal(some.labels, train.labels[mask])
    assert np.array_equal(some.images, train.images[mask])
    assert some.pixels().base is train.images  # type: ignore[union-attr]
    assert some.manifest["subsplit"]["how"] == "filter"
    assert some.manifest["subsplit"]["labels"] == [3, 7]
    assert some.manifest["subsplit"]["indices_sha256"] == digest(np.flatnonzero(mask))
    assert len(train.filter(labels=3)) == int((train.labels == 3).sum())
    even = train.where(train.labels % 2 == 0)
    assert set(even.labels.tolist()) <= {0, 2, 4, 6, 8} and even.name == "train"
    assert even.manifest["subsplit"]["count"] == len(even)
    with pytest.raises(ArgumentError, match="no class 'seven'"):
        train.filter(labels=["seven"])
    with pytest.raises(ArgumentError, match=r"class index 0\.\.9"):
        train.filter(labels=[10])
    with pytest.raises(ArgumentError, match="non-empty"):
        train.filter(labels=[])
    with pytest.raises(ArgumentError, match="bool array of shape"):
        train.where(train.labels)
    with pytest.raises(ArgumentError, match="bool array of shape"):
        train.where(np.ones(3, bool))


def test_a_folder_tree_divides_its_packed_all_split(tmp_path: Path) -> None:
    make_fake_tree(tmp_path / "flatpets", {"cat": 6, "dog": 4}, h=12, w=12, extras=False)
    try:
        ds = imagesets.from_folder(tmp_path / "flatpets", progress=False)
        (whole,) = ds.values()
        assert whole.packed and len(whole) == 10
        parts = whole.partition({"train": 0.6, "validation": 0.2, "test": 0.2}, seed=0)
        counts = {k: np.bincount(p.labels, minlength=2).tolist() for k, p in parts.items()}
        assert counts == {"train": [4, 2], "validation": [1, 1], "test": [1, 1]}
        test = parts["test"]
        assert test.packed and test.manifest["subsplit"]["count"] == 2
        stored = [test.images.stored(i) for i in range(2)]  # type: ignore[union-attr]
        assert [test.images.raw(i) for i in range(2)] == [  # type: ignore[union-attr]
            whole.images.raw(r)  # type: ignore[union-attr]
            for r in stored
        ]
    finally:
        catalog.unregister("flatpets")


def test_a_row_view_goes_to_dask_named_by_its_rows(fake_mnist: dict[str, Any]) -> None:
    pytest.importorskip("dask")
    ds = imagesets.load("fake-mnist", validation=0.25, seed=3, progress=False)
    x, y = ds.validation.to_dask(chunks=4)
    assert np.array_equal(x.compute(), ds.validation.images)
    assert np.array_equal(y.compute(), ds.validation.labels)
    other, _ = imagesets.load("fake-mnist", validation=0.25, seed=4, progress=False)[
        "validation"
    ].to_dask(chunks=4)
    assert x.name != other.name  # the rows are part of the name
