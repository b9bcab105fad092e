"""The main window: a start page, one canvas tab per network, and the panels as docks.

The window is glue: it routes selection to the inspector, diagnostics clicks to the
canvas, and menu actions to the model (designer/edit_commands.py, file_actions.py). It
never edits the document itself; every change goes through DocumentModel's edit methods.

Start-up is in two steps so the window paints fast: the shell (menus, toolbar, start
page) is built at once and imports nothing heavy; ``finish_setup`` (model, analysis,
canvas, panels) runs right after the first paint. Tests and scripts get both at once.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from designer import theme
from designer.page_sizing import size_to_current_page
from designer.edit_commands import EditCommands
from designer.file_actions import FileActions
from designer.files import RecentFiles
from designer.actions import Actions, retint
from designer.menus import build_menus, connect_undo_stack, context_actions
from designer.panels.start_page import StartPage

if TYPE_CHECKING:
    from designer.canvas import CanvasView
    from designer.compare import Comparison
    from designer.files import Autosaver
    from designer.model import DocumentModel
    from designer.panels.code_view import CodePanel
    from designer.panels.diagnostics import DiagnosticsPanel
    from designer.panels.inspector import InspectorPanel
    from designer.panels.palette import PalettePanel
    from designer.panels.summary import SummaryPanel
    from designer.training.install import TrainingDock


# Docks that open when their feature is used, not with the editor (Run shows Training).
ON_DEMAND_DOCKS = frozenset({"training"})
# Actions that act on an open design: greyed out on the start page.
CANVAS_ACTIONS = ("save", "save_as", "fit", "zoom_in", "zoom_out", "auto_layout", "export_python", "export_script",
                  "cut", "copy", "paste", "duplicate", "delete", "select_all", "rename", "quick_add",
                  "add_network", "rename_network", "remove_network", "block_params", "group", "ungroup", "compare",
                  "expand", "fold", "fold_repeats")


def call_soon(owner: QObject, fn: Callable[[], object]) -> None:
    """Run ``fn`` from the event loop, unless ``owner`` is destroyed first (a bare
    QTimer.singleShot would still call into a deleted widget)."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.timeout.connect(fn)
    timer.timeout.connect(timer.deleteLater)
    timer.start(0)


