"""Adversarial robustness: accuracy against the attack strength epsilon.

- FGSM (Goodfellow et al. 2015): one step of size eps along the sign of the loss gradient.
- PGD (Madry et al. 2018), L-infinity: ``steps`` signed-gradient steps of size
  ``step_size_factor * eps / steps`` (2.5 eps / 10 by default), each projected back into
  the eps-box around the clean input; no random start, so runs are reproducible.
- Both come from ``captum.robust`` with the per-sample cross-entropy as the loss.

Epsilon is measured in the network's own input units, i.e. after the run's normalisation:
for data normalised to unit standard deviation, eps = 0.1 moves every input value by at
most a tenth of its standard deviation. Perturbed inputs are clipped to the range of the
evaluated samples. A sample counts as robust under "PGD" only when neither the PGD nor the
FGSM adversarial fools the model (the per-sample worst of both), so the PGD curve is never
above the FGSM one. At eps = 0 both attacks return the clean input, so both accuracies
equal the clean accuracy.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from captum.robust import FGSM, PGD

from graph_compiler.insight.calibration import probabilities
from graph_compiler.insight.target import IMAGE, EvalTarget, InsightError

DEFAULT_EPS = (0.0, 0.025, 0.05, 0.1, 0.2, 0.3)
DEFAULT_EPSILON = 0.1  # the one the summary quotes
PGD_STEPS = 10
STEP_SIZE_FACTOR = 2.5
MAX_SAMPLES = 512
BATCH = 256


def check_eps(eps: Sequence[float]) -> list[float]:
    """The grid sorted and de-duplicated; InsightError for negative or non-finite values."""
    values = [float(e) for e in eps]
    bad = [e for e in values if not e >= 0 or e == float("inf")]
    if bad:
        raise InsightError(f"the eps grid must hold finite values >= 0; got {bad[0]:g}")
    if not values:
        raise InsightError("the eps grid is empty")
    return sorted(set(values))


def _loss(target: EvalTarget) -> Any:
    def per_sample(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if out.shape[1] == 1:
            return torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], y.float(), reduction="none")
        return torch.nn.functional.cross_entropy(out, y, reduction="none")

    return per_sample


def _predict(target: EvalTarget, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = target.forward(x)
    return out.argmax(dim=1) if out.shape[1] > 1 else (out[:, 0] > 0).long()


def robustness(target: EvalTarget, eps: Sequence[float] = DEFAULT_EPS, steps: int = PGD_STEPS,
               max_samples: int = MAX_SAMPLES, n_examples: int = 4,
               default_eps: float = DEFAULT_EPSILON) -> dict[str, Any]:
    """The robustness section of a report (see the module doc)."""
    grid = check_eps(eps)
    if steps < 1:
        raise InsightError(f"PGD needs at least 1 step; got {steps}")
    if not target.is_classifier:
        return not_applicable(f"robustness is measured as accuracy under attack; a {target.recipe} model has no "
                              "accuracy")
    if not target.float_input:
        return not_applicable("the inputs are integer token ids, which have no gradient to attack; "
                              "adversarial robustness needs float inputs")
    if target.y is None:
        return not_applicable(f"dataset {target.dataset!r} has no labels to measure accuracy against")
    n = min(len(target.x), max_samples)
    x, y = target.x[:n], target.y[:n].long()
    lo, hi = target.bounds
    fgsm = FGSM(target.forward, loss_func=_loss(target), lower_bound=lo, upper_bound=hi)
    pgd = PGD(target.forward, loss_func=_loss(target), lower_bound=lo, upper_bound=hi)
    clean_ok = torch.cat([_predict(target, x[i:i + BATCH]) for i in range(0, n, BATCH)]) == y
    rows = []
    example_x: dict[str, torch.Tensor] = {}
    for e in grid:
        f_ok, p_ok = [], []
        advs: list[torch.Tensor] = []
        for i in range(0, n, BATCH):
            xb, yb = x[i:i + BATCH], y[i:i + BATCH]
            xf, xp = _attack(fgsm, pgd, xb, yb, e, steps)
            fo = _predict(target, xf) == yb
            po = _predict(target, xp) == yb
            f_ok.append(fo)
            p_ok.append(po & fo)
            if e == _closest(grid, default_eps):
                advs.append(torch.where((~po & fo).reshape(-1, *[1] * (xb.ndim - 1)), xp, xf).detach())
        fgsm_ok, pgd_ok = torch.cat(f_ok), torch.cat(p_ok)
        rows.append({"eps": e, "fgsm_accuracy": float(fgsm_ok.double().mean()),
                     "pgd_accuracy": float(pgd_ok.double().mean())})
        if advs:
            example_x = {"adversarial": torch.cat(advs), "fooled": ~pgd_ok}
    at = _closest(grid, default_eps)
    out: dict[str, Any] = {
        "applies": True, "n": n, "clean_accuracy": float(clean_ok.double().mean()),
        "eps_units": "normalised input units (after the run's normalisation)",
        "bounds": [lo, hi], "pgd_steps": steps, "pgd_step_size": f"{STEP_SIZE_FACTOR:g} * eps / {steps}",
        "curve": rows, "default_eps": at,
        "at_default": next(r for r in rows if r["eps"] == at),
    }
    out["examples"] = _examples(target, x, y, clean_ok, example_x, n_examples) if example_x else []
    return out


def _attack(fgsm: FGSM, pgd: PGD, x: torch.Tensor, y: torch.Tensor, eps: float,
            steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(FGSM adversarial, PGD adversarial) of one batch."""
    x = x.detach().requires_grad_(True)
    with warnings.catch_warnings():
        # PGD hands captum's FGSM detached points; its "did not require gradients" warning is noise.
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        xf = fgsm.perturb(x, epsilon=eps, target=y)
        # With radius 0 every PGD step is projected back onto x: one step shows it.
        xp = pgd.perturb(x, radius=eps, step_size=STEP_SIZE_FACTOR * eps / steps, step_num=steps if eps > 0 else 1,
                         target=y)
    return xf.detach(), xp.detach()


