"""Hostile and careless input above the formats: names that would leave the cache, broken
catalog files, damaged prepared caches, a full disk, bad arguments (issue 9)."""

from __future__ import annotations

import copy
import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog, store
from imagesets.cache import Cache, check_name
from imagesets.cli import main
from imagesets.errors import (
    ArgumentError,
    CacheError,
    CatalogError,
    ImagesetsError,
    UnknownDatasetError,
)
from imagesets.testing.images import make_fake_tree

BAD_NAMES = ["../evil", "/etc/passwd", "a/b", "nul\0name", ".hidden", "..", "", "x" * 300, "a b"]


# --------------------------------------------------------------------------- 1. names


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_check_name_refuses_anything_but_one_plain_component(bad: str) -> None:
    with pytest.raises(CatalogError, match="not a plain name"):
        check_name(bad, "dataset name", "here")


@pytest.mark.parametrize("bad", ["../evil", "/abs", "a/b", "nul\0", ".hidden"])
@pytest.mark.parametrize("where", ["name", "split", "file", "alias"])
def test_register_refuses_names_that_are_paths(
    fake_mnist: dict[str, Any], where: str, bad: str
) -> None:
    entry = _entry_like(fake_mnist, "evil-entry")
    if where == "name":
        entry["name"] = bad
    elif where == "alias":
        entry["aliases"] = [bad]
    elif where == "split":
        entry["splits"][bad] = entry["splits"].pop("test")
        entry["editions"][0]["splits"][bad] = entry["editions"][0]["splits"].pop("test")
    else:
        old = entry["editions"][0]["files"][0]["name"]
        entry["editions"][0]["files"][0]["name"] = bad
        for roles in entry["editions"][0]["splits"].values():
            for role, fname in roles.items():
                if fname == old:
                    roles[role] = bad
    with pytest.raises(CatalogError, match="not a plain name") as err:
        catalog.register(entry)
    assert "register()" in str(err.value)


def _entry_like(fake_mnist: dict[str, Any], name: str) -> dict[str, Any]:
    from tests.conftest import fake_entry

    entry = fake_entry(name, fake_mnist["files"], [fake_mnist["server"].url("/fake/")])
    return copy.deepcopy(entry)


def test_toml_entry_with_a_path_name_is_skipped_and_named(cache: Path) -> None:
    folder = cache / "catalog"
    folder.mkdir(parents=True)
    bad = folder / "evil.toml"
    bad.write_text('name = "../../outside"\nformat = "idx"\n[splits.train]\ncount = 1\n')
    assert "mnist" in catalog.names(cache)  # the bad file does not break the others
    (problem,) = catalog.problems(cache)
    assert str(bad) in problem and "field 'name'" in problem and "not a plain name" in problem


