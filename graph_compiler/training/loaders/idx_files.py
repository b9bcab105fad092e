"""MNIST-style IDX files (optionally gzip-compressed): images and labels."""

from __future__ import annotations

import gzip
import math
import os
import pathlib
import struct
import zlib
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError
from graph_compiler.training.loaders.common import (
    check_name,
    existing_file,
    float32,
    integer_labels,
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
    file = existing_file(path, "IDX file")
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
    check_name(where, name)
    data = read_idx(images)
    if len(data) == 0:
        raise DatasetError(f"{where} holds no samples")
    x = torch.from_numpy(float32(data))
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
    y, classes = integer_labels(targets)
    meta["labels_source"] = str(labels)
    return Dataset(name or stem, x, y, "classification", classes=classes, meta=meta)
