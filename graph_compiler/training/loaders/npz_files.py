"""NumPy .npz archives (read without pickle): x and optional y arrays."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import TASKS, Dataset, DatasetError
from graph_compiler.training.loaders.common import (
    SEQUENCE_TASKS,
    check_choice,
    check_name,
    existing_file,
    float32,
    integer_labels,
    string_labels,
)

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
    give classification (see `integer_labels` for class numbering), anything else
    regression with y [N, k]. Sequence tasks keep integer x as int64 tokens.
    """
    where = f"npz file '{path}'"
    for key, value in (("x", x), ("y", y)):
        if not (isinstance(value, str) or (key == "y" and value is None)):
            raise DatasetError(f"{where}: option {key!r} must be an array name, got {value!r}")
    check_choice(where, "task", task, (None, *TASKS))
    check_name(where, name)
    file = existing_file(path, "npz file")
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
            float32(features).reshape(len(features), *features.shape[1:] or (1,))
        )
        bad = ~torch.isfinite(x_tensor.reshape(len(x_tensor), -1)).all(dim=1)
        if bad.any():
            raise DatasetError(
                f"{where}: array {x!r} has a NaN or infinite value in sample {int(bad.nonzero()[0])}"
            )

    meta: dict[str, Any] = {"source": str(path)}
    if features.dtype.kind in "biu" and task not in SEQUENCE_TASKS:
        meta["integer_x"] = True  # token ids read as features: recipes' advice names the task
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
            return string_labels([str(v) for v in labels])
        if labels.dtype.kind == "f" and not np.all(
            np.isfinite(labels) & (labels == np.round(labels))
        ):
            raise DatasetError(f"{where}: class labels {key!r} must be whole numbers")
        if labels.dtype.kind not in "biuf":
            raise DatasetError(
                f"{where}: class labels {key!r} have dtype {labels.dtype}; expected integers or text"
            )
        return integer_labels(labels)
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
    targets = torch.from_numpy(float32(labels).reshape(len(labels), -1))
    if not torch.isfinite(targets).all():
        raise DatasetError(f"{where}: regression targets {key!r} contain NaN or infinite values")
    return targets, None
