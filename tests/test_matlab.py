"""The MATLAB v5 reader and writer, cross-checked against scipy.io in both directions."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io as sio

from imagesets.errors import FormatError
from imagesets.formats import matlab
from imagesets.formats.matlab import MatFile, MatStruct, list_variables, read_variable
from imagesets.testing.matlab import write_fake_imagenet_meta, write_mat

RNG = np.random.default_rng(7)
NUMERIC: dict[str, Any] = {
    "u8": RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8),
    "i8": RNG.integers(-128, 128, (2, 7), dtype=np.int8),
    "u16": RNG.integers(0, 65536, (5,), dtype=np.uint16),
    "i16": np.int16(-7),
    "i32": RNG.integers(-(2**31), 2**31, (4, 1), dtype=np.int32),
    "u32": RNG.integers(0, 2**32, (1, 3), dtype=np.uint32),
    "i64": RNG.integers(-(2**62), 2**62, (2, 2), dtype=np.int64),
    "u64": RNG.integers(0, 2**63, (3, 2), dtype=np.uint64),
    "f32": RNG.standard_normal((6, 2, 2)).astype(np.float32),
    "f64": RNG.standard_normal((32, 32, 3, 2)),
    "empty": np.zeros((0, 3), np.float64),
    "logic": RNG.integers(0, 2, (4, 3)).astype(bool),
    "big": RNG.integers(0, 256, (70000,), dtype=np.uint8),
}
COMPLEX = {"c128": RNG.standard_normal((3, 2)) + 1j, "c64": np.complex64([[1 + 2j, -3j]])}


def _same(ours: Any, ref: np.ndarray[Any, Any]) -> None:
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("compress", [False, True])
def test_reads_what_scipy_wrote(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "s.mat"
    sio.savemat(path, {**NUMERIC, **COMPLEX}, do_compression=compress)
    as_matlab = sio.loadmat(path, variable_names=list(NUMERIC), mat_dtype=True)  # class dtypes
    as_stored = sio.loadmat(path, variable_names=list(COMPLEX))  # mat_dtype would drop imag
    for name in NUMERIC:
        _same(read_variable(path, name), as_matlab[name])
    for name in COMPLEX:
        _same(read_variable(path, name), as_stored[name])


@pytest.mark.parametrize("compress", [False, True])
def test_lists_headers_like_scipy_whosmat(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "s.mat"
    sio.savemat(path, {**NUMERIC, **COMPLEX}, do_compression=compress)  # whosmat squeezes chars
    ours = [
        (v.name, v.dims, "logical" if v.is_logical else v.mat_class) for v in list_variables(path)
    ]
    theirs = [(name, shape, cls) for name, shape, cls in sio.whosmat(path)]
    assert ours == theirs
    assert all(v.compressed == compress for v in list_variables(path))


@pytest.mark.parametrize("compress", [False, True])
def test_scipy_reads_what_we_wrote_byte_for_byte(tmp_path: Path, compress: bool) -> None:
    ours, theirs = tmp_path / "ours.mat", tmp_path / "scipy.mat"
    write_mat(ours, {**NUMERIC, **COMPLEX}, compress=compress)
    sio.savemat(theirs, {**NUMERIC, **COMPLEX}, do_compression=compress)
    assert ours.read_bytes()[116:] == theirs.read_bytes()[116:]  # all but the header text
    loaded = sio.loadmat(ours, variable_names=list(NUMERIC), mat_dtype=True)
    loaded.update(sio.loadmat(ours, variable_names=list(COMPLEX)))
    for name, value in {**NUMERIC, **COMPLEX}.items():
        expected = np.asarray(value)
        expected = expected.reshape(1, -1) if expected.ndim < 2 else expected
        _same(loaded[name], expected)


def test_char_struct_and_cell_from_scipy(tmp_path: Path) -> None:
    path = tmp_path / "c.mat"
    cells = np.array([1.5, "x", np.eye(2)], dtype=object)
    record = {"a": 2.0, "name": "héllo €", "sub": {"k": np.arange(3, dtype=np.uint8)}}
    sio.savemat(path, {"s": "row", "m": np.array(["ab", "cd"]), "e": "", "c": cells, "r": record})
    assert read_variable(path, "s") == "row"
    _same(read_variable(path, "m"), np.array(["ab", "cd"]))
    assert read_variable(path, "e") == ""
    got = read_variable(path, "c")
    assert isinstance(got, np.ndarray) and got.shape == (1, 3) and got[0, 1] == "x"
    _same(got[0, 2], np.eye(2))
    st = read_variable(path, "r")
    assert isinstance(st, MatStruct) and st.dims == (1, 1) and st.fields == ("a", "name", "sub")
    assert st[0]["name"] == "héllo €"
    sub = st[0]["sub"]
    assert isinstance(sub, MatStruct)
    _same(sub.column("k")[0], np.arange(3, dtype=np.uint8).reshape(1, 3))


def test_char_struct_and_cell_to_scipy(tmp_path: Path) -> None:
    path = tmp_path / "c.mat"
    st = MatStruct((2, 1), ("x", "y"), ({"x": 1.0, "y": "ab"}, {"x": np.arange(3), "y": ""}))
    cells = np.array([np.int8(3), "word"], dtype=object)
    write_mat(path, {"st": st, "m": np.array(["abc", "xyz"]), "c": cells})
    loaded = sio.loadmat(path)
    assert loaded["st"].shape == (2, 1) and loaded["st"][0, 0]["y"][0] == "ab"
    _same(loaded["st"][1, 0]["x"], np.arange(3).reshape(1, 3))
    _same(loaded["m"], np.array(["abc", "xyz"]))
    assert loaded["c"][0, 1][0] == "word"
    back = read_variable(path, "st")
    assert isinstance(back, MatStruct) and back.column("y") == ["ab", ""]


@pytest.mark.parametrize("compress", [False, True])
def test_narrow_storage_converts_to_class(tmp_path: Path, compress: bool) -> None:
    """MATLAB stores integral doubles as miUINT8 etc.; we convert to double, as MATLAB does."""
    path = tmp_path / "n.mat"
    values = {
        "small": np.array([[1.0, 10.0]]),
        "neg": np.array([[-3.0, 300.0]]),
        "f": np.eye(2) / 3,
    }
    write_mat(path, values, narrow=True, compress=compress)
    stored = sio.loadmat(path)  # scipy's default shows the stored type
    assert stored["small"].dtype == np.uint8 and stored["neg"].dtype == np.int16
    for name, value in values.items():
        _same(read_variable(path, name), value)


@pytest.mark.parametrize("compress", [False, True])
def test_big_endian_files(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "be.mat"
    values = {"x": NUMERIC["i32"], "f": NUMERIC["f64"], "s": "big", "t": NUMERIC["logic"]}
    write_mat(path, values, byteorder=">", compress=compress)
    assert path.read_bytes()[126:128] == b"MI"
    loaded = sio.loadmat(path, mat_dtype=True)
    for name in ("x", "f", "t"):
        _same(read_variable(path, name), values[name])
        np.testing.assert_array_equal(loaded[name], values[name])
    assert read_variable(path, "s") == "big"


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**6])
def test_iter_data_streams_column_major(tmp_path: Path, compress: bool, chunk: int) -> None:
    path = tmp_path / "x.mat"
    x = RNG.integers(0, 256, (4, 5, 3, 9), dtype=np.uint8)
    write_mat(path, {"x": x, "d": np.array([[2.5]])}, compress=compress, narrow=True)
    with MatFile(path) as mat:
        parts = list(mat.iter_data("x", chunk))
        assert all(p.size <= chunk for p in parts)
        np.testing.assert_array_equal(np.concatenate(parts), x.ravel(order="F"))
        assert [p.tolist() for p in mat.iter_data("d")] == [[2.5]]


def test_inflates_in_small_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny input and output chunks exercise every branch of the streaming inflater."""
    monkeypatch.setattr(matlab, "_INPUT_CHUNK", 3)
    monkeypatch.setattr(matlab, "_OUTPUT_CHUNK", 5)
    path = tmp_path / "z.mat"
    x = np.zeros((300, 40), np.uint8)  # compresses ~100x: one input byte gives many outputs
    x[::7] = 9
    write_mat(path, {"x": x, "s": "after"}, compress=True)
    _same(read_variable(path, "x"), x)
    assert read_variable(path, "s") == "after"


