"""Trained weights stay attached to their document in memory.

A registry keyed by the Document object (by identity: Documents are dataclasses and
not hashable), cleaned up when the document is garbage-collected. Anything in the app
that wants the trained modules (sampling, activations, export with weights) asks
``trained_result(model.doc)``; a new or reopened document simply has none.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch-free at import: the window builds before torch loads
    from graph_compiler.training.probe import ModelProbe


@dataclass
class TrainedResult:
    """A finished (or stopped) run of a document snapshot."""

    trainer: Any  # graph_compiler.training.engine.Trainer: owns modules, save(), sample()
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


_results: dict[int, TrainedResult] = {}


def attach_result(doc: Any, result: TrainedResult) -> None:
    key = id(doc)
    if key not in _results:
        # Drop the entry when the document dies, so a recycled id() never finds old weights.
        weakref.finalize(doc, _results.pop, key, None)
    _results[key] = result


def trained_result(doc: Any) -> TrainedResult | None:
    return _results.get(id(doc))


def detach_result(doc: Any) -> None:
    _results.pop(id(doc), None)


__all__ = ["TrainedResult", "attach_result", "detach_result", "trained_result"]
