"""The catalog: built-in MNIST / Fashion-MNIST facts, user entries (dict and TOML), bad entries."""

from __future__ import annotations

import copy
import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.catalog import DatasetSpec, Edition
from imagesets.cli import main
from imagesets.errors import CatalogError, UnknownDatasetError
from imagesets.formats.idx import read_header
from imagesets.pipeline import bundled_dir
from imagesets.testing.idx import write_fake_mnist
from imagesets.testing.server import LoopbackServer

MNIST = catalog.builtin_entry("mnist")
FASHION_MNIST = catalog.builtin_entry("fashion-mnist")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

# ../shared/FACTS.md section 1: name -> (bytes, md5 (torchvision), sha256 (TFDS / HF / keras)).
FACTS: dict[str, dict[str, tuple[int, str, str]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            9912422,
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            28881,
            "d53e105ee54ea40749a09fcbcd1e9432",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "t10k-images-idx3-ubyte.gz": (
            1648877,
            "9fb629c4189551a2d022fa330f9573f3",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            4542,
            "ec29112dd5afa0611ce80d1b7f02629c",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            26421880,
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        "train-labels-idx1-ubyte.gz": (
            29515,
            "25c81989df183df01b3e8a0aad5dffbe",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        "t10k-images-idx3-ubyte.gz": (
            4422102,
            "bef4ecab320f06d8554ea6380940ec79",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            5148,
            "bb300cfdad3c16e7a12a480ee83cd310",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    },
}
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ],
}
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IDX_SPLITS = {
    "train": {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"},
    "test": {"images": "t10k-images-idx3-ubyte.gz", "labels": "t10k-labels-idx1-ubyte.gz"},
}
COUNTS = {"train": 30, "test": 10}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- built-in entries


def test_builtin_names_order_and_types() -> None:
    assert catalog.names()[:2] == ["mnist", "fashion-mnist"]
    for name in ("mnist", "fashion-mnist"):
        spec = catalog.get(name)
        assert isinstance(spec, DatasetSpec) and spec.source == f"builtin {name}.json"
        assert spec.split_names == ("train", "test")
        assert [(s.count, s.optional) for s in spec.splits] == [(60000, False), (10000, False)]
        assert spec.image_shape == (28, 28) and spec.keras_labels == "flat"
        assert len(spec.classes) == 10 and spec.manual is None


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_builtin_files_equal_the_published_facts(name: str) -> None:
    spec = catalog.get(name)
    (edition,) = spec.editions
    assert (edition.name, edition.format, edition.bundled) == ("idx", "idx", False)
    assert {s: dict(roles) for s, roles in edition.splits.items()} == IDX_SPLITS
    assert [f.name for f in edition.files] == list(FACTS[name])
    for f in edition.files:
        size, md5, sha = FACTS[name][f.name]
        assert (f.size, f.md5, f.sha256) == (size, md5, sha)
        assert list(f.urls) == [mirror + f.name for mirror in MIRRORS[name]]
    assert spec.all_files() == edition.files


def test_mnist_metadata() -> None:
    spec = catalog.get("MNIST ")  # case and spaces do not matter
    assert spec.classes == tuple("0123456789")
    assert spec.license == "CC BY-SA 3.0"
    assert spec.homepage == "http://yann.lecun.com/exdb/mnist/"
    assert "LeCun" in spec.citation and "Gradient-based learning" in spec.citation
    assert spec.aliases == ()


def test_fashion_mnist_metadata_and_aliases() -> None:
    spec = catalog.get("fashion-mnist")
    assert spec.classes == FASHION_CLASSES
    assert spec.license == "MIT"
    assert spec.homepage == "https://github.com/zalandoresearch/fashion-mnist"
    assert "Han Xiao" in spec.citation and "1708.07747" in spec.citation
    for alias in ("fashion_mnist", "Fashion_MNIST", "fashionmnist"):
        assert catalog.get(alias) is spec
    assert catalog.names().count("fashion-mnist") == 1


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_sample_edition_is_bundled_and_matches_its_files(name: str) -> None:
    sample = catalog.get(name).sample
    assert isinstance(sample, Edition)
    assert (sample.name, sample.format, sample.bundled) == ("sample", "idx", True)
    assert dict(sample.counts) == {"train": 1000, "test": 1000}
    assert {s: dict(roles) for s, roles in sample.splits.items()} == IDX_SPLITS
    folder = bundled_dir(name)
    for f in sample.files:
        path = folder / f.name
        assert f.urls == () and f.md5 is None
        assert (path.stat().st_size, _sha256(path)) == (f.size, f.sha256)
        assert read_header(path).shape[0] == 1000


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_files_equal_the_catalog(real_data: Path, name: str) -> None:
    spec = catalog.get(name)
    folder = real_data / name
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in spec.all_files())
    for f in spec.all_files():
        data = (folder / f.name).read_bytes()
        assert len(data) == f.size
        assert hashlib.sha256(data).hexdigest() == f.sha256
        assert hashlib.md5(data, usedforsecurity=False).hexdigest() == f.md5


# --------------------------------------------------------------------------- unknown names


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(UnknownDatasetError) as info:
        catalog.get("mnsit")
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "unknown dataset 'mnsit'" in message and "did you mean 'mnist'" in message
    assert "imagesets list" in message


def test_unknown_name_without_close_match_has_no_suggestion() -> None:
    with pytest.raises(KeyError, match="unknown dataset 'zzzzzz'") as info:
        catalog.get("zzzzzz")
    assert "did you mean" not in str(info.value)


def test_unknown_split_lists_the_splits() -> None:
    with pytest.raises(UnknownDatasetError, match="no split 'valid'; its splits are train, test"):
        catalog.get("mnist").split("valid")


# --------------------------------------------------------------------------- register()


def _entry(name: str = "tiny", **extra: Any) -> dict[str, Any]:
    files = [
        {"name": f, "size": 10 + i, "sha256": f"{i:064x}", "urls": [f"http://127.0.0.1:9/{f}"]}
        for i, f in enumerate([*IDX_SPLITS["train"].values(), *IDX_SPLITS["test"].values()])
    ]
    return {
        "name": name,
        "classes": ["a", "b"],
        "image_shape": [4, 4],
        "splits": {"train": {"count": 3}, "test": {"count": 2, "optional": True}},
        "editions": [{"format": "idx", "files": files, "splits": IDX_SPLITS}],
        **extra,
    }


def test_register_a_dict_then_unregister() -> None:
    spec = catalog.register(_entry("Tiny", aliases=["tiny-alias"]))
    try:
        assert spec.name == "tiny" and spec.source == "register()"
        assert catalog.get("tiny") is spec and catalog.get("TINY-ALIAS") is spec
        assert "tiny" in catalog.names()
        assert spec.split("test").optional and not spec.split("train").optional
        assert spec.editions[0].name == "default"
        assert spec.editions[0].files_for("test")["labels"].size == 13
        assert spec.title == "tiny" and spec.image_shape == (4, 4)
    finally:
        catalog.unregister("tiny-alias")
    for name in ("tiny", "tiny-alias"):
        with pytest.raises(UnknownDatasetError):
            catalog.get(name)
    catalog.unregister("never-registered")  # ignored


def test_register_a_spec_object() -> None:
    spec = catalog.spec_from_dict(_entry("tiny-spec"), "made by hand")
    try:
        assert catalog.register(spec) is spec
        assert catalog.get("tiny-spec").source == "made by hand"
    finally:
        catalog.unregister("tiny-spec")


@pytest.mark.parametrize(
    "entry",
    [_entry("MNIST"), _entry("my-fashion", aliases=["fashion_mnist"])],
    ids=["name", "alias"],
)
def test_register_refuses_a_builtin_name(entry: dict[str, Any]) -> None:
    with pytest.raises(CatalogError, match="is a built-in dataset; choose another"):
        catalog.register(entry)
    assert catalog.get("mnist").source == "builtin mnist.json"
    with pytest.raises(UnknownDatasetError):
        catalog.get("my-fashion")


def test_builtin_entries_are_not_mutated_by_parsing() -> None:
    before = copy.deepcopy([MNIST, FASHION_MNIST])
    catalog.spec_from_dict(MNIST, "again")
    catalog.spec_from_dict(FASHION_MNIST, "again")
    assert before == [MNIST, FASHION_MNIST]


# --------------------------------------------------------------------------- TOML entries


def _files_toml(files: dict[str, dict[str, Any]], base: str, table: str = "files") -> str:
    return "".join(
        f'[[{table}]]\nname = "{n}"\nsize = {d["size"]}\nsha256 = "{d["sha256"]}"\n'
        f'urls = ["{base}{n}"]\n\n'
        for n, d in files.items()
    )


def _head(name: str) -> str:
    return (
        f'name = "{name}"\ntitle = "A TOML dataset"\nlicense = "CC0"\n'
        'image_shape = [28, 28]\nclasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]\n'
    )


def shorthand_toml(name: str, files: dict[str, dict[str, Any]], base: str) -> str:
    """A one-edition entry: top-level ``format`` and ``[[files]]``, per-split ``files``."""
    splits = "".join(
        f'[splits.{s}]\ncount = {COUNTS[s]}\n[splits.{s}.files]\nimages = "{r["images"]}"\n'
        f'labels = "{r["labels"]}"\n\n'
        for s, r in IDX_SPLITS.items()
    )
    return _head(name) + 'format = "idx"\n\n' + splits + _files_toml(files, base)


def editions_toml(name: str, files: dict[str, dict[str, Any]], base: str) -> str:
    """The full form: declared splits, then ``[[editions]]`` with their own files and splits."""
    declared = "".join(f"[splits.{s}]\ncount = {n}\n\n" for s, n in COUNTS.items())
    edition_splits = "".join(
        f'[editions.splits.{s}]\nimages = "{r["images"]}"\nlabels = "{r["labels"]}"\n\n'
        for s, r in IDX_SPLITS.items()
    )
    return (
        _head(name)
        + "\n"
        + declared
        + '[[editions]]\nname = "mirror"\nformat = "idx"\n\n'
        + edition_splits
        + _files_toml(files, base, "editions.files")
    )


UNUSED_URL = "http://127.0.0.1:9/"  # entries that are never fetched
FORMS = {"shorthand": shorthand_toml, "editions": editions_toml}


@pytest.fixture
def fake_files(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Fake MNIST files (train 30, test 10) in tmp_path/src: ``{name: {size, sha256, array}}``."""
    files: dict[str, dict[str, Any]] = write_fake_mnist(tmp_path / "src", COUNTS, seed=4)
    return files


@pytest.fixture
def served(tmp_path: Path, fake_files: dict[str, Any], server: LoopbackServer) -> dict[str, Any]:
    """The fake files served by the loopback server at ``base``."""
    for name in fake_files:
        server.add(f"/toml/{name}", (tmp_path / "src" / name).read_bytes())
    return {"files": fake_files, "base": server.url("/toml/"), "server": server}


def _write_entry(cache: Path, text: str, stem: str = "entry") -> Path:
    folder = cache / "catalog"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("form", list(FORMS))
def test_toml_entry_is_found_by_get(cache: Path, fake_files: dict[str, Any], form: str) -> None:
    path = _write_entry(cache, FORMS[form](f"toml-{form}", fake_files, UNUSED_URL))
    spec = catalog.get(f"Toml-{form}", cache)
    assert spec.source == str(path)
    assert spec.title == "A TOML dataset" and spec.license == "CC0"
    assert spec.split_names == ("train", "test") and spec.image_shape == (28, 28)
    (edition,) = spec.editions
    assert edition.name == ("default" if form == "shorthand" else "mirror")
    assert edition.format == "idx"
    for role, f in edition.files_for("train").items():
        assert f.name == IDX_SPLITS["train"][role]
        assert (f.size, f.sha256) == (fake_files[f.name]["size"], fake_files[f.name]["sha256"])
        assert f.urls == (UNUSED_URL + f.name,)
    assert f"toml-{form}" in catalog.names(cache)
    with pytest.raises(UnknownDatasetError):
        catalog.get(f"toml-{form}")  # without the root, user entries are not read


@pytest.mark.parametrize("form", list(FORMS))
def test_toml_entry_loads_end_to_end(cache: Path, served: dict[str, Any], form: str) -> None:
    _write_entry(cache, FORMS[form](f"toml-{form}", served["files"], served["base"]))
    ds = imagesets.load(f"toml-{form}", progress=False)
    for split, names in IDX_SPLITS.items():
        images = served["files"][names["images"]]["array"]
        labels = served["files"][names["labels"]]["array"]
        assert ds[split].images.shape == (COUNTS[split], 28, 28)
        np.testing.assert_array_equal(ds[split].images, images)
        np.testing.assert_array_equal(ds[split].labels, labels)
    assert ds.info.license == "CC0"
    assert all(served["server"].hits(f"/toml/{n}") == 1 for n in served["files"])
    assert (cache / "downloads" / f"toml-{form}" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_toml_entry_with_a_builtin_name_is_refused(cache: Path, fake_files: dict[str, Any]) -> None:
    text = shorthand_toml("mine", fake_files, UNUSED_URL)
    text = text.replace('name = "mine"', 'name = "fashion-mnist"', 1)
    path = _write_entry(cache, text)
    with pytest.raises(CatalogError, match="is a built-in dataset") as info:
        catalog.get("mine", cache)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- malformed entries

BAD_ENTRIES: dict[str, tuple[str, str, str]] = {
    # case: (form, text to replace once, replacement); fragments of the error in BAD_FRAGMENTS
    "missing-name": ("shorthand", 'name = "bad"\n', ""),
    "sha256-short": ("shorthand", 'sha256 = "{sha}"', 'sha256 = "abc123"'),
    "sha256-not-hex": ("shorthand", 'sha256 = "{sha}"', 'sha256 = "' + "g" * 64 + '"'),
    "size-negative": ("shorthand", "size = {size}", "size = -1"),
    "size-string": ("shorthand", "size = {size}", 'size = "{size}"'),
    "size-float": ("shorthand", "size = {size}", "size = 1.5"),
    "unknown-file": ("shorthand", 'images = "train-images', 'images = "nope.gz"\n#'),
    "undeclared-split": ("editions", "[splits.test]\ncount = 10\n", ""),
    "no-format": ("shorthand", 'format = "idx"\n', ""),
    "invalid-toml": ("shorthand", 'title = "A TOML dataset"', 'title = "A TOML dataset'),
}
BAD_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "missing-name": ("field 'name'", "must be a string", "missing"),
    "sha256-short": ("'sha256'", "64 hex digits", "imagesets hash", "'abc123'"),
    "sha256-not-hex": ("'sha256'", "64 hex digits", "g" * 64),
    "size-negative": ("files[0].'size'", "an integer >= 0", "found -1"),
    "size-string": ("files[0].'size'", "an integer", "found '"),
    "size-float": ("files[0].'size'", "an integer", "found 1.5"),
    "unknown-file": ("splits.train.'images'", "one of the edition's file names", "'nope.gz'"),
    "undeclared-split": ("splits.test.", "one of the splits ['train']", "found 'test'"),
    "no-format": ("'format'", "must be a string", "None"),
    "invalid-toml": ("not valid TOML", "line 2"),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_malformed_toml_entry(cache: Path, fake_files: dict[str, Any], case: str) -> None:
    form, old, new = BAD_ENTRIES[case]
    first = fake_files["train-images-idx3-ubyte.gz"]
    old, new = (s.format(size=first["size"], sha=first["sha256"]) for s in (old, new))
    text = FORMS[form]("bad", fake_files, UNUSED_URL)
    assert old in text
    path = _write_entry(cache, text.replace(old, new, 1))
    with pytest.raises(CatalogError) as info:
        catalog.get("bad", cache)
    message = str(info.value)
    for fragment in (f"catalog entry {path}", *BAD_FRAGMENTS[case]):
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_one_malformed_file_never_hides_the_others(
    cache: Path, fake_files: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _write_entry(cache, shorthand_toml("good", fake_files, UNUSED_URL), "a-good")
    broken = _write_entry(cache, "name = [", "b-broken")
    assert catalog.get("good", cache).name == "good"
    assert "good" in catalog.names(cache)
    (problem,) = catalog.problems(cache)
    assert str(broken) in problem and "not valid TOML" in problem
    with pytest.raises(CatalogError, match=str(broken)):
        catalog.get("missing", cache)  # an unknown name names the files that were skipped
    assert main(["list", "--root", str(cache)]) == 0
    out, err = capsys.readouterr()
    assert "good" in out and "mnist" in out and str(broken) in err


def test_unknown_format_names_the_entry_before_downloading(
    cache: Path, served: dict[str, Any]
) -> None:
    text = shorthand_toml("odd", served["files"], served["base"])
    path = _write_entry(cache, text.replace('format = "idx"', 'format = "idz"'))
    with pytest.raises(CatalogError) as info:
        imagesets.load("odd", progress=False)
    assert str(path) in str(info.value) and "format" in str(info.value)
    assert served["server"].requests == []


BAD_VALUES: dict[str, tuple[str, Any]] = {
    "image-shape-string": ("image_shape", [28, "x"]),
    "image-shape-float": ("image_shape", [28.5, 28]),
    "sample-not-a-table": ("sample", "yes"),
    "count-negative": ("splits", {"train": {"count": -1}, "test": {"count": 2}}),
    "edition-counts-string": ("editions", "counts"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_other_malformed_fields(case: str) -> None:
    key, value = BAD_VALUES[case]
    entry = _entry("bad-values")
    if case == "edition-counts-string":
        entry["editions"][0]["counts"] = {"train": "many"}
    else:
        entry[key] = value
    with pytest.raises(CatalogError, match=r"catalog entry /x/bad\.toml: field"):
        catalog.spec_from_dict(entry, "/x/bad.toml")


# --------------------------------------------------------------------------- imagesets hash


def test_hash_output_pastes_into_an_entry(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_fake_mnist(tmp_path / "src", COUNTS, seed=9)
    paths = [tmp_path / "src" / n for n in files]
    assert main(["hash", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    rows = tomllib.loads(out)["files"]
    assert [r["name"] for r in rows] == list(files)
    for row, path in zip(rows, paths, strict=True):
        data = path.read_bytes()
        assert row["size"] == len(data)
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert row["urls"] == []
    text = shorthand_toml("hashed", {}, "") + out
    _write_entry(cache, text)
    spec = catalog.get("hashed", cache)
    for f in spec.editions[0].files:
        assert (f.size, f.sha256) == (files[f.name]["size"], files[f.name]["sha256"])
        data = (tmp_path / "src" / f.name).read_bytes()
        assert f.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_hash_of_a_real_file(real_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = real_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    assert main(["hash", "-q", str(path)]) == 0
    (row,) = tomllib.loads(capsys.readouterr().out)["files"]
    expected = catalog.get("mnist").editions[0].file(path.name)
    assert (row["name"], row["size"], row["sha256"], row["md5"]) == (
        expected.name,
        expected.size,
        expected.sha256,
        expected.md5,
    )


def test_hash_of_a_missing_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hash", str(tmp_path / "absent.gz")]) == 1
    captured = capsys.readouterr()
    assert "absent.gz" in captured.err and captured.out == ""


@pytest.mark.parametrize("name", ['say "hi".gz', "back\\tslash.gz"], ids=["quote", "backslash"])
def test_hash_escapes_the_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"data")
    assert main(["hash", "-q", str(path)]) == 0
    (row,) = tomllib.loads(capsys.readouterr().out)["files"]
    assert row["name"] == name
