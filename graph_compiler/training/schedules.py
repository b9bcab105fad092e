"""Learning-rate schedules as a pure function of the global step.

The engine sets every param group's rate before each step (cosine, onecycle) or epoch
(step) from ``lr_at``, so a resumed run continues on the same curve with no scheduler
state to save. The exported training script carries the same formulas.
"""
from __future__ import annotations

import math

from graph_compiler.training.config import Schedule


def cos_anneal(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct 0) to ``end`` (pct 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def lr_at(schedule: Schedule, base: float, step: int, *, epochs: int, steps_per_epoch: int) -> float:
    """The rate at global ``step`` (0-based) for a param group whose base rate is ``base``."""
    total = max(1, epochs * steps_per_epoch)
    if schedule.type == "step":
        size = schedule.step_size or max(1, epochs // 3)
        return base * schedule.gamma ** ((step // steps_per_epoch) // size)
    if schedule.type == "cosine":
        t = min(step, total) / total
        return schedule.min_lr + (base - schedule.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
    if schedule.type == "onecycle":
        peak = schedule.max_lr or base
        initial, final = peak / 25.0, peak / 25.0 / 1e4
        warm = max(1.0, schedule.pct_start * total - 1)
        if step <= warm:
            return cos_anneal(initial, peak, step / warm)
        return cos_anneal(peak, final, min(1.0, (step - warm) / max(1.0, total - 1 - warm)))
    return base


def per_step(schedule: Schedule) -> bool:
    """True when the rate changes every step; False when it changes at most per epoch."""
    return schedule.type in ("cosine", "onecycle")


__all__ = ["cos_anneal", "lr_at", "per_step"]
