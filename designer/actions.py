"""Every command of the designer, defined once.

``COMMANDS`` names each command with its menu text, shortcuts, icon and where its keys
work. ``create_actions`` makes one QAction per command; the menus, the toolbars, the
canvas's context menu and its keys all use those same objects, and Help > Keyboard
Shortcuts is generated from this table. A key therefore does one thing wherever the
focus is; the only exception is text: a line edit or spin box with the focus keeps the
keys it edits with (Delete, Ctrl+C...), as Qt's shortcut override gives it. The
inspector's fields give Undo / Redo back to the window once their edit is committed
(designer/panels/undo_keys.py).

Scope "canvas" keys (Delete, Ctrl+C...) work while a canvas (or anything in the tab
widget that holds them) has the focus, so Delete typed in the inspector edits text and
never deletes nodes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QKeyCombination, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from designer import theme

Key = QKeySequence.StandardKey
KeySpec = str | QKeySequence.StandardKey
Scope = Literal["window", "canvas"]


@dataclass(frozen=True)
class Command:
    name: str
    text: str  # menu text, with its & mnemonic
    menu: str  # the menu it belongs to, for the shortcut list
    keys: tuple[KeySpec, ...] = ()
    icon: str | None = None
    scope: Scope = "window"
    tip: str = ""
    checkable: bool = False

    @property
    def label(self) -> str:
        return self.text.replace("&", "").rstrip("…").strip()

    def sequences(self) -> list[QKeySequence]:
        out: list[QKeySequence] = []
        for k in self.keys:
            if isinstance(k, str):
                out.append(QKeySequence(k))
            else:
                out.extend(QKeySequence.keyBindings(k))
        seen: set[str] = set()
        unique = []
        for s in out:  # a standard key and a literal can name the same sequence
            text = s.toString(QKeySequence.SequenceFormat.PortableText)
            if text and text not in seen:
                seen.add(text)
                unique.append(s)
        return unique

    def typed_sequences(self) -> list[QKeySequence]:
        """The sequences a person types, for the shortcut list: X11's standard keys add
        keysym-only bindings (F14 and "Undo" for Undo, F16 and "Copy" for Copy) that
        keyboards rarely have; the action keeps them, the list leaves them out."""
        return [s for s in self.sequences() if all(_typed(_combination(s, i).key()) for i in range(s.count()))]


# Non-printing keys found on every keyboard; F13-F35 and the media / "Undo" / "Copy"
# keys are left out.
_TYPED_KEYS = frozenset({
    *(Qt.Key(Qt.Key.Key_F1.value + i) for i in range(12)),
    Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter,
    Qt.Key.Key_Insert, Qt.Key.Key_Delete, Qt.Key.Key_Escape, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
})


def _combination(seq: QKeySequence, i: int) -> QKeyCombination:
    return seq[i]  # type: ignore[index]  # QKeySequence::operator[], missing from the stubs


def _typed(key: Qt.Key) -> bool:
    return key.value < Qt.Key.Key_Escape.value or key in _TYPED_KEYS  # below Escape: printable


COMMANDS: tuple[Command, ...] = (
    # ---- File
    Command("new", "&New", "File", (Key.New,), "new", tip="Start a new design"),
    Command("open", "&Open…", "File", (Key.Open,), "open", tip="Open a Netwright file"),
    Command("save", "&Save", "File", (Key.Save,), "save", tip="Save the design"),
    Command("save_as", "Save &As…", "File", ("Ctrl+Shift+S",), tip="Save under a new name"),
    Command("import_pytorch", "&Import from PyTorch…", "File", (), "import",
            tip="Turn a PyTorch nn.Module into a graph (torch.fx)"),
    Command("export_python", "&Export Python…", "File", ("Ctrl+E",), "export",
            tip="Write the standalone PyTorch module"),
    Command("export_script", "Export &Training Script…", "File", (),
            tip="Write a standalone training script (runs without Netwright, and under torchrun)"),
    Command("compare", "Compare &with…", "File", (), tip="Overlay the differences from another design file"),
    Command("clear_comparison", "C&lear Comparison", "File", (), tip="Remove the comparison overlay"),
    Command("start_page", "Start &Page", "File", (), "home", tip="Back to the examples and recent files"),
    Command("quit", "&Quit", "File", (Key.Quit,), tip="Quit Netwright"),
    # ---- Edit
    Command("undo", "&Undo", "Edit", (Key.Undo,), "undo", tip="Undo the last edit"),
    Command("redo", "&Redo", "Edit", (Key.Redo, "Ctrl+Y"), "redo", tip="Redo the edit undone last"),
    Command("cut", "Cu&t", "Edit", (Key.Cut,), "cut", "canvas", "Cut the selected nodes"),
    Command("copy", "&Copy", "Edit", (Key.Copy,), "copy", "canvas", "Copy the selected nodes"),
    Command("paste", "&Paste", "Edit", (Key.Paste,), "paste", "canvas",
            "Paste nodes copied from Netwright"),
    Command("duplicate", "D&uplicate", "Edit", ("Ctrl+D",), None, "canvas", "Duplicate the selected nodes"),
    # Not Key.Delete: on X11 that also binds Ctrl+D, Duplicate's key, and Qt then runs neither.
    Command("delete", "&Delete", "Edit", ("Del", "Backspace"), "delete", "canvas",
            "Delete the selected nodes and wires"),
    Command("select_all", "Select &All", "Edit", (Key.SelectAll,), None, "canvas", "Select every node"),
    Command("rename", "Re&name…", "Edit", ("F2",), None, "canvas",
            "Rename the selected node (or the network when none is selected)"),
    Command("quick_add", "&Add Node…", "Edit", ("Tab",), None, "canvas",
            "Type a layer's name to add it, wired to the selected node"),
    # ---- View
    Command("fit", "&Fit to Window", "View", ("Ctrl+0", "F"), "fit", "canvas",
            "Frame the network readably (whole when it fits); again: the whole network at any scale"),
    Command("zoom_in", "Zoom &In", "View", (Key.ZoomIn, "Ctrl+="), "zoom-in", tip="Zoom in"),
    Command("zoom_out", "Zoom &Out", "View", (Key.ZoomOut,), "zoom-out", tip="Zoom out"),
    # No icon: in a menu an icon takes the place of the check mark that shows the state.
    Command("snap", "&Snap to Grid", "View", (), tip="Snap moved nodes to the grid", checkable=True),
    Command("minimap", "&Minimap", "View", ("Ctrl+M",), tip="Show the overview in the canvas's corner",
            checkable=True),
    Command("auto_layout", "&Auto-layout", "View", ("Ctrl+L",), "layout", tip="Lay the network out again"),
    # Folding is view state: it changes what the canvas shows, never the document.
    Command("expand", "&Expand Block", "View", ("Ctrl+Right",), None, "canvas",
            "Show the selected block nodes' inner networks in place (a folded run: its N nodes)"),
    Command("fold", "F&old Block / Repeats", "View", ("Ctrl+Left",), None, "canvas",
            "Fold the selected expanded blocks, or the run of repeated blocks they belong to"),
    Command("fold_repeats", "Fold All &Repeated Blocks", "View", (), None, "canvas",
            "Show every run of the same block used N times in a row as one \"×N\" node"),
    Command("theme_light", "Light Theme", "View", (), tip="Light colours", checkable=True),
    Command("theme_dark", "Dark Theme", "View", (), tip="Dark colours", checkable=True),
    Command("reset_layout", "&Reset Layout", "View", (), tip="Put the panels back where they were at first start"),
    # ---- Network
    Command("add_network", "&Add Network…", "Network", ("Ctrl+Shift+N",), "network",
            tip="Add a network (usable as a block)"),
    Command("rename_network", "&Rename Network…", "Network", (), tip="Rename the current network"),
    Command("remove_network", "Re&move Network", "Network", (), tip="Remove the current network"),
    Command("block_params", "Block &Parameters…", "Network", (),
            tip="Declare the current network's block parameters, like a module's constructor arguments"),
    Command("group", "&Group into Block", "Network", ("Ctrl+G",), "block", "canvas",
            "Turn the selected nodes into a block network used as one node"),
    Command("ungroup", "&Ungroup", "Network", ("Ctrl+Shift+G",), None, "canvas",
            "Replace the selected block nodes by their contents"),
    # ---- Train (connected by the training dock)
    Command("run", "Run", "Train", ("F5",), "run", tip="Train the current graph (F5)"),
    Command("pause", "Pause", "Train", (), "pause", tip="Pause training"),
    Command("resume", "Resume", "Train", (), "run", tip="Resume training"),
    Command("stop", "Stop", "Train", ("Shift+F5",), "stop",
            tip="Stop training; the weights so far are kept (Shift+F5)"),
    Command("evaluate", "&Evaluate", "Train", ("Ctrl+F5",), None,
            tip="Evaluate the last trained model: calibration, attacks, attributions, dead units (Ctrl+F5)"),
    Command("save_weights", "Save Weights…", "Train", (), "save",
            tip="Save the trained weights (safetensors) and the run's settings to a folder"),
    Command("training_dashboard", "Training &Dashboard", "Train", (), tip="Show the training dock"),
    # ---- Help
    Command("shortcuts", "&Keyboard Shortcuts", "Help", ("F1",), tip="List every command and its keys"),
    Command("about", "&About Netwright", "Help", (), tip="Version and licence"),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
TRAINING = ("run", "pause", "resume", "stop", "evaluate", "save_weights", "training_dashboard")


class Actions:
    """The QActions of one window, by command name: ``acts.save``, ``acts.all["save"]``."""

    def __init__(self) -> None:
        self.all: dict[str, QAction] = {}

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["all"][name]
        except KeyError:
            raise AttributeError(name) from None


def make_action(cmd: Command, parent: QObject) -> QAction:
    a = QAction(cmd.text, parent)
    a.setObjectName(f"action_{cmd.name}")
    if cmd.icon:
        a.setIcon(theme.icon(cmd.icon))
        a.setProperty("themeIcon", cmd.icon)  # re-tinted when the theme changes
    a.setShortcuts(cmd.sequences())
    if cmd.tip:
        a.setStatusTip(cmd.tip)
        a.setToolTip(cmd.tip)
    a.setCheckable(cmd.checkable)
    return a


def create_actions(parent: QObject, handlers: Mapping[str, Callable[[], object]],
                   canvas_scope: QWidget, names: Iterable[str] | None = None) -> Actions:
    """One QAction per command in ``names`` (all by default). A command with a handler is
    connected to it; the others (the training commands) are connected by their owner.
    Canvas-scoped actions are added to ``canvas_scope`` so their keys work there."""
    acts = Actions()
    wanted = set(BY_NAME) if names is None else set(names)
    unknown = wanted - set(BY_NAME)
    if unknown:
        raise KeyError(f"unknown commands: {sorted(unknown)}")
    for cmd in COMMANDS:
        if cmd.name not in wanted:
            continue
        a = make_action(cmd, parent)
        slot = handlers.get(cmd.name)
        if slot is not None:
            a.triggered.connect(lambda _checked=False, s=slot: s())
        if cmd.scope == "canvas":
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            canvas_scope.addAction(a)
        acts.all[cmd.name] = a
    return acts


def shortcut_rows() -> list[tuple[str, str, str, str]]:
    """(menu, command, keys, where) for every command that has keys, in menu order."""
    rows = []
    for cmd in COMMANDS:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in cmd.typed_sequences())
        if keys:
            rows.append((cmd.menu, cmd.label, keys, "canvas" if cmd.scope == "canvas" else "anywhere"))
    return rows


def retint(acts: Actions) -> None:
    """Re-tint the action icons for the current theme (the window calls this)."""
    for a in acts.all.values():
        name = a.property("themeIcon")
        if name:
            a.setIcon(theme.icon(str(name)))
