"""Ray: split.to_ray() for training ingest, exports as Ray tasks, retries and failures.

One local Ray (``ray.init(num_cpus=2)``) serves the whole module.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tarfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

import imagesets
from conftest import imported_fake
from imagesets import catalog, exports
from imagesets.adapters.ray import ClusterError, PortableSplit, export_on_ray, run_bounded
from imagesets.dataset import Split
from imagesets.errors import ArgumentError
from imagesets.folders import folder_entry
from imagesets.formats.image_sink import Record
from imagesets.testing.images import make_fake_tree

pytestmark = [
    pytest.mark.ray,
    # Ray Data warns about its own deprecated settings from inside ray (not our calls)
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
    # JAX (imported by other test modules) warns at every fork; Ray forks its processes
    pytest.mark.filterwarnings(r"ignore:os\.fork\(\) was called:RuntimeWarning"),
    # iter_torch_batches hands torch Ray's own zero-copy (read-only) Arrow blocks; torch warns
    # once per process, so whether a test sees it depends on the order: never ours to fix
    pytest.mark.filterwarnings("ignore:The given NumPy array is not writable:UserWarning"),
]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    with warnings.catch_warnings():  # JAX's at-fork warning, if another module imported it
        warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def mnist() -> Split:
    return imagesets.load("mnist", "train", sample=True, progress=False)["train"]


@pytest.fixture
def packed(tmp_path: Path) -> Iterator[Split]:
    make_fake_tree(tmp_path / "zoo", {"cat": 5, "dog": 4, "fox": 3})
    yield imagesets.from_folder(tmp_path / "zoo", progress=False)["all"]
    catalog.unregister("zoo")


def same_batches(split: Split, batch: int, size: int | None = None) -> bool:
    got = list(split.to_ray(size=size, block_size=96).iter_torch_batches(batch_size=batch))
    ref = list(split.batches(batch, shuffle=False, size=size))
    assert len(got) == len(ref)
    for g, (images, labels) in zip(got, ref, strict=True):
        assert np.array_equal(g["image"].numpy(), images)
        assert np.array_equal(g["label"].numpy(), labels)
    return True


def test_to_ray_yields_the_examples_of_batches(mnist: Split) -> None:
    assert same_batches(mnist, 64)
    assert same_batches(mnist[100:400], 50)
    assert same_batches(mnist[np.arange(999, 0, -7)], 32)
    assert same_batches(mnist.shard(1, 3), 100)
    assert same_batches(mnist.filter([3, 5]), 16)


def test_to_ray_of_a_packed_split_decodes_to_size(packed: Split) -> None:
    assert same_batches(packed, 5, size=24)
    with pytest.raises(ArgumentError, match="size=N"):
        packed.to_ray()
    with pytest.raises(ArgumentError, match="block_size"):
        packed.to_ray(size=8, block_size=0)


def test_a_ray_task_decodes_its_block_on_one_thread(
    packed: Split, monkeypatch: pytest.MonkeyPatch, sized_takes: list[tuple[int, str]]
) -> None:
    """A task holds one CPU of Ray's, so it decodes on one thread, not the split's pool."""
    from imagesets.adapters.ray import _read_rows

    monkeypatch.setattr("imagesets.sources.default_workers", lambda: 3)  # the split's own pool
    ids = np.arange(2, 9)
    got = _read_rows({"id": ids}, recipe=PortableSplit.of(packed), size=24)
    assert [w for w, _ in sized_takes] == [1]
    assert np.array_equal(got["image"], packed.pixels(24).take(ids))


def test_to_ray_columns_and_normalized_splits() -> None:
    ds = imagesets.load("mnist", "test", sample=True, normalize=True, progress=False)
    split = ds["test"]
    rows = split[:10].to_ray().take_batch(10, batch_format="numpy")
    assert sorted(rows) == ["image", "label"]
    assert rows["image"].dtype == np.float32
    assert np.array_equal(rows["image"], split.images[:10])


def test_a_split_travels_as_paths_not_pixels(mnist: Split) -> None:
    """The driver ships file views: the pickle stays small whatever the split's size."""
    for split in (mnist, mnist[500:], mnist.shard(0, 2)):
        recipe = PortableSplit.of(split)
        assert len(pickle.dumps(recipe)) < 20_000 < split.images.nbytes
        back = recipe.open()
        assert np.array_equal(back.images, split.images)
        assert np.array_equal(back.labels, split.labels)


def test_export_on_ray_writes_the_local_bytes(mnist: Split, tmp_path: Path) -> None:
    local = exports.export_split(mnist, "webdataset", tmp_path / "a", shard_size=300)
    remote = export_on_ray(mnist, "webdataset", tmp_path / "b", shard_size=300, window=2)
    assert [p.name for p in remote] == [p.name for p in local]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(local, remote, strict=True))
    written = imagesets.api.export(
        "mnist", tmp_path / "c", format="parquet", splits="test", sample=True,
        shard_size=600, engine="ray", progress=False,
    )  # fmt: skip
    assert [p.name for p in written["test"]] == ["test-00000-of-00002.parquet",
                                                 "test-00001-of-00002.parquet"]  # fmt: skip
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".")]


