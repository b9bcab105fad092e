"""Template: learning-rate schedules, one ``lr_at`` per kind (the exporter copies the
one the document names, renamed). Each gives the rate for a step from the optimizer's
base rate, like graph_compiler.training.engine: set before every step."""
# ruff: noqa: F821 - CONFIG comes from the generated script.

import math


def lr_at_none(base: float, step: int, total: int, per_epoch: int) -> float:
    """The learning rate for a step: constant (the document sets no schedule)."""
    return base


def lr_at_step(base: float, step: int, total: int, per_epoch: int) -> float:
    """Step schedule: the rate times gamma every step_size epochs."""
    schedule = CONFIG["schedule"]
    size = schedule.get("step_size") or max(1, CONFIG["epochs"] // 3)
    return base * schedule.get("gamma", 0.1) ** ((step // per_epoch) // size)


def lr_at_cosine(base: float, step: int, total: int, per_epoch: int) -> float:
    """Cosine decay from the base rate to min_lr over the whole run."""
    low = CONFIG["schedule"].get("min_lr", 0.0)
    return low + (base - low) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def cos_anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def lr_at_onecycle(base: float, step: int, total: int, per_epoch: int) -> float:
    """One cycle: up from max_lr / 25 to max_lr over pct_start of the run, then down."""
    schedule = CONFIG["schedule"]
    peak = schedule.get("max_lr") or base
    warm = max(1.0, schedule.get("pct_start", 0.3) * total - 1)
    if step <= warm:
        return cos_anneal(peak / 25.0, peak, step / warm)
    rest = min(1.0, (step - warm) / max(1.0, total - 1 - warm))
    return cos_anneal(peak, peak / 25.0 / 1e4, rest)
