"""Run the whole evaluation of a trained model and put every number in one JSON-ready dict.

    trainer = load_for_evaluation("runs/cnn")                 # or the app's finished Trainer
    target = EvalTarget.from_trainer(trainer, "val")
    result = evaluate(target)                                 # Evaluation(report, predictions)
    print(summary(result.report))

``what`` picks sections (``WHAT``). A section that does not apply to the model (regression
has no calibration) says so with ``{"applies": false, "reason": ...}``; when the caller
named the section explicitly (``strict=True``) that is an InsightError instead.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph_compiler.insight import attribution as attribution_mod
from graph_compiler.insight import calibration as calibration_mod
from graph_compiler.insight import ood as ood_mod
from graph_compiler.insight import robustness as robustness_mod
from graph_compiler.insight import units as units_mod
from graph_compiler.insight.target import EvalTarget, InsightError

WHAT = ("calibration", "robustness", "attribution", "units", "ood")
REPORT_FORMAT = "netwright-evaluation"


@dataclass
class Evaluation:
    report: dict[str, Any]  # every number, JSON-ready
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # per-sample arrays (npz)


def parse_what(text: str | Sequence[str] | None) -> list[str]:
    """Section names from "calibration,units" (all of them for None / empty)."""
    if text is None:
        return list(WHAT)
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    bad = [t for t in items if t not in WHAT]
    if bad:
        raise InsightError(f"--what: unknown section {bad[0]!r}; choose from {', '.join(WHAT)}")
    return [w for w in WHAT if w in items] or list(WHAT)


def load_for_evaluation(weights: str | Path, file: str | Path | None = None, device: str = "cpu") -> Any:
    """A prepared Trainer holding a saved run's trained networks (the run's data, split and
    normalisation included). ``file``: the graph to use instead of the run's snapshot."""
    from graph_compiler.training.restore import load_trained

    return load_trained(weights, file=file, device=device)


def predictions(target: EvalTarget, temperature: float = 1.0) -> dict[str, np.ndarray]:
    """Per-sample outputs: logits, probabilities (and calibrated ones), labels, predictions.
    Only supervised models map the evaluated samples to outputs (a GAN's generator takes
    noise); for the others this holds the labels, if any."""
    out: dict[str, np.ndarray] = {}
    if target.recipe in ("classification", "regression"):
        out["logits" if target.is_classifier else "outputs"] = target.logits().numpy().astype(np.float32)
    if target.is_classifier:
        logits = torch.from_numpy(out["logits"])
        probs = calibration_mod.probabilities(logits)
        out["probabilities"] = probs.numpy()
        out["predictions"] = probs.argmax(dim=1).numpy().astype(np.int64)
        out["probabilities_calibrated"] = calibration_mod.probabilities(logits, temperature).numpy()
        out["temperature"] = np.asarray(temperature, dtype=np.float64)
        out["classes"] = np.asarray(target.classes or [str(i) for i in range(probs.shape[1])])
    if target.y is not None:
        out["labels"] = target.y.detach().cpu().numpy()
    return out


def evaluate(target: EvalTarget, what: Sequence[str] | None = None, *, strict: bool = False,
             eps: Sequence[float] = robustness_mod.DEFAULT_EPS, default_eps: float = robustness_mod.DEFAULT_EPSILON,
             pgd_steps: int = robustness_mod.PGD_STEPS, samples: Sequence[int] | None = None, cls: int | None = None,
             ig_steps: int = attribution_mod.N_STEPS, unfamiliar: dict[str, torch.Tensor] | None = None,
             progress: Callable[[str], None] | None = None) -> Evaluation:
    """Every asked-for section (see the module doc). ``progress`` is called with each
    section's name before it runs (the app shows it; it may raise to cancel)."""
    sections = parse_what(what)
    eps = robustness_mod.check_eps(eps)  # before any work: a bad grid fails fast
    report: dict[str, Any] = {
        "format": REPORT_FORMAT, "version": 1, "network": target.network.name, "recipe": target.recipe,
        "dataset": target.dataset, "split": target.split, "n": len(target.x), "input_kind": target.input_kind,
        "input_shape": list(target.x.shape[1:]), "classes": target.classes, "timings_s": {},
    }
    logits = target.logits() if target.is_classifier else torch.zeros(0)
    if target.is_classifier and target.y is not None:
        report["accuracy"] = float((calibration_mod.probabilities(logits).argmax(dim=1) == target.y.cpu()).double().mean())
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "calibration": lambda: _calibration(target, logits),
        "robustness": lambda: robustness_mod.robustness(target, eps, pgd_steps, default_eps=default_eps),
        "attribution": lambda: attribution_mod.attributions(target, samples, cls, ig_steps),
        "units": lambda: units_mod.units(target),
        "ood": lambda: ood_mod.ood(target, unfamiliar),
    }
    for name in sections:
        if progress is not None:
            progress(name)
        t0 = time.perf_counter()
        section = runners[name]()
        report["timings_s"][name] = round(time.perf_counter() - t0, 3)
        if strict and not section.get("applies", True):
            raise InsightError(f"{name} does not apply to this model: {section['reason']}")
        report[name] = section
    temperature = report.get("calibration", {}).get("temperature", 1.0)
    return Evaluation(report, predictions(target, temperature))


