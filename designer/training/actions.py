"""The training actions (Run, Pause, Resume, Stop, Save Weights), cheap to create.

Kept apart from the dashboard so the main window can put them in its menu and toolbar
at start-up without importing pyqtgraph or torch (the window must paint first).
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QStyle


class TrainingActions(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        style = QApplication.style()
        sp = QStyle.StandardPixmap

        def make(text: str, icon: QStyle.StandardPixmap, tip: str, shortcut: str | None = None) -> QAction:
            a = QAction(style.standardIcon(icon), text, self)
            a.setToolTip(tip)
            if shortcut:
                a.setShortcut(shortcut)
            return a

        self.run = make("Run", sp.SP_MediaPlay, "Train the current graph (F5)", "F5")
        self.pause = make("Pause", sp.SP_MediaPause, "Pause training")
        self.resume = make("Resume", sp.SP_MediaPlay, "Resume training")
        self.stop = make("Stop", sp.SP_MediaStop, "Stop training; the weights so far are kept (Shift+F5)",
                         "Shift+F5")
        self.save = make("Save Weights…", sp.SP_DialogSaveButton,
                         "Save the trained weights (safetensors) and the run's settings to a folder")
        self.pause.setEnabled(False)
        self.resume.setEnabled(False)
        self.resume.setVisible(False)
        self.stop.setEnabled(False)
        self.save.setEnabled(False)

    def controls(self) -> list[QAction]:
        return [self.run, self.pause, self.resume, self.stop]


__all__ = ["TrainingActions"]
