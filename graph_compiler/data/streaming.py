"""Data larger than memory: decode once into a .npy cache, then stream batches.

- ``image_folder_cache`` decodes an image folder (one sub-folder per class) into a uint8
  [N, C, H, W] .npy file plus labels, under ``cache_dir()/streams/<key>``; corrupt images
  are skipped with a warning and counted. The key covers the folder's file list, sizes,
  modification times and the options, so an edited folder is decoded again.
- ``csv_columns_cache`` turns a numeric CSV into one float32 .npy per column, reading it
  row by row; a ragged row or a non-numeric cell is named by row and column, a missing
  label column by name.
- ``stream_batches`` yields the batches of one epoch in exactly the order the in-memory
  path uses (same seeded permutation), reading only the rows each batch needs with
  ``os.preadv`` (no memory map, so resident memory stays at a few batches) on a
  background thread that keeps ``prefetch`` batches ready.

A cache is written into a temporary folder and renamed into place when complete, so a
full disk or an interruption leaves nothing half-written behind.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import pathlib
import queue
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graph_compiler.atomic import atomic_write_with, publish_folder
from graph_compiler.data import fetch
from graph_compiler.data import progress as data_progress
from graph_compiler.training.batching import epoch_seed, rows
from graph_compiler.training.datasets import DatasetError

# Datasets whose decoded size passes this many bytes stream from the cache; the setting
# NETWRIGHT_STREAM_THRESHOLD_MB changes it.
THRESHOLD_ENV = "NETWRIGHT_STREAM_THRESHOLD_MB"
DEFAULT_THRESHOLD_BYTES = 2 << 30


def stream_threshold_bytes() -> int:
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD_BYTES
    try:
        value = float(raw)
    except ValueError:
        raise DatasetError(f"{THRESHOLD_ENV} must be a number of megabytes, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise DatasetError(f"{THRESHOLD_ENV} must be a number of megabytes >= 0, got {raw!r}")
    return int(value * (1 << 20))


@dataclass(frozen=True)
class ArrayFile:
    """A C-ordered .npy file read row by row without mapping it."""

    path: pathlib.Path
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int  # where the data starts, after the .npy header

    @classmethod
    def open(cls, path: pathlib.Path) -> ArrayFile:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(handle)
            if fortran:
                raise DatasetError(f"{path}: Fortran-ordered arrays cannot be streamed")
            return cls(path, tuple(shape), np.dtype(dtype), handle.tell())

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def read_rows(self, fd: int, index: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Rows ``index`` (in that order) into ``out`` [len(index), ...]."""
        view = out.reshape(len(index), -1).view(np.uint8)
        size = self.row_bytes
        for slot, row in enumerate(index.tolist()):  # one pread per row: no mapping
            got = os.preadv(fd, [view[slot]], self.offset + row * size)
            if got != size:
                raise DatasetError(f"{self.path} is shorter than its header says (row {row})")
        return out


@dataclass(frozen=True)
class StreamCache:
    """A decoded dataset on disk: one ArrayFile per tensor name ("x", "y" ...)."""

    folder: pathlib.Path
    arrays: dict[str, ArrayFile]
    meta: dict[str, Any]

    @classmethod
    def open(cls, folder: pathlib.Path) -> StreamCache:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = {name: ArrayFile.open(folder / f"{name}.npy") for name in meta["arrays"]}
        return cls(folder, arrays, meta)

    def load(self, name: str) -> np.ndarray:
        """A whole array in memory (labels, small columns)."""
        array: np.ndarray = np.load(self.arrays[name].path, allow_pickle=False)
        return array


