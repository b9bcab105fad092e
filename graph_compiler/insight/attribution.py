"""Attributions: which parts of an input made the network give its answer.

- Saliency (Simonyan et al. 2014): |d output[class] / d input|, by captum's ``Saliency``.
- Integrated Gradients (Sundararajan et al. 2017): the path integral of gradients from a
  baseline to the input, by captum's ``IntegratedGradients`` (Gauss-Legendre, ``N_STEPS``
  = 64 points; a sample whose completeness gap is still above tolerance is redone with
  twice the points, up to 1024). Completeness says the attributions sum to f(x) - f(baseline); the report gives
  the gap |sum - (f(x) - f(baseline))| relative to |f(x) - f(baseline)| for every sample;
  completeness holds when that is within 1% (or the gap is below 1e-4 output units, for
  samples whose f(x) and f(baseline) nearly coincide).

The explained quantity f is the network's raw output for the chosen class (the logit,
before softmax). Baselines: images start from a black image (raw value 0, normalised as
the run normalises), other float inputs from the all-zero normalised input (each feature
at its training mean). Token inputs cannot be differentiated; they are attributed at the
output of the Embedding they feed (captum's ``LayerIntegratedGradients``), from a
baseline of token 0 at every position, and summed over the embedding dimension to one
number per token.

Images give heat maps [H, W] (saliency: the largest over channels; IG: the sum over
channels); tabular inputs one bar per feature; sequences one bar per step (summed over
features); tokens one bar per token.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from captum.attr import IntegratedGradients, LayerGradientXActivation, LayerIntegratedGradients, Saliency
from torch import nn

from graph_compiler.insight.calibration import probabilities
from graph_compiler.insight.robustness import not_applicable
from graph_compiler.insight.target import IMAGE, SEQUENCE, TABULAR, EvalTarget, InsightError

N_STEPS = 64
MAX_STEPS = 1024
COMPLETENESS_TOLERANCE = 0.01
# Where f(x) and f(baseline) nearly coincide a relative gap means nothing; an absolute gap
# this small (in output units, e.g. logits) counts as complete too.
COMPLETENESS_FLOOR = 1e-4
DEFAULT_SAMPLES = 4


def _baseline(target: EvalTarget, x: torch.Tensor) -> torch.Tensor:
    if target.input_kind == IMAGE and target.normalizer is not None:
        return target.normalizer.apply(torch.zeros_like(x))
    return torch.zeros_like(x)


def embedding_layer(target: EvalTarget) -> nn.Module:
    """The first Embedding downstream of the network's (integer) input; InsightError when
    there is none, because then no float tensor lies between the input and the output."""
    net = target.network
    frontier = [n.id for n in net.nodes if n.type == "Input"]
    seen = set(frontier)
    while frontier:  # breadth first: the Embedding nearest the input
        nid = frontier.pop(0)
        node = net.node(nid)
        if node is not None and node.type == "Embedding" and nid in target.attrs:
            return target.model.get_submodule(target.attrs[nid])
        for e in net.out_edges(nid):
            if e.dst not in seen:
                seen.add(e.dst)
                frontier.append(e.dst)
    raise InsightError(
        f"network {net.name!r} has no gradient to attribute: its input is integer token ids and no Embedding "
        "turns them into float vectors; attributions need a differentiable input path")


def check_differentiable(target: EvalTarget) -> None:
    """InsightError when the output does not depend differentiably on the (float) input."""
    if not target.float_input:
        embedding_layer(target)
        return
    x = target.x[:2].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = target.forward(x)
    if not out.requires_grad:
        raise InsightError(
            f"network {target.network.name!r} has no gradient from its output back to its input (an integer or "
            "non-differentiable step sits on the path), so attributions cannot be computed")


def _per_feature(target: EvalTarget, a: torch.Tensor, saliency: bool) -> list[Any]:
    """One sample's attribution reduced to what is drawn (see the module doc)."""
    if target.input_kind == IMAGE:
        m = a.abs().amax(dim=0) if saliency else a.sum(dim=0)
        return m.tolist()
    if target.input_kind == SEQUENCE:
        return a.sum(dim=-1).tolist()
    if target.input_kind == TABULAR:
        return a.reshape(-1).tolist()
    return a.sum(dim=-1).tolist()  # tokens: [T, E] -> [T]


