"""Running Insight evaluations off the GUI thread.

``InsightTask`` is a QThread that calls one function and posts its result (or a one-line
error) back through queued signals: the evaluation of a finished run, of a saved run
folder, a fresh attribution for another sample or class. The modules of a finished run
are no longer touched by the training thread, so the task may use them; the UI only
reads the JSON-ready report it gets back.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from graph_compiler.errors import NetwrightError


class InsightTask(QThread):
    succeeded = Signal(object)
    failed = Signal(str)
    progressed = Signal(str)  # the section about to run

    def __init__(self, fn: Callable[[InsightTask], Any], parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("netwright-insight")
        self._fn = fn
        self.traceback = ""

    def run(self) -> None:
        try:
            result = self._fn(self)
        except NetwrightError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - nothing may escape the thread
            self.traceback = traceback.format_exc()
            first = (str(exc).strip().splitlines() or [""])[0]
            self.failed.emit(f"the evaluation failed: {type(exc).__name__}: {first}")
        else:
            self.succeeded.emit(result)


def evaluate_trainer(trainer: Any, split: str = "val") -> Callable[[InsightTask], Any]:
    """A task body: (target, Evaluation) of a prepared trainer holding trained weights."""

    def body(task: InsightTask) -> Any:
        from graph_compiler.insight.evaluate import evaluate
        from graph_compiler.insight.target import EvalTarget

        target = EvalTarget.from_trainer(trainer, split)
        return target, evaluate(target, progress=task.progressed.emit)

    return body


def evaluate_run_dir(path: str, split: str = "val") -> Callable[[InsightTask], Any]:
    """A task body: load a saved run folder (the one weight loader), then evaluate it."""

    def body(task: InsightTask) -> Any:
        from graph_compiler.insight.evaluate import load_for_evaluation

        task.progressed.emit("loading")
        trainer = load_for_evaluation(path, device="cpu")
        return evaluate_trainer(trainer, split)(task)

    return body


__all__ = ["InsightTask", "evaluate_run_dir", "evaluate_trainer"]