# ---------------------------------------------------------------- building caches


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _publish(build: Callable[[pathlib.Path], dict[str, Any]], target: pathlib.Path, what: str) -> StreamCache:
    """Run ``build`` in a temporary folder beside ``target`` and rename it into place."""
    if (target / "meta.json").is_file():
        return StreamCache.open(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        meta = build(tmp)
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        publish_folder(tmp, target)
    except OSError as exc:
        raise DatasetError(
            f"{what}: cannot write its cache in {target.parent} ({exc.strerror or exc}); nothing was "
            f"kept. Free some space or point {fetch.DATA_DIR_ENV} at a larger disk"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return StreamCache.open(target)


def image_folder_cache(path: str | os.PathLike[str], size: Sequence[int] | None = None, *,
                       grayscale: bool = False) -> StreamCache:
    """Decode an image folder once into uint8 x [N, C, H, W] and int64 y (see module doc)."""
    from PIL import Image

    from graph_compiler.training.loaders.common import IMAGE_SUFFIXES

    folder = pathlib.Path(path)
    where = f"image folder '{path}'"
    if not folder.is_dir():
        raise DatasetError(f"{where} does not exist or is not a folder")
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(f"{where} has no class subfolders")
    files: list[tuple[pathlib.Path, int]] = []
    for label, class_dir in enumerate(class_dirs):
        files += [(p, label) for p in sorted(class_dir.rglob("*"))
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    if not files:
        raise DatasetError(f"{where} holds no images")
    stats = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p, _ in files]
    mode = "L" if grayscale else "RGB"

    def build(tmp: pathlib.Path) -> dict[str, Any]:
        hw = tuple(size) if size is not None else None
        channels = 1 if grayscale else 3
        x: np.memmap[Any, Any] | None = None
        labels = np.empty(len(files), dtype=np.int64)
        skipped: list[str] = []
        kept = 0
        bar = data_progress.current(f"caching {folder.name}", "images", len(files))
        for file, label in files:
            if bar is not None:
                bar.update(1)
            try:
                with Image.open(file) as opened:
                    image = opened.convert(mode)
                    if hw is None:
                        hw = (image.height, image.width)
                    if (image.height, image.width) != hw:
                        image = image.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
                    pixels = np.asarray(image, dtype=np.uint8)
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
                skipped.append(f"{file} ({type(exc).__name__})")
                continue
            if x is None:
                assert hw is not None
                x = np.lib.format.open_memmap(tmp / "x.npy", mode="w+", dtype=np.uint8,
                                              shape=(len(files), channels, *hw))
            x[kept] = pixels[None] if grayscale else pixels.transpose(2, 0, 1)
            labels[kept] = label
            kept += 1
        if x is None:
            raise DatasetError(f"{where}: none of its {len(files)} images could be read")
        x.flush()
        del x
        if kept < len(files):  # drop the rows of skipped files: rewrite the header's count
            _keep_rows(tmp / "x.npy", kept)
            warnings.warn(f"{where}: skipped {len(skipped)} unreadable image(s): "
                          f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}", stacklevel=3)
        np.save(tmp / "y.npy", labels[:kept], allow_pickle=False)
        return {"arrays": ["x", "y"], "classes": [d.name for d in class_dirs], "skipped": skipped,
                "source": str(folder), "n": kept}

    key = _key("image_folder", str(folder.resolve()), stats, list(size) if size else None, grayscale)
    return _publish(build, fetch.cache_dir() / "streams" / key, where)


def _keep_rows(path: pathlib.Path, n: int) -> None:
    """Replace a .npy file by its first ``n`` rows, copied in bounded chunks."""
    array = ArrayFile.open(path)
    row_shape = array.shape[1:]
    per_row = int(np.prod(row_shape, dtype=np.int64))
    chunk = max(1, (64 << 20) // max(1, array.row_bytes))

    def write(tmp: str) -> None:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=array.dtype, shape=(n, *row_shape))
        for start in range(0, n, chunk):  # read without mapping the file being replaced
            stop = min(n, start + chunk)
            block = np.fromfile(path, dtype=array.dtype, count=(stop - start) * per_row,
                                offset=array.offset + start * array.row_bytes)
            out[start:stop] = block.reshape(stop - start, *row_shape)
        out.flush()
        del out

    atomic_write_with(path, write)


def csv_columns_cache(path: str | os.PathLike[str], target: str | None, *, delimiter: str = ",") -> StreamCache:
    """A numeric CSV as float32 x [N, D] (and float32 y [N] for ``target``), read row by
    row into .npy files; cells must be numbers (categorical columns need the in-memory
    loader)."""
    file = pathlib.Path(path)
    where = f"CSV file '{path}'"
    if not file.is_file():
        raise DatasetError(f"{where} does not exist")
    with open(file, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
        if header is None:
            raise DatasetError(f"{where} is empty")
        n = sum(1 for row in csv.reader(handle, delimiter=delimiter) if row)
    names = [h.strip() for h in header]
    if target is not None and target not in names:
        raise DatasetError(f"{where} has no label column {target!r}; its columns: {', '.join(names)}")
    features = [i for i, name in enumerate(names) if name != target]
    stat = file.stat()

    def build(tmp: pathlib.Path) -> dict[str, Any]:
        x = np.lib.format.open_memmap(tmp / "x.npy", mode="w+", dtype=np.float32, shape=(n, len(features)))
        y = np.empty(n, dtype=np.float32)
        t = names.index(target) if target is not None else -1
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            next(reader)
            i = 0
            bar = data_progress.current(f"caching {pathlib.Path(file).name}", "rows", n)
            for line_no, row in enumerate(reader, start=2):
                if bar is not None:
                    bar.update(1)
                if not row:
                    continue
                if len(row) != len(names):
                    raise DatasetError(f"{where}: row {line_no} has {len(row)} cells, the header has {len(names)}")
                values = []
                for column, cell in enumerate(row):
                    try:
                        value = float(cell)
                    except ValueError:
                        raise DatasetError(f"{where}: row {line_no}, column {names[column]!r}: {cell!r} is "
                                           "not a number (streaming reads numeric columns only)") from None
                    values.append(value)
                x[i] = [values[c] for c in features]
                if t >= 0:
                    y[i] = values[t]
                i += 1
        x.flush()
        del x
        arrays = ["x"]
        if t >= 0:
            np.save(tmp / "y.npy", y, allow_pickle=False)
            arrays.append("y")
        return {"arrays": arrays, "feature_names": [names[c] for c in features], "target": target,
                "source": str(file), "n": n}

    key = _key("csv", str(file.resolve()), stat.st_size, stat.st_mtime_ns, target, delimiter)
    return _publish(build, fetch.cache_dir() / "streams" / key, where)


# ---------------------------------------------------------------- streaming batches


def _convert(name: str, array: np.ndarray, divide: dict[str, float]) -> torch.Tensor:
    t = torch.from_numpy(array)
    # Divided, not multiplied by the inverse: the same float32 values the loaders make.
    return t.float().div_(divide[name]) if name in divide else t


def stream_batches(cache: StreamCache, *, seed: int, epoch: int, batch_size: int, steps: int,
                   device: torch.device, divide: dict[str, float] | None = None,
                   memory: dict[str, torch.Tensor] | None = None, prefetch: int = 3,
                   subset: np.ndarray | None = None, names: Sequence[str] | None = None,
                   ) -> Iterator[dict[str, torch.Tensor]]:
    """The ``steps`` batches of one epoch, like ``batching.epoch_batches`` on the same
    data: arrays are read from ``cache`` (``divide`` turns uint8 pixels into floats, e.g.
    {"x": 255}), ``memory`` adds small tensors kept in memory (e.g. labels). ``subset``:
    the cache rows that make up the dataset (a training split), in its order; ``names``:
    the cache arrays to read (default all)."""
    divide = divide or {}
    memory = memory or {}
    arrays = {k: a for k, a in cache.arrays.items() if names is None or k in names}
    n = len(subset) if subset is not None else len(next(iter(cache.arrays.values())))
    if memory:
        rows({"cache": torch.empty(n), **memory})
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(seed, epoch))).numpy()
    pin = device.type == "cuda"
    ready: queue.Queue[dict[str, torch.Tensor] | BaseException | None] = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()

    def produce() -> None:
        fds = {name: os.open(a.path, os.O_RDONLY) for name, a in arrays.items()}
        try:
            for i in range(steps):
                if stop.is_set():
                    return
                index = perm[i * batch_size:(i + 1) * batch_size]
                where = subset[index] if subset is not None else index
                batch: dict[str, torch.Tensor] = {}
                for name, array in arrays.items():
                    out = np.empty((len(index), *array.shape[1:]), dtype=array.dtype)
                    batch[name] = _convert(name, array.read_rows(fds[name], where, out), divide)
                idx = torch.from_numpy(index)
                for name, tensor in memory.items():
                    batch[name] = tensor.index_select(0, idx)
                if pin:
                    batch = {k: v.pin_memory() for k, v in batch.items()}
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
            ready.put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            ready.put(exc)
        finally:
            for fd in fds.values():
                os.close(fd)

    worker = threading.Thread(target=produce, name="netwright-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield {k: v.to(device, non_blocking=True) for k, v in item.items()}
    finally:
        stop.set()
        while worker.is_alive():
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


__all__ = ["ArrayFile", "DEFAULT_THRESHOLD_BYTES", "StreamCache", "THRESHOLD_ENV", "csv_columns_cache",
           "image_folder_cache", "stream_batches", "stream_threshold_bytes"]