@pytest.mark.parametrize("parts", [("..", "x"), ("a/b",), ("/etc",), (".lock",), ("x\0",)])
def test_cache_paths_stay_inside_the_root(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(CacheError, match="not a plain name"):
        Cache(tmp_path).path(*parts)


def test_a_symlink_out_of_the_cache_is_refused(
    tmp_path: Path, cache: Path, fake_mnist: dict[str, Any]
) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    (cache / "downloads").mkdir(parents=True)
    (cache / "downloads" / "fake-mnist").symlink_to(outside)
    with pytest.raises(CacheError, match="outside the cache root"):
        imagesets.clean("fake-mnist", downloads=True)
    with pytest.raises(CacheError, match="outside the cache root"):
        imagesets.download("fake-mnist", progress=False)
    assert (outside / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_prepare_folder_refuses_a_path_name(tmp_path: Path, cache: Path) -> None:
    tree = make_fake_tree(tmp_path / "photos", {"cat": 2, "dog": 2}, extras=False).root
    victim = tmp_path / "victim"
    victim.mkdir()
    for bad in ("../victim", "/tmp/x", ".x"):
        with pytest.raises(CatalogError, match="not a plain name"):
            imagesets.from_folder(tree, name=bad, size=8, progress=False)
    assert main(["prepare-folder", str(tree), "--name", "../victim", "--size", "8", "-q"]) == 1
    assert victim.is_dir() and not any(victim.iterdir())
    assert not (cache / "catalog").exists() or not list((cache / "catalog").glob("*.toml"))


# --------------------------------------------------------------------------- 2. catalog files


def test_non_utf8_folder_names_round_trip_through_the_toml_entry(
    tmp_path: Path, cache: Path
) -> None:
    base = tmp_path / "photos"
    make_fake_tree(base, {"cat": 2, "dog": 2}, extras=False)
    odd = os.fsencode(base) + b"/caf\xe9 \\x41"  # not UTF-8, and a backslash that looks escaped
    (base / "cat").rename(os.fsdecode(odd))
    ds = imagesets.from_folder(base, name="odd-names", size=8, persist=True, progress=False)
    names = set(ds["all"].classes)
    assert os.fsdecode(b"caf\xe9 \\x41") in names
    text = (cache / "catalog" / "odd-names.toml").read_bytes()
    text.decode("utf-8")  # valid UTF-8
    catalog.unregister("odd-names")
    spec = catalog.get("odd-names", cache)  # a fresh parse of the file, as a new process does
    assert set(spec.classes) == names
    assert catalog.problems(cache) == []
    again = imagesets.load("odd-names", progress=False, options={"size": 8})
    assert set(again["all"].classes) == names and len(again["all"]) == 4


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe" + 'name = "x"'.encode("utf-16-le"), bytes(range(256)), b'name = "\xe9"'],
    ids=["utf16", "binary", "latin1"],
)
def test_unreadable_toml_is_reported_and_skipped(
    cache: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    (cache / "catalog").mkdir(parents=True)
    bad = cache / "catalog" / "broken.toml"
    bad.write_bytes(content)
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    assert "mnist" in out and str(bad) in err
    (problem,) = catalog.problems(cache)
    assert "UTF-8" in problem or "TOML" in problem
    assert main(["info", "mnist"]) == 0
    with pytest.raises(CatalogError, match=str(bad)):
        catalog.get("broken", cache)


# --------------------------------------------------------------------------- 3. prepared cache


def _prepared(cache: Path, split: str = "train") -> Path:
    return cache / "prepared" / "fake-mnist" / "default" / split


def test_verify_names_a_garbage_array_of_the_right_size(
    fake_mnist: dict[str, Any], cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imagesets.prepare("fake-mnist", progress=False)
    assert all(r.status == "ok" for r in imagesets.verify("fake-mnist", progress=False))
    images = _prepared(cache) / "images.npy"
    data = bytearray(images.read_bytes())
    data[-100:] = bytes(100)  # same size, other pixels
    images.write_bytes(bytes(data))
    rows = {r.name: r for r in imagesets.verify("fake-mnist", progress=False)}
    bad = rows["prepared/default/train"]
    assert bad.status == "corrupt" and "images.npy" in bad.detail and "sha256" in bad.detail
    assert rows["prepared/default/test"].status == "ok"
    assert main(["verify", "fake-mnist", "-q"]) == 1
    assert "images.npy" in capsys.readouterr().out


def test_manifest_records_a_sha256_per_array(fake_mnist: dict[str, Any], cache: Path) -> None:
    imagesets.prepare("fake-mnist", ["train"], progress=False)
    manifest = json.loads((_prepared(cache) / "manifest.json").read_text())
    for name in ("images", "labels"):
        entry = manifest["arrays"][name]
        raw = (_prepared(cache) / f"{name}.npy").read_bytes()[entry["offset"] :]
        import hashlib

        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()


MANIFEST_EDITS: dict[str, Any] = {
    "offset-string": lambda m: m["arrays"]["images"].update(offset="10"),
    "offset-huge": lambda m: m["arrays"]["images"].update(offset=2**70),
    "offset-wrong": lambda m: m["arrays"]["images"].update(
        offset=m["arrays"]["images"]["offset"] + 16
    ),
    "shape-negative": lambda m: m["arrays"]["images"].update(shape=[-1, 28, 28]),
    "shape-string": lambda m: m["arrays"]["images"].update(shape="60000x28x28"),
    "shape-deep": lambda m: m["arrays"]["images"].update(shape=[1] * 40),
    "dtype-object": lambda m: m["arrays"]["labels"].update(dtype="|O"),
    "dtype-junk": lambda m: m["arrays"]["labels"].update(dtype={"a": 1}),
    "no-arrays": lambda m: m.pop("arrays"),
    "no-version": lambda m: m.pop("format_version"),
    "arrays-list": lambda m: m.update(arrays=[1, 2]),
    "array-path-name": lambda m: m["arrays"].update({"../x": m["arrays"]["images"]}),
    "classes-ints": lambda m: m.update(classes=[1, 2]),
    "sha-missing": lambda m: m["arrays"]["images"].pop("sha256"),
    "dataset-int": lambda m: m.update(dataset=5),
}


@pytest.mark.parametrize("case", list(MANIFEST_EDITS))
def test_edited_manifest_is_a_cache_error_with_the_rebuild_command(
    fake_mnist: dict[str, Any], cache: Path, case: str
) -> None:
    imagesets.prepare("fake-mnist", ["train"], progress=False)
    path = _prepared(cache) / "manifest.json"
    data = json.loads(path.read_text())
    MANIFEST_EDITS[case](data)
    path.write_text(json.dumps(data))
    with pytest.raises(CacheError) as err:
        imagesets.load("fake-mnist", "train", progress=False)
    assert "imagesets prepare fake-mnist --force" in str(err.value) or "imagesets clean" in str(
        err.value
    )
    rows = imagesets.verify("fake-mnist", progress=False)
    assert any(r.status == "corrupt" and r.name == "prepared/default/train" for r in rows)


# --------------------------------------------------------------------------- 4. full disk


def test_enospc_while_reserving_is_a_cache_error_and_leaves_nothing(
    fake_mnist: dict[str, Any], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imagesets.download("fake-mnist", progress=False)

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(CacheError) as err:
        imagesets.load("fake-mnist", progress=False)
    msg = str(err.value)
    assert "no space left" in msg and "bytes" in msg and str(cache / "prepared") in msg
    variant = cache / "prepared" / "fake-mnist" / "default"
    assert [p.name for p in variant.iterdir()] == []


def test_enospc_from_a_blob_write_is_a_cache_error(tmp_path: Path) -> None:
    target = tmp_path / "split"

    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

        closed = False

    with pytest.raises(CacheError, match="no space left"), store.SplitBuilder(target) as b:
        b.writer.blobs["data"] = Full()  # type: ignore[assignment]
        b.writer.blobs["data"].write(b"x")
    assert list(tmp_path.iterdir()) == []


SMALL_DISK = """
import sys, imagesets
from imagesets.errors import CacheError
try:
    imagesets.load(sys.argv[1], progress=False)
except CacheError as exc:
    print("CacheError:", exc)
    sys.exit(3)
print("loaded")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_really_full_disk_is_an_exception_not_sigbus(
    fake_mnist: dict[str, Any], tmp_path: Path
) -> None:
    """On a 300 KB tmpfs the downloads fit (about 60 KB) but the 60x28x28 arrays do not."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("mount -t tmpfs failed here")
    try:
        root = mount / "cache"
        imagesets.download("fake-mnist", root=root, progress=False)
        (mount / "filler").write_bytes(b"\0" * (200 * 1024 - (root / "downloads").stat().st_size))
        entry = json.dumps(_entry_like(fake_mnist, "fake-mnist"))
        script = f"import json, imagesets; imagesets.register(json.loads({entry!r}))\n"
        env = {**os.environ, "IMAGESETS_HOME": str(root), "IMAGESETS_OFFLINE": "1"}
        run = subprocess.run(
            [sys.executable, "-c", script + SMALL_DISK, "fake-mnist"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 3, (run.returncode, run.stdout, run.stderr)  # not -7 (SIGBUS)
        assert "no space left" in run.stdout and "bytes" in run.stdout
        variant = root / "prepared" / "fake-mnist" / "default"
        assert not variant.exists() or not any(variant.iterdir())
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_read_only_root_is_a_clear_error(tmp_path: Path, fake_mnist: dict[str, Any]) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    try:
        if os.access(root, os.W_OK):  # root ignores modes: use a path under a file instead
            root = tmp_path / "a-file"
            root.write_text("x")
            root = root / "cache"
        with pytest.raises(CacheError, match="not usable"):
            imagesets.load("fake-mnist", root=root, progress=False)
    finally:
        (tmp_path / "ro").chmod(0o755)


# --------------------------------------------------------------------------- bad arguments


BAD_CALLS: dict[str, Any] = {
    "load-int-name": lambda: imagesets.load(123),  # type: ignore[arg-type]
    "load-options-int": lambda: imagesets.load("mnist", options=5, sample=True),  # type: ignore[arg-type]
    "load-unknown-option": lambda: imagesets.load("mnist", options={"size": 64}, sample=True),
    "load-splits-int": lambda: imagesets.load("mnist", splits=3, sample=True),  # type: ignore[arg-type]
    "load-sample-str": lambda: imagesets.load("mnist", sample="yes"),  # type: ignore[arg-type]
    "load-root-int": lambda: imagesets.load("mnist", root=5, sample=True),  # type: ignore[arg-type]
    "import-paths-int": lambda: imagesets.import_files("mnist", 5),  # type: ignore[arg-type]
    "load-data-label-mode": lambda: imagesets.load_data("mnist", label_mode="x", sample=True),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_are_one_clear_error(case: str) -> None:
    with pytest.raises(ArgumentError) as err:
        BAD_CALLS[case]()
    assert len(str(err.value).splitlines()) == 1


def test_unknown_option_lists_what_the_format_takes() -> None:
    with pytest.raises(ArgumentError, match="it takes no options"):
        imagesets.load("mnist", options={"size": 64}, sample=True)
    with pytest.raises(ArgumentError, match="it takes raw_labels"):
        imagesets.prepare("svhn", options={"size": 64})


def test_one_split_as_a_string(fake_mnist: dict[str, Any]) -> None:
    assert list(imagesets.prepare("fake-mnist", "train", progress=False)) == ["train"]
    assert list(imagesets.load("fake-mnist", "test", progress=False).splits) == ["test"]
    with pytest.raises(UnknownDatasetError, match="no split 'nope'"):
        imagesets.prepare("fake-mnist", ["train", "nope"], progress=False)


def test_import_files_takes_one_path_as_a_string(
    fake_mnist: dict[str, Any], tmp_path: Path, cache: Path
) -> None:
    result = imagesets.import_files("fake-mnist", str(tmp_path / "src"), progress=False)
    assert len(result.imported) == 4
    assert (cache / "downloads" / "fake-mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_cli_bad_split_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "mnist", "--split", "nope", "--sample"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no split 'nope'" in err and "train, test" in err


def test_split_indexing_refuses_junk() -> None:
    train = imagesets.load("mnist", sample=True)["train"]
    for junk in (None, 1.5, "x", [[1, 2]], {"a": 1}):
        with pytest.raises(ArgumentError, match="indexed by an int"):
            train[junk]
    with pytest.raises(IndexError, match="out of range"):
        train[1000]
    assert len(train[np.arange(1000) < 10]) == 10 and len(train[[1, 2, 3]]) == 3


def test_clean_of_a_never_prepared_dataset_and_concurrent_cleans(
    fake_mnist: dict[str, Any], cache: Path
) -> None:
    assert imagesets.clean("fake-mnist") == []
    assert imagesets.clean("fake-mnist", downloads=True) == []
    imagesets.prepare("fake-mnist", progress=False)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            imagesets.clean("fake-mnist", downloads=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not (cache / "prepared" / "fake-mnist" / "default").exists()


def test_every_public_error_is_an_imagesets_error() -> None:
    for exc in (ArgumentError, CacheError, CatalogError, UnknownDatasetError):
        assert issubclass(exc, ImagesetsError)


@pytest.mark.parametrize(
    "kwargs",
    [{"size": 100000}, {"size": 0}, {"size": 1.5}, {"max_side": -1}, {"label_depth": "x"}],
)
def test_from_folder_refuses_absurd_sizes_before_reading(
    tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    tree = make_fake_tree(tmp_path / "photos", {"cat": 1}, extras=False).root
    with pytest.raises(ArgumentError, match=r"from_folder: .* must be an integer"):
        imagesets.from_folder(tree, progress=False, **kwargs)
