"""Dead and saturated units, per node, on a fixed probe batch.

Every node whose value can be captured (``graph_compiler.training.probe``) is measured on
the first ``PROBE_SIZE`` evaluated samples (the same ones every time):

- ReLU family (ReLU, ReLU6, LeakyReLU, PReLU, ELU, SELU, CELU, GELU, SiLU, Mish,
  Hardswish): the fraction of *units* never active, i.e. <= 0 for every probe sample
  (and every position: a unit is a channel of an image [N, C, H, W], the last axis of
  [N, T, D], a feature of [N, D]). A dead unit gets no gradient and never recovers.
- Sigmoid and tanh family (Sigmoid, Tanh, Hardtanh, Hardsigmoid, Softsign): the fraction
  of *values* beyond 0.99 of the half-range from the middle of the output range (tanh:
  |y| > 0.99; sigmoid: y < 0.005 or y > 0.995). There the gradient nearly vanishes.
- Other nodes are listed with their value statistics only.

A traffic-light level per node (green < 10%, amber < 50%, red otherwise, of the worse of
the two fractions) is shared with the app's canvas badges. For classifiers and
regressors the gradient norm of the loss with respect to each node's output is measured
on the same batch.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from graph_compiler.document import Network
from graph_compiler.insight.target import EvalTarget
from graph_compiler.training.probe import capture_activations

PROBE_SIZE = 256
RELU_FAMILY = frozenset({"ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
                         "Mish", "Hardswish"})
SQUASHING = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Hardsigmoid": (0.0, 1.0), "Softsign": (-1.0, 1.0)}
SATURATION = 0.99
AMBER, RED = 0.10, 0.50


def level(dead: float | None, saturated: float | None) -> str:
    """green / amber / red for the worse of a node's dead and saturated fractions."""
    worst = max(v for v in (dead, saturated, 0.0) if v is not None)
    return "red" if worst >= RED else "amber" if worst >= AMBER else "green"


def _unit_axis(values: np.ndarray) -> int:
    return 1 if values.ndim == 4 else values.ndim - 1


def dead_fraction(values: np.ndarray) -> float:
    """Fraction of units <= 0 for every sample and position."""
    if values.ndim < 2 or values.size == 0:
        return 0.0
    axis = _unit_axis(values)
    per_unit = np.moveaxis(values, axis, -1).reshape(-1, values.shape[axis])
    return float((per_unit <= 0).all(axis=0).mean())


def saturated_fraction(values: np.ndarray, lo: float, hi: float) -> float:
    """Fraction of values beyond 0.99 of the half-range from the middle of [lo, hi]."""
    if values.size == 0:
        return 0.0
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return float((np.abs(values - mid) > SATURATION * half).mean())


def _range(node_type: str, params: dict[str, Any]) -> tuple[float, float] | None:
    if node_type == "Hardtanh":
        return float(params.get("min_val", -1.0)), float(params.get("max_val", 1.0))
    return SQUASHING.get(node_type)


def _grad_norms(target: EvalTarget, x: torch.Tensor) -> dict[str, float]:
    """||d loss / d output|| per node that owns a module (loss: the recipe's on the batch)."""
    if target.y is None or target.recipe not in ("classification", "regression") or not target.attrs:
        return {}
    y = target.y[:len(x)]
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for nid, attr in target.attrs.items():
        def hook(_m: torch.nn.Module, _a: Any, out: Any, nid: str = nid) -> None:
            t = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(t, torch.Tensor) and t.requires_grad and nid not in outputs:
                t.retain_grad()
                outputs[nid] = t
        handles.append(target.model.get_submodule(attr).register_forward_hook(hook))
    try:
        with torch.enable_grad():
            out = target.forward(x)
            if target.is_classifier:
                loss = (torch.nn.functional.cross_entropy(out, y.long()) if out.shape[1] > 1 else
                        torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], y.float()))
            else:
                loss = torch.nn.functional.mse_loss(out, y.float().reshape(out.shape))
            if not loss.requires_grad:
                return {}
            torch.autograd.backward(loss)
    finally:
        for h in handles:
            h.remove()
    norms = {nid: float(t.grad.norm()) for nid, t in outputs.items() if t.grad is not None}
    target.model.zero_grad(set_to_none=True)
    return norms


def units(target: EvalTarget) -> dict[str, Any]:
    """The dead / saturated units section of a report."""
    inputs = target.probe_inputs or [target.x[:PROBE_SIZE]]
    grads = _grad_norms(target, inputs[0].to(target.device)) if len(inputs) == 1 else {}
    return measure(target.model, target.network, target.attrs, inputs, grads)


def measure(model: torch.nn.Module, net: Network, attrs: Mapping[str, str], inputs: Sequence[torch.Tensor],
            grads: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Dead / saturated fractions of every capturable node of ``net`` (the graph of
    ``model``) on ``inputs`` (one tensor per Input). The model's train / eval mode is left
    as it was, so the training worker can call this between steps."""
    grads = grads or {}
    n = len(inputs[0])
    nodes = [nd.id for nd in net.nodes if nd.type not in ("Input", "Output")]
    found = capture_activations(model, net, attrs, nodes, inputs)
    rows: list[dict[str, Any]] = []
    for nid in nodes:
        act = found.get(nid)
        if act is None:
            continue
        node = net.node(nid)
        assert node is not None
        values = act.values
        dead = dead_fraction(values) if node.type in RELU_FAMILY else None
        rng = _range(node.type, dict(node.params))
        sat = saturated_fraction(values, *rng) if rng is not None else None
        axis = _unit_axis(values) if values.ndim >= 2 else 0
        rows.append({
            "node": nid, "type": node.type, "shape": list(values.shape[1:]),
            "units": int(values.shape[axis]) if values.ndim >= 2 else 1,
            "family": "relu" if dead is not None else "squashing" if sat is not None else "other",
            "dead_fraction": dead, "saturated_fraction": sat, "grad_norm": grads.get(nid),
            "mean": float(values.mean()) if values.size else 0.0,
            "std": float(values.std()) if values.size else 0.0,
            "level": level(dead, sat),
        })
    worst = sorted((r for r in rows if r["family"] != "other"),
                   key=lambda r: -max(r["dead_fraction"] or 0.0, r["saturated_fraction"] or 0.0))
    findings = [_advice(r) for r in worst if r["level"] != "green"]
    return {"applies": True, "probe_samples": n, "nodes": rows,
            "worst": worst[0]["node"] if worst else None,
            "worst_dead": max((r for r in rows if r["dead_fraction"] is not None),
                              key=lambda r: float(r["dead_fraction"]), default=None),
            "findings": findings or ["No layer has many dead or saturated units."]}


def _advice(r: dict[str, Any]) -> str:
    if r["dead_fraction"] is not None:
        pct = r["dead_fraction"] * 100
        return (f"{r['node']} ({r['type']}): {pct:.0f}% of its {r['units']} units never activate on the probe batch. "
                "Try a lower learning rate, BatchNorm before it, LeakyReLU or GELU instead, or He (Kaiming) "
                "initialisation of the layer that feeds it.")
    pct = (r["saturated_fraction"] or 0.0) * 100
    return (f"{r['node']} ({r['type']}): {pct:.0f}% of its outputs are saturated, where the gradient is almost zero. "
            "Try BatchNorm before it, a lower learning rate, smaller initial weights (Xavier/Glorot), or ReLU/GELU.")


__all__ = ["PROBE_SIZE", "RELU_FAMILY", "SQUASHING", "dead_fraction", "level", "measure", "saturated_fraction", "units"]
