"""One call wires training into the main window.

    from designer.training.install import install_training_dock
    self.training = install_training_dock(self, self.model)   # end of MainWindow.__init__

It adds a "Training" dock (tabbed with Diagnostics), connects the window's Run / Pause /
Resume / Stop / Save Weights actions (designer/actions.py; the window's Train menu and
toolbar hold them), sends each canvas's single-node selection to
``show_activations``, and stops a live run (through the engine's stop flag) when the
application quits.

Start-up cost is a few QActions: the dashboard itself (pyqtgraph, ~1 s to import on a
2-core machine; torch only when a run starts) is built the first time the dock is shown
or an action is used, so the window still paints first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDockWidget, QLabel

from designer.canvas.health_badge import HealthBadges
from designer.page_sizing import size_to_current_page
from designer.training.actions import TrainingActions

if TYPE_CHECKING:
    from designer.canvas.view import CanvasView
    from designer.main_window import MainWindow
    from designer.model import DocumentModel
    from designer.training.dashboard import TrainingDashboard
    from designer.training.run_history import RunHistory

_HOOK = "netwrightTrainingHook"  # dynamic property marking canvases already connected


class TrainingDock(QDockWidget):
    """The dock holding the dashboard, built on first use."""

    def __init__(self, window: MainWindow, model: DocumentModel, history: RunHistory | None = None,
                 actions: TrainingActions | None = None) -> None:
        super().__init__("Training", window)
        self.setObjectName("dock_training")  # saveState / restoreState need a name
        self.model = model
        self._history = history
        self.training_actions = actions or TrainingActions.standalone(self)
        self._dashboard: TrainingDashboard | None = None
        self.window_ = window
        self.badges = HealthBadges(self.open_node)
        placeholder = QLabel("Press Run (F5) to train the graph and watch it learn.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(placeholder)
        self.visibilityChanged.connect(lambda visible: visible and self.dashboard)
        a = self.training_actions
        a.run.triggered.connect(lambda _c=False: self._run())
        a.pause.triggered.connect(lambda _c=False: self.dashboard.pause())
        a.resume.triggered.connect(lambda _c=False: self.dashboard.resume())
        a.stop.triggered.connect(lambda _c=False: self.dashboard.stop())
        a.save.triggered.connect(lambda _c=False: self.dashboard.save_weights_dialog())

    @property
    def dashboard(self) -> TrainingDashboard:
        if self._dashboard is None:
            from designer.training.dashboard import TrainingDashboard
            from designer.training.run_history import RunHistory, default_dir

            history = self._history or RunHistory(default_dir())
            self._dashboard = TrainingDashboard(self.model, history, actions=self.training_actions)
            self._dashboard.nodeHealth.connect(self.show_node_health)
            # Only the page on show sets the dock's minimum height: the Insight plots
            # behind the Curves tab pushed a laptop-sized window past its screen.
            size_to_current_page(self._dashboard.tabs)
            size_to_current_page(self._dashboard.insight.tabs)
            self.setWidget(self._dashboard)
        return self._dashboard

    def is_built(self) -> bool:
        return self._dashboard is not None

    def _run(self) -> None:
        self.show()
        self.raise_()
        self.dashboard.start_run()

    def show_activations(self, node_id: str | None, network: str | None = None) -> None:
        # Before the first run there is nothing to show: do not build the dashboard for it.
        if self._dashboard is not None:
            self._dashboard.show_activations(node_id, network)

    def _main_view(self) -> tuple[str, CanvasView] | None:
        views = self.window_.views
        name = self.model.doc.networks[0].name if self.model.doc.networks else None
        return (name, views[name]) if name is not None and name in views else None

    def show_node_health(self, rows: dict[str, Any]) -> None:
        """Badges with each node's dead / saturated units and gradient norm on the main
        network's canvas (during training from the worker, after it from Insight)."""
        found = self._main_view()
        if found is not None:
            self.badges.update(found[1].scene(), rows)

    def open_node(self, node_id: str) -> None:
        """A badge was clicked: show that node's activations."""
        from designer.training.dashboard import PAGE_ACTIVATIONS

        self.show()
        self.raise_()
        self.dashboard.tabs.setCurrentIndex(PAGE_ACTIVATIONS)
        found = self._main_view()
        self.dashboard.show_activations(node_id, found[0] if found else None)

    def shutdown(self) -> None:
        if self._dashboard is not None:
            self._dashboard.shutdown()


def install_training_dock(window: MainWindow, model: DocumentModel, history: RunHistory | None = None) -> TrainingDock:
    """Add the training dock to ``window`` and connect the window's training actions (the
    Train menu and toolbar already hold them); returns the dock, whose ``dashboard``
    property builds the dashboard on first use. Installing twice returns the first dock."""
    existing = window.docks.get("training")
    if isinstance(existing, TrainingDock):
        return existing
    dock = TrainingDock(window, model, history, actions=TrainingActions(window.acts))
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(window.docks["diagnostics"], dock)
    window.docks["diagnostics"].raise_()
    window.docks["training"] = dock  # the window shows / hides its docks with the start page
    window.panels_menu.addAction(dock.toggleViewAction())
    dock.training_actions.dashboard.triggered.connect(lambda _c=False: _show(dock))

    _hook_canvases(window, dock)
    # Connected after the window's own slots, so new tabs exist by now.
    model.documentReset.connect(lambda *_a: _hook_canvases(window, dock))
    model.documentReset.connect(lambda *_a: dock.badges.clear())  # another file: not its numbers
    model.networksChanged.connect(lambda *_a: _hook_canvases(window, dock))
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(dock.shutdown)
    return dock


def _show(dock: TrainingDock) -> None:
    dock.show()
    dock.raise_()


def _hook_canvases(window: MainWindow, dock: TrainingDock) -> None:
    """Connect every canvas's selection to the activation view, once per canvas."""
    for view in window.views.values():
        if view.property(_HOOK):
            continue
        view.setProperty(_HOOK, True)

        def on_selection(ids: list[str], view: CanvasView = view) -> None:
            if len(ids) != 1:
                return
            network = next((n for n, v in window.views.items() if v is view), None)
            dock.show_activations(ids[0], network)

        view.selectionChangedIds.connect(on_selection)


__all__ = ["TrainingDock", "install_training_dock"]
