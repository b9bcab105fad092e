"""The main window's menus and toolbar, laid out from the command registry
(designer/actions.py): every entry here is the one QAction of its command."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QUndoStack
from PySide6.QtWidgets import QToolBar, QToolButton

from designer import theme
from designer.actions import TRAINING, Actions, create_actions
from designer.canvas import edit_actions as canvas_edit

if TYPE_CHECKING:
    from designer.canvas.view import CanvasView
    from designer.main_window import MainWindow

# Menu layout by command name; None is a separator.
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("new", "open", "@recent", None, "save", "save_as", None, "import_pytorch",
               "export_python", "export_script", None, "compare", "clear_comparison", None, "start_page", None, "quit")),
    ("&Edit", ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
               "select_all", "rename", "quick_add")),
    ("&View", ("fit", "zoom_in", "zoom_out", "minimap", "snap", "auto_layout", None, "expand", "fold",
               "fold_repeats", None, "theme_light",
               "theme_dark", None, "@panels", "reset_layout")),
    ("&Network", ("add_network", "rename_network", "remove_network", "block_params", None, "group", "ungroup")),
    ("&Train", ("run", "pause", "resume", "stop", None, "evaluate", "save_weights", None, "training_dashboard")),
    ("&Help", ("shortcuts", "about")),
)
TOOLBAR = ("new", "open", "save", None, "undo", "redo", None, "fit", "zoom_in", "zoom_out",
           "auto_layout", None, "export_python")
TRAINING_TOOLBAR = ("run", "pause", "resume", "stop")
# The canvas's right-click menu: the same actions as the menus.
CONTEXT_MENU = ("quick_add", None, "cut", "copy", "paste", "duplicate", "delete", None, "group",
                "ungroup", "expand", "fold", None, "auto_layout", "fit")


def canvas_handlers(current: Callable[[], CanvasView | None]) -> dict[str, Callable[[], object]]:
    """What each command does to the canvas that ``current`` returns (none: nothing)."""

    def on_view(fn: Callable[[CanvasView], object]) -> Callable[[], object]:
        def run() -> None:
            view = current()
            if view is not None:
                fn(view)
        return run

    return {
        "cut": on_view(canvas_edit.cut_selection), "copy": on_view(canvas_edit.copy_selection),
        "paste": on_view(canvas_edit.paste), "duplicate": on_view(canvas_edit.duplicate_selection),
        "delete": on_view(canvas_edit.delete_selection), "select_all": on_view(canvas_edit.select_all),
        "rename": on_view(lambda v: v.rename()), "quick_add": on_view(lambda v: v.open_quick_add()),
        "fit": on_view(lambda v: v.fit()), "zoom_in": on_view(lambda v: v.zoom_by(1.25)),
        "zoom_out": on_view(lambda v: v.zoom_by(0.8)), "auto_layout": on_view(lambda v: v.auto_layout()),
        "group": on_view(canvas_edit.group_selection), "ungroup": on_view(canvas_edit.ungroup_selection),
        "expand": on_view(lambda v: v.expand_selected()), "fold": on_view(lambda v: v.fold_selected()),
        "fold_repeats": on_view(lambda v: v.fold_repeats()),
    }


def handlers(w: MainWindow) -> dict[str, Callable[[], object]]:
    fa, ed = w.file_actions, w.edit
    out = canvas_handlers(lambda: None if w.on_start_page() else w.current_view())
    out.update({
        "new": fa.new, "open": fa.open, "save": fa.save, "save_as": fa.save_as,
        "import_pytorch": fa.import_pytorch, "export_python": fa.export_python, "export_script": fa.export_script,
        "start_page": w.show_start_page, "quit": w.close,
        # undo / redo are tied to the model's stack by connect_undo_stack()
        "rename": ed.rename_selected,  # with no node selected, renames the network
        "snap": lambda: ed.set_snap(w.acts.snap.isChecked()),
        "minimap": lambda: ed.set_minimap(w.acts.minimap.isChecked()),
        "theme_light": lambda: w.set_theme("light"), "theme_dark": lambda: w.set_theme("dark"),
        "add_network": ed.add_network, "rename_network": ed.rename_network,
        "remove_network": ed.remove_network, "block_params": ed.block_params,
        "shortcuts": w.show_shortcuts, "about": w.about,
        "compare": w.compare_with, "clear_comparison": w.clear_comparison,
        "reset_layout": w.reset_layout,
    })
    return out


def build_menus(w: MainWindow) -> Actions:
    acts = create_actions(w, handlers(w), canvas_scope=w.tabs)
    w.acts = acts
    acts.snap.setChecked(w.edit.snap_to_grid)
    acts.minimap.setChecked(w.edit.minimap)
    themes = QActionGroup(w)
    for name in ("light", "dark"):
        a = acts.all[f"theme_{name}"]
        a.setChecked(theme.current_name() == name)
        themes.addAction(a)
    acts.quit.setMenuRole(QAction.MenuRole.QuitRole)
    for name in TRAINING:  # connected by the training dock once it is installed
        acts.all[name].setEnabled(False)
    acts.undo.setEnabled(False)
    acts.redo.setEnabled(False)
    acts.clear_comparison.setEnabled(False)  # until File > Compare with… has compared

    mb = w.menuBar()
    for title, entries in MENUS:
        m = mb.addMenu(title)
        m.setObjectName(f"menu_{title.strip('&').lower()}")
        for entry in entries:
            if entry is None:
                m.addSeparator()
            elif entry == "@recent":
                w.recent_menu = m.addMenu("Open &Recent")
                w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
            elif entry == "@panels":
                w.panels_menu = m.addMenu("&Panels")
            else:
                m.addAction(acts.all[entry])

    for name, title, entries in (("mainToolbar", "Main", TOOLBAR),
                                 ("toolbar_training", "Training", TRAINING_TOOLBAR)):
        tb = w.addToolBar(title)
        tb.setObjectName(name)
        tb.setMovable(False)
        tb.setIconSize(QSize(20, 20))
        for entry in entries:
            if entry is None:
                tb.addSeparator()
            else:
                tb.addAction(acts.all[entry])
    training_bar = w.findChild(QToolBar, "toolbar_training")
    assert training_bar is not None  # made above from TOOLBARS
    run_button = training_bar.widgetForAction(acts.run)
    if isinstance(run_button, QToolButton):  # "Run" spelled out: the one button to find
        run_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return acts


def context_actions(acts: Actions) -> list[QAction | None]:
    """The canvas's right-click menu, as actions (None: a separator)."""
    return [acts.all[n] if n else None for n in CONTEXT_MENU]


def connect_undo_stack(acts: Actions, stack: QUndoStack) -> None:
    """What QUndoStack.createUndoAction does, for actions that exist before the stack."""
    undo, redo = acts.undo, acts.redo
    undo.triggered.connect(stack.undo)
    redo.triggered.connect(stack.redo)
    stack.canUndoChanged.connect(undo.setEnabled)
    stack.canRedoChanged.connect(redo.setEnabled)
    stack.undoTextChanged.connect(_Label(undo, "&Undo").set)
    stack.redoTextChanged.connect(_Label(redo, "&Redo").set)
    undo.setEnabled(stack.canUndo())
    redo.setEnabled(stack.canRedo())


class _Label(QObject):
    """Follows the undo stack's text ("Undo Add conv1"). A QObject child of the action, so
    the connection dies with the action even when the stack lives on."""

    def __init__(self, action: QAction, verb: str) -> None:
        super().__init__(action)
        self.action, self.verb = action, verb

    def set(self, text: str) -> None:
        self.action.setText(f"{self.verb} {text}".rstrip())
