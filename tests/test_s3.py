"""Object stores through fsspec: S3 mirrors and from_folder("s3://..."), against moto's S3
server on 127.0.0.1 (started here, once for the module)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets import catalog
from imagesets.errors import FetchError, MissingDependencyError
from imagesets.testing.images import make_fake_tree

pytestmark = pytest.mark.s3

BUCKET = "imagesets-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An s3fs filesystem on the moto server, with a fresh bucket; botocore (and so every
    s3fs made by imagesets) reaches it through AWS_ENDPOINT_URL."""
    import s3fs

    for key, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir(BUCKET)
    yield fs
    fs.rm(BUCKET, recursive=True)
    s3fs.S3FileSystem.clear_instance_cache()


def upload_mnist(s3: Any, tmp_path: Path, files: dict[str, Any], *, skip: str = "") -> None:
    for name in files:
        if name != skip:
            s3.put_file(str(tmp_path / "src" / name), f"{BUCKET}/datasets/fake-mnist/{name}")


def test_an_s3_mirror_is_used_before_the_catalog_urls(
    s3: Any, fake_mnist: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_mnist(s3, tmp_path, fake_mnist["files"])
    monkeypatch.setenv("IMAGESETS_MIRROR", f"s3://{BUCKET}/datasets")
    ds = imagesets.load("fake-mnist", progress=False)
    assert fake_mnist["server"].requests == []
    want = fake_mnist["files"]["train-images-idx3-ubyte.gz"]["array"]
    assert np.array_equal(ds["train"].images, want)


def test_a_part_is_resumed_from_s3(
    s3: Any, fake_mnist: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    cache: Path,
) -> None:  # fmt: skip
    upload_mnist(s3, tmp_path, fake_mnist["files"])
    monkeypatch.setenv("IMAGESETS_MIRROR", f"s3://{BUCKET}/datasets")
    name = "train-images-idx3-ubyte.gz"
    whole = (tmp_path / "src" / name).read_bytes()
    folder = cache / "downloads" / "fake-mnist"
    folder.mkdir(parents=True)
    (folder / f"{name}.part").write_bytes(whole[: len(whole) // 2])
    paths = imagesets.download("fake-mnist", "train", progress=False)
    assert paths[name].read_bytes() == whole
    assert fake_mnist["server"].requests == []


def test_a_missing_or_wrong_object_moves_on_to_the_next_url(
    s3: Any, fake_mnist: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = fake_mnist["files"]
    upload_mnist(s3, tmp_path, files, skip="t10k-images-idx3-ubyte.gz")
    s3.pipe(f"{BUCKET}/datasets/fake-mnist/t10k-labels-idx1-ubyte.gz", b"not the file")
    monkeypatch.setenv("IMAGESETS_MIRROR", f"s3://{BUCKET}/datasets")
    imagesets.download("fake-mnist", progress=False)
    fetched = sorted(r[1].rsplit("/", 1)[-1] for r in fake_mnist["server"].requests)
    assert fetched == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_from_folder_on_s3(s3: Any, tmp_path: Path) -> None:
    make_fake_tree(tmp_path / "pets", {"train/cat": 3, "train/dog": 2, "test/cat": 1,
                                             "test/dog": 1})  # fmt: skip
    s3.put(str(tmp_path / "pets") + "/", f"{BUCKET}/photos/", recursive=True)
    try:
        remote = imagesets.from_folder(f"s3://{BUCKET}/photos/", size=16, progress=False)
        local = imagesets.from_folder(tmp_path / "pets", name="pets-local", size=16,
                                      progress=False)  # fmt: skip
        assert remote.info.name == "photos"
        for split in ("train", "test"):
            assert np.array_equal(remote[split].images, local[split].images)
            assert np.array_equal(remote[split].labels, local[split].labels)
        assert remote["train"].classes == local["train"].classes == ("cat", "dog")
    finally:
        catalog.unregister("photos")
        catalog.unregister("pets-local")


def test_from_folder_on_s3_checks_sizes_and_md5(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fake_tree(tmp_path / "pets", {"cat": 2, "dog": 2})
    s3.put(str(tmp_path / "pets") + "/", f"{BUCKET}/bad/", recursive=True)
    from imagesets import remote_tree

    real = remote_tree._md5
    monkeypatch.setattr(remote_tree, "_md5", lambda path: "0" * 32 if "cat" in str(path)
                        else real(path))  # fmt: skip
    with pytest.raises(FetchError, match=r"(?s)object\(s\) under .*cat/img000.jpg: md5: expected"):
        imagesets.from_folder(f"s3://{BUCKET}/bad", progress=False)
    with pytest.raises(FetchError, match="holds no object"):
        imagesets.from_folder(f"s3://{BUCKET}/empty/", progress=False)


def test_an_object_store_url_without_the_extra_names_it(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setenv("IMAGESETS_MIRROR", "s3://bucket/datasets")
    with pytest.raises(MissingDependencyError, match=r"imagesets\[cloud\]"):
        imagesets.download("fake-mnist", progress=False)
    with pytest.raises(MissingDependencyError, match=r"imagesets\[cloud\]"):
        imagesets.from_folder("s3://bucket/photos/", progress=False)


def test_an_object_store_mirror_needs_a_bucket(
    fake_mnist: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGESETS_MIRROR", "s3:///datasets")
    with pytest.raises(FetchError, match=r"no bucket.*s3://BUCKET/PATH"):
        imagesets.download("fake-mnist", progress=False)
