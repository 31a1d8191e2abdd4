"""Fake CIFAR-10 / CIFAR-100 archives in the real layouts, and hostile archives for tests.

The python edition is written the way the real files were: Python 2 protocol-2 pickles whose
keys and strings are Python 2 byte strings and whose ``data`` is a ``numpy.core.multiarray``
ndarray (``pickle_style="py2"``, emitted opcode by opcode). ``"py3-bytes"`` and ``"py3-str"``
instead use today's :func:`pickle.dumps` (protocol 2) with bytes or str keys, as files re-saved
under Python 3 look.

>>> splits = make_fake_cifar("cifar10", n_train=10, n_test=5, seed=0)
>>> splits["train"].images.shape, splits["train"].images.dtype
((10, 32, 32, 3), dtype('uint8'))
"""

from __future__ import annotations

import io
import pickle
import shlex
import struct
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR100_FINE_TO_COARSE",
    "FakeSplit",
    "PickleStyle",
    "binary_records",
    "fake_names",
    "make_fake_cifar",
    "malicious_pickle",
    "py2_pickle",
    "write_cifar_binary",
    "write_cifar_python",
    "write_malicious_cifar_python",
    "write_unsafe_tar",
    "write_unsafe_zip",
]

CIFAR10_CLASSES = (
    "airplane automobile bird cat deer dog frog horse ship truck".split()  # noqa: SIM905
)

#: The real CIFAR-100 fine -> coarse label map (index = fine label), from the real arrays.
CIFAR100_FINE_TO_COARSE = np.array(
    [4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
     6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
     5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
     10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
     16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13],
    dtype=np.uint8,
)  # fmt: skip

PickleStyle = Literal["py2", "py3-bytes", "py3-str"]
_Variant = Literal["cifar10", "cifar100"]


class FakeSplit(NamedTuple):
    """One split: ``images`` uint8 (N, 32, 32, 3) NHWC, ``labels`` uint8 (N,) (CIFAR-100: fine),
    ``coarse_labels`` uint8 (N,) for CIFAR-100 else None."""

    images: np.ndarray[Any, Any]
    labels: np.ndarray[Any, Any]
    coarse_labels: np.ndarray[Any, Any] | None = None


def make_fake_cifar(
    variant: _Variant, n_train: int, n_test: int, seed: int = 0
) -> dict[str, FakeSplit]:
    """Deterministic random splits ``{"train": ..., "test": ...}`` for ``variant``.

    Images are uniform uint8 in [0, 255]; labels uniform over the classes; CIFAR-100 coarse
    labels follow :data:`CIFAR100_FINE_TO_COARSE`.
    """
    rng = np.random.default_rng(seed)
    classes = 10 if variant == "cifar10" else 100

    def split(n: int) -> FakeSplit:
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, classes, size=n, dtype=np.uint8)
        coarse = CIFAR100_FINE_TO_COARSE[labels] if variant == "cifar100" else None
        return FakeSplit(images, labels, coarse)

    return {"train": split(n_train), "test": split(n_test)}


def fake_names(variant: _Variant) -> dict[str, list[str]]:
    """Class names written to fake meta files: real CIFAR-10 names, made-up CIFAR-100 names."""
    if variant == "cifar10":
        return {"classes": list(CIFAR10_CLASSES)}
    return {
        "classes": [f"fine_{i:02d}" for i in range(100)],
        "superclasses": [f"coarse_{i:02d}" for i in range(20)],
    }


# --------------------------------------------------------------------------------------------
# a Python 2 protocol-2 pickle emitter (what cPickle wrote for the real files)


class _Py2Global(NamedTuple):
    module: str
    name: str


def _p2_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)
    return b"J" + struct.pack("<i", value)


def _p2_bytes(value: bytes) -> bytes:  # a Python 2 str
    if len(value) < 256:
        return b"U" + bytes([len(value)]) + value
    return b"T" + struct.pack("<I", len(value)) + value


def _p2_tuple(items: Sequence[Any]) -> bytes:
    body = b"".join(_p2(x) for x in items)
    short = {0: b")", 1: b"\x85", 2: b"\x86", 3: b"\x87"}
    return body + short[len(items)] if len(items) in short else b"(" + body + b"t"


