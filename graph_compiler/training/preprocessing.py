"""Train/validation splits and feature normalisation.

Statistics come from the training split only, so validation numbers stay honest, and
`Normalizer.code()` writes them into exported code so the preprocessing is visible there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graph_compiler.training.config import TrainingConfigError
from graph_compiler.training.datasets import Dataset, DatasetError


def _take(ds: Dataset, index: torch.Tensor, part: str) -> Dataset:
    return dataclasses.replace(
        ds,
        x=ds.x[index],
        y=None if ds.y is None else ds.y[index],
        classes=None if ds.classes is None else list(ds.classes),
        meta={**ds.meta, "split": part},
    )


def split(ds: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """(train, validation) after a seeded shuffle; both parts get at least one sample."""
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 < val_fraction < 1
    ):
        raise DatasetError(
            f"dataset {ds.name!r}: validation fraction must be between 0 and 1, got {val_fraction!r}"
        )
    if len(ds) < 2:
        raise DatasetError(f"dataset {ds.name!r} has {len(ds)} sample(s); a split needs at least 2")
    train_rows, val_rows = split_rows(len(ds), val_fraction, seed)
    return _take(ds, train_rows, "train"), _take(ds, val_rows, "validation")


def split_rows(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (train, validation) row indices ``split`` takes from ``n`` samples."""
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


def _literal(values: list[float]) -> str:
    # float32 shortest round-trip text ("0.1307", not "0.13070000708103180"), which gives
    # back the very float32 values `apply` uses once parsed by torch.tensor.
    return "[" + ", ".join(str(np.float32(v)) for v in values) + "]"


@dataclass
class Normalizer:
    """x -> (x - mean) / std with statistics broadcast as `[1, *shape]`.

    Per feature for [N, D] data: shape [D]. Per channel for images [N, C, H, W]:
    shape [C, 1, 1]. `shape` None means [len(mean)].
    """

    mean: list[float]
    std: list[float]
    shape: list[int] | None = None

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or not self.mean:
            raise DatasetError(
                f"normaliser needs equally long, non-empty mean and std, got {len(self.mean)} and {len(self.std)}"
            )
        if any(not np.isfinite(s) or s <= 0 for s in self.std):
            raise DatasetError("normaliser std values must be positive and finite")
        if self.shape is not None and int(np.prod(self.shape)) != len(self.mean):
            raise DatasetError(
                f"normaliser shape {self.shape} does not hold {len(self.mean)} values"
            )

    @property
    def view_shape(self) -> list[int]:
        return [1, *(self.shape if self.shape is not None else [len(self.mean)])]

    @classmethod
    def fit(cls, x: torch.Tensor, per_channel: bool = False) -> Normalizer:
        """Statistics of float features x [N, ...]; per_channel averages over all dims but 1."""
        if not torch.is_floating_point(x) or x.ndim < 2 or len(x) == 0:
            raise DatasetError(
                f"normalisation needs float features [N, ...] with N > 0, got {x.dtype} {tuple(x.shape)}"
            )
        data = x.detach().to(torch.float64)
        if per_channel:
            dims = [d for d in range(data.ndim) if d != 1]
            shape = [data.shape[1], *[1] * (data.ndim - 2)]
        else:
            dims = [0]
            shape = list(data.shape[1:])
        mean = data.mean(dim=dims)
        std = data.std(dim=dims, unbiased=False)
        # A constant feature has std 0; dividing by 1 leaves it centred instead of NaN.
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        return cls(mean.reshape(-1).tolist(), std.reshape(-1).tolist(), shape)

    def _tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=torch.float32).view(self.view_shape)
        std = torch.tensor(self.std, dtype=torch.float32).view(self.view_shape)
        return mean.to(like.device, like.dtype), std.to(like.device, like.dtype)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        expected = self.view_shape[1:]
        if x.ndim != len(expected) + 1 or any(
            e not in (1, s) for e, s in zip(expected, x.shape[1:])
        ):
            raise DatasetError(
                f"normaliser fitted for inputs [N, {expected}] cannot apply to {tuple(x.shape)}"
            )
        mean, std = self._tensors(x)
        return (x - mean) / std

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std), "shape": self.view_shape[1:]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalizer:
        try:
            return cls(
                [float(v) for v in data["mean"]],
                [float(v) for v in data["std"]],
                None if data.get("shape") is None else [int(v) for v in data["shape"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"invalid normaliser settings {data!r}: {exc}") from None

    def code(self, var: str = "x") -> str:
        """One line of PyTorch that normalises `var`, for exported code to embed."""
        view = ", ".join(map(str, self.view_shape))
        mean, std = _literal(self.mean), _literal(self.std)
        return f"{var} = ({var} - torch.tensor({mean}).view({view})) / torch.tensor({std}).view({view})"


def fit_normalizer(mode: str, recipe_mode: str, train: Dataset) -> Normalizer | None:
    """The Normalizer ``training.normalize`` asks for, fitted on the training split.

    ``mode`` "auto" defers to the recipe's preference (``recipe_mode``); if that is "auto"
    too, float features are normalised per channel for images ([N, C, H, W]) and per
    feature otherwise, and token ids are left alone. TrainingConfigError when an explicit
    mode does not fit the data."""
    per_channel = normalizer_kind(mode, recipe_mode, train)
    return None if per_channel is None else Normalizer.fit(train.x, per_channel=per_channel)


def normalizer_kind(mode: str, recipe_mode: str, train: Dataset) -> bool | None:
    """What ``fit_normalizer`` fits: None (nothing), True (per channel) or False (per
    feature); it reads only x's dtype and shape."""
    if mode == "auto":
        mode = recipe_mode
    x = train.x
    if mode == "auto":
        if not torch.is_floating_point(x) or x.ndim < 2:
            return None
        mode = "channels" if x.ndim >= 4 else "features"
    if mode == "none":
        return None
    if not torch.is_floating_point(x):
        raise TrainingConfigError(
            f"training.normalize is {mode!r} but dataset {train.name!r} holds integer tokens; use \"none\"")
    if x.ndim < 2:
        raise TrainingConfigError(
            f"training.normalize needs samples with features; dataset {train.name!r} has x {tuple(x.shape)}")
    return mode == "channels" and x.ndim >= 3


def normalize_splits(norm: Normalizer | None, train: Dataset,
                     val: Dataset | None) -> tuple[Dataset, Dataset | None]:
    """Both splits with ``norm`` applied to x (unchanged when ``norm`` is None)."""
    if norm is None:
        return train, val
    train = dataclasses.replace(train, x=norm.apply(train.x))
    if val is not None:
        val = dataclasses.replace(val, x=norm.apply(val.x))
    return train, val
