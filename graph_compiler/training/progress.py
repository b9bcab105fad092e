"""Turning a recipe's per-step values into the numbers a run reports.

``step_values`` reads the values collected since the last report with one device sync,
and names the first step whose value was NaN or infinite. ``Monitor`` follows the
metric that decides the best epoch and early stopping.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from graph_compiler.training.config import EarlyStopping, TrainingConfigError, metric_mode
from graph_compiler.training.failures import NonFinite


def step_values(pending: list[dict[str, Any]], *, epoch: int, last_step: int) -> dict[str, list[float]]:
    """Each key's values over ``pending`` (the steps up to global step ``last_step``) as
    floats, with one device sync; NonFinite names the first bad step."""
    out: dict[str, list[float]] = {}
    for key in pending[0] if pending else ():
        values = [d[key] for d in pending if key in d]
        if isinstance(values[0], torch.Tensor):
            try:
                stacked = torch.stack(values).float().cpu()
            except RuntimeError:  # mixed shapes / dtypes: normalise one by one
                stacked = torch.stack([v.detach().float().reshape(()) for v in values]).cpu()
        else:
            stacked = torch.tensor([float(v) for v in values], dtype=torch.float64)
        finite = torch.isfinite(stacked)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0])
            raise NonFinite(key, float(stacked[bad]), epoch, last_step - len(pending) + bad + 1)
        out[key] = stacked.double().tolist()
    return out


def means_of(values: dict[str, list[float]]) -> dict[str, float]:
    # fsum: exactly rounded, so the mean does not depend on how the steps were grouped
    return {k: math.fsum(v) / len(v) for k, v in values.items() if v}


def as_number(v: Any) -> float | None:
    """``v`` as a float when it is a real scalar (not a bool), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.floating, np.integer)):
        return float(v)
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v)
    return None


class Monitor:
    """The metric that picks the best epoch and, with early stopping, ends the run.

    Without validation a ``val_`` metric falls back to ``train_loss``, except when early
    stopping asked for it explicitly (then TrainingConfigError)."""

    def __init__(self, early: EarlyStopping | None, recipe_metric: str, has_val: bool,
                 best: dict[str, Any] | None = None) -> None:
        metric = early.metric if early else recipe_metric
        if not has_val and metric.startswith("val_"):
            if early is not None:
                raise TrainingConfigError(
                    f"training.early_stopping watches {metric!r}, but val_split is 0 so there is no "
                    "validation; set val_split or watch a train_ metric")
            metric = "train_loss"
        self.metric = metric
        self.early = early
        self.mode = metric_mode(metric, early.mode if early else "auto")
        self.best = best  # {"metric", "value", "epoch"} of the best epoch so far
        self.bad_epochs = 0

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Record an epoch's metrics; True when it is the best so far."""
        value = metrics.get(self.metric)
        improved = False
        if value is not None and math.isfinite(value):
            best = self.best["value"] if self.best else None
            delta = self.early.min_delta if self.early else 0.0
            improved = best is None or (value < best - delta if self.mode == "min" else value > best + delta)
            if improved:
                self.best = {"metric": self.metric, "value": value, "epoch": epoch}
        self.bad_epochs = 0 if improved else self.bad_epochs + 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.early is not None and self.bad_epochs >= self.early.patience


class EpochTotals:
    """Every step value of one epoch. The epoch's means are exact sums over all steps, so
    they do not depend on when the live step events happened to be sent (a time-based
    grouping would make two runs with the same seed differ in the last digits)."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, values: dict[str, list[float]]) -> None:
        for k, v in values.items():
            self.values.setdefault(k, []).extend(v)

    def means(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in means_of(self.values).items()}


__all__ = ["EpochTotals", "Monitor", "as_number", "means_of", "step_values"]
