"""Training-time augmentation declared in the file: ``training.augment``.

    "augment": [
        {"type": "random_crop", "padding": 4},
        {"type": "hflip"},
        {"type": "cutmix", "alpha": 1.0}
    ]

Each entry is applied in order, to every training batch (never to validation data), on
the training device, as batched tensor ops: one random draw per sample from a generator
seeded by (training.seed, epoch), so a run - and a resumed run - sees the same
augmented batches. Image operations expect x [B, C, H, W] float; they work on pixel
values (the normaliser is undone around them), so padding and erasing fill with black
(0) and colour jitter clamps to 0..1 like torchvision's.

Parameters (defaults in brackets):

- ``random_crop``: ``padding`` [4] pixels on every side, ``size`` [the image's
  [H, W]], ``padding_mode`` ["zeros"] or "reflect"; then a random size crop.
- ``hflip``: ``p`` [0.5], the chance to mirror left-right.
- ``affine``: ``degrees`` [10] (rotation in -degrees..degrees), ``translate`` [0]
  (fraction of the size, 0..0.5), ``scale`` [[1, 1]], ``p`` [1].
- ``color_jitter``: ``brightness`` [0.2], ``contrast`` [0.2], ``saturation`` [0.2]
  (factors drawn from 1 +- value; saturation needs 3 channels), ``p`` [1].
- ``random_erasing``: ``p`` [0.5], ``scale`` [[0.02, 0.33]] of the area, ``ratio``
  [[0.3, 3.3]] aspect, ``value`` [0].
- ``mixup``: ``alpha`` [0.2] (lambda ~ Beta(alpha, alpha)), ``p`` [1]; classification
  only, with loss cross_entropy: targets become class probabilities.
- ``cutmix``: ``alpha`` [1.0], ``p`` [1]; pastes a box from another sample of the
  batch and mixes the targets by area; classification only.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from graph_compiler.training import augment_ops as ops
from graph_compiler.training.config import TrainingConfigError

_PARAMS: dict[str, dict[str, Any]] = {
    "random_crop": {"padding": 4, "size": None, "padding_mode": "zeros"},
    "hflip": {"p": 0.5},
    "affine": {"degrees": 10.0, "translate": 0.0, "scale": [1.0, 1.0], "p": 1.0},
    "color_jitter": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "p": 1.0},
    "random_erasing": {"p": 0.5, "scale": [0.02, 0.33], "ratio": [0.3, 3.3], "value": 0.0},
    "mixup": {"alpha": 0.2, "p": 1.0},
    "cutmix": {"alpha": 1.0, "p": 1.0},
}
AUGMENTATIONS = tuple(_PARAMS)
MIXING = ("mixup", "cutmix")


@dataclass(frozen=True)
class Augmentation:
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params}


def parse_augment(value: object) -> list[Augmentation]:
    """``training.augment`` checked: a list of {"type": ..., params}; a bare name is
    its type with default parameters. Errors name the entry and the parameter."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TrainingConfigError(
            f"training.augment must be a list such as [{{\"type\": \"hflip\"}}], got {value!r}")
    out: list[Augmentation] = []
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"type": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise TrainingConfigError(
                f"training.augment[{i}] must be an object with a \"type\", got {entry!r}")
        kind = entry["type"].strip().lower().replace("-", "_")
        if kind not in _PARAMS:
            raise TrainingConfigError(
                f"training.augment[{i}]: unknown type {entry['type']!r}; types: {', '.join(AUGMENTATIONS)}")
        where = f"training.augment[{i}] ({kind})"
        params = dict(_PARAMS[kind])
        for key, v in entry.items():
            if key == "type":
                continue
            if key not in params:
                raise TrainingConfigError(
                    f"{where}: unknown parameter {key!r}; its parameters: {', '.join(_PARAMS[kind])}")
            params[key] = _check(where, key, v)
        out.append(Augmentation(kind, params))
    return out


def _number(where: str, key: str, v: object, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise TrainingConfigError(f"{where}: {key!r} must be a number in [{lo:g}, {hi:g}], got {v!r}")
    return float(v)


def _pair(where: str, key: str, v: object, lo: float, hi: float) -> list[float]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise TrainingConfigError(f"{where}: {key!r} must be [low, high], got {v!r}")
    a, b = (_number(where, key, x, lo, hi) for x in v)
    if a > b:
        raise TrainingConfigError(f"{where}: {key!r} must be [low, high] with low <= high, got {list(v)}")
    return [a, b]


def _check(where: str, key: str, v: object) -> Any:
    if key == "p":
        return _number(where, key, v, 0.0, 1.0)
    if key == "padding":
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1024:
            raise TrainingConfigError(f"{where}: 'padding' must be an integer number of pixels (0..1024), got {v!r}")
        return v
    if key == "size":
        if isinstance(v, int) and not isinstance(v, bool):
            v = [v, v]
        if v is not None and (not isinstance(v, (list, tuple)) or len(v) != 2 or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in v)):
            raise TrainingConfigError(f"{where}: 'size' must be [height, width] in pixels, got {v!r}")
        return None if v is None else [int(s) for s in v]
    if key == "padding_mode":
        if v not in ("zeros", "reflect"):
            raise TrainingConfigError(f"{where}: 'padding_mode' must be \"zeros\" or \"reflect\", got {v!r}")
        return v
    if key == "degrees":
        return _number(where, key, v, 0.0, 180.0)
    if key == "translate":
        return _number(where, key, v, 0.0, 0.5)
    if key == "scale":
        return _pair(where, key, v, 0.0, 10.0)
    if key == "ratio":
        return _pair(where, key, v, 0.01, 100.0)
    if key in ("brightness", "contrast", "saturation"):
        return _number(where, key, v, 0.0, 1.0)
    if key == "alpha":
        return _number(where, key, v, 1e-3, 100.0)
    return _number(where, key, v, -1e6, 1e6)  # value


