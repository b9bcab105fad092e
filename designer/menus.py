"""Menus, actions and their standard shortcuts for the main window.

Edit actions that act on the canvas (copy, paste, delete, select all...) are scoped to the
canvas tabs (WidgetWithChildrenShortcut): Delete or Ctrl+A typed in the inspector or the
palette's search box must edit that text, not the graph.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack

from designer import theme

if TYPE_CHECKING:
    from designer.main_window import MainWindow

Key = QKeySequence.StandardKey


class Actions:
    """A plain holder: ``actions.save``, ``actions.undo``... (tests trigger them by name)."""

    def __init__(self) -> None:
        self.all: dict[str, QAction] = {}

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["all"][name]
        except KeyError:
            raise AttributeError(name) from None


def build_menus(w: MainWindow) -> Actions:
    acts = Actions()
    fa, ed = w.file_actions, w.edit
    canvas_scope = w.tabs  # shortcuts of canvas-editing actions live here

    def act(name: str, text: str, slot: Callable[[], object], shortcut: object = None,
            icon: str | None = None, scoped: bool = False, tip: str = "") -> QAction:
        a = QAction(text, w)
        if icon:
            a.setIcon(theme.icon(icon))
            a.setProperty("themeIcon", icon)  # re-tinted when the theme changes
        if shortcut is not None:
            if isinstance(shortcut, list):
                a.setShortcuts(shortcut)
            else:
                a.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        if scoped:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            canvas_scope.addAction(a)
        acts.all[name] = a
        return a

    mb = w.menuBar()
    # ---- File
    m = mb.addMenu("&File")
    m.addAction(act("new", "&New", fa.new, Key.New, "new"))
    m.addAction(act("open", "&Open…", fa.open, Key.Open, "open"))
    w.recent_menu = m.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    m.addSeparator()
    m.addAction(act("save", "&Save", fa.save, Key.Save, "save"))
    m.addAction(act("save_as", "Save &As…", fa.save_as, QKeySequence("Ctrl+Shift+S")))
    m.addSeparator()
    m.addAction(act("import_pytorch", "&Import from PyTorch…", fa.import_pytorch, None, "import"))
    m.addAction(act("export_python", "&Export Python…", fa.export_python, QKeySequence("Ctrl+E"), "export"))
    m.addSeparator()
    m.addAction(act("start_page", "Start &Page", w.show_start_page, None, "home"))
    m.addSeparator()
    quit_action = act("quit", "&Quit", w.close, Key.Quit)
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    m.addAction(quit_action)

    # ---- Edit
    m = mb.addMenu("&Edit")
    # Plain actions, tied to the model's undo stack by connect_undo_stack() once the model
    # exists: the menus are built before the first paint, the model after it.
    undo = act("undo", "&Undo", lambda: None, Key.Undo, "undo")
    redo = act("redo", "&Redo", lambda: None, [QKeySequence(Key.Redo), QKeySequence("Ctrl+Y")], "redo")
    undo.setEnabled(False)
    redo.setEnabled(False)
    m.addAction(undo)
    m.addAction(redo)
    m.addSeparator()
    m.addAction(act("cut", "Cu&t", ed.cut, Key.Cut, "cut", scoped=True))
    m.addAction(act("copy", "&Copy", ed.copy, Key.Copy, "copy", scoped=True))
    m.addAction(act("paste", "&Paste", ed.paste, Key.Paste, "paste", scoped=True))
    m.addAction(act("duplicate", "D&uplicate", ed.duplicate, QKeySequence("Ctrl+D"), scoped=True))
    m.addAction(act("delete", "&Delete", ed.delete_selected,
                    [QKeySequence(Key.Delete), QKeySequence("Backspace")], "delete", scoped=True))
    m.addSeparator()
    m.addAction(act("select_all", "Select &All", ed.select_all, Key.SelectAll, scoped=True))
    m.addAction(act("rename", "Re&name…", ed.rename_selected, QKeySequence("F2"), scoped=True))

    # ---- View
    m = mb.addMenu("&View")
    m.addAction(act("fit", "&Fit to Window", lambda: w.with_view(lambda v: v.fit_all()),
                    QKeySequence("Ctrl+0"), "fit"))
    m.addAction(act("zoom_in", "Zoom &In", lambda: w.with_view(lambda v: v.zoom_by(1.25)),
                    [QKeySequence(Key.ZoomIn), QKeySequence("Ctrl+=")], "zoom-in"))
    m.addAction(act("zoom_out", "Zoom &Out", lambda: w.with_view(lambda v: v.zoom_by(0.8)),
                    Key.ZoomOut, "zoom-out"))
    # No icon: in a menu an icon takes the place of the check mark that shows the state.
    snap = act("snap", "&Snap to Grid", lambda: ed.set_snap(acts.snap.isChecked()))
    snap.setCheckable(True)
    snap.setChecked(ed.snap_to_grid)
    m.addAction(snap)
    m.addAction(act("auto_layout", "&Auto-layout", ed.auto_layout, QKeySequence("Ctrl+L"), "layout"))
    m.addSeparator()
    # Folding is view state: it changes what the canvas shows, never the document.
    m.addAction(act("expand", "&Expand Block", lambda: w.with_view(lambda v: v.expand_selected())))
    m.addAction(act("fold", "F&old Block / Repeats", lambda: w.with_view(lambda v: v.fold_selected())))
    m.addAction(act("fold_repeats", "Fold All &Repeated Blocks", lambda: w.with_view(lambda v: v.fold_repeats())))
    m.addSeparator()
    group = QActionGroup(w)
    for name in ("light", "dark"):
        t = act(f"theme_{name}", f"{name.title()} Theme", lambda n=name: w.set_theme(n))
        t.setCheckable(True)
        t.setChecked(theme.current_name() == name)
        group.addAction(t)
        m.addAction(t)
    m.addSeparator()
    w.panels_menu = m.addMenu("&Panels")

    # ---- Network
    m = mb.addMenu("&Network")
    m.addAction(act("add_network", "&Add Network…", ed.add_network, QKeySequence("Ctrl+Shift+N"), "network"))
    m.addAction(act("rename_network", "&Rename Network…", ed.rename_network))
    m.addAction(act("remove_network", "Re&move Network", ed.remove_network))
    m.addSeparator()
    m.addAction(act("group", "&Group into Block", ed.group_selected, QKeySequence("Ctrl+G"), "block"))
    m.addAction(act("ungroup", "&Ungroup", ed.ungroup_selected, QKeySequence("Ctrl+Shift+G")))

    # ---- Help
    m = mb.addMenu("&Help")
    m.addAction(act("about", "&About Netwright", w.about))

    # ---- Toolbar: the everyday actions, icons only.
    tb = w.addToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setIconSize(QSize(20, 20))
    for name in ("new", "open", "save", None, "undo", "redo", None, "fit", "zoom_in", "zoom_out",
                 "auto_layout", None, "export_python"):
        if name is None:
            tb.addSeparator()
        else:
            tb.addAction(acts.all[name])
    return acts


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


def retint(acts: Actions) -> None:
    """Re-tint the action icons for the current theme (the window calls this)."""
    for a in acts.all.values():
        name = a.property("themeIcon")
        if name:
            a.setIcon(theme.icon(str(name)))
