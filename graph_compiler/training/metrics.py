"""Metrics on tensors (computed on the device; read back once per evaluation)."""
from __future__ import annotations

import math

import torch


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max is the target (logits [B, C], target [B]); a
    single-logit output [B, 1] counts logit > 0 as class 1."""
    return (predict_classes(logits) == target).float().mean()


def predict_classes(logits: torch.Tensor) -> torch.Tensor:
    if logits.shape[-1] == 1:
        return (logits[..., 0] > 0).long()
    return logits.argmax(dim=-1)


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[C, C] counts, rows = true class, columns = predicted class."""
    pred = pred.reshape(-1).long().clamp(0, num_classes - 1)
    target = target.reshape(-1).long().clamp(0, num_classes - 1)
    return torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


class RegressionStats:
    """Streaming sums for MAE, MSE and R^2 (averaged over output columns, like
    sklearn's r2_score with multioutput="uniform_average")."""

    def __init__(self) -> None:
        self.n = 0
        # Per column: sum |e|, sum e^2, sum y, sum y^2 (None before the first update).
        self.sums: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred = pred.detach().float().reshape(len(pred), -1)
        target = target.detach().float().reshape(len(target), -1)
        diff = pred - target
        parts = (diff.abs().sum(0), (diff * diff).sum(0), target.sum(0), (target * target).sum(0))
        if self.sums is None:
            self.sums = parts
        else:
            a, s, y, y2 = self.sums
            self.sums = (a + parts[0], s + parts[1], y + parts[2], y2 + parts[3])
        self.n += len(pred)

    def result(self) -> dict[str, float]:
        if not self.n or self.sums is None:
            return {}
        n = self.n
        abs_sum, sq_sum, sum_y, sum_y2 = self.sums
        mae = float(abs_sum.mean()) / n
        mse = float(sq_sum.mean()) / n
        ss_tot = sum_y2 - sum_y * sum_y / n
        ss_res = sq_sum
        r2 = torch.where(ss_tot > 1e-12, 1 - ss_res / ss_tot.clamp_min(1e-12), torch.zeros_like(ss_tot))
        return {"mae": mae, "mse": mse, "r2": float(r2.mean())}


def perplexity(loss: float) -> float:
    """exp(mean cross-entropy), capped so a diverged run reports inf, not an overflow."""
    return math.exp(loss) if loss < 700 else math.inf


__all__ = ["RegressionStats", "accuracy", "confusion_matrix", "perplexity", "predict_classes"]
