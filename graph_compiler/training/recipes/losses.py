"""Loss functions a training section can name (``training.loss``)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from graph_compiler.training.config import TrainingConfigError

LOSSES = ("cross_entropy", "mse", "l1", "bce")


def make_loss(name: str, **kwargs: Any) -> nn.Module:
    """``cross_entropy`` (logits + int64 class ids; for [B, T, C] outputs use
    ``sequence_cross_entropy``), ``mse``, ``l1``, ``bce`` (with logits)."""
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(**kwargs)
    if name == "mse":
        return nn.MSELoss(**kwargs)
    if name == "l1":
        return nn.L1Loss(**kwargs)
    if name == "bce":
        return nn.BCEWithLogitsLoss(**kwargs)
    raise TrainingConfigError(f"training.loss: unknown loss {name!r}; allowed: {', '.join(LOSSES)}")


def sequence_cross_entropy(logits: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """Cross-entropy for per-position outputs: logits [B, T, C], target [B, T]."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), **kwargs)


__all__ = ["LOSSES", "make_loss", "sequence_cross_entropy"]
