"""What a finished (or stopped) training run leaves for its caller: ``Trainer.result``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class RunResult:
    """What a finished (or stopped) run leaves for the caller."""

    reason: str  # completed | stopped | early_stopping | error
    epoch: int
    main: str | None
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # CPU copies
    history: list[dict[str, Any]] = field(default_factory=list)
    normalizer: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None
    saved: str | None = None
    error: dict[str, Any] | None = None

    @property
    def main_weights(self) -> dict[str, torch.Tensor] | None:
        return self.weights.get(self.main) if self.main else None


__all__ = ["RunResult"]