def _p2_list(items: Sequence[Any]) -> bytes:
    return b"]" + (b"(" + b"".join(_p2(x) for x in items) + b"e" if items else b"")


def _p2_dict(items: Mapping[Any, Any]) -> bytes:
    body = b"".join(_p2(k) + _p2(v) for k, v in items.items())
    return b"}" + (b"(" + body + b"u" if items else b"")


def _p2_ndarray(arr: np.ndarray[Any, Any]) -> bytes:
    """``arr`` exactly as numpy 1.x under Python 2 pickled it (``_reconstruct`` + BUILD)."""
    dtype = _p2(_Py2Global("numpy", "dtype")) + _p2_tuple([arr.dtype.str[1:].encode(), 0, 1])
    dtype += b"R" + _p2_tuple([3, b"|", None, None, None, -1, -1, 0]) + b"b"
    head = _p2(_Py2Global("numpy.core.multiarray", "_reconstruct"))
    head += _p2_tuple([_Py2Global("numpy", "ndarray"), (0,), b"b"]) + b"R"
    state = b"(" + _p2_int(1) + _p2_tuple(arr.shape) + dtype + b"\x89"
    return head + state + _p2_bytes(np.ascontiguousarray(arr).tobytes()) + b"tb"


_P2: dict[type, Callable[[Any], bytes]] = {
    bool: lambda v: b"\x88" if v else b"\x89",
    int: _p2_int,
    bytes: _p2_bytes,
    str: lambda v: b"X" + struct.pack("<I", len(v.encode())) + v.encode(),
    type(None): lambda v: b"N",
    tuple: _p2_tuple,
    list: _p2_list,
    dict: _p2_dict,
    np.ndarray: _p2_ndarray,
    _Py2Global: lambda g: b"c" + f"{g.module}\n{g.name}\n".encode(),
}


def _p2(value: Any) -> bytes:
    return _P2[type(value)](value)


def py2_pickle(obj: Any) -> bytes:
    """``obj`` (dicts, lists, tuples, bytes = Python 2 str, str = unicode, ints, None, bools,
    numpy arrays) as a Python 2 ``cPickle.dumps(obj, 2)`` would have written it."""
    return b"\x80\x02" + _p2(obj) + b"."


# --------------------------------------------------------------------------------------------
# the python edition