def attributions(target: EvalTarget, samples: Sequence[int] | None = None, cls: int | None = None,
                 n_steps: int = N_STEPS) -> dict[str, Any]:
    """The attribution section of a report. ``samples``: indices into the evaluated data
    (default: the first four); ``cls``: the class explained (default: each sample's
    predicted class; for regression, output 0)."""
    if target.recipe not in ("classification", "regression"):
        return not_applicable(f"attributions explain a class score or a regression output; a {target.recipe} "
                              "model has neither")
    check_differentiable(target)
    n = len(target.x)
    idx = list(range(min(DEFAULT_SAMPLES, n))) if samples is None else [int(i) for i in samples]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise InsightError(f"sample {bad[0]} does not exist; the {target.split} data has {n} samples (0..{n - 1})")
    if n_steps < 2:
        raise InsightError(f"Integrated Gradients needs at least 2 steps; got {n_steps}")
    x = target.x[idx].detach()
    if target.float_input:
        x.requires_grad_(True)
    with torch.no_grad():
        out = target.forward(x)
    width = out.shape[1] if out.ndim == 2 else 1
    if cls is not None and not 0 <= cls < max(width, 2 if width == 1 else width):
        raise InsightError(f"class {cls} does not exist; the network outputs {width} score(s)")
    if target.is_classifier and width > 1:
        preds = out.argmax(dim=1)
        tgt = torch.full_like(preds, cls) if cls is not None else preds
    else:  # one output: explain it (a binary classifier's logit, or a regression output)
        preds = (out[:, 0] > 0).long() if target.is_classifier else torch.zeros(len(idx), dtype=torch.long)
        tgt = torch.full((len(idx),), cls or 0, dtype=torch.long, device=x.device)
        if width == 1:
            tgt = torch.zeros_like(tgt)
    tgt = tgt.to(x.device)
    if target.float_input:
        base = _baseline(target, x)
        sal = Saliency(target.forward).attribute(x, target=tgt, abs=True)
        method: Any = IntegratedGradients(target.forward)
        layer = "input"
    else:
        emb = embedding_layer(target)
        base = torch.zeros_like(x)
        grad = LayerGradientXActivation(target.forward, emb, multiply_by_inputs=False).attribute(x, target=tgt)
        sal = grad.abs()
        method = LayerIntegratedGradients(target.forward, emb)
        layer = "embedding output"
    sal = sal.detach()
    with torch.no_grad():
        f_x = target.forward(x).gather(1, tgt[:, None])[:, 0]
        f_b = target.forward(base).gather(1, tgt[:, None])[:, 0]
    ig, delta, steps_used = _integrated_gradients(method, x, base, tgt, f_x - f_b, n_steps)
    with torch.no_grad():
        probs = probabilities(target.forward(x)) if target.is_classifier else None
    rows = []
    for j, i in enumerate(idx):
        diff = float(f_x[j] - f_b[j])
        total = float(ig[j].sum())
        gap = abs(total - diff)
        rel = gap / max(abs(diff), 1e-12)
        row: dict[str, Any] = {
            "index": i, "target": int(tgt[j]), "target_name": _name(target, int(tgt[j])),
            "prediction": _name(target, int(preds[j])) if target.is_classifier else float(out[j, 0]),
            "f_x": float(f_x[j]), "f_baseline": float(f_b[j]), "ig_sum": total,
            "completeness_gap": gap, "completeness_gap_relative": rel,
            "captum_delta": float(delta[j]), "steps": steps_used[j],
            "saliency": _per_feature(target, sal[j].detach().cpu(), True),
            "integrated_gradients": _per_feature(target, ig[j].detach().cpu(), False),
        }
        if target.y is not None and target.is_classifier:
            row["true"] = target.class_name(int(target.y[i]))
        if probs is not None:
            row["confidence"] = float(probs[j].max())
        if target.input_kind == IMAGE:
            row["image"] = target.image_for_display(x[j:j + 1])[0].mean(dim=0).tolist()
        elif not target.float_input:
            row["tokens"] = [int(t) for t in x[j].tolist()]
        rows.append(row)
    worst = max((r["completeness_gap_relative"] for r in rows), default=0.0)
    ok = all(r["completeness_gap_relative"] <= COMPLETENESS_TOLERANCE or r["completeness_gap"] <= COMPLETENESS_FLOOR
             for r in rows)
    return {"applies": True, "method": {"saliency": "captum Saliency (abs)",
                                       "integrated_gradients": f"captum IntegratedGradients, {n_steps} steps (doubled per sample up to {MAX_STEPS} until complete)"},
            "n_steps": n_steps, "attributed_at": layer, "input_kind": target.input_kind,
            "baseline": "black image" if target.input_kind == IMAGE else
            ("token 0" if not target.float_input else "training mean (normalised zero)"),
            "samples": rows, "max_completeness_gap_relative": worst,
            "completeness_ok": ok}


def _integrated_gradients(method: Any, x: torch.Tensor, base: torch.Tensor, tgt: torch.Tensor, diff: torch.Tensor,
                          n_steps: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """IG with ``n_steps`` points; samples still outside the completeness tolerance are
    redone with twice the points, up to ``MAX_STEPS`` (a ReLU network's gradient jumps
    along the path, so some samples need a finer integral than others)."""
    ig, delta = method.attribute(x, baselines=base, target=tgt, n_steps=n_steps, internal_batch_size=512,
                                 return_convergence_delta=True)
    ig, delta = ig.detach(), delta.detach()
    steps = [n_steps] * len(x)
    n = n_steps
    while n < MAX_STEPS:
        gap = (ig.reshape(len(x), -1).sum(dim=1) - diff).abs()
        bad = ((gap > COMPLETENESS_TOLERANCE * diff.abs()) & (gap > COMPLETENESS_FLOOR)).nonzero().flatten()
        if not len(bad):
            break
        n *= 2
        more, d = method.attribute(x[bad], baselines=base[bad], target=tgt[bad], n_steps=n, internal_batch_size=512,
                                   return_convergence_delta=True)
        ig[bad], delta[bad] = more.detach(), d.detach()
        for i in bad.tolist():
            steps[i] = n
    return ig, delta, steps


def _name(target: EvalTarget, i: int) -> str:
    return target.class_name(i) if target.is_classifier else f"output {i}"


__all__ = ["COMPLETENESS_TOLERANCE", "N_STEPS", "attributions", "check_differentiable", "embedding_layer"]
