"""The training commands' actions (Run, Pause, Resume, Stop, Evaluate, Save Weights), as the
dashboard and its controls use them.

In the app they are the window's own actions from the command registry
(designer/actions.py), so the Train menu, the toolbar and the dashboard's buttons share
them; a dashboard built on its own (tests, tools) makes a private set from the same table.
Cheap to create: no pyqtgraph, no torch.
"""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from designer.actions import TRAINING, Actions, create_actions


class TrainingActions:
    def __init__(self, acts: Actions) -> None:
        self.run: QAction = acts.run
        self.pause: QAction = acts.pause
        self.resume: QAction = acts.resume
        self.stop: QAction = acts.stop
        self.save: QAction = acts.save_weights
        # Enabled by the Insight tab, which owns it, once a run has finished.
        self.evaluate: QAction = acts.evaluate
        self.dashboard: QAction = acts.training_dashboard
        self.reset_states()

    @classmethod
    def standalone(cls, parent: QWidget) -> TrainingActions:
        return cls(create_actions(parent, {}, parent, names=TRAINING))

    def reset_states(self) -> None:
        """Idle: only Run (and showing the dashboard) can be used."""
        self.run.setEnabled(True)
        self.dashboard.setEnabled(True)
        self.pause.setEnabled(False)
        self.resume.setEnabled(False)
        self.resume.setVisible(False)
        self.stop.setEnabled(False)
        self.save.setEnabled(False)

    def controls(self) -> list[QAction]:
        return [self.run, self.pause, self.resume, self.stop]

    def all(self) -> list[QAction]:
        return [*self.controls(), self.evaluate, self.save, self.dashboard]


__all__ = ["TrainingActions"]
