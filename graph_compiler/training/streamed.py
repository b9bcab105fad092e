"""Training on data larger than memory: the engine's side of data.streaming.

When ``training.dataset`` is an image folder whose decoded float32 size, or a CSV file
whose size on disk, passes the threshold (``NETWRIGHT_STREAM_THRESHOLD_MB``, default
2 GiB), it is decoded once into a cache (uint8 pixels; float32 columns) and the training
split streams from it (``stream_batches``, background prefetch). Everything else matches the in-memory path under the same seed: the split
(``split_rows``), the normalisation statistics (fitted on the training rows in chunks,
in float64), the batch order, the augmentation and the recipe's ``train_step``. The
validation split is read into memory (it is the small part). Unreadable images are
skipped and listed (``skipped``) instead of failing the run.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError
from graph_compiler.training import devices, restore
from graph_compiler.training.checkpoints import SavedRun
from graph_compiler.training.config import TrainingConfig, TrainingConfigError
from graph_compiler.training.preprocessing import Normalizer, normalizer_kind, split_rows

# Training rows read per chunk while fitting the normaliser.
_STATS_CHUNK_BYTES = 64 << 20


@dataclass
class StreamedData:
    """A decoded cache and the rows of the training split."""

    cache: Any  # a data.streaming.StreamCache
    name: str
    task: str
    classes: list[str] | None
    labels: torch.Tensor | None  # y of all rows of the cache, in memory (small)
    divide: float | None  # 255 for uint8 pixels
    meta: dict[str, Any]
    train_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def folder(self) -> pathlib.Path:
        path: pathlib.Path = self.cache.folder
        return path

    @property
    def skipped(self) -> list[str]:
        return list(self.cache.meta.get("skipped", []))

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.cache.arrays["x"].shape[1:])

    def __len__(self) -> int:
        return len(self.cache.arrays["x"])

    def _dataset(self, x: torch.Tensor, rows: np.ndarray, part: str) -> Dataset:
        y = None if self.labels is None else self.labels[torch.from_numpy(rows)]
        return Dataset(name=self.name, x=x, y=y, task=self.task,
                       classes=None if self.classes is None else list(self.classes),
                       meta={**self.meta, "split": part, "streaming": str(self.folder)})

    def shell(self, rows: np.ndarray | None, part: str) -> Dataset:
        """A Dataset of ``rows`` (None: all) whose x holds no memory (a broadcast zero sample): the
        recipe reads its shape and dtype, the batches come from the cache."""
        rows = np.arange(len(self), dtype=np.int64) if rows is None else rows
        x = torch.zeros((1, *self.sample_shape), dtype=torch.float32).expand(len(rows), *self.sample_shape)
        return self._dataset(x, rows, part)

    def load_rows(self, rows: np.ndarray, part: str) -> Dataset:
        """The samples ``rows`` in memory, as the in-memory loader makes them."""
        array = self.cache.arrays["x"]
        out = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
        fd = os.open(array.path, os.O_RDONLY)
        try:
            array.read_rows(fd, rows, out)
        finally:
            os.close(fd)
        x = torch.from_numpy(out).float()
        return self._dataset(x.div_(self.divide) if self.divide is not None else x, rows, part)

    def notes(self) -> list[str]:
        """What the start line says about this data."""
        lines = [f"streaming the training data from the cache {self.folder}"]
        if self.skipped:
            more = " ..." if len(self.skipped) > 3 else ""
            lines.append(f"skipped {len(self.skipped)} unreadable image(s): {', '.join(self.skipped[:3])}{more}")
        return lines

    def split(self, val_fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
        """(train shell, validation in memory) with the rows ``preprocessing.split`` takes
        (no validation when ``val_fraction`` <= 0); remembers the training rows."""
        every = np.arange(len(self), dtype=np.int64)
        if val_fraction <= 0:
            self.train_rows = every
            return self.shell(every, "train"), None
        if len(every) < 2:
            raise DatasetError(f"dataset {self.name!r} has {len(every)} sample(s); a split needs at least 2")
        train_rows, val_rows = split_rows(len(every), val_fraction, seed)
        self.train_rows = train_rows.numpy()
        return self.shell(self.train_rows, "train"), self.load_rows(val_rows.numpy(), "validation")

    def splits(self, cfg: TrainingConfig, recipe_mode: str, val: Dataset | None,
               saved: SavedRun | None) -> tuple[Dataset, Dataset | None, Normalizer | None]:
        """(train shell, validation, normaliser) as the engine's in-memory path makes them:
        ``val`` is training.validation's set (else split off); the normaliser is a resumed
        run's (``saved``), else fitted on the training rows, read in chunks."""
        if val is not None:
            train = self.split(0.0, cfg.seed)[0]
        else:
            train, val = self.split(cfg.val_split, cfg.seed)
        norm = restore.saved_normalizer(saved) if saved is not None else None
        if saved is None:
            per_channel = normalizer_kind(cfg.normalize, recipe_mode, train)
            norm = None if per_channel is None else Normalizer(*self.fit_stats(per_channel))
        if norm is not None and val is not None:  # training batches are normalised as they arrive
            val = dataclasses.replace(val, x=norm.apply(val.x))
        return train, val, norm

    def event(self) -> dict[str, Any]:
        """The start event's ``streaming``."""
        return {"cache": str(self.folder), "skipped": len(self.skipped), "skipped_files": self.skipped[:20]}

    def check_batch_tensors(self, tensors: dict[str, torch.Tensor], train: Dataset, recipe: str) -> None:
        """Streamed batches read x from the cache: the recipe must batch x untouched."""
        placeholder = train.x.untyped_storage().data_ptr()
        if tensors["x"] is not train.x or any(
                t.untyped_storage().data_ptr() == placeholder for k, t in tensors.items() if k != "x"):
            raise TrainingConfigError(f"recipe {recipe!r} transforms the samples before batching, which a "
                                      "streamed dataset cannot do; set training.in_memory to true")

    def batches(self, tensors: dict[str, torch.Tensor], seed: int, epoch: int, batch_size: int, steps: int,
                device: torch.device, normalizer: Normalizer | None, modules: Iterable[torch.nn.Module],
                ) -> Iterator[dict[str, torch.Tensor]]:
        """Epoch ``epoch``'s batches: x read from the cache and normalised on the device,
        the other ``tensors`` (labels) from memory; the order of ``batching.epoch_batches``."""
        from graph_compiler.data.streaming import stream_batches

        memory = {k: v for k, v in tensors.items() if k != "x"}
        channels_last = devices.use_channels_last(device, modules)  # as the engine's _accelerate
        divide = {} if self.divide is None else {"x": self.divide}
        for batch in stream_batches(self.cache, seed=seed, epoch=epoch, batch_size=batch_size, steps=steps,
                                    device=device, divide=divide, memory=memory, subset=self.train_rows,
                                    names=["x"]):
            x = normalizer.apply(batch["x"]) if normalizer is not None else batch["x"]
            yield {**batch, "x": x.contiguous(memory_format=torch.channels_last) if channels_last and x.ndim == 4 else x}

    def fit_stats(self, per_channel: bool) -> tuple[list[float], list[float], list[int]]:
        """Mean and (biased) std of the training rows, like ``Normalizer.fit``: two passes
        over the cache in bounded chunks, in float64."""
        rows = np.sort(self.train_rows)
        shape = self.sample_shape
        dims = [0, *range(2, len(shape) + 1)] if per_channel else [0]
        chunk = max(1, _STATS_CHUNK_BYTES // max(1, self.cache.arrays["x"].row_bytes * 8))

        def chunks() -> Any:
            for start in range(0, len(rows), chunk):
                yield self.load_rows(rows[start:start + chunk], "train").x.to(torch.float64)

        total: torch.Tensor | None = None
        count = 0
        for block in chunks():
            part = block.sum(dim=dims)
            total = part if total is None else total + part
            count += block.numel() // part.numel()
        assert total is not None
        mean = total / count
        view = [1, shape[0], *[1] * (len(shape) - 1)] if per_channel else [1, *shape]
        squares: torch.Tensor | None = None
        for block in chunks():
            part = (block - mean.reshape(view)).square().sum(dim=dims)
            squares = part if squares is None else squares + part
        assert squares is not None
        std = (squares / count).sqrt()
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        out_shape = [shape[0], *[1] * (len(shape) - 1)] if per_channel else list(shape)
        return mean.reshape(-1).tolist(), std.reshape(-1).tolist(), out_shape


# The CSV options a stream cache honours; the others need the in-memory loader.
_CSV_STREAM_OPTIONS = {"csv", "target", "task", "delimiter", "name"}


def streamable_spec(spec: object, base_dir: pathlib.Path | None) -> dict[str, Any] | None:
    """{"kind": "image_folder" | "csv", "path", ...options} for an image-folder or CSV
    dataset spec, else None (other datasets never stream)."""
    if not isinstance(spec, dict):
        return None
    kind = next((k for k in ("image_folder", "csv") if k in spec), None)
    if kind is None or not isinstance(spec[kind], (str, os.PathLike)) or "url" in spec or "name" in spec:
        return None
    path = pathlib.Path(spec[kind]).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if kind == "csv":
        return {**spec, "kind": kind, "path": path, "name": spec.get("name") or path.stem}
    size = spec.get("size")
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    return {"kind": kind, "path": path, "size": size, "grayscale": bool(spec.get("grayscale", False)),
            "name": spec.get("name") or path.name}


def estimated_bytes(spec: dict[str, Any]) -> int:
    """What the in-memory loader would hold: a CSV's size on disk (a float32 cell is
    about as long as its text), an image folder's float32 pixels."""
    if spec["kind"] == "csv":
        path: pathlib.Path = spec["path"]
        return path.stat().st_size if path.is_file() else 0
    return _image_bytes(spec["path"], spec["size"], spec["grayscale"])


def _image_bytes(path: pathlib.Path, size: list[int] | None, grayscale: bool) -> int:
    """The float32 size the in-memory loader would make: images x C x H x W x 4, with H, W
    from ``size`` or the first image's header."""
    from PIL import Image

    from graph_compiler.training.loaders.common import IMAGE_SUFFIXES

    if not path.is_dir():
        return 0
    files = [p for d in sorted(path.iterdir()) if d.is_dir() and not d.name.startswith(".")
             for p in sorted(d.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
             and not p.name.startswith(".")]
    if not files:
        return 0
    if size is None:
        for file in files:
            try:
                with Image.open(file) as image:
                    size = [image.height, image.width]
                break
            except Exception:  # noqa: BLE001 - an unreadable first image: the next one decides
                continue
        if size is None:
            return 0
    return len(files) * (1 if grayscale else 3) * int(size[0]) * int(size[1]) * 4


def open_if_large(spec: object, base_dir: pathlib.Path | None, cfg: TrainingConfig) -> StreamedData | None:
    """The stream cache of ``spec`` when it is an image folder or CSV larger than
    training.stream_threshold_mb (else ``NETWRIGHT_STREAM_THRESHOLD_MB``), unless
    training.in_memory is true; else None."""
    from graph_compiler.data.streaming import stream_threshold_bytes

    if cfg.in_memory is True:
        return None
    threshold_mb = cfg.stream_threshold_mb
    source = streamable_spec(spec, base_dir)
    threshold = stream_threshold_bytes() if threshold_mb is None else int(threshold_mb * (1 << 20))
    if source is None or estimated_bytes(source) <= threshold:
        return None
    with warnings.catch_warnings():  # skipped images are listed in notes() and the start event
        warnings.simplefilter("ignore")
        return open_streamed(source)


def open_streamed(spec: dict[str, Any]) -> StreamedData:
    """Decode (once) the data of a ``streamable_spec`` into its stream cache."""
    if spec["kind"] == "csv":
        return _open_csv(spec)
    from graph_compiler.data.streaming import image_folder_cache

    cache = image_folder_cache(spec["path"], spec["size"], grayscale=spec["grayscale"])
    labels = torch.from_numpy(cache.load("y"))
    if len(labels) < 2:
        raise DatasetError(f"image folder '{spec['path']}' has {len(labels)} readable image(s); training needs 2")
    return StreamedData(cache=cache, name=str(spec["name"]), task="classification",
                        classes=list(cache.meta["classes"]), labels=labels, divide=255.0,
                        meta={"image_shape": list(cache.arrays["x"].shape[1:]), "source": str(spec["path"])})


def _open_csv(spec: dict[str, Any]) -> StreamedData:
    """A numeric CSV's columns; the target becomes labels or values exactly as load_csv
    makes them (integers with at most MAX_INTEGER_CLASSES values are classes)."""
    from graph_compiler.data.streaming import csv_columns_cache
    from graph_compiler.training.loaders.common import MAX_INTEGER_CLASSES, check_choice, float32

    where = f"CSV file '{spec['path']}'"
    other = sorted(set(spec) - _CSV_STREAM_OPTIONS - {"kind", "path"})
    if other:
        raise DatasetError(f"{where} is too large to load whole, and option {other[0]!r} needs the in-memory "
                           "loader; drop it, or set training.in_memory to true")
    target, task = spec.get("target"), spec.get("task")
    if target is not None and not isinstance(target, str):
        raise DatasetError(f"{where} is too large to load whole: name its 'target' column (got {target!r})")
    check_choice(where, "task", task, (None, "classification", "regression"))
    delimiter = spec.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DatasetError(f"{where}: option 'delimiter' must be one character, got {delimiter!r}")
    cache = csv_columns_cache(spec["path"], target, delimiter=delimiter)
    meta = {"source": str(spec["path"]), "feature_names": cache.meta["feature_names"], "one_hot": {},
            "rows_dropped": 0}
    if len(cache.arrays["x"]) < 2 or not cache.meta["feature_names"]:
        raise DatasetError(f"{where} needs at least 2 rows and a feature column besides the target")
    name = str(spec["name"])
    if target is None:
        return StreamedData(cache, name, "unsupervised", None, None, None, meta)
    meta["target"] = target
    values = cache.load("y").astype(np.float64)
    if task is None:
        integral = bool(np.all(np.mod(values, 1) == 0))
        task = "classification" if integral and len(np.unique(values)) <= MAX_INTEGER_CLASSES else "regression"
    if task == "regression":
        return StreamedData(cache, name, "regression", None, torch.from_numpy(float32(values)[:, None]), None, meta)
    uniques = np.unique(values)
    classes = [str(int(v)) if v.is_integer() else repr(float(v)) for v in uniques]
    ids = torch.from_numpy(np.searchsorted(uniques, values).astype(np.int64))
    return StreamedData(cache, name, "classification", classes, ids, None, meta)


__all__ = ["StreamedData", "estimated_bytes", "open_if_large", "open_streamed", "streamable_spec"]