def test_a_killed_worker_is_retried_or_fails_clearly(tmp_path: Path) -> None:
    def _dies_once(marker: str, value: int) -> int:
        """Kills its worker process the first time (the marker file does not exist yet)."""
        if not Path(marker).exists():
            Path(marker).touch()
            os._exit(1)
        return value * 2

    retried = ray.remote(max_retries=2)(_dies_once)
    out = list(run_bounded(ray, lambda v: retried.remote(str(tmp_path / "m1"), v), range(5), 2))
    assert out == [0, 2, 4, 6, 8]
    once = ray.remote(max_retries=0)(_dies_once)
    with pytest.raises(ClusterError, match="a Ray task failed after its retries"):
        list(run_bounded(ray, lambda v: once.remote(str(tmp_path / "m2"), v), range(3), 2))


def test_an_unreachable_address_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="engine='ray'"):
        imagesets.api.export("mnist", tmp_path, format="folder", sample=True, address="x:1")
    code = (
        "import sys\nfrom imagesets.cli import main\n"
        f"sys.exit(main(['export', 'mnist', '--sample', '--format', 'folder', '-q', "
        f"'--engine', 'ray', '--address', '127.0.0.1:1', {str(tmp_path / 'o')!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(imagesets.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "Ray cluster at 127.0.0.1:1 cannot be reached" in proc.stderr
    assert "ray start --head" in proc.stderr


# --------------------------------------------------------------------------- prepare on Ray


def prepared_files(folder: Path) -> dict[str, bytes]:
    """Every file of a prepared split by name, manifest included, less its one timing field:
    a folder's listing records when it was walked (``racy_since``)."""
    files = {path.name: path.read_bytes() for path in sorted(folder.iterdir())}
    manifest = json.loads(files["manifest.json"])
    if isinstance(manifest.get("listing"), dict):
        manifest["listing"].pop("racy_since", None)
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


@pytest.fixture
def tree_entry(tmp_path: Path) -> Iterator[str]:
    spec = {
        "train/cat": ["jpeg", "gray_jpeg", "truncated_jpeg", "png_as_jpg"] * 3,
        "train/dog": ["jpeg", "not_image", "palette_png"] * 3,
        "test/cat": 3,
        "test/dog": 2,
    }
    make_fake_tree(tmp_path / "farm", spec)
    catalog.register(folder_entry(tmp_path / "farm"))
    yield "farm"
    catalog.unregister("farm")


@pytest.mark.parametrize("options", [{"size": 24}, None])
def test_prepare_on_ray_writes_the_local_split(
    tree_entry: str, tmp_path: Path, options: dict[str, int] | None
) -> None:
    local = imagesets.prepare(tree_entry, root=tmp_path / "a", options=options, progress=False)
    remote = imagesets.prepare(tree_entry, root=tmp_path / "b", options=options,
                               engine="ray", progress=False)  # fmt: skip
    for split in ("train", "test"):
        assert prepared_files(remote[split]) == prepared_files(local[split])
    skipped = json.loads((remote["train"] / "manifest.json").read_text())["skipped"]
    assert sorted(s["reason"] for s in skipped)[:1] == ["not an image"]


def killed_then_dead(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: Any, attr: str
) -> None:
    """Prepare ``name``'s train split on Ray while ``where.attr`` (run in the tasks) kills its
    worker once: the retried split equals the local one. Then while it always kills it: a
    ClusterError, and no split left in the cache."""
    kw: dict[str, Any] = {"options": {"size": 8}, "progress": False}
    local = imagesets.prepare(name, "train", root=tmp_path / "a", **kw)
    real, marker = getattr(where, attr), str(tmp_path / "killed")

    def dies_once(*args: Any) -> Any:  # by value to the workers; never run in this process
        if not Path(marker).exists():
            Path(marker).touch()
            os._exit(1)
        return real(*args)

    monkeypatch.setattr(where, attr, dies_once)
    remote = imagesets.prepare(name, "train", root=tmp_path / "b", engine="ray", **kw)
    assert Path(marker).exists()
    assert prepared_files(remote["train"]) == prepared_files(local["train"])

    def always_dies(*args: Any) -> Any:
        os._exit(1)

    monkeypatch.setattr(where, attr, always_dies)
    with pytest.raises(ClusterError, match="a Ray task failed after its retries"):
        imagesets.prepare(name, "train", root=tmp_path / "c", engine="ray", **kw)
    variant_dirs = list((tmp_path / "c" / "prepared" / name).iterdir())
    assert [p for d in variant_dirs if d.is_dir() for p in d.iterdir()] == []


def test_a_worker_killed_mid_prepare_is_retried_and_a_failure_leaves_nothing(
    tree_entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagesets.formats import image_sink

    killed_then_dead(tree_entry, tmp_path, monkeypatch, image_sink, "_decoded")


def holds_bytes(value: Any) -> bool:
    """Whether ``value`` (what the driver shipped to a task) carries image bytes or records."""
    if isinstance(value, (bytes, bytearray, memoryview, Record)):
        return True
    if isinstance(value, (tuple, list)):
        return any(holds_bytes(v) for v in value)
    return False


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every item the Ray engine of a prepare submits to a task, captured on the driver."""
    from imagesets.adapters import ray as ray_adapter

    real, seen = ray_adapter.run_bounded, []

    def spy(ray_: Any, submit: Any, items: Any, window: int) -> Any:
        def tap() -> Iterator[Any]:
            for item in items:
                seen.append(item)
                yield item

        return real(ray_, submit, tap(), window)

    monkeypatch.setattr(ray_adapter, "run_bounded", spy)
    return seen


def forbid(monkeypatch: pytest.MonkeyPatch, module: Any, *names: str) -> None:
    """Make the driver-side streamed readers ``names`` of ``module`` fail if called."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the driver read member bytes")

    for name in names:
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture
def imagenet_entry(tmp_path: Path) -> Iterator[str]:
    """Fake ImageNet (train: 12 images in class tars, val: 8 flat), imported under a, b, c."""
    yield from imported_fake(
        "imagenet", tmp_path, ("a", "b", "c"), counts={"train": 12, "val": 8}, seed=3,
        folder=lambda fakes: fakes["tars"].facts["ilsvrc"].train.parent,
    )  # fmt: skip


def test_prepare_on_ray_of_imagenet_tars_writes_the_local_split(
    imagenet_entry: str, tmp_path: Path, shipped: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ImageNet train (one task per class tar) and val (member ranges): the tasks read the
    tars by path and offset; the driver reads no image byte; the output is the local one."""
    from imagesets.formats import imagenet

    monkeypatch.setattr(imagenet, "VAL_UNIT", 3)  # 8 val images: units of 3, 3, 2
    for options in ({"size": 24}, None):
        kw: dict[str, Any] = {"options": options, "progress": False}
        local = imagesets.prepare(imagenet_entry, root=tmp_path / "a", **kw)
        with monkeypatch.context() as m:
            forbid(m, imagenet, "_train_items", "_val_items")
            remote = imagesets.prepare(imagenet_entry, root=tmp_path / "b", engine="ray", **kw)
        assert sorted(local) == ["train", "val"]
        for split in local:
            assert prepared_files(remote[split]) == prepared_files(local[split])
    assert shipped and not any(holds_bytes(item) for item in shipped)
    class_tars = [item for item in shipped if isinstance(item[0], str)]
    with tarfile.open(tmp_path / "given" / "ILSVRC2012_img_train.tar") as tf:
        inner = tf.getnames()
    assert len(inner) > 1 and [name for name, *_ in class_tars] == inner * 2
    assert all(name.endswith(".tar") and offset % 512 == 0 for name, _, offset, _ in class_tars)
    val_ranges = [item for item in shipped if not isinstance(item[0], str)]
    assert [len(unit) for unit in val_ranges] == [3, 3, 2] * 2


def test_prepare_on_ray_of_the_cats_and_dogs_zip_writes_the_local_split(
    pets_entry: str, tmp_path: Path, shipped: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit and the split's rows as ranges of zip members read by the tasks; the
    undecodable files are skipped with the same reasons; the output is the local one."""
    from imagesets.formats import _petimages_audit, petimages

    monkeypatch.setattr(petimages, "UNIT", 5)
    monkeypatch.setattr(_petimages_audit, "AUDIT_UNIT", 7)
    for options in ({"size": 24}, None):
        kw: dict[str, Any] = {"options": options, "progress": False}
        local = imagesets.prepare(pets_entry, root=tmp_path / "a", **kw)
        with monkeypatch.context() as m:
            forbid(m, petimages, "_records")
            forbid(m, _petimages_audit, "iter_files")
            remote = imagesets.prepare(pets_entry, root=tmp_path / "b", engine="ray", **kw)
        for split in ("train", "test"):
            assert prepared_files(remote[split]) == prepared_files(local[split])
    manifest = json.loads((remote["train"] / "manifest.json").read_text())
    assert {s["reason"] for s in manifest["skipped"]} >= {"zero bytes"}
    assert shipped and not any(holds_bytes(item) for item in shipped)
    audit_ranges = [u for u in shipped if isinstance(u[0], str)]
    row_ranges = [u for u in shipped if not isinstance(u[0], str)]
    assert audit_ranges and max(map(len, audit_ranges)) == 7
    assert row_ranges and max(map(len, row_ranges)) == 5


def test_a_worker_killed_while_reading_a_unit_is_retried(
    imagenet_entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task that dies inside read -> decode of a class tar is run again; the split is the
    local one; one that always dies is a ClusterError and leaves no split."""
    from imagesets.formats import imagenet

    killed_then_dead(imagenet_entry, tmp_path, monkeypatch, imagenet, "_train_unit")
