"""User-file loaders: CSV, .npz, image folders, IDX. Junk input must give a DatasetError."""

from __future__ import annotations

import gzip
import io
import pathlib
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from graph_compiler.training.datasets import Dataset, DatasetError, resolve_dataset
from graph_compiler.training.loaders import (
    load_csv,
    load_idx,
    load_image_folder,
    load_npz,
    read_idx,
)

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def write(tmp_path: pathlib.Path, text: str, name: str = "data.csv") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# CSV


def test_csv_numeric_features_and_integer_classes(tmp_path: pathlib.Path) -> None:
    ds = load_csv(write(tmp_path, "a,b,label\n1,2.5,3\n4,5,1\n7,8e1,3\n"), "label")
    assert ds.task == "classification" and ds.name == "data"
    assert ds.x.dtype == torch.float32 and ds.x.tolist() == [[1, 2.5], [4, 5], [7, 80]]
    assert ds.classes == ["1", "3"] and ds.y.tolist() == [1, 0, 1]
    assert ds.meta["feature_names"] == ["a", "b"] and ds.meta["target"] == "label"


def test_csv_regression_and_task_override(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)))
    ds = load_csv(path, "y")
    assert ds.task == "regression" and ds.y.shape == (30, 1) and ds.y.dtype == torch.float32
    assert ds.classes is None and float(ds.y[3, 0]) == 1.5
    ints = write(tmp_path, "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)), "ints.csv")
    assert load_csv(ints, "y").task == "classification"
    assert load_csv(ints, "y", task="regression").task == "regression"
    many = write(tmp_path, "x,y\n" + "".join(f"{i},{i}\n" for i in range(30)), "many.csv")
    assert load_csv(many, "y").task == "regression"
    assert load_csv(many, "y", task="classification").num_classes == 30


def test_csv_one_hot_and_text_labels(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "colour,size,zip,animal\nred,1,10,cat\nblue,2,20,dog\nred,3,10,cat\ngreen,4,30,bird\n",
    )
    ds = load_csv(path, "animal", categorical=["zip"])
    assert ds.classes == ["bird", "cat", "dog"] and ds.y.tolist() == [1, 2, 1, 0]
    assert ds.meta["one_hot"] == {"colour": ["blue", "green", "red"], "zip": ["10", "20", "30"]}
    assert ds.meta["feature_names"] == [
        "colour=blue",
        "colour=green",
        "colour=red",
        "size",
        "zip=10",
        "zip=20",
        "zip=30",
    ]
    assert ds.x[0].tolist() == [0, 0, 1, 1, 1, 0, 0] and ds.x[3].tolist() == [0, 1, 0, 4, 0, 0, 1]
    assert ds.input_shape == (7,)
    trimmed = load_csv(path, -1, ignore=["colour", "zip"])
    assert trimmed.meta["feature_names"] == ["size"] and trimmed.meta["target"] == "animal"


def test_csv_layout_options(tmp_path: pathlib.Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa;b\r\n1;x\r\n\r\n2;y\r\n".encode())
    ds = load_csv(bom, "b", delimiter=";", name="semi")
    assert ds.name == "semi" and ds.x.tolist() == [[1], [2]] and ds.classes == ["x", "y"]
    headless = load_csv(write(tmp_path, "1,2,0\n3,4,1\n", "h.csv"), 2, header=False)
    assert headless.x.tolist() == [[1, 2], [3, 4]] and headless.meta["feature_names"] == ["0", "1"]
    quoted = load_csv(
        write(tmp_path, 'name,v\n"Smith, J",1\n"Doe, A",2\n', "q.csv"), "v", task="regression"
    )
    assert quoted.meta["one_hot"] == {"name": ["Doe, A", "Smith, J"]}
    unsupervised = load_csv(write(tmp_path, "a,b\n1,2\n"))
    assert unsupervised.task == "unsupervised" and unsupervised.y is None


def test_csv_missing_values(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "a,b,c\n1,2,0\n3,NA,1\n5,6,\n7,8,nan\n9,10,1\n")
    with pytest.raises(DatasetError, match=r"column 'b' is missing a value in row 2 \(line 3\)"):
        load_csv(path, "c")
    ds = load_csv(path, "c", missing="drop")
    assert ds.x.tolist() == [[1, 2], [9, 10]] and ds.meta["rows_dropped"] == 3
    ignored = load_csv(path, "c", missing="drop", ignore=["b"])
    assert ignored.x.tolist() == [[1], [3], [9]]  # 'NA' sat in the ignored column
    with pytest.raises(DatasetError, match="left no rows"):
        load_csv(write(tmp_path, "a,b\n1,\n,2\n", "gaps.csv"), "b", missing="drop")


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "is empty"),
        ("\n\n", {}, "is empty"),
        ("a,b\n", {}, "no data rows"),
        ("a,b\n1,2\n3\n", {"target": "b"}, r"row 2 \(line 3\) has 1 cells but there are 2 columns"),
        ("a,b\n1,2\n", {"target": "c"}, "no target column 'c'; columns are: 'a', 'b'"),
        ("a,b\n1,2\n", {"target": 5}, "index 5 is out of range"),
        ("a,a\n1,2\n", {}, "'a' appears more than once"),
        ("a,b\n1,2\n", {"target": "a", "ignore": ["b"]}, "no feature columns"),
        (
            "a,b\n1,0\n2,1\nx7,0\n4,1\n5,0\n",
            {"target": "b"},
            r"column 'a' is numeric but row 3 \(line 4\) holds 'x7'",
        ),
        ("a,b\n1,x\n2,y\n", {"target": "b", "task": "regression"}, "cannot be a regression target"),
        ("a,b\n1e39,1\n", {"target": "b"}, "too large for float32"),
        ("a,b\n1,2\n", {"target": "b", "categorical": ["z"]}, "unknown column 'z'"),
        ("a,b\n1,2\n", {"target": "b", "missing": "mean"}, "'missing' must be one of"),
        (
            "a,b\n1,2\n",
            {"target": "b", "delimiter": ";;"},
            "'delimiter' must be a single character",
        ),
        ("a,b\n1,2\n", {"target": 1.0}, "'target' must be a column name or index"),
        ("a,b\n1,2\n", {"task": "regression"}, "needs a 'target'"),
    ],
)
def test_csv_errors(tmp_path: pathlib.Path, text: str, kwargs: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_csv(write(tmp_path, text), **kwargs)


def test_csv_mostly_text_column_is_categorical_and_files_must_exist(tmp_path: pathlib.Path) -> None:
    ds = load_csv(write(tmp_path, "code,y\nA1,0\nB2,1\n7,0\n"), "y")
    assert ds.meta["one_hot"] == {"code": ["7", "A1", "B2"]}
    with pytest.raises(DatasetError, match="does not exist"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(DatasetError, match="is a folder"):
        load_csv(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_csv(binary)


CELLS = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "NA", "nan", "x", "y", " 3 ", '"q,uoted"', '"', "1e400", "a\nb"]),
    st.text(max_size=4),
)


