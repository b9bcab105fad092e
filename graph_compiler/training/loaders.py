"""Loaders for user data: CSV tables, .npz archives, image folders and MNIST-style IDX files.

Each returns a `Dataset` or raises a `DatasetError` whose message names the file and,
where it applies, the column, row, key or image at fault. Nothing here ever unpickles.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import pathlib
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import TASKS, Dataset, DatasetError

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null"})
"""Cells that mean "no value" (compared case-insensitively, after stripping spaces)."""

MAX_INTEGER_CLASSES = 20
"""A numeric CSV target with at most this many distinct integer values is a class label."""

MAX_CATEGORIES = 1000
"""More distinct values than this in a text column is almost surely an id, not a category."""

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)

SEQUENCE_TASKS = ("sequence_classification", "sequence_to_sequence", "language_model")


def _existing_file(path: str | os.PathLike[str], what: str) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"{what} path must be a string, got {type(path).__name__}")
    path = pathlib.Path(path)
    if not path.exists():
        raise DatasetError(f"{what} '{path}' does not exist")
    if not path.is_file():
        raise DatasetError(f"{what} '{path}' is a folder, not a file")
    return path


def _check_choice(where: str, key: str, value: object, choices: Sequence[object]) -> None:
    if value not in choices:
        raise DatasetError(
            f"{where}: option {key!r} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )


def _check_name(where: str, name: object) -> None:
    if name is not None and not isinstance(name, str):
        raise DatasetError(f"{where}: option 'name' must be a string, got {name!r}")


def _integer_labels(values: np.ndarray) -> tuple[torch.Tensor, list[str]]:
    """Class ids and names for integer labels.

    Non-negative labels keep their values (label 7 stays class 7, even when some classes
    are absent from a subset), so classes are "0".."max". Negative or very sparse labels
    are renumbered in sorted order instead.
    """
    values = values.astype(np.int64)
    low, high = int(values.min()), int(values.max())
    if low >= 0 and high < max(2 * len(np.unique(values)), 256):
        return torch.from_numpy(values), [str(i) for i in range(high + 1)]
    uniques, ids = np.unique(values, return_inverse=True)
    return torch.from_numpy(ids.astype(np.int64)), [str(v) for v in uniques]


def _float32(values: np.ndarray) -> np.ndarray:
    # Values beyond float32's range become inf here; callers check finiteness and name
    # the culprit, so numpy's overflow warning would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(np.float32)


def _string_labels(values: Sequence[str]) -> tuple[torch.Tensor, list[str]]:
    classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[v] for v in values], dtype=torch.int64), classes


# ---------------------------------------------------------------------------------------
# CSV


def _parse_number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_csv(path: pathlib.Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) for every non-blank record."""
    rows: list[tuple[int, list[str]]] = []
    try:
        # utf-8-sig drops the byte-order mark Excel writes, which would otherwise glue
        # itself to the first column's name.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            try:
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        rows.append((reader.line_num, [cell.strip() for cell in cells]))
            except csv.Error as exc:
                raise DatasetError(f"CSV file '{path}', line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"CSV file '{path}' is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise DatasetError(f"CSV file '{path}' cannot be read: {exc.strerror or exc}") from None
    return rows


def _column_kind(
    where: str, column: str, cells: list[str], places: list[str], forced_categorical: bool
) -> str:
    """ "numeric" or "categorical", by the rule documented on `load_csv`."""
    if forced_categorical:
        return "categorical"
    stray = [i for i, cell in enumerate(cells) if _parse_number(cell) is None]
    if not stray:
        return "numeric"
    if len(stray) * 2 < len(cells):
        i = stray[0]
        raise DatasetError(
            f"{where}: column {column!r} is numeric but {places[i]} holds {cells[i]!r}, "
            f"which is not a finite number; fix the cell, or list the column in 'categorical'"
        )
    return "categorical"


def _resolve_target(where: str, target: str | int, names: list[str]) -> int:
    if isinstance(target, str):
        if target not in names:
            raise DatasetError(
                f"{where}: no target column {target!r}; columns are: {', '.join(map(repr, names))}"
            )
        return names.index(target)
    if not -len(names) <= target < len(names):
        raise DatasetError(
            f"{where}: target column index {target} is out of range for {len(names)} columns"
        )
    return target % len(names)


def load_csv(
    path: str | os.PathLike[str],
    target: str | int | None = None,
    *,
    task: str | None = None,
    missing: str = "error",
    delimiter: str = ",",
    categorical: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    header: bool = True,
    name: str | None = None,
) -> Dataset:
    """Read a CSV table with the standard library's csv module.

    - The first row names the columns (with `header=False`, columns are named "0", "1"...).
      Blank lines are skipped; a row with a different number of cells is an error.
    - `target` picks the label column by name or index (negative counts from the end);
      None gives an unsupervised dataset. Columns in `ignore` are dropped.
    - Missing cells (empty, "NA", "N/A", "nan", "null") raise an error naming column and
      row, unless `missing="drop"`, which drops those rows.
    - Column rule: a column whose cells all parse as finite numbers is numeric. A column
      listed in `categorical`, or whose cells are mostly (at least half) not numbers, is
      categorical and is one-hot encoded (categories sorted; mapping in meta["one_hot"]).
      A mostly-numeric column with a few non-numbers is taken to be a typo: the error
      names the first such cell. The target column follows the same rule.
    - Target: text labels make a classification task; numbers make a classification task
      when they are integers with at most 20 distinct values, else a regression task with
      y [N, 1]. `task="classification"` or `"regression"` overrides that guess.
    """
    where = f"CSV file '{path}'"
    _check_csv_options(where, target, task, missing, delimiter, categorical, ignore, header, name)
    names, rows = _csv_table(where, _existing_file(path, "CSV file"), delimiter, header)
    for key, listed in (("categorical", categorical), ("ignore", ignore)):
        for column in listed or ():
            if column not in names:
                raise DatasetError(f"{where}: option {key!r} names unknown column {column!r}")
    target_index = None if target is None else _resolve_target(where, target, names)
    used = [i for i, c in enumerate(names) if c not in (ignore or ()) or i == target_index]
    feature_indices = [i for i in used if i != target_index]
    if not feature_indices:
        raise DatasetError(f"{where} has no feature columns besides the target")

    kept = _complete_rows(where, names, rows, used, missing)
    places = [place for place, _ in kept]
    columns = {i: [row[i] for _, row in kept] for i in used}
    x, feature_names, one_hot = _encode_features(
        where, {names[i]: columns[i] for i in feature_indices}, places, categorical or ()
    )
    meta: dict[str, Any] = {
        "source": str(path),
        "feature_names": feature_names,
        "one_hot": one_hot,
        "rows_dropped": len(rows) - len(kept),
    }
    name = name or pathlib.Path(path).stem
    if target_index is None:
        return Dataset(name, torch.from_numpy(x), None, "unsupervised", meta=meta)
    meta["target"] = names[target_index]
    y, classes, task = _csv_target(where, names[target_index], columns[target_index], places, task)
    return Dataset(name, torch.from_numpy(x), y, task, classes=classes, meta=meta)


def _check_csv_options(
    where: str,
    target: object,
    task: object,
    missing: object,
    delimiter: object,
    categorical: object,
    ignore: object,
    header: object,
    name: object,
) -> None:
    if target is not None and (isinstance(target, bool) or not isinstance(target, (str, int))):
        raise DatasetError(
            f"{where}: option 'target' must be a column name or index, got {target!r}"
        )
    _check_choice(where, "task", task, (None, "classification", "regression"))
    _check_choice(where, "missing", missing, ("error", "drop"))
    _check_name(where, name)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise DatasetError(
            f"{where}: option 'delimiter' must be a single character, got {delimiter!r}"
        )
    if not isinstance(header, bool):
        raise DatasetError(f"{where}: option 'header' must be true or false, got {header!r}")
    for key, listed in (("categorical", categorical), ("ignore", ignore)):
        if listed is not None and (
            not isinstance(listed, (list, tuple)) or not all(isinstance(c, str) for c in listed)
        ):
            raise DatasetError(
                f"{where}: option {key!r} must be a list of column names, got {listed!r}"
            )
    if target is None and task is not None:
        raise DatasetError(f"{where}: option 'task' needs a 'target' column")


def _csv_table(
    where: str, path: pathlib.Path, delimiter: str, header: bool
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Column names and (line, cells) data rows, every row as wide as the header."""
    rows = _read_csv(path, delimiter)
    if not rows:
        raise DatasetError(f"{where} is empty")
    if header:
        names = [cell or f"column {i + 1}" for i, cell in enumerate(rows[0][1])]
        rows = rows[1:]
        if not rows:
            raise DatasetError(f"{where} has a header row but no data rows")
    else:
        names = [str(i) for i in range(len(rows[0][1]))]
    for column in names:
        if names.count(column) > 1:
            raise DatasetError(f"{where}: column name {column!r} appears more than once")
    for number, (line, cells) in enumerate(rows, start=1):
        if len(cells) != len(names):
            raise DatasetError(
                f"{where}: row {number} (line {line}) has {len(cells)} cells "
                f"but there are {len(names)} columns"
            )
    return names, rows


def _complete_rows(
    where: str, names: list[str], rows: list[tuple[int, list[str]]], used: list[int], missing: str
) -> list[tuple[str, list[str]]]:
    """("row r (line l)", cells) for rows with no missing value in the used columns."""
    kept: list[tuple[str, list[str]]] = []
    for number, (line, cells) in enumerate(rows, start=1):
        gaps = [i for i in used if cells[i].lower() in MISSING_TOKENS]
        if gaps and missing == "error":
            raise DatasetError(
                f"{where}: column {names[gaps[0]]!r} is missing a value in row {number} "
                f"(line {line}); fill it in, or pass missing='drop' to drop such rows"
            )
        if not gaps:
            kept.append((f"row {number} (line {line})", cells))
    if not kept:
        raise DatasetError(
            f"{where}: every row has a missing value, so missing='drop' left no rows"
        )
    return kept


def _encode_features(
    where: str, columns: dict[str, list[str]], places: list[str], categorical: Sequence[str]
) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """float32 [N, F] features, their names, and the one-hot categories per text column."""
    blocks: list[np.ndarray] = []
    feature_names: list[str] = []
    one_hot: dict[str, list[str]] = {}
    for column, cells in columns.items():
        if _column_kind(where, column, cells, places, column in categorical) == "numeric":
            blocks.append(np.array([float(c) for c in cells])[:, None])
            feature_names.append(column)
            continue
        categories = sorted(set(cells))
        if len(categories) > MAX_CATEGORIES:
            raise DatasetError(
                f"{where}: column {column!r} has {len(categories)} distinct text values, too many "
                f"to one-hot encode (limit {MAX_CATEGORIES}); list it in 'ignore' if it is an id"
            )
        index = {c: k for k, c in enumerate(categories)}
        block = np.zeros((len(cells), len(categories)))
        block[np.arange(len(cells)), [index[c] for c in cells]] = 1.0
        blocks.append(block)
        feature_names.extend(f"{column}={c}" for c in categories)
        one_hot[column] = categories
    x = _float32(np.concatenate(blocks, axis=1))
    if not np.isfinite(x).all():
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise DatasetError(
            f"{where}: the value in column {feature_names[c]!r}, {places[r]} is too large for float32"
        )
    return x, feature_names, one_hot


def _csv_target(
    where: str, column: str, cells: list[str], places: list[str], task: str | None
) -> tuple[torch.Tensor, list[str] | None, str]:
    kind = _column_kind(where, column, cells, places, forced_categorical=False)
    if kind == "categorical":
        if task == "regression":
            raise DatasetError(
                f"{where}: target column {column!r} holds text, so it cannot be a regression target"
            )
        y, classes = _string_labels(cells)
        return y, classes, "classification"
    values = np.array([float(c) for c in cells])
    integral = all(v.is_integer() for v in values)
    if task is None:
        few = len(np.unique(values)) <= MAX_INTEGER_CLASSES
        task = "classification" if integral and few else "regression"
    if task == "regression":
        targets = _float32(values)[:, None]
        if not np.isfinite(targets).all():
            place = places[int(np.argmin(np.isfinite(targets[:, 0])))]
            raise DatasetError(
                f"{where}: target column {column!r}, {place} is too large for float32"
            )
        return torch.from_numpy(targets), None, "regression"
    uniques = np.unique(values)
    ids = np.searchsorted(uniques, values)
    classes = [str(int(v)) if v.is_integer() else repr(float(v)) for v in uniques]
    return torch.from_numpy(ids.astype(np.int64)), classes, "classification"


# ---------------------------------------------------------------------------------------
# .npz


def load_npz(
    path: str | os.PathLike[str],
    x: str = "x",
    y: str | None = "y",
    *,
    task: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Read arrays `x` and `y` (keys in the archive; `y=None` for unlabeled data).

    Pickled (object) arrays are refused. Without `task`: text, bool or integer 1-D labels
    give classification (see `_integer_labels` for class numbering), anything else
    regression with y [N, k]. Sequence tasks keep integer x as int64 tokens.
    """
    where = f"npz file '{path}'"
    for key, value in (("x", x), ("y", y)):
        if not (isinstance(value, str) or (key == "y" and value is None)):
            raise DatasetError(f"{where}: option {key!r} must be an array name, got {value!r}")
    _check_choice(where, "task", task, (None, *TASKS))
    _check_name(where, name)
    file = _existing_file(path, "npz file")
    try:
        archive = np.load(file, allow_pickle=False)
    # numpy raises a zoo of types for junk (ValueError, BadZipFile, EOFError, zlib.error...)
    except Exception as exc:  # noqa: BLE001
        raise DatasetError(f"{where} is not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(
            f"{where} holds a single .npy array, not an .npz archive of named arrays"
        )
    with archive:
        features = _npz_array(where, archive, x)
        labels = None if y is None else _npz_array(where, archive, y)
    if features.ndim == 0 or len(features) == 0:
        raise DatasetError(f"{where}: array {x!r} has no samples (shape {features.shape})")
    if features.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: array {x!r} has dtype {features.dtype}; expected numbers")
    if labels is not None and (labels.ndim == 0 or len(labels) != len(features)):
        raise DatasetError(
            f"{where}: array {x!r} has {len(features)} samples but array {y!r} has shape {labels.shape}"
        )
    if task is None:
        task = (
            "unsupervised"
            if labels is None
            else "classification"
            if (labels.ndim == 1 and labels.dtype.kind in "biuUS")
            else "regression"
        )

    if task in SEQUENCE_TASKS:
        if features.dtype.kind not in "biu":
            raise DatasetError(
                f"{where}: task {task!r} needs integer token ids in {x!r}, got dtype {features.dtype}"
            )
        x_tensor = torch.from_numpy(features.astype(np.int64).reshape(len(features), -1))
    else:
        x_tensor = torch.from_numpy(
            _float32(features).reshape(len(features), *features.shape[1:] or (1,))
        )
        bad = ~torch.isfinite(x_tensor.reshape(len(x_tensor), -1)).all(dim=1)
        if bad.any():
            raise DatasetError(
                f"{where}: array {x!r} has a NaN or infinite value in sample {int(bad.nonzero()[0])}"
            )

    meta: dict[str, Any] = {"source": str(path)}
    y_tensor, classes = _npz_targets(where, y, labels, task)
    if task in ("sequence_to_sequence", "language_model"):
        meta["vocab_size"] = (
            int(max(x_tensor.max(), y_tensor.max() if y_tensor is not None else 0)) + 1
        )
    return Dataset(name or file.stem, x_tensor, y_tensor, task, classes=classes, meta=meta)


def _npz_array(where: str, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    if key not in archive.files:
        raise DatasetError(
            f"{where} has no array {key!r}; arrays are: {', '.join(map(repr, archive.files))}"
        )
    try:
        return archive[key]
    except Exception as exc:  # noqa: BLE001 - corrupt member, or an object array that would need pickle
        raise DatasetError(f"{where}: array {key!r} cannot be read ({exc})") from None


def _npz_targets(
    where: str, key: str | None, labels: np.ndarray | None, task: str
) -> tuple[torch.Tensor | None, list[str] | None]:
    if task == "unsupervised":
        return None, None
    if labels is None:
        raise DatasetError(
            f"{where}: task {task!r} needs labels; pass the name of the label array as 'y'"
        )
    if task in ("classification", "sequence_classification"):
        if labels.ndim != 1:
            raise DatasetError(
                f"{where}: class labels {key!r} must be one per sample, got shape {labels.shape}"
            )
        if labels.dtype.kind in "US":
            return _string_labels([str(v) for v in labels])
        if labels.dtype.kind == "f" and not np.all(
            np.isfinite(labels) & (labels == np.round(labels))
        ):
            raise DatasetError(f"{where}: class labels {key!r} must be whole numbers")
        if labels.dtype.kind not in "biuf":
            raise DatasetError(
                f"{where}: class labels {key!r} have dtype {labels.dtype}; expected integers or text"
            )
        return _integer_labels(labels)
    if task in ("sequence_to_sequence", "language_model"):
        if labels.dtype.kind not in "biu" or labels.min() < 0:
            raise DatasetError(
                f"{where}: task {task!r} needs non-negative integer targets in {key!r}"
            )
        return torch.from_numpy(labels.astype(np.int64)), None
    if labels.dtype.kind not in "biuf":
        raise DatasetError(
            f"{where}: regression targets {key!r} have dtype {labels.dtype}; expected numbers"
        )
    targets = torch.from_numpy(_float32(labels).reshape(len(labels), -1))
    if not torch.isfinite(targets).all():
        raise DatasetError(f"{where}: regression targets {key!r} contain NaN or infinite values")
    return targets, None


# ---------------------------------------------------------------------------------------
# Image folders


def _image_size(where: str, size: object) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4096 for s in size)
    ):
        raise DatasetError(
            f"{where}: option 'size' must be [height, width] with sizes 1..4096, got {size!r}"
        )
    return int(size[0]), int(size[1])


def _visible(path: pathlib.Path) -> bool:
    return not path.name.startswith(".")


def load_image_folder(
    path: str | os.PathLike[str],
    size: int | Sequence[int] | None = None,
    *,
    grayscale: bool = False,
    name: str | None = None,
) -> Dataset:
    """One subfolder per class (sorted names become `classes`), images found recursively.

    Images are resized to `size` = [height, width] (default: the first image's size) and
    converted to grayscale (C=1) or RGB (C=3); x is float32 [N, C, H, W] in 0..1.
    """
    from PIL import Image  # Pillow costs start-up time that most runs never need

    where = f"image folder '{path}'"
    hw = _image_size(where, size)
    if not isinstance(grayscale, bool):
        raise DatasetError(f"{where}: option 'grayscale' must be true or false, got {grayscale!r}")
    _check_name(where, name)
    if not isinstance(path, (str, os.PathLike)) or not pathlib.Path(path).is_dir():
        raise DatasetError(f"{where} does not exist or is not a folder")
    folder = pathlib.Path(path)
    entries = sorted(p for p in folder.iterdir() if _visible(p))
    if not entries:
        raise DatasetError(f"{where} is empty")
    class_dirs = [p for p in entries if p.is_dir()]
    if not class_dirs:
        raise DatasetError(
            f"{where} has no class subfolders; put each class's images in its own folder, e.g. cats/, dogs/"
        )
    files: list[tuple[pathlib.Path, int]] = []
    for label, class_dir in enumerate(class_dirs):
        images = sorted(
            p
            for p in class_dir.rglob("*")
            if p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and _visible(p.relative_to(class_dir))
        )
        if not images:
            raise DatasetError(
                f"{where}: class folder '{class_dir.name}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        files.extend((image, label) for image in images)

    mode = "L" if grayscale else "RGB"
    pixels: list[np.ndarray] = []
    for file, _ in files:
        try:
            with Image.open(file) as image:
                image = image.convert(mode)
                if hw is None:
                    hw = (image.height, image.width)
                if (image.height, image.width) != hw:
                    image = image.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
                pixels.append(np.asarray(image, dtype=np.uint8))
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for corrupt or unsupported files
            raise DatasetError(f"{where}: cannot read image '{file}' ({exc})") from None
    x = torch.from_numpy(np.stack(pixels)).float().div_(255.0)
    x = x.unsqueeze(1) if grayscale else x.permute(0, 3, 1, 2).contiguous()
    return Dataset(
        name=name or folder.name,
        x=x,
        y=torch.tensor([label for _, label in files], dtype=torch.int64),
        task="classification",
        classes=[d.name for d in class_dirs],
        meta={
            "image_shape": list(x.shape[1:]),
            "source": str(path),
            "files": [str(f) for f, _ in files],
        },
    )


# ---------------------------------------------------------------------------------------
# IDX (the MNIST file format): magic 0x00 0x00 <dtype code> <ndim>, ndim big-endian
# uint32 sizes, then the data in big-endian order.

IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def _read_bytes(path: pathlib.Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"IDX file '{path}' cannot be read ({exc})") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when the name ends in .gz)."""
    file = _existing_file(path, "IDX file")
    raw = _read_bytes(file)
    where = f"IDX file '{path}'"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(
            f"{where} does not start with an IDX magic number (00 00 <type> <dims>): got {raw[:4].hex()}"
        )
    if raw[2] not in IDX_DTYPES:
        raise DatasetError(
            f"{where} has unknown data type code 0x{raw[2]:02x}; known: 08, 09, 0b, 0c, 0d, 0e"
        )
    ndim = raw[3]
    if ndim == 0:
        raise DatasetError(f"{where} declares zero dimensions")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DatasetError(
            f"{where} is truncated inside its header ({len(raw)} bytes, header needs {start})"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    needed = math.prod(dims) * dtype.itemsize
    have = len(raw) - start
    shape = "x".join(map(str, dims))
    if have < needed:
        raise DatasetError(
            f"{where} is truncated: shape {shape} needs {needed} data bytes but it has {have}"
        )
    if have > needed:
        raise DatasetError(f"{where} has {have - needed} unexpected bytes after its {shape} data")
    return (
        np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=start)
        .reshape(dims)
        .astype(dtype.newbyteorder("="))
    )


def load_idx(
    images: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
) -> Dataset:
    """MNIST-style IDX images (and optional labels).

    [N, H, W] data becomes x [N, 1, H, W], [N, D] stays features; uint8 data is scaled
    to 0..1, other types are kept as they are. Labels must be a 1-D integer file with
    the same count.
    """
    where = f"IDX file '{images}'"
    _check_name(where, name)
    data = read_idx(images)
    if len(data) == 0:
        raise DatasetError(f"{where} holds no samples")
    x = torch.from_numpy(_float32(data))
    if data.dtype == np.uint8:
        x /= 255.0
    elif not torch.isfinite(x).all():
        raise DatasetError(
            f"{where} contains NaN or infinite values (or values too large for float32)"
        )
    x = x.unsqueeze(1) if x.ndim == 3 else x.reshape(len(x), 1) if x.ndim == 1 else x
    meta: dict[str, Any] = {"source": str(images)}
    if x.ndim == 4:
        meta["image_shape"] = list(x.shape[1:])
    stem = pathlib.Path(images).name.removesuffix(".gz")
    if labels is None:
        return Dataset(name or stem, x, None, "unsupervised", meta=meta)

    targets = read_idx(labels)
    label_where = f"IDX labels file '{labels}'"
    if targets.ndim != 1 or targets.dtype.kind not in "iu":
        raise DatasetError(
            f"{label_where} must hold one integer per sample; got {targets.dtype} shape {targets.shape}"
        )
    if len(targets) != len(x):
        raise DatasetError(
            f"{where} has {len(x)} items but {label_where} has {len(targets)} labels"
        )
    y, classes = _integer_labels(targets)
    meta["labels_source"] = str(labels)
    return Dataset(name or stem, x, y, "classification", classes=classes, meta=meta)