class MainWindow(QMainWindow):
    def __init__(self, model: DocumentModel | None = None, recovery_dir: Path | None = None,
                 deferred: bool = False) -> None:
        super().__init__()
        self.setWindowIcon(theme.icon("app"))
        self.setWindowTitle("Netwright")
        # Not larger than the screen: 1400x900 overflowed a 1366x768 laptop, hiding the status bar.
        room = QGuiApplication.primaryScreen().availableGeometry()
        self.resize(min(1400, room.width()), min(900, room.height()))
        self.ready = False
        self._model_arg, self._recovery_dir = model, recovery_dir
        # Set by finish_setup, which everything that needs them runs first.
        self.model: DocumentModel = None  # type: ignore[assignment]  # see above
        self.autosaver: Autosaver = None  # type: ignore[assignment]  # see above
        self.views: dict[str, CanvasView] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.training: TrainingDock | None = None  # the training dock, once finish_setup ran
        self.recent = RecentFiles(self)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.start_page = StartPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(self.tabs)
        size_to_current_page(self.stack)  # the start page's minimum must not shrink the docks
        self.setCentralWidget(self.stack)
        self.file_actions = FileActions(self)
        self.prompts = self.file_actions.prompts
        self.edit = EditCommands(self)
        self.compare: Comparison = None  # type: ignore[assignment]  # set by finish_setup
        self.recent_menu: Any = None
        self.panels_menu: Any = None
        self.acts: Actions = build_menus(self)
        self.status_counts = QLabel()
        self.status_counts.setObjectName("muted")
        self.statusBar().addPermanentWidget(self.status_counts)
        self.start_page.newRequested.connect(self.file_actions.new)
        self.start_page.browseRequested.connect(lambda: self.file_actions.open())
        self.start_page.openRequested.connect(self.file_actions.open)
        self.recent.changed.connect(lambda: self.start_page.set_recent(self.recent.paths()))
        self.start_page.set_recent(self.recent.paths())
        self._dock_state: QByteArray | None = None
        self._restore_settings()
        self._enable_canvas_actions(False)
        if not deferred:
            self.finish_setup()
            call_soon(self.start_page, self.start_page.populate)

    def finish_setup(self) -> None:
        """Model, canvas and panels (idempotent). Imports the graph compiler, so app start-up
        calls it after the first paint; anything that needs the model calls it first."""
        if self.ready:
            return
        self.ready = True
        from designer.compare import Comparison
        from designer.files import Autosaver
        from designer.model import DocumentModel
        from designer.panels.code_view import CodePanel
        from designer.panels.diagnostics import DiagnosticsPanel
        from designer.panels.inspector import InspectorPanel
        from designer.panels.palette import PalettePanel
        from designer.panels.summary import SummaryPanel

        # Owned by the window unless handed in, so it goes when the window goes.
        self.model = m = self._model_arg or DocumentModel(parent=self)
        self.autosaver = Autosaver(m, self, directory=self._recovery_dir)
        self.compare = Comparison(self)
        self.palette_panel: PalettePanel = PalettePanel()
        self.inspector: InspectorPanel = InspectorPanel(m)
        self.diagnostics: DiagnosticsPanel = DiagnosticsPanel(m)
        self.code: CodePanel = CodePanel(m)
        self.summary: SummaryPanel = SummaryPanel(m)
        area = Qt.DockWidgetArea
        self._add_dock("palette", "Palette", self.palette_panel, area.LeftDockWidgetArea)
        self._add_dock("inspector", "Inspector", self.inspector, area.RightDockWidgetArea)
        self._add_dock("code", "Code", self.code, area.RightDockWidgetArea)
        self._add_dock("diagnostics", "Diagnostics", self.diagnostics, area.BottomDockWidgetArea)
        self._add_dock("summary", "Summary", self.summary, area.BottomDockWidgetArea)
        # Code and Summary work only while in view; a tab brought forward catches up.
        self.docks["code"].visibilityChanged.connect(self.code.on_visibility)
        self.docks["summary"].visibilityChanged.connect(self.summary.on_visibility)
        self.tabifyDockWidget(self.docks["inspector"], self.docks["code"])
        self.tabifyDockWidget(self.docks["diagnostics"], self.docks["summary"])
        self.setTabPosition(area.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        # Side panels run the full height (more palette, more parameters in view); the
        # bottom panels sit under the canvas only, like an IDE's.
        self.setCorner(Qt.Corner.BottomLeftCorner, area.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, area.RightDockWidgetArea)
        # The palette never gets narrower than its category names ("Activation" and not
        # "Activat…"), whatever a dock beside it asks for.
        self.docks["palette"].setMinimumWidth(self.palette_min_width())
        self._default_dock_sizes()
        for dock in self.docks.values():
            self.panels_menu.addAction(dock.toggleViewAction())
            if self.on_start_page():
                dock.hide()  # the start page is the whole window, like an IDE's welcome screen
        connect_undo_stack(self.acts, m.undo_stack)

        # Bound methods, not lambdas, for signals of objects that may outlive this window
        # (the model): PySide disconnects those when the window dies.
        m.message.connect(self._show_message)
        m.dirtyChanged.connect(self._update_title)
        m.pathChanged.connect(self._update_title)
        m.documentReset.connect(self._rebuild_tabs)
        m.networksChanged.connect(self._sync_tabs)
        m.networkRenamed.connect(self._on_network_renamed)
        m.analysisUpdated.connect(self._update_status)
        theme.manager().changed.connect(self._on_theme)
        self.autosaver.written.connect(self._on_autosave)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.tabBarDoubleClicked.connect(lambda i: self.edit.rename_network() if i >= 0 else None)
        self.palette_panel.activated.connect(self.edit.add_node_at_center)
        self.diagnostics.locate.connect(self.locate)
        self.diagnostics.countChanged.connect(self._on_diag_count)
        self.summary.nodeActivated.connect(self.locate)
        self.inspector.openNetwork.connect(lambda name: self.locate(name, ""))
        self._rebuild_tabs()
        # Train menu, toolbar and dashboard dock (hidden until Run); after the tabs, so the
        # canvases exist for the dashboard's selection hook.
        from designer import window_training

        self.training_wiring = window_training.install(self, m)
        self.training = self.training_wiring.dock
        # What View > Reset Layout goes back to (taken before any saved layout is restored).
        self._default_state = self.saveState()

    # ------------------------------------------------------------ layout

    def _add_dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")  # saveState needs names
        dock.setWidget(widget)
        # Docks sit in tab groups whose tabs already name them; a title bar as well would
        # say everything twice. The View > Panels menu shows and hides them.
        dock.setTitleBarWidget(QWidget(dock))
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    def palette_min_width(self) -> int:
        """The palette dock's width at which every category name shows in full: the
        branch arrow, swatch, bold name, scroll bar and margins."""
        tree = self.palette_panel.tree
        bold = QFont(tree.font())
        bold.setBold(True)
        fm = QFontMetrics(bold)
        tops = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
        widest = max((fm.horizontalAdvance(t.text(0)) for t in tops if t is not None), default=80)
        chrome = (tree.indentation() + tree.iconSize().width() + 10  # arrow, swatch, gap
                  + tree.verticalScrollBar().sizeHint().width() + 2 * tree.frameWidth()
                  + 12 + 8)  # the panel's margins, and some air after the name
        return widest + chrome

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]],
                         [max(210, self.palette_min_width()), 360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["diagnostics"]], [170], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View > Reset Layout: the docks where a fresh install puts them, and the saved
        layout forgotten."""
        self.finish_setup()
        self.restoreState(self._default_state)
        self._dock_state = None
        QSettings().remove("window/state")
        if not self.on_start_page():
            for key, dock in self.docks.items():
                dock.setVisible(key not in ON_DEMAND_DOCKS)
            self.docks["inspector"].raise_()
            self.docks["diagnostics"].raise_()
        self._default_dock_sizes()

    def show_start_page(self) -> None:
        if self.stack.currentWidget() is self.tabs:
            self._dock_state = self.saveState()
        for dock in self.docks.values():
            dock.hide()
        self._enable_canvas_actions(False)
        self.stack.setCurrentWidget(self.start_page)
        call_soon(self.start_page, self.start_page.populate)  # no-op once filled
        self._update_title()

    def show_editor(self) -> None:
        self.finish_setup()
        if self.stack.currentWidget() is not self.tabs:
            self.stack.setCurrentWidget(self.tabs)
            if self._dock_state is None or not self.restoreState(self._dock_state):
                for key, dock in self.docks.items():
                    dock.setVisible(key not in ON_DEMAND_DOCKS)
                self.docks["inspector"].raise_()
                self.docks["diagnostics"].raise_()
        self._enable_canvas_actions(True)
        self._update_title()
        view = self.current_view()
        if view is not None:
            call_soon(view, view.fit_readable)

    def _enable_canvas_actions(self, on: bool) -> None:
        for name in CANVAS_ACTIONS:
            self.acts.all[name].setEnabled(on)

    def on_start_page(self) -> bool:
        return self.stack.currentWidget() is self.start_page

    def document_name(self) -> str:
        return Path(self.model.path).name if self.model is not None and self.model.path else "untitled"

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _on_theme(self, _name: str) -> None:
        retint(self.acts)
        for i in range(self.tabs.count()):
            self.tabs.setTabIcon(i, theme.icon("network"))

    def _update_title(self, *_args: object) -> None:
        if self.on_start_page() or self.model is None:
            self.setWindowTitle("Netwright")
            self.setWindowModified(False)
            return
        self.setWindowTitle(f"Netwright — {self.document_name()}[*]")
        self.setWindowModified(self.model.is_dirty())

    def compare_with(self, path: str | None = None) -> bool:
        """File > Compare with…: overlay the diff from another design file."""
        self.finish_setup()
        return self.compare.compare_with(path)

    def clear_comparison(self) -> None:
        """File > Clear Comparison (enabled only while a comparison is shown)."""
        self.compare.clear()

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, name)

    # ------------------------------------------------------------ tabs

    def current_view(self) -> CanvasView | None:
        w = self.tabs.currentWidget()
        return next((v for v in self.views.values() if v is w), None)

    def current_network(self) -> str | None:
        view = self.current_view()
        return next((name for name, v in self.views.items() if v is view), None)

    def with_view(self, fn: Callable[[CanvasView], object]) -> None:
        view = self.current_view()
        if view is not None and not self.on_start_page():
            fn(view)

    def _rebuild_tabs(self) -> None:
        for view in self.views.values():
            view.scene().detach()
            view.deleteLater()
        self.views.clear()
        self.tabs.clear()
        self._sync_tabs()
        self.inspector.set_target(None, None)

    def _sync_tabs(self) -> None:
        """One tab per network, in document order; views are kept for networks that stay."""
        from designer.canvas import CanvasView

        names = self.model.doc.network_names()
        for name in [n for n in self.views if n not in names]:
            gone = self.views.pop(name)
            self.tabs.removeTab(self.tabs.indexOf(gone))
            gone.scene().detach()
            gone.deleteLater()
        current = self.current_network()
        for i, name in enumerate(names):
            view = self.views.get(name)
            if view is None:
                view = CanvasView(self.model, name, lazy=True)  # items built when first shown
                view.setFrameShape(view.Shape.NoFrame)
                self.edit.apply_view_settings(view)
                view.set_context_actions(context_actions(self.acts))
                view.selectionChangedIds.connect(lambda ids, v=view: self._on_selection(v, ids))
                # A run folded or unfolded: the inspector shows the whole run, or one node again.
                view.scene().foldChanged.connect(lambda v=view: self._on_selection(v, v.selected_ids()))
                view.nodeActivated.connect(self._show_inspector)
                self.views[name] = view
                self.tabs.insertTab(i, view, theme.icon("network"), name)
            elif self.tabs.indexOf(view) != i:
                self.tabs.removeTab(self.tabs.indexOf(view))
                self.tabs.insertTab(i, view, theme.icon("network"), name)
            self.tabs.setTabToolTip(i, "main network" if i == 0 else "network (usable as a block)")
        if current in self.views:
            self.tabs.setCurrentWidget(self.views[current])
        self._update_blocks()

    def _on_network_renamed(self, old: str, new: str) -> None:
        view = self.views.pop(old, None)
        if view is None:
            return
        self.views[new] = view
        self.tabs.setTabText(self.tabs.indexOf(view), new)
        if self.inspector.network == old:
            self.inspector.set_target(new, self.inspector.node_id)

    def _on_tab_changed(self, _index: int) -> None:
        view = self.current_view()
        self._on_selection(view, view.selected_ids() if view is not None else [])
        self._update_blocks()

    def _update_blocks(self) -> None:
        current = self.current_network()
        self.palette_panel.set_blocks([n for n in self.model.doc.network_names() if n != current])

    def _on_selection(self, view: CanvasView | None, ids: list) -> None:
        if view is None or view is not self.current_view():
            return
        run = view.scene().folding.runs.get(ids[0]) if len(ids) == 1 else None
        self.inspector.set_target(self.current_network(), ids[0] if len(ids) == 1 else None, len(ids), run)

    def _show_inspector(self, _node_id: str = "") -> None:
        """A double-clicked node: bring its parameters forward."""
        dock = self.docks["inspector"]
        dock.show()
        dock.raise_()

    def locate(self, network: str, node_id: str) -> None:
        """Show a node (from diagnostics or the summary): its tab, selected and centred."""
        view = self.views.get(network)
        if view is None:
            return
        self.show_editor()
        self.tabs.setCurrentWidget(view)
        net = self.model.doc.network(network)
        if node_id and net is not None and net.node(node_id) is not None:
            view.select_ids([node_id])
            view.center_on(node_id)
            self.inspector.set_target(network, node_id)

    # ------------------------------------------------------------ status, recent, about

    def _update_status(self) -> None:
        from designer.panels.summary import human

        a = self.model.analysis
        errors, warnings = len(a.errors), len(a.warnings)
        main = a.networks.get(a.main) if a.main else None
        if main is None:
            size = ""
        elif not main.ok:  # counting only what could be inferred would understate it
            size = "params unknown (the main network has errors)"
        else:
            size = f"{main.total_params:,} params · {human(main.flops)} FLOPs"
        state = "valid" if not errors else f"{errors} error{'s' * (errors != 1)}"
        if warnings:
            state += f", {warnings} warning{'s' * (warnings != 1)}"
        self.status_counts.setText(f"{state}    {size}")

    def _on_diag_count(self, errors: int, warnings: int) -> None:
        total = errors + warnings
        self.docks["diagnostics"].setWindowTitle(f"Diagnostics ({total})" if total else "Diagnostics")

    def _on_autosave(self, text: str) -> None:
        if text.startswith("autosave failed"):
            self.statusBar().showMessage(text, 6000)

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        paths = self.recent.paths()
        for path in paths:
            a = menu.addAction(Path(path).name)
            a.setToolTip(path)
            a.triggered.connect(lambda _c=False, p=path: self.file_actions.open(p))
        if paths:
            menu.addSeparator()
            menu.addAction("Clear Recent", self.recent.clear)
        else:
            menu.addAction("(none)").setEnabled(False)

    def show_shortcuts(self) -> None:
        from designer.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def about(self) -> None:
        from graph_compiler import __version__

        QMessageBox.about(self, "About Netwright",
                          f"<b>Netwright {__version__}</b><p>Design neural networks as node graphs, "
                          "with live validation, and take away PyTorch code.</p>")

    # ------------------------------------------------------------ settings and closing

    def _restore_settings(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self._dock_state = state

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.ready and not self.file_actions.maybe_save():
            event.ignore()
            return
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        if self.ready:
            s.setValue("window/state", self.saveState() if not self.on_start_page() else self._dock_state)
            self.autosaver.close_session()
        event.accept()