# Mostly rectangular tables, so that many examples get past the shape checks and
# exercise column typing, one-hot encoding and target handling.
TABLES = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.lists(CELLS, min_size=width, max_size=width + (width == 4)), max_size=8
    )
)


@FUZZ
@given(
    rows=TABLES,
    target=st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["0", "x", "a"])),
    missing=st.sampled_from(["error", "drop"]),
    header=st.booleans(),
    task=st.sampled_from([None, "classification", "regression"]),
)
def test_csv_fuzz_gives_dataset_or_dataset_error(
    tmp_path: pathlib.Path, rows, target, missing, header, task
) -> None:
    path = write(tmp_path, "\n".join(",".join(row) for row in rows), "fuzz.csv")
    try:
        ds = load_csv(
            path, target, missing=missing, header=header, task=None if target is None else task
        )
    except DatasetError:
        return
    assert isinstance(ds, Dataset) and ds.x.dtype == torch.float32 and torch.isfinite(ds.x).all()
    assert ds.x.ndim == 2 and len(ds) >= 1
    if ds.task == "classification":
        assert (
            ds.y.dtype == torch.int64 and 0 <= int(ds.y.min()) and int(ds.y.max()) < len(ds.classes)
        )
    elif ds.task == "regression":
        assert ds.y.shape == (len(ds), 1) and torch.isfinite(ds.y).all()


@FUZZ
@given(data=st.binary(max_size=200))
def test_csv_random_bytes_give_dataset_or_dataset_error(
    tmp_path: pathlib.Path, data: bytes
) -> None:
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    try:
        assert isinstance(load_csv(path, 0), Dataset)
    except DatasetError:
        pass


# ---------------------------------------------------------------------------------------
# .npz


def test_npz_classification_regression_and_keys(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x=np.arange(12, dtype=np.float64).reshape(6, 2),
        y=np.array([0, 2, 1, 2, 0, 1]),
        names=np.array(["cat", "dog", "cat", "cat", "dog", "cat"]),
        target=np.linspace(0, 1, 6),
    )
    ds = load_npz(path)
    assert ds.x.dtype == torch.float32 and ds.x.shape == (6, 2) and ds.task == "classification"
    assert ds.y.tolist() == [0, 2, 1, 2, 0, 1] and ds.classes == ["0", "1", "2"] and ds.name == "d"
    labelled = load_npz(path, y="names")
    assert labelled.classes == ["cat", "dog"] and labelled.y.tolist() == [0, 1, 0, 0, 1, 0]
    regression = load_npz(path, y="target")
    assert regression.task == "regression" and regression.y.shape == (6, 1)
    assert load_npz(path, y=None).task == "unsupervised"
    with pytest.raises(
        DatasetError, match="no array 'labels'; arrays are: 'x', 'y', 'names', 'target'"
    ):
        load_npz(path, y="labels")


