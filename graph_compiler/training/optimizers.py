"""Optimizers built from the training section, and the set a run's recipe made.

``build_optimizer`` turns ``optimizer`` / ``lr`` / ``momentum`` / ``betas`` /
``weight_decay`` into a torch optimizer with the defaults the exported training script
uses too. ``OptimizerSet`` names each optimizer (the names key their checkpointed state)
and keeps its base learning rates, which the LR schedule scales.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch

from graph_compiler.training.config import Schedule, TrainingConfig, TrainingConfigError
from graph_compiler.training.schedules import lr_at


def build_optimizer(config: TrainingConfig, parameters: Iterable[Any], *, cuda: bool = False,
                    lr: float | None = None, **overrides: Any) -> torch.optim.Optimizer:
    """An optimizer over ``parameters``; ``lr`` / ``overrides`` replace config values
    (``optimizer``, ``momentum``, ``betas``, ``weight_decay`` or any torch keyword)."""
    params = list(parameters)
    if not params:
        raise TrainingConfigError("the network has no trainable parameters; add a layer with weights (e.g. Linear)")
    kind = overrides.pop("optimizer", config.optimizer)
    rate = config.lr if lr is None else lr
    wd = overrides.pop("weight_decay", config.weight_decay)
    if kind == "sgd":
        momentum = overrides.pop("momentum", 0.9 if config.momentum is None else config.momentum)
        return torch.optim.SGD(params, lr=rate, momentum=momentum, weight_decay=wd or 0.0, **overrides)
    if kind in ("adam", "adamw"):
        betas = tuple(overrides.pop("betas", config.betas))
        if cuda:
            overrides.setdefault("fused", True)
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        wd = (0.01 if kind == "adamw" else 0.0) if wd is None else wd
        return cls(params, lr=rate, betas=betas, weight_decay=wd, **overrides)
    if kind == "rmsprop":
        momentum = overrides.pop("momentum", 0.0 if config.momentum is None else config.momentum)
        return torch.optim.RMSprop(params, lr=rate, momentum=momentum, weight_decay=wd or 0.0, **overrides)
    raise TrainingConfigError(f"training.optimizer: unknown optimizer {kind!r}")


class OptimizerSet:
    """The optimizers of one run, in creation order, each with a unique name."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, torch.optim.Optimizer, list[float]]] = []

    def add(self, optimizer: torch.optim.Optimizer, name: str | None = None) -> str:
        """Register ``optimizer``; the default names are "main", then "opt1", "opt2"..."""
        taken = {n for n, _, _ in self._entries}
        if name is None:
            name = "main" if "main" not in taken else f"opt{len(self._entries)}"
        if name in taken:
            raise ValueError(f"two optimizers are named {name!r}; give make_optimizer distinct names")
        self._entries.append((name, optimizer, [g["lr"] for g in optimizer.param_groups]))
        return name

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __iter__(self) -> Iterator[tuple[str, torch.optim.Optimizer]]:
        return ((name, opt) for name, opt, _ in self._entries)

    def state_dicts(self) -> dict[str, dict[str, Any]]:
        return {name: opt.state_dict() for name, opt, _ in self._entries}

    def set_lr(self, schedule: Schedule, step: int, *, epochs: int, steps_per_epoch: int) -> None:
        """Every param group's rate for global ``step``: its base rate scaled by the schedule."""
        for _, opt, bases in self._entries:
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = lr_at(schedule, base, step, epochs=epochs, steps_per_epoch=steps_per_epoch)

    def current_lr(self) -> float:
        """The first optimizer's first group's rate (0 before any optimizer exists)."""
        return float(self._entries[0][1].param_groups[0]["lr"]) if self._entries else 0.0


__all__ = ["OptimizerSet", "build_optimizer"]
