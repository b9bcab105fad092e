"""The main window's side of the training dashboard (designer/training).

``install_training_dock`` (the dashboard's own hook) adds the dock, connects the window's
training actions and sends canvas selections to the activation view. Here the window
makes that look like the rest of it: a dock without a title bar (its tab names it) that stays hidden until Run or Train >
Training Dashboard shows it, and that opens tall enough for its curves the first time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMainWindow, QWidget

from designer.training.install import TrainingDock, install_training_dock

if TYPE_CHECKING:
    from designer.main_window import MainWindow
    from designer.model import DocumentModel


class TrainingWiring(QObject):
    def __init__(self, window: QMainWindow, dock: TrainingDock) -> None:
        super().__init__(window)
        self.window, self.dock = window, dock
        self._sized = False
        dock.hide()
        dock.setTitleBarWidget(QWidget(dock))
        dock.visibilityChanged.connect(self._on_visibility)

    def _on_visibility(self, visible: bool) -> None:
        """The first time the dashboard opens, give its curves room to be read."""
        if visible and not self._sized:
            self._sized = True
            height = max(320, self.window.height() * 2 // 5)
            self.window.resizeDocks([self.dock], [height], Qt.Orientation.Vertical)


def install(window: MainWindow, model: DocumentModel) -> TrainingWiring:
    """The training dock, wired in (``.dock``)."""
    return TrainingWiring(window, install_training_dock(window, model))