def test_npz_sequences_and_images(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "seq.npz"
    tokens = np.random.default_rng(0).integers(0, 5, (10, 4))
    np.savez(path, x=tokens, y=np.roll(tokens, -1, axis=1), img=np.zeros((10, 1, 3, 3), np.uint8))
    ds = load_npz(path, task="sequence_to_sequence")
    assert (
        ds.x.dtype == ds.y.dtype == torch.int64 and ds.meta["vocab_size"] == int(tokens.max()) + 1
    )
    assert load_npz(path, x="img", y=None).x.shape == (10, 1, 3, 3)


def test_npz_errors(tmp_path: pathlib.Path) -> None:
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, x=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(DatasetError, match="'x' has 5 samples but array 'y' has shape"):
        load_npz(mismatch)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DatasetError, match="array 'y' cannot be read"):
        load_npz(pickled)
    nan = tmp_path / "nan.npz"
    np.savez(nan, x=np.array([[0.0], [np.nan]]), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match="sample 1"):
        load_npz(nan)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(DatasetError, match="single .npy array"):
        load_npz(single)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_npz(junk)
    with pytest.raises(DatasetError, match="'task' must be one of"):
        load_npz(mismatch, task="clustering")


# ---------------------------------------------------------------------------------------
# Image folders


def make_image_folder(root: pathlib.Path) -> pathlib.Path:
    rng = np.random.default_rng(0)
    for label, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (root / label).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((10, 12, 3), colour, np.uint8)
            pixels[0, 0] = rng.integers(0, 255, 3)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_image_folder_rgb_and_grayscale(tmp_path: pathlib.Path) -> None:
    root = make_image_folder(tmp_path / "pets")
    ds = load_image_folder(root)
    assert ds.x.shape == (6, 3, 10, 12) and ds.x.dtype == torch.float32
    assert (
        ds.classes == ["cats", "dogs"] and ds.y.tolist() == [0, 0, 0, 1, 1, 1] and ds.name == "pets"
    )
    assert float(ds.x.min()) >= 0 and float(ds.x.max()) <= 1
    assert torch.allclose(ds.x[1, :, 5, 5], torch.tensor([1.0, 0.0, 0.0]))
    assert ds.meta["image_shape"] == [3, 10, 12]
    gray = resolve_dataset(
        {"image_folder": "pets", "size": [8, 6], "grayscale": True}, base_dir=tmp_path
    )
    assert gray.x.shape == (6, 1, 8, 6) and gray.meta["image_shape"] == [1, 8, 6]


def test_image_folder_errors(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="is empty"):
        load_image_folder(empty)
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (4, 4)).save(flat / "a.png")
    with pytest.raises(DatasetError, match="no class subfolders"):
        load_image_folder(flat)
    lonely = make_image_folder(tmp_path / "lonely")
    (lonely / "birds").mkdir()
    with pytest.raises(DatasetError, match="class folder 'birds' has no images"):
        load_image_folder(lonely)
    broken = make_image_folder(tmp_path / "broken")
    (broken / "cats" / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match="cannot read image '.*bad.png'"):
        load_image_folder(broken)
    with pytest.raises(DatasetError, match="does not exist or is not a folder"):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="'size' must be"):
        load_image_folder(make_image_folder(tmp_path / "sized"), size=[0, 4])


# ---------------------------------------------------------------------------------------
# IDX


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + big_endian.tobytes()
    )


def write_idx(path: pathlib.Path, array: np.ndarray, code: int) -> pathlib.Path:
    data = idx_bytes(array, code)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_images_and_labels(tmp_path: pathlib.Path, suffix: str) -> None:
    images = np.random.default_rng(0).integers(0, 256, (7, 4, 5), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.uint8)
    image_path = write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, 0x08)
    label_path = write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, 0x08)
    ds = load_idx(image_path, label_path)
    assert (
        ds.x.shape == (7, 1, 4, 5)
        and ds.x.dtype == torch.float32
        and ds.name == "train-images-idx3-ubyte"
    )
    assert torch.allclose(ds.x[:, 0], torch.from_numpy(images).float() / 255)
    assert (
        ds.y.tolist() == labels.tolist()
        and ds.num_classes == 10
        and ds.meta["image_shape"] == [1, 4, 5]
    )
    spec = {"idx_images": image_path.name, "idx_labels": label_path.name}
    assert torch.equal(resolve_dataset(spec, base_dir=tmp_path).x, ds.x)


