"""The result of a training run in the app: the trainer with its modules, the probe.

The document model owns it (``DocumentModel.trained``): it lives as long as the model
holds the document it was trained on, so a new or reopened document has none and a
closed window frees the modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch-free at import: the window builds before torch loads
    from graph_compiler.training.engine import Trainer
    from graph_compiler.training.probe import ModelProbe


@dataclass
class TrainedResult:
    """A finished (or stopped) run of a document snapshot."""

    trainer: Trainer  # owns modules, save(), sample()
    reason: str  # the done reason
    probe: ModelProbe | None
    started: float  # unix time
    stale: bool = False  # the document changed since the run's snapshot was taken
    saved: str | None = None  # run folder, once saved
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def modules(self) -> dict[str, Any]:
        return self.trainer.modules()

    def weights(self) -> dict[str, dict[str, Any]]:
        """{network: state_dict} on the CPU."""
        result = self.trainer.result
        return result.weights if result is not None else self.trainer.weights()

    def save(self, directory: str) -> str:
        """Write the run folder through the engine's checkpoints (safetensors + run.json)."""
        self.saved = str(self.trainer.save(directory, self.reason))
        return self.saved


__all__ = ["TrainedResult"]