def test_fake_imagenet_meta_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "meta.mat"
    wnids, words = ["n01440764", "n01443537", "n15075141"], ["tench", "goldfish", "toilet tissue"]
    write_fake_imagenet_meta(path, wnids, words)
    synsets = read_variable(path, "synsets")
    assert isinstance(synsets, MatStruct) and synsets.dims == (4, 1)
    assert synsets.fields[:3] == ("ILSVRC2012_ID", "WNID", "words")
    assert synsets.column("WNID") == [*wnids, "n00001740"]
    assert [float(np.asarray(v).item()) for v in synsets.column("num_children")] == [0, 0, 0, 3]
    children = synsets[3]["children"]
    assert isinstance(children, np.ndarray) and children.dtype == np.float64
    assert children.tolist() == [[1.0, 2.0, 3.0]] and np.asarray(synsets[0]["children"]).size == 0
    ref = sio.loadmat(path, squeeze_me=True)["synsets"]  # how torchvision reads it
    assert [str(w) for w in ref["WNID"]] == [*wnids, "n00001740"]
    assert [int(i) for i in ref["ILSVRC2012_ID"]] == [1, 2, 3, 4]
    assert ref["words"][2] == "toilet tissue"


def test_variable_lookup_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.mat"
    write_mat(path, {"a": np.eye(2)})
    with pytest.raises(FormatError, match=r"a\.mat.*'zz'.*\['a'\]"):
        read_variable(path, "zz")
    with MatFile(path) as mat, pytest.raises(ValueError, match="positive"):
        mat.iter_data("a", 0)
    with pytest.raises(KeyError, match="no field"):
        MatStruct((1, 1), ("f",), ({"f": "x"},)).column("g")


