"""Template: compact loaders for user data files (CSV, .npz, image folders, IDX).

They follow graph_compiler.training.loaders on well-formed files (same features, same
class numbering) without its checks and messages: the file was already accepted by
Netwright when the script was exported. Nothing here unpickles.
"""

import numpy as np
import torch

MISSING = {"", "na", "n/a", "nan", "null"}
SEQUENCE_TASKS = ("sequence_classification", "sequence_to_sequence", "language_model")


def is_number(cell: str) -> bool:
    try:
        return np.isfinite(float(cell))
    except ValueError:
        return False


def class_ids(values: np.ndarray) -> torch.Tensor:
    """Integer labels keep their values (label 7 is class 7) unless negative or sparse."""
    values = values.astype(np.int64)
    if values.min() >= 0 and values.max() < max(2 * len(np.unique(values)), 256):
        return torch.from_numpy(values)
    return torch.from_numpy(np.unique(values, return_inverse=True)[1].astype(np.int64))


def load_csv(
    path,
    target=None,
    task=None,
    missing="error",
    delimiter=",",
    categorical=(),
    ignore=(),
    header=True,
):
    """Numeric columns as they are, text columns one-hot (sorted categories); y from
    `target`: class ids for text or few distinct integers, else regression [N, 1]."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        rows = [
            [c.strip() for c in row] for row in reader if any(c.strip() for c in row)
        ]
    names = rows.pop(0) if header else [str(i) for i in range(len(rows[0]))]
    if target is not None and not isinstance(target, str):
        target = names[target]
    used = [i for i, name in enumerate(names) if name not in ignore or name == target]
    if missing == "drop":
        rows = [r for r in rows if not any(r[i].lower() in MISSING for i in used)]
    columns = {names[i]: [row[i] for row in rows] for i in used}
    labels = columns.pop(target) if target is not None else None
    blocks = []
    for name, cells in columns.items():
        if name not in categorical and all(is_number(c) for c in cells):
            blocks.append(np.array(cells, dtype=np.float64)[:, None])
        else:
            categories = np.array(sorted(set(cells)))
            blocks.append(np.array(cells)[:, None] == categories[None, :])
    x = torch.from_numpy(np.concatenate(blocks, axis=1).astype(np.float32))
    if labels is None:
        return x, None
    numeric = all(is_number(c) for c in labels)
    values = np.array(labels, dtype=np.float64) if numeric else np.array(labels)
    if task is None:
        whole = numeric and bool((values == np.round(values)).all())
        few = len(np.unique(values)) <= 20
        task = "classification" if not numeric or (whole and few) else "regression"
    if task == "regression":
        return x, torch.from_numpy(values.astype(np.float32)[:, None])
    ids = np.unique(values, return_inverse=True)[1]
    return x, torch.from_numpy(ids.astype(np.int64))


def load_npz(path, x="x", y="y", task=None):
    """Arrays `x` and `y` of an .npz archive (allow_pickle=False: never unpickles)."""
    with np.load(path, allow_pickle=False) as archive:
        features = archive[x]
        labels = None if y is None else archive[y]
    n = len(features)
    if task in SEQUENCE_TASKS:
        xs = torch.from_numpy(features.astype(np.int64).reshape(n, -1))
    else:
        xs = torch.from_numpy(
            features.astype(np.float32).reshape(n, *features.shape[1:] or (1,))
        )
    if labels is None:
        return xs, None
    if task is None:
        classes = labels.ndim == 1 and labels.dtype.kind in "biuUS"
        task = "classification" if classes else "regression"
    if task in ("classification", "sequence_classification"):
        if labels.dtype.kind in "US":
            ids = np.unique(labels.astype(str), return_inverse=True)[1]
            return xs, torch.from_numpy(ids.astype(np.int64))
        return xs, class_ids(labels)
    if task in SEQUENCE_TASKS:
        return xs, torch.from_numpy(labels.astype(np.int64))
    return xs, torch.from_numpy(labels.astype(np.float32).reshape(len(labels), -1))


def load_image_folder(path, size=None, grayscale=False):
    """One subfolder per class (sorted names); images [N, C, H, W] in 0..1."""
    from pathlib import Path

    from PIL import Image

    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
    suffixes |= {".ppm", ".pgm"}
    folder = Path(path)
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[0] != ".")
    pixels, labels = [], []
    for label, class_dir in enumerate(classes):
        for file in sorted(class_dir.rglob("*")):
            visible = not file.name.startswith(".")
            if file.is_file() and file.suffix.lower() in suffixes and visible:
                with Image.open(file) as image:
                    image = image.convert("L" if grayscale else "RGB")
                    size = size or [image.height, image.width]
                    size = [size, size] if isinstance(size, int) else size
                    if [image.height, image.width] != list(size):
                        image = image.resize(
                            (size[1], size[0]), Image.Resampling.BILINEAR
                        )
                    pixels.append(np.asarray(image, dtype=np.uint8))
                labels.append(label)
    x = torch.from_numpy(np.stack(pixels)).float() / 255.0
    x = x.unsqueeze(1) if grayscale else x.permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(labels, dtype=torch.int64)


def read_idx(path) -> np.ndarray:
    """The array in an IDX file (the MNIST format; gzip when the name ends in .gz)."""
    import gzip
    import struct

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    dtype = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}[raw[2]]
    dims = struct.unpack(f">{raw[3]}I", raw[4 : 4 + 4 * raw[3]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * raw[3])
    return data.reshape(dims).astype(np.dtype(dtype).newbyteorder("="))


def load_idx(images, labels=None):
    """IDX images [N, H, W] -> x [N, 1, H, W] (uint8 scaled to 0..1), labels -> class ids."""
    data = read_idx(images)
    x = torch.from_numpy(data.astype(np.float32))
    if data.dtype == np.uint8:
        x /= 255.0
    x = x.unsqueeze(1) if x.ndim == 3 else x.reshape(len(x), 1) if x.ndim == 1 else x
    return x, None if labels is None else class_ids(read_idx(labels))