@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_idx_other_dtypes(tmp_path: pathlib.Path, code: int, dtype: type) -> None:
    array = (np.arange(24).reshape(6, 4) - 10).astype(dtype)
    path = write_idx(tmp_path / "data.idx", array, code)
    read = read_idx(path)
    assert read.dtype == np.dtype(dtype) and np.array_equal(read, array)
    ds = load_idx(path)
    assert (
        ds.task == "unsupervised"
        and ds.x.shape == (6, 4)
        and ds.x.tolist() == array.astype(np.float32).tolist()
    )


def test_idx_errors(tmp_path: pathlib.Path) -> None:
    images = write_idx(tmp_path / "images", np.zeros((3, 2, 2), np.uint8), 0x08)
    bad_magic = tmp_path / "magic"
    bad_magic.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DatasetError, match="magic number"):
        read_idx(bad_magic)
    code = tmp_path / "code"
    code.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DatasetError, match="unknown data type code 0x07"):
        read_idx(code)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(images.read_bytes()[:-1])
    with pytest.raises(
        DatasetError, match="truncated: shape 3x2x2 needs 12 data bytes but it has 11"
    ):
        read_idx(truncated)
    with pytest.raises(DatasetError, match="truncated inside its header"):
        (tmp_path / "header").write_bytes(b"\x00\x00\x08\x03\x00\x00")
        read_idx(tmp_path / "header")
    extra = tmp_path / "extra"
    extra.write_bytes(images.read_bytes() + b"\x00\x00")
    with pytest.raises(DatasetError, match="2 unexpected bytes"):
        read_idx(extra)
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8), 0x08)
    with pytest.raises(DatasetError, match="has 3 items but IDX labels file .* has 4 labels"):
        load_idx(images, labels)
    float_labels = write_idx(tmp_path / "float_labels", np.zeros(3, np.float32), 0x0D)
    with pytest.raises(DatasetError, match="one integer per sample"):
        load_idx(images, float_labels)
    not_gzip = tmp_path / "images.gz"
    not_gzip.write_bytes(images.read_bytes())
    with pytest.raises(DatasetError, match="cannot be read"):
        read_idx(not_gzip)


ITEM_SIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@st.composite
def idx_files(draw: st.DrawFn) -> bytes:
    """Junk, or an IDX header whose body is exactly right, a little short or a little long."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    code = draw(st.sampled_from([*ITEM_SIZES, 0x0A]))
    dims = draw(st.lists(st.integers(0, 5), max_size=4))
    needed = ITEM_SIZES.get(code, 1) * int(np.prod(dims))
    size = max(0, needed + draw(st.sampled_from([0, 0, 0, -1, 1, 7])))
    header = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + draw(st.binary(min_size=size, max_size=size))


@FUZZ
@given(
    data=idx_files(),
    gz=st.booleans(),
    labels=st.sampled_from([None, b"\x00\x00\x08\x01\x00\x00\x00\x02\x01\x00"]),
)
def test_idx_fuzz_gives_dataset_or_dataset_error(
    tmp_path: pathlib.Path, data: bytes, gz: bool, labels
) -> None:
    images = tmp_path / ("fuzz.gz" if gz else "fuzz")
    images.write_bytes(gzip.compress(data) if gz else data)
    label_path = None
    if labels is not None:
        label_path = tmp_path / "labels"
        label_path.write_bytes(labels)
    try:
        ds = load_idx(images, label_path)
    except DatasetError:
        return
    assert isinstance(ds, Dataset) and ds.x.dtype == torch.float32 and torch.isfinite(ds.x).all()
    assert ds.y is None or ds.y.tolist() == [1, 0]


def valid_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, x=np.arange(6, dtype=np.float32).reshape(3, 2), y=np.array([0, 1, 0])
    )
    return buffer.getvalue()


VALID_NPZ = valid_npz_bytes()


@st.composite
def npz_files(draw: st.DrawFn) -> bytes:
    """Junk, or a valid archive with a few bytes overwritten or its tail cut off."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    data = bytearray(VALID_NPZ)
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))
    return bytes(data[:cut])


@FUZZ
@given(data=npz_files())
def test_npz_fuzz_gives_dataset_or_dataset_error(tmp_path: pathlib.Path, data: bytes) -> None:
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        ds = load_npz(path)
    except DatasetError:
        return
    assert isinstance(ds, Dataset) and ds.x.shape == (3, 2)