def _calibration(target: EvalTarget, logits: torch.Tensor) -> dict[str, Any]:
    if not target.is_classifier:
        return robustness_mod.not_applicable(
            f"calibration compares class probabilities with accuracy; a {target.recipe} model predicts no classes")
    if target.y is None:
        return robustness_mod.not_applicable(f"dataset {target.dataset!r} has no labels")
    return calibration_mod.calibrate(logits, target.y)


def summary(report: dict[str, Any]) -> str:
    """A few lines for people: accuracy, ECE before / after T, robust accuracy, worst
    dead-unit layer, OOD AUROC."""
    lines = [f"{report['network']} on {report['split']} data of {report['dataset']!r} ({report['n']} samples, "
             f"recipe {report['recipe']})"]
    if "accuracy" in report:
        lines.append(f"accuracy            {report['accuracy'] * 100:.1f}%")
    cal = report.get("calibration")
    if cal is not None:
        lines.append(f"calibration         ECE {cal['before']['ece'] * 100:.2f}% -> {cal['after']['ece'] * 100:.2f}% "
                     f"after temperature scaling (T = {cal['temperature']:.3f}; NLL {cal['before']['nll']:.4f} -> "
                     f"{cal['after']['nll']:.4f})" if cal["applies"] else f"calibration         n/a: {cal['reason']}")
    rob = report.get("robustness")
    if rob is not None:
        if rob["applies"]:
            at = rob["at_default"]
            lines.append(f"robustness          at eps {at['eps']:g}: FGSM {at['fgsm_accuracy'] * 100:.1f}%, "
                         f"PGD-{rob['pgd_steps']} {at['pgd_accuracy'] * 100:.1f}% (clean "
                         f"{rob['clean_accuracy'] * 100:.1f}%; eps in normalised units)")
        else:
            lines.append(f"robustness          n/a: {rob['reason']}")
    att = report.get("attribution")
    if att is not None:
        lines.append(f"attribution         Integrated Gradients completeness gap at most "
                     f"{att['max_completeness_gap_relative'] * 100:.2f}% ({att['n_steps']} steps)"
                     if att["applies"] else f"attribution         n/a: {att['reason']}")
    un = report.get("units")
    if un is not None:
        worst = un.get("worst_dead")
        if worst is not None:
            lines.append(f"dead units          worst: {worst['node']} ({worst['type']}) "
                         f"{worst['dead_fraction'] * 100:.0f}% of {worst['units']} units never active")
        else:
            lines.append("dead units          no ReLU-family layer")
        sat = [n for n in un["nodes"] if n["saturated_fraction"] is not None]
        if sat:
            s = max(sat, key=lambda n: n["saturated_fraction"])
            lines.append(f"saturated units     worst: {s['node']} ({s['type']}) {s['saturated_fraction'] * 100:.0f}%")
    od = report.get("ood")
    if od is not None:
        if od["applies"]:
            parts = ", ".join(f"{r['shift']} {r['auroc']['msp']:.3f}/{r['auroc']['energy']:.3f}" for r in od["shifts"])
            lines.append(f"unfamiliar inputs   AUROC (MSP/energy): {parts}")
        else:
            lines.append(f"unfamiliar inputs   n/a: {od['reason']}")
    return "\n".join(lines)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, allow_nan=False, default=_json_default)


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def save_temperature(run_dir: str | Path, temperature: float, report: dict[str, Any] | None = None) -> Path:
    """Record the fitted temperature in the run's run.json ("calibration" key), so code
    that loads the run can divide the logits by it."""
    from graph_compiler.atomic import atomic_write
    from graph_compiler.training.checkpoints import RUN_JSON, load_run

    if not temperature > 0:
        raise InsightError(f"a temperature must be positive; got {temperature}")
    saved = load_run(run_dir, with_optimizer=False)
    info = dict(saved.info)
    cal = (report or {}).get("calibration") or {}
    info["calibration"] = {"temperature": float(temperature), "fitted_on": (report or {}).get("split"),
                           "ece_before": cal.get("before", {}).get("ece"), "ece_after": cal.get("after", {}).get("ece")}
    path = Path(run_dir) / RUN_JSON
    atomic_write(path, (json.dumps(info, indent=1) + "\n").encode("utf-8"))
    return path


__all__ = ["WHAT", "Evaluation", "evaluate", "load_for_evaluation", "parse_what", "predictions", "save_temperature",
           "summary", "to_json"]
