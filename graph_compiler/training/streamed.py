"""Training on an image folder larger than memory: the engine's side of data.streaming.

When ``training.dataset`` is an image folder whose decoded float32 size passes the
threshold (``NETWRIGHT_STREAM_THRESHOLD_MB``, default 2 GiB), it is decoded once into a
uint8 cache and the training split streams from it (``stream_batches``, background
prefetch). Everything else matches the in-memory path under the same seed: the split
(``split_rows``), the normalisation statistics (fitted on the training rows in chunks,
in float64), the batch order, the augmentation and the recipe's ``train_step``. The
validation split is read into memory (it is the small part). Unreadable images are
skipped and listed (``skipped``) instead of failing the run.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError

# Training rows read per chunk while fitting the normaliser.
_STATS_CHUNK_BYTES = 64 << 20


@dataclass
class StreamedData:
    """A decoded image-folder cache and the rows of the training split."""

    cache: Any  # a data.streaming.StreamCache
    name: str
    classes: list[str]
    labels: torch.Tensor  # int64 [N], all rows of the cache
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

    def shell(self, rows: np.ndarray, part: str) -> Dataset:
        """A Dataset of ``rows`` whose x holds no memory (a broadcast zero sample): the
        recipe reads its shape and dtype, the batches come from the cache."""
        x = torch.zeros((1, *self.sample_shape), dtype=torch.float32).expand(len(rows), *self.sample_shape)
        return Dataset(name=self.name, x=x, y=self.labels[torch.from_numpy(rows)], task="classification",
                       classes=list(self.classes),
                       meta={"image_shape": list(self.sample_shape), "source": self.cache.meta.get("source"),
                             "split": part, "streaming": str(self.folder)})

    def load_rows(self, rows: np.ndarray, part: str) -> Dataset:
        """The samples ``rows`` in memory, as the image-folder loader makes them (0..1)."""
        array = self.cache.arrays["x"]
        out = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
        fd = os.open(array.path, os.O_RDONLY)
        try:
            array.read_rows(fd, rows, out)
        finally:
            os.close(fd)
        return Dataset(name=self.name, x=torch.from_numpy(out).float().div_(255.0),
                       y=self.labels[torch.from_numpy(rows)], task="classification", classes=list(self.classes),
                       meta={"image_shape": list(self.sample_shape), "source": self.cache.meta.get("source"),
                             "split": part})

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


def image_folder_spec(spec: object, base_dir: pathlib.Path | None) -> dict[str, Any] | None:
    """The image_folder_cache arguments of an image-folder dataset spec, else None."""
    if not isinstance(spec, dict) or "image_folder" not in spec or not isinstance(spec["image_folder"],
                                                                                   (str, os.PathLike)):
        return None
    path = pathlib.Path(spec["image_folder"]).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    size = spec.get("size")
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    return {"path": path, "size": size, "grayscale": bool(spec.get("grayscale", False)),
            "name": spec.get("name") or path.name}


def decoded_bytes(path: pathlib.Path, size: list[int] | None, grayscale: bool) -> int:
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


def open_streamed(spec: dict[str, Any]) -> StreamedData:
    """Decode (once) the folder of an ``image_folder_spec`` into its stream cache."""
    from graph_compiler.data.streaming import image_folder_cache

    cache = image_folder_cache(spec["path"], spec["size"], grayscale=spec["grayscale"])
    labels = torch.from_numpy(cache.load("y"))
    if len(labels) < 2:
        raise DatasetError(f"image folder '{spec['path']}' has {len(labels)} readable image(s); training needs 2")
    return StreamedData(cache=cache, name=str(spec["name"]), classes=list(cache.meta["classes"]), labels=labels)


__all__ = ["StreamedData", "decoded_bytes", "image_folder_spec", "open_streamed"]
