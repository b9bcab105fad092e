"""What can end a run early, and the "error" event each cause becomes.

``run()`` never raises for problems a user can cause: ``error_event_for`` turns the
exception into an event whose ``cause`` (nan, shape, config, data, graph, oom, model,
internal) tells the app and the CLI what to say, and whose message names the epoch and
step (or the set-up phase) where it happened.
"""
from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from graph_compiler.errors import GraphError, NetwrightError
from graph_compiler.training import devices
from graph_compiler.training.config import TrainingConfigError
from graph_compiler.training.datasets import DatasetError
from graph_compiler.training.events import Event, error_event

if TYPE_CHECKING:
    from graph_compiler.analysis import Diagnostic

# Worded for the command line; the app words it for its own panels (designer/training/worker.py).
CHECK_MODEL_HINT = "run `netwright validate` on the file; with --debug the traceback is shown"
PHASE_TEXT = {"setup": "setting up", "data": "loading the dataset", "graph": "compiling the graph",
              "recipe": "setting up the recipe", "build": "building the networks", "train": "training",
              "eval": "validating"}


class Stopped(Exception):
    """Raised inside the loop when stop() was called; ends the run cleanly."""


class NonFinite(Exception):
    """A training value (``key``) was NaN or infinite at ``step`` of ``epoch``."""

    def __init__(self, key: str, value: float, epoch: int, step: int) -> None:
        super().__init__(key)
        self.key, self.value, self.epoch, self.step = key, value, epoch, step


class ShapeProblems(NetwrightError):
    """The recipe's check found that the networks do not fit the dataset."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Where:
    """Where the run was when it failed: its phase, the last completed epoch and step,
    the device, and the settings a hint may quote."""

    phase: str
    epoch: int
    step: int
    device: torch.device | None
    lr: float
    batch_size: int

    def phase_text(self) -> str:
        return PHASE_TEXT.get(self.phase, self.phase)


def graph_errors_text(errors: Sequence[Diagnostic], document: str, limit: int = 10) -> str:
    """Why a design with errors cannot train, listing the first ``limit`` of them: what the
    engine raises, and what the app says before it starts a run."""
    lines = "\n".join(f"  {d.format(document)}" for d in errors[:limit])
    more = f"\n  ... and {len(errors) - limit} more" if len(errors) > limit else ""
    return f"the document has {len(errors)} error(s); fix them before training:\n{lines}{more}"


def error_event_for(exc: BaseException, where: Where) -> Event:
    """The "error" event for ``exc``; call it inside the ``except`` block (it records
    the traceback) and after freeing nothing: it releases cached device memory itself."""
    running = where.phase in ("train", "eval")
    epoch = where.epoch + 1 if running else None
    # In "train" the step that failed is the one after the last completed step.
    step = where.step + (1 if where.phase == "train" else 0) if running else None
    tb = traceback.format_exc()
    if where.device is not None:
        devices.free_memory(where.device)
    if isinstance(exc, NonFinite):
        what = "loss" if exc.key in ("loss", "val_loss") else f"value {exc.key!r}"
        at = "validation" if exc.key.startswith("val_") else f"step {exc.step}"
        return error_event(
            f"training diverged: the {what} became {exc.value} at {at} (epoch {exc.epoch}); "
            "the weights are no longer usable",
            "nan", epoch=exc.epoch, step=exc.step,
            hint=f"lower the learning rate (now {where.lr:g}), enable gradient clipping "
                 "(training.grad_clip, e.g. 1.0), or check the data for extreme values")
    if isinstance(exc, ShapeProblems):
        ev = error_event("the network does not fit the dataset:\n" + "\n".join(f"  - {p}" for p in exc.problems),
                         "shape", hint="fix the Input / Output shapes, or choose another dataset or recipe")
        ev.data["problems"] = list(exc.problems)
        return ev
    if isinstance(exc, TrainingConfigError):
        return error_event(str(exc), "config", epoch=epoch, step=step)
    if isinstance(exc, DatasetError):
        return error_event(str(exc), "data")
    if isinstance(exc, GraphError):
        return error_event(str(exc), "graph")
    if isinstance(exc, NetwrightError):
        return error_event(str(exc), "config", epoch=epoch, step=step)
    if devices.is_oom(exc):
        device = "the GPU" if where.device is not None and where.device.type == "cuda" else "the computer"
        at = f" at epoch {epoch}, step {step}" if epoch else f" while {where.phase_text()}"
        return error_event(
            f"{device} ran out of memory{at} (batch size {where.batch_size})",
            "oom", epoch=epoch, step=step,
            hint="lower training.batch_size, make the network smaller, or train on another device",
            traceback=tb)
    first = (str(exc).strip().splitlines() or [""])[0]
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    if where.phase in ("train", "eval", "build", "recipe"):
        at = (f" at epoch {epoch}, step {step}" if where.phase == "train"
              else f" while validating epoch {epoch}" if where.phase == "eval" else f" while {where.phase_text()}")
        return error_event(f"the model failed{at}: {detail}", "model", epoch=epoch, step=step,
                           hint=CHECK_MODEL_HINT,
                           traceback=tb)
    return error_event(f"internal error while {where.phase_text()}: {detail}", "internal",
                       epoch=epoch, step=step, traceback=tb)


__all__ = ["CHECK_MODEL_HINT", "PHASE_TEXT", "NonFinite", "ShapeProblems", "Stopped", "Where", "error_event_for"]