def _closest(grid: Sequence[float], e: float) -> float:
    return min(grid, key=lambda g: (abs(g - e), -g))


def _examples(target: EvalTarget, x: torch.Tensor, y: torch.Tensor, clean_ok: torch.Tensor,
              adv: dict[str, torch.Tensor], k: int) -> list[dict[str, Any]]:
    """Samples the attack fooled (clean correct, adversarial wrong) first, then others."""
    fooled = (clean_ok & adv["fooled"]).nonzero().flatten().tolist()
    rest = [i for i in range(len(x)) if i not in set(fooled)]
    picks = (fooled + rest)[:k]
    xa = adv["adversarial"]
    with torch.no_grad():
        p_clean = probabilities(target.forward(x[picks])).cpu()
        p_adv = probabilities(target.forward(xa[picks])).cpu()
    examples = []
    for j, i in enumerate(picks):
        ex: dict[str, Any] = {
            "index": i, "true": target.class_name(int(y[i])),
            "clean_pred": target.class_name(int(p_clean[j].argmax())), "clean_confidence": float(p_clean[j].max()),
            "adv_pred": target.class_name(int(p_adv[j].argmax())), "adv_confidence": float(p_adv[j].max()),
            "max_abs_perturbation": float((xa[i] - x[i]).abs().max()),
        }
        if target.input_kind == IMAGE:
            ex["clean"] = target.image_for_display(x[i:i + 1])[0].mean(dim=0).tolist()
            ex["adversarial"] = target.image_for_display(xa[i:i + 1])[0].mean(dim=0).tolist()
            ex["perturbation"] = (xa[i] - x[i]).detach().cpu().mean(dim=0).tolist()
        examples.append(ex)
    return examples


def not_applicable(reason: str) -> dict[str, Any]:
    return {"applies": False, "reason": reason}


__all__ = ["DEFAULT_EPS", "DEFAULT_EPSILON", "PGD_STEPS", "check_eps", "not_applicable", "robustness"]
