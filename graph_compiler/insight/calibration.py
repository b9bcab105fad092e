"""Calibration of a classifier (Guo et al. 2017, "On Calibration of Modern Neural Networks").

- A reliability diagram: the confidence (top-1 probability) range [0, 1] cut into 15
  equal-width bins; per bin the number of samples, their mean confidence and their
  accuracy. A calibrated model has accuracy == confidence in every bin.
- ECE: sum over bins of (count / N) * |accuracy - confidence|. MCE: the largest
  |accuracy - confidence| over non-empty bins. Both from torchmetrics'
  ``multiclass_calibration_error`` (norm "l1" and "max"), whose bins are [lo, hi) with
  a confidence of exactly 1.0 counted on its own; the diagram uses the same rule and
  draws that last group in the top bin.
- Temperature scaling: one scalar T > 0 dividing the logits, fitted by minimising the
  negative log-likelihood (NLL) on the evaluated samples. It never changes a prediction
  (argmax is unchanged), only how confident the model claims to be. The fit starts at
  T = 1 and T = 1 is kept when no T lowers the NLL, so the NLL never rises.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics.functional.classification import multiclass_calibration_error

N_BINS = 15
T_MIN, T_MAX = 0.05, 20.0


def probabilities(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Class probabilities [N, C] (float64) from a classifier's outputs. A single logit
    [N, 1] (binary cross-entropy) becomes the two columns [1 - p, p]."""
    z = logits.double() / temperature
    if z.shape[1] == 1:
        p = torch.sigmoid(z[:, 0])
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(z, dim=1)


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Mean negative log-likelihood of ``labels`` under softmax(logits / T)."""
    z = logits.double() / temperature
    if z.shape[1] == 1:
        return torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], labels.double())
    return torch.nn.functional.cross_entropy(z, labels.long())


def reliability_bins(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = N_BINS) -> list[dict[str, Any]]:
    """Per-bin count, accuracy and mean confidence (None for an empty bin)."""
    conf, pred = probs.max(dim=1)
    correct = (pred == labels.to(pred.device)).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=conf.dtype)
    index = (torch.bucketize(conf, edges, right=True) - 1).clamp(0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        mask = index == i
        count = int(mask.sum())
        bins.append({
            "lower": round(float(edges[i]), 6), "upper": round(float(edges[i + 1]), 6), "count": count,
            "accuracy": float(correct[mask].mean()) if count else None,
            "confidence": float(conf[mask].mean()) if count else None,
        })
    return bins


def calibration_errors(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = N_BINS) -> tuple[float, float]:
    """(ECE, MCE) of top-1 confidences, by torchmetrics."""
    c = probs.shape[1]
    p, y = probs.double(), labels.long().cpu()
    ece = multiclass_calibration_error(p.cpu(), y, num_classes=c, n_bins=n_bins, norm="l1")
    mce = multiclass_calibration_error(p.cpu(), y, num_classes=c, n_bins=n_bins, norm="max")
    return float(ece), float(mce)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The T minimising NLL(logits / T) (LBFGS on log T, bounded to [0.05, 20]); 1.0 if
    nothing beats it."""
    z = logits.detach().double().cpu()
    y = labels.detach().cpu()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nll(z, y, log_t.clamp(math.log(T_MIN), math.log(T_MAX)).exp())
        torch.autograd.backward(loss)
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]  # LBFGS.step is untyped in torch
    t = float(log_t.detach().clamp(math.log(T_MIN), math.log(T_MAX)).exp())
    if not math.isfinite(t) or float(nll(z, y, t)) >= float(nll(z, y, 1.0)):
        return 1.0
    return t


def _summary(logits: torch.Tensor, labels: torch.Tensor, t: float, n_bins: int) -> dict[str, Any]:
    probs = probabilities(logits, t)
    ece, mce = calibration_errors(probs, labels, n_bins)
    return {"ece": ece, "mce": mce, "nll": float(nll(logits, labels, t)),
            "mean_confidence": float(probs.max(dim=1).values.mean()),
            "bins": reliability_bins(probs, labels, n_bins)}


def calibrate(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = N_BINS) -> dict[str, Any]:
    """The calibration section of a report: before / after temperature scaling."""
    logits, labels = logits.detach().cpu(), labels.detach().cpu().long()
    t = fit_temperature(logits, labels)
    before = _summary(logits, labels, 1.0, n_bins)
    after = _summary(logits, labels, t, n_bins)
    accuracy = float((probabilities(logits).argmax(dim=1) == labels).double().mean())
    return {"applies": True, "n_bins": n_bins, "n": len(labels), "accuracy": accuracy, "temperature": t,
            "before": before, "after": after,
            "note": "temperature fitted on the evaluated samples by minimising their NLL"}


__all__ = ["N_BINS", "calibrate", "calibration_errors", "fit_temperature", "nll", "probabilities",
           "reliability_bins"]