def _chw(images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """NHWC uint8 -> (N, 3072) rows of 1024 R, 1024 G, 1024 B, as in the real files."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)


def _encode_pickle(batch: dict[str, Any], style: PickleStyle) -> bytes:
    """A batch dict with str keys and str values, written in ``style``."""
    if style == "py3-str":
        return pickle.dumps(batch, protocol=2)

    def to_bytes(v: Any) -> Any:
        if isinstance(v, str):
            return v.encode("latin1")
        return [to_bytes(x) for x in v] if isinstance(v, list) else v

    converted = {k.encode("latin1"): to_bytes(v) for k, v in batch.items()}
    return py2_pickle(converted) if style == "py2" else pickle.dumps(converted, protocol=2)


def _python_batch(split: FakeSplit, name: str, label: str) -> dict[str, Any]:
    n = len(split.images)
    batch: dict[str, Any] = {"batch_label": label}
    if split.coarse_labels is None:
        batch["labels"] = [int(x) for x in split.labels]
    else:
        batch["fine_labels"] = [int(x) for x in split.labels]
        batch["coarse_labels"] = [int(x) for x in split.coarse_labels]
    batch["data"] = _chw(split.images)
    batch["filenames"] = [f"{name}_{i:05d}.png" for i in range(n)]
    return batch


SplitArrays = Sequence["np.ndarray[Any, Any] | None"]


def _as_split(value: SplitArrays) -> FakeSplit:
    """``(images, labels[, coarse_labels])`` as a :class:`FakeSplit`."""
    if isinstance(value, FakeSplit):
        return value
    images, labels, *rest = value
    if images is None or labels is None or len(rest) > 1:
        raise ValueError("a split is (images, labels) or (images, labels, coarse_labels)")
    coarse = None if not rest or rest[0] is None else np.asarray(rest[0], dtype=np.uint8)
    return FakeSplit(np.asarray(images, np.uint8), np.asarray(labels, np.uint8), coarse)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 1_234_567_890
    tar.addfile(info, io.BytesIO(data))


def _write_tar(path: Path, root: str, members: dict[str, bytes], compresslevel: int) -> Path:
    """A .tar.gz with folder ``root`` and ``members`` in reverse name order (like the real
    archives, whose members are not in batch order)."""
    with tarfile.open(path, "w:gz", compresslevel=compresslevel) as tar:
        info = tarfile.TarInfo(root)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        for name in sorted(members, reverse=True):
            _add(tar, f"{root}/{name}", members[name])
    return Path(path)


def _train_parts(split: FakeSplit, batches: int) -> list[FakeSplit]:
    bounds = np.array_split(np.arange(len(split.images)), batches)
    coarse = split.coarse_labels
    return [
        FakeSplit(split.images[i], split.labels[i], None if coarse is None else coarse[i])
        for i in bounds
    ]


def write_cifar_python(
    path: Path,
    variant: _Variant,
    train: SplitArrays,
    test: SplitArrays,
    *,
    pickle_style: PickleStyle = "py2",
    names: Mapping[str, Sequence[str]] | None = None,
    compresslevel: int = 6,
) -> Path:
    """Write ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` in the real layout.

    ``train``/``test`` are ``(images, labels[, coarse_labels])`` (see :class:`FakeSplit`).
    CIFAR-10 train is cut into the five ``data_batch_k`` files; ``names`` defaults to
    :func:`fake_names`.
    """
    names = names or fake_names(variant)
    tr, te = _as_split(train), _as_split(test)
    members: dict[str, bytes] = {}
    if variant == "cifar10":
        for k, part in enumerate(_train_parts(tr, 5), start=1):
            label = f"training batch {k} of 5"
            members[f"data_batch_{k}"] = _encode_pickle(
                _python_batch(part, "x", label), pickle_style
            )
        members["test_batch"] = _encode_pickle(
            _python_batch(te, "t", "testing batch 1 of 1"), pickle_style
        )
        meta = {
            "num_cases_per_batch": 10000,
            "label_names": list(names["classes"]),
            "num_vis": 3072,
        }
        members["batches.meta"] = _encode_pickle(meta, pickle_style)
        members["readme.html"] = b"<html>fake</html>"
        return _write_tar(path, "cifar-10-batches-py", members, compresslevel)
    members["train"] = _encode_pickle(_python_batch(tr, "x", "training batch 1 of 1"), pickle_style)
    members["test"] = _encode_pickle(_python_batch(te, "t", "testing batch 1 of 1"), pickle_style)
    meta = {
        "fine_label_names": list(names["classes"]),
        "coarse_label_names": list(names["superclasses"]),
    }
    members["meta"] = _encode_pickle(meta, pickle_style)
    return _write_tar(path, "cifar-100-python", members, compresslevel)


# --------------------------------------------------------------------------------------------
# the binary edition


def binary_records(split: FakeSplit) -> bytes:
    """Records ``<label><3072>`` (CIFAR-10) or ``<coarse><fine><3072>`` (CIFAR-100)."""
    heads = [split.labels] if split.coarse_labels is None else [split.coarse_labels, split.labels]
    columns = [np.asarray(h, dtype=np.uint8)[:, None] for h in heads]
    return np.concatenate([*columns, _chw(split.images)], axis=1).tobytes()


def _text(lines: Sequence[str]) -> bytes:
    return ("\n".join(lines) + "\n\n").encode()


def write_cifar_binary(
    path: Path,
    variant: _Variant,
    train: SplitArrays,
    test: SplitArrays,
    *,
    names: Mapping[str, Sequence[str]] | None = None,
    compresslevel: int = 6,
) -> Path:
    """Write ``cifar-10-binary.tar.gz`` / ``cifar-100-binary.tar.gz`` in the real layout."""
    names = names or fake_names(variant)
    tr, te = _as_split(train), _as_split(test)
    if variant == "cifar10":
        members = {f"data_batch_{k}.bin": binary_records(p) for k, p in
                   enumerate(_train_parts(tr, 5), start=1)}  # fmt: skip
        members["test_batch.bin"] = binary_records(te)
        members["batches.meta.txt"] = _text(names["classes"])
        members["readme.html"] = b"<html>fake</html>"
        return _write_tar(path, "cifar-10-batches-bin", members, compresslevel)
    members = {"train.bin": binary_records(tr), "test.bin": binary_records(te)}
    members["fine_label_names.txt"] = _text(names["classes"])
    members["coarse_label_names.txt"] = _text(names["superclasses"])
    return _write_tar(path, "cifar-100-binary", members, compresslevel)


# --------------------------------------------------------------------------------------------
# hostile inputs


class _Shell:
    """Pickles as ``os.system(command)``: unpickling it with :func:`pickle.loads` runs it."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (self.command,))


def malicious_pickle(marker: Path) -> bytes:
    """A protocol-2 pickle of a CIFAR-like batch dict whose ``data`` value, when loaded by a
    plain unpickler, runs ``touch <marker>`` through ``os.system``."""
    payload = {
        b"batch_label": b"training batch 1 of 5",
        b"data": _Shell(f"touch {shlex.quote(str(marker))}"),
    }
    return pickle.dumps(payload, protocol=2)


def write_malicious_cifar_python(path: Path, marker: Path, member: str = "data_batch_1") -> Path:
    """A CIFAR-10 python archive in the real layout where ``member`` is :func:`malicious_pickle`."""
    splits = make_fake_cifar("cifar10", 5, 2, seed=0)
    write_cifar_python(path, "cifar10", splits["train"], splits["test"])
    with tarfile.open(path, "r:gz") as src:
        members = {m.name.split("/", 1)[1]: src.extractfile(m).read()  # type: ignore[union-attr]
                   for m in src.getmembers() if m.isreg()}  # fmt: skip
    members[member] = malicious_pickle(marker)
    return _write_tar(path, "cifar-10-batches-py", members, 6)


UnsafeTarKind = Literal["parent", "absolute", "symlink", "hardlink", "device", "fifo", "backslash"]


def _unsafe_tar_info(kind: UnsafeTarKind) -> tarfile.TarInfo:
    names = {"parent": "data/../../evil.txt", "absolute": "/tmp/evil.txt",
             "backslash": "data\\..\\..\\evil.txt"}  # fmt: skip
    info = tarfile.TarInfo(names.get(kind, "data/evil"))
    types = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
             "device": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}  # fmt: skip
    if kind in types:
        info.type = types[kind]
        info.linkname = "/etc/passwd" if kind in ("symlink", "hardlink") else ""
    return info


def write_unsafe_tar(path: Path, kind: UnsafeTarKind, mode: str = "w:gz") -> Path:
    """A tar holding a harmless ``data/ok.txt`` then one unsafe member of ``kind``."""
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        _add(tar, "data/ok.txt", b"fine\n")
        info = _unsafe_tar_info(kind)
        payload = b"evil\n" if info.isreg() else b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload) if payload else None)
    return Path(path)


UnsafeZipKind = Literal["parent", "absolute", "drive", "backslash", "symlink", "fifo"]


def write_unsafe_zip(path: Path, kind: UnsafeZipKind) -> Path:
    """A zip holding a harmless ``data/ok.txt`` then one unsafe member of ``kind``."""
    names = {"parent": "data/../../evil.txt", "absolute": "/tmp/evil.txt",
             "drive": "C:/evil.txt", "backslash": "data\\..\\..\\evil.txt"}  # fmt: skip
    info = zipfile.ZipInfo(names.get(kind, "data/evil"))
    info.create_system = 3
    modes = {"symlink": 0o120777, "fifo": 0o010644}
    info.external_attr = modes.get(kind, 0o100644) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data/ok.txt", b"fine\n")
        zf.writestr(info, b"/etc/passwd" if kind == "symlink" else b"evil\n")
    return Path(path)