def _valid(tmp_path: Path, compress: bool = False) -> bytes:
    path = tmp_path / "valid.mat"
    write_mat(path, {"x": np.arange(20.0).reshape(4, 5), "s": "ab"}, compress=compress)
    return path.read_bytes()


def _patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


HEADER_CASES = {
    "short": (lambda d: d[:100], "header: expected 128 bytes"),
    "text": (lambda d: _patched(d, 0, b"NOTMATLAB"), "header text"),
    "v73": (lambda d: _patched(d, 0, b"MATLAB 7.3 MAT-file"), "h5py"),
    "version": (lambda d: _patched(d, 124, b"\x00\x02"), "version: expected 0x0100, found 0x0200"),
    "endian": (lambda d: _patched(d, 126, b"XX"), "endian indicator"),
    "subsystem": (lambda d: _patched(d, 116, (10**9).to_bytes(8, "little")), "subsystem"),
    "tag": (lambda d: _patched(d, 128, b"\x09\0\0\0"), "tag at byte 128"),
    "size": (lambda d: _patched(d, 132, b"\xff\xff\xff\x00"), "element size at byte 128"),
    "class": (lambda d: _patched(d, 144, b"\x63"), "array flags"),
    "dims": (lambda d: _patched(d, 152, b"\x05\0\0\0\x04\0\0\0"), "dimensions"),
    "negative": (lambda d: _patched(d, 160, b"\xff\xff\xff\xff"), "non-negative"),
    "datatype": (lambda d: _patched(d, 176, b"\x0e"), "data type"),
    "datasize": (lambda d: _patched(d, 180, b"\x10"), "data size"),
    "small": (lambda d: _patched(d, 168, b"\x01\0\x09\0"), "small element"),
    "truncated": (lambda d: d[:-30], "element size"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_malformed_files_are_format_errors(tmp_path: Path, case: str) -> None:
    damage, message = HEADER_CASES[case]
    path = tmp_path / "bad.mat"
    path.write_bytes(damage(_valid(tmp_path)))
    with pytest.raises(FormatError, match=message) as info, MatFile(path) as mat:
        for v in mat.variables:
            mat.read(v.name)
    assert str(path) in str(info.value)


def test_corrupt_and_short_zlib_streams(tmp_path: Path) -> None:
    data = _valid(tmp_path, compress=True)
    path = tmp_path / "bad.mat"
    path.write_bytes(_patched(data, 136, b"\xff\xff"))  # the first zlib stream header
    with pytest.raises(FormatError, match="zlib"):
        MatFile(path)
    payload = zlib.compress(b"\x0e\0\0\0\x00\x01\0\0" + b"\x06\0\0\0\x08\0\0\0" + b"\x06" * 8)
    tag = (15).to_bytes(4, "little") + len(payload).to_bytes(4, "little")
    path.write_bytes(data[:128] + tag + payload)  # a stream that ends inside the matrix
    with pytest.raises(FormatError, match="ends after"):
        MatFile(path)


@pytest.mark.parametrize("streamed", [False, True])
def test_zlib_checksum_is_verified(tmp_path: Path, streamed: bool) -> None:
    path = tmp_path / "z.mat"
    write_mat(path, {"x": np.arange(1000, dtype=np.int32)}, compress=True)
    data = path.read_bytes()
    path.write_bytes(data[:-4] + bytes(b ^ 1 for b in data[-4:]))  # the Adler-32 trailer
    with MatFile(path) as mat, pytest.raises(FormatError, match="incorrect data check"):
        list(mat.iter_data("x", 100)) if streamed else mat.read("x")


def test_every_truncation_is_a_format_error_or_a_shorter_file(tmp_path: Path) -> None:
    for compress in (False, True):
        data = _valid(tmp_path, compress)
        for cut in range(len(data)):
            (tmp_path / "cut.mat").write_bytes(data[:cut])
            try:
                with MatFile(tmp_path / "cut.mat") as mat:
                    values = [mat.read(v.name) for v in mat.variables]
            except FormatError:
                continue
            assert len(values) < 2  # only a cut between two whole variables reads


def test_random_damage_never_crashes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    st = MatStruct((1, 2), ("a", "b"), ({"a": 1.0, "b": "x"}, {"a": "y", "b": np.eye(2)}))
    for compress in (False, True):
        path = tmp_path / "ok.mat"
        write_mat(path, {"st": st, "c": np.array([1, "z"], dtype=object)}, compress=compress)
        data = bytearray(path.read_bytes())
        for _ in range(300):
            bad = bytearray(data)
            for at in rng.integers(128, len(data), 3):
                bad[at] = int(rng.integers(0, 256))
            path.write_bytes(bytes(bad))
            try:
                with MatFile(path) as mat:
                    [mat.read(v.name) for v in mat.variables]
            except FormatError:
                pass


def test_a_thousand_nested_cells_are_a_format_error(tmp_path: Path) -> None:
    """1,000 cells each holding the next: a FormatError, not a RecursionError."""
    from imagesets.testing.matlab import HEADER_TEXT, _Encoder, _file_header

    enc = _Encoder("<", narrow=False)
    element = enc.matrix(np.zeros((1, 1)), "")
    for depth in range(1000):
        head = enc.header("cell", (1, 1), "c" if depth == 999 else "")
        element = enc.u4(14, len(head) + len(element)) + head + element
    path = tmp_path / "deep.mat"
    path.write_bytes(_file_header("<", HEADER_TEXT) + element)
    with pytest.raises(FormatError, match=r"deep\.mat: nested element"):
        read_variable(path, "c")


def test_compressed_element_claiming_more_than_zlib_can_inflate(tmp_path: Path) -> None:
    import zlib

    from imagesets.testing.limits import memory_cap
    from imagesets.testing.matlab import HEADER_TEXT, _Encoder, _file_header

    enc = _Encoder("<", narrow=False)
    claimed = (1 << 31) - 1024  # bytes of char data claimed inside a tiny zlib stream
    head = enc.header("char", (1, claimed // 2), "s") + enc.u4(4, claimed)
    payload = zlib.compress(enc.u4(14, len(head) + claimed) + head + b"\0" * 64)
    path = tmp_path / "z.mat"
    path.write_bytes(_file_header("<", HEADER_TEXT) + enc.u4(15, len(payload)) + payload)
    with memory_cap(1 << 30), pytest.raises(FormatError, match=r"z\.mat"):
        read_variable(path, "s")
