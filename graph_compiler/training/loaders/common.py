"""What every user-file loader shares: limits, path and option checks, label encoding."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import numpy as np
import torch

from graph_compiler.training.datasets import DatasetError

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


def existing_file(path: str | os.PathLike[str], what: str) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"{what} path must be a string, got {type(path).__name__}")
    path = pathlib.Path(path)
    if not path.exists():
        raise DatasetError(f"{what} '{path}' does not exist")
    if not path.is_file():
        raise DatasetError(f"{what} '{path}' is a folder, not a file")
    return path


def check_choice(where: str, key: str, value: object, choices: Sequence[object]) -> None:
    if value not in choices:
        raise DatasetError(
            f"{where}: option {key!r} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )


def check_name(where: str, name: object) -> None:
    if name is not None and not isinstance(name, str):
        raise DatasetError(f"{where}: option 'name' must be a string, got {name!r}")


def integer_labels(values: np.ndarray) -> tuple[torch.Tensor, list[str]]:
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


def float32(values: np.ndarray) -> np.ndarray:
    # Values beyond float32's range become inf here; callers check finiteness and name
    # the culprit, so numpy's overflow warning would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(np.float32)


def string_labels(values: Sequence[str]) -> tuple[torch.Tensor, list[str]]:
    classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[v] for v in values], dtype=torch.int64), classes
