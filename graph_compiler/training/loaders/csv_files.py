"""CSV tables: a header, a target column, numeric and categorical features."""

from __future__ import annotations

import csv
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError
from graph_compiler.training.loaders.common import (
    MAX_CATEGORIES,
    MAX_INTEGER_CLASSES,
    MISSING_TOKENS,
    check_choice,
    check_name,
    existing_file,
    float32,
    string_labels,
)

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
    names, rows = _csv_table(where, existing_file(path, "CSV file"), delimiter, header)
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
    check_choice(where, "task", task, (None, "classification", "regression"))
    check_choice(where, "missing", missing, ("error", "drop"))
    check_name(where, name)
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
    x = float32(np.concatenate(blocks, axis=1))
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
        y, classes = string_labels(cells)
        return y, classes, "classification"
    values = np.array([float(c) for c in cells])
    integral = all(v.is_integer() for v in values)
    if task is None:
        few = len(np.unique(values)) <= MAX_INTEGER_CLASSES
        task = "classification" if integral and few else "regression"
    if task == "regression":
        targets = float32(values)[:, None]
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