# The operations live in augment_ops, whose source exported training scripts carry.
_IMAGE_OPS = ops.AUGMENT_OPS
_MIX_OPS = ops.MIX_OPS


class Augmenter:
    """Applies a checked list of augmentations to training batches {"x", "y", ...}."""

    def __init__(self, augmentations: Sequence[Augmentation], *, sample_shape: Sequence[int],
                 x_dtype: torch.dtype, task: str, num_classes: int | None, loss: str | None,
                 seed: int, normalizer: Any = None, dataset: str = "the dataset") -> None:
        self.augmentations = list(augmentations)
        self.num_classes = num_classes
        self.seed = seed
        self.normalizer = normalizer
        self.epoch = 0
        self.batch = 0
        for i, aug in enumerate(self.augmentations):
            where = f"training.augment[{i}] ({aug.type})"
            image = len(sample_shape) == 3 and x_dtype.is_floating_point
            if aug.type in _IMAGE_OPS or aug.type == "cutmix":
                if not image:
                    raise TrainingConfigError(
                        f"{where} needs images [N, C, H, W]; dataset {dataset!r} has samples "
                        f"{list(sample_shape)} ({x_dtype}), so it cannot be applied")
            if aug.type == "random_crop" and aug.params["size"] is not None:
                th, tw = aug.params["size"]
                h, w = sample_shape[1] + 2 * aug.params["padding"], sample_shape[2] + 2 * aug.params["padding"]
                if th > h or tw > w:
                    raise TrainingConfigError(
                        f"{where}: crop size [{th}, {tw}] is larger than the padded image [{h}, {w}] "
                        f"of dataset {dataset!r}")
            if aug.type == "random_crop" and aug.params["padding_mode"] == "reflect" and (
                    aug.params["padding"] >= min(sample_shape[1:])):
                raise TrainingConfigError(
                    f"{where}: reflect padding {aug.params['padding']} must be smaller than the image "
                    f"{list(sample_shape[1:])}")
            if aug.type == "color_jitter" and sample_shape[0] not in (1, 3):
                raise TrainingConfigError(f"{where} needs 1 or 3 channels; dataset {dataset!r} has {sample_shape[0]}")
            if aug.type in MIXING:
                if task not in ("classification",) or not num_classes:
                    raise TrainingConfigError(
                        f"{where} mixes class labels, so it needs a classification dataset; "
                        f"dataset {dataset!r} is {task}")
                if (loss or "cross_entropy") != "cross_entropy":
                    raise TrainingConfigError(f"{where} needs loss \"cross_entropy\" (soft targets), got {loss!r}")

    @property
    def mixes(self) -> bool:
        return any(a.type in MIXING for a in self.augmentations)

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.batch = epoch, 0

    def __call__(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = dict(batch)
        x = out["x"]
        # One stream per (seed, epoch, batch): the same whether or not the run was resumed.
        draw = ops.AugmentDraw(self.seed, self.epoch, self.batch, x.device)
        self.batch += 1
        if self.normalizer is not None:
            view = self.normalizer.view_shape
            mean = torch.tensor(self.normalizer.mean, device=x.device, dtype=x.dtype).view(view)
            std = torch.tensor(self.normalizer.std, device=x.device, dtype=x.dtype).view(view)
            x = x * std + mean
        y = out.get("y")
        if self.mixes and y is not None and not y.is_floating_point():
            assert self.num_classes is not None
            y = F.one_hot(y, self.num_classes).to(torch.float32)
        for aug in self.augmentations:
            if aug.type in _IMAGE_OPS:
                x = _IMAGE_OPS[aug.type](x, aug.params, draw)
            else:
                assert y is not None
                x, y = _MIX_OPS[aug.type](x, y, aug.params, draw)
        if self.normalizer is not None:
            x = (x - mean) / std
        out["x"] = x
        if y is not None:
            out["y"] = y
        return out




def preview_grid(x: torch.Tensor, augmentations: Sequence[Augmentation], *, y: torch.Tensor | None = None,
                 num_classes: int | None = None, variants: int = 5, seed: int = 0) -> np.ndarray:
    """What ``augmentations`` do to a few images, as one uint8 RGB picture [H', W', 3]:
    a row per image in ``x`` [N, C, H, W] (pixels in 0..1), the original first, then
    ``variants`` augmented versions (each from its own batch draw), 1-pixel gaps."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise TrainingConfigError(f"an augmentation preview needs images [N, 1 or 3, H, W], got {list(x.shape)}")
    n, c, h, w = x.shape
    labels = y if y is not None else torch.zeros(n, dtype=torch.long)
    augmenter = Augmenter(augmentations, sample_shape=(c, h, w), x_dtype=x.dtype, task="classification",
                          num_classes=num_classes or int(labels.max()) + 1, loss=None, seed=seed)
    columns = [x] + [augmenter({"x": x, "y": labels})["x"] for _ in range(variants)]
    tiles = torch.stack(columns, 1).clamp(0, 1)  # [N, 1 + variants, C, H, W]
    if c == 1:
        tiles = tiles.expand(-1, -1, 3, -1, -1)
    grid = torch.ones(n * (h + 1) - 1, (variants + 1) * (w + 1) - 1, 3)
    for row in range(n):  # a few dozen tiles for a picture, not a training loop
        for col in range(variants + 1):
            grid[row * (h + 1):row * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = tiles[row, col].permute(1, 2, 0)
    return (grid * 255).round().to(torch.uint8).numpy()


__all__ = ["AUGMENTATIONS", "Augmentation", "Augmenter", "parse_augment", "preview_grid"]
