"""Unfamiliar inputs: does the model know when it sees something unlike its training data?

Two scores per sample, both higher for inputs the model finds familiar:

- maximum softmax probability, MSP (Hendrycks & Gimpel 2017);
- negative energy, logsumexp of the logits (Liu et al. 2020), which does not saturate
  the way softmax does.

The evaluated samples (in-distribution) are compared with shifted copies of themselves:
images inverted (within the data's own range), rotated by 90 degrees and with Gaussian
noise (standard deviation 1 in normalised units) added; tabular data with its feature
columns shuffled independently across samples (each feature keeps its distribution but
the relations between features break) and with noise added; sequences with their steps
shuffled; token inputs with their tokens shuffled and replaced by random ones. A user can
add their own unfamiliar data (any dataset spec). For every shift and score the report
gives the AUROC of telling the two apart (torchmetrics ``binary_auroc``, in-distribution
as the positive class): 0.5 is chance, 1.0 a perfect separation, below 0.5 means the
model is *more* confident on the shifted data.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics.functional.classification import binary_auroc

from graph_compiler.insight.calibration import probabilities
from graph_compiler.insight.robustness import not_applicable
from graph_compiler.insight.target import IMAGE, SEQUENCE, TOKENS, EvalTarget

HIST_BINS = 30
MAX_SAMPLES = 2048
SCORES = ("msp", "energy")


def scores(logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample MSP and negative energy (higher = more familiar)."""
    z = logits.double()
    if z.shape[1] == 1:  # binary logit: the two-class logits are [0, z]
        z = torch.cat([torch.zeros_like(z), z], dim=1)
    return {"msp": probabilities(logits).max(dim=1).values, "energy": torch.logsumexp(z, dim=1)}


def auroc(familiar: torch.Tensor, unfamiliar: torch.Tensor) -> float:
    """AUROC of scores separating familiar (positive) from unfamiliar samples."""
    preds = torch.cat([familiar, unfamiliar]).double().cpu()
    labels = torch.cat([torch.ones(len(familiar)), torch.zeros(len(unfamiliar))]).long()
    return float(binary_auroc(preds, labels, thresholds=None))


def _invert(target: EvalTarget, x: torch.Tensor) -> torch.Tensor:
    if target.normalizer is None:
        lo, hi = target.bounds
        return lo + hi - x
    raw = target.image_for_display(x)
    dims = [d for d in range(raw.ndim) if d != 1]
    low, high = raw.amin(dim=dims, keepdim=True), raw.amax(dim=dims, keepdim=True)
    return target.normalizer.apply(low + high - raw).to(x.device)


def shifted(target: EvalTarget, x: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """Shifted copies of ``x`` suited to the input kind (see the module doc)."""
    gen = torch.Generator().manual_seed(seed)
    kind = target.input_kind
    if kind == TOKENS:
        perm = torch.argsort(torch.rand(x.shape, generator=gen), dim=1).to(x.device)
        vocab = int(x.max()) + 1 if x.numel() else 2
        return {"shuffled tokens": x.gather(1, perm),
                "random tokens": torch.randint(0, max(vocab, 2), x.shape, generator=gen).to(x.device)}
    noise = torch.randn(x.shape, generator=gen).to(x.device, x.dtype)
    lo, hi = target.bounds
    out = {"noise": (x + noise).clamp(lo, hi)}
    if kind == IMAGE:
        out["inverted"] = _invert(target, x)
        h, w = x.shape[-2:]
        out["rotated"] = torch.rot90(x, 1, dims=(-2, -1)) if h == w else torch.flip(x, dims=(-2, -1))
    elif kind == SEQUENCE:
        perm = torch.argsort(torch.rand(x.shape[:2], generator=gen), dim=1).to(x.device)
        out["shuffled steps"] = x.gather(1, perm[..., None].expand_as(x))
    else:
        flat = x.reshape(len(x), -1)
        cols = [flat[torch.randperm(len(x), generator=gen).to(x.device), j] for j in range(flat.shape[1])]
        out["shuffled features"] = torch.stack(cols, dim=1).reshape(x.shape)
    return out


def _histograms(familiar: torch.Tensor, unfamiliar: torch.Tensor) -> dict[str, Any]:
    both = torch.cat([familiar, unfamiliar]).numpy()
    lo, hi = float(both.min()), float(both.max())
    if hi <= lo:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    return {"edges": edges.tolist(), "familiar": np.histogram(familiar.numpy(), edges)[0].tolist(),
            "unfamiliar": np.histogram(unfamiliar.numpy(), edges)[0].tolist()}


def ood(target: EvalTarget, extra: dict[str, torch.Tensor] | None = None, max_samples: int = MAX_SAMPLES,
        seed: int = 0) -> dict[str, Any]:
    """The unfamiliar-inputs section of a report. ``extra``: named unfamiliar data sets
    (normalised like the evaluated samples) to compare as well."""
    if not target.is_classifier:
        return not_applicable(f"the scores are softmax-based; a {target.recipe} model has no class probabilities")
    x = target.x[:max_samples]
    familiar = {k: v.cpu() for k, v in scores(target.logits(x)).items()}
    sets = shifted(target, x, seed)
    sets.update(extra or {})
    results = []
    for name, data in sets.items():
        s = {k: v.cpu() for k, v in scores(target.logits(data)).items()}
        results.append({
            "shift": name, "n": len(data),
            "auroc": {k: auroc(familiar[k], s[k]) for k in SCORES},
            "mean_score": {k: float(s[k].mean()) for k in SCORES},
            "histogram": {k: _histograms(familiar[k], s[k]) for k in SCORES},
        })
    return {"applies": True, "n": len(x), "scores": {"msp": "maximum softmax probability",
                                                     "energy": "logsumexp of the logits (negative energy)"},
            "familiar_mean_score": {k: float(familiar[k].mean()) for k in SCORES}, "shifts": results}


__all__ = ["SCORES", "auroc", "ood", "scores", "shifted"]
