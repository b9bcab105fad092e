"""The command registry: one QAction per command, in the menus, and the same document
whether a command comes from its menu entry or from its key on the canvas."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"


import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QTableWidget

from designer.actions import BY_NAME, COMMANDS, shortcut_rows
from designer.main_window import MainWindow
from designer.menus import CONTEXT_MENU
from graph_compiler.document import dumps
from graph_compiler.examples import example_path


@pytest.fixture
def window(window: MainWindow) -> MainWindow:
    """conftest's window with the MLP example open."""
    assert window.file_actions.open(str(example_path("mlp_digits")))
    return window


def menu_actions(w: MainWindow) -> dict[str, QAction]:
    """Every command reachable from the menu bar, by its action's object name."""
    found: dict[str, QAction] = {}

    def walk(menu: QMenu) -> None:
        for a in menu.actions():
            if a.menu() is not None:
                walk(a.menu())
            elif a.objectName().startswith("action_"):
                found[a.objectName().removeprefix("action_")] = a

    for top in w.menuBar().actions():
        walk(top.menu())
    return found


def test_every_command_is_one_action_in_a_menu(window: MainWindow) -> None:
    in_menus = menu_actions(window)
    assert set(in_menus) == set(BY_NAME)
    for name, action in in_menus.items():
        assert action is window.acts.all[name]  # the same object, not a look-alike
        same = [a for a in window.findChildren(QAction) if a.objectName() == f"action_{name}"]
        assert same == [action]
    toolbar_run = [a for a in window.findChildren(QAction) if a.objectName() == "action_run"]
    assert toolbar_run == [window.training.training_actions.run]  # the dock drives the registry's Run
    keys = {cmd.name: [s.toString() for s in cmd.sequences()] for cmd in COMMANDS}
    seen: dict[str, str] = {}
    for name, seqs in keys.items():
        for s in seqs:
            assert s not in seen, f"{s} is bound to both {seen[s]} and {name}"
            seen[s] = name


def test_context_menu_uses_the_window_actions(window: MainWindow) -> None:
    view = window.current_view()
    assert view is not None
    actions = [a for a in view._context_actions if a is not None]
    assert actions == [window.acts.all[n] for n in CONTEXT_MENU if n]


def _select(window: MainWindow, ids: list[str]) -> None:
    view = window.current_view()
    assert view is not None
    view.select_ids(ids)
    view.setFocus()


def _by_menu(window: MainWindow, name: str) -> None:
    menu_actions(window)[name].trigger()


def _by_key(window: MainWindow, name: str, qtbot) -> None:
    view = window.current_view()
    assert view is not None
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    QTest.keySequence(view, BY_NAME[name].sequences()[0])


# (command, nodes selected before it) — each changes the document when it works.
CASES = [
    ("delete", ["relu1"]),
    ("duplicate", ["fc1", "relu1"]),
    ("group", ["fc1", "relu1"]),
    ("auto_layout", []),
    ("cut", ["relu2"]),
    ("undo", []),
]


@pytest.mark.parametrize(("name", "selected"), CASES, ids=[c[0] for c in CASES])
def test_menu_and_key_give_the_same_document(window: MainWindow, name: str, selected: list[str],
                                             qtbot) -> None:
    model = window.model
    if name == "undo":
        model.remove_nodes(model.doc.main.name, ["relu1"])
    before = dumps(model.doc)
    net = model.doc.main.name
    missing = [i for i in selected if model.doc.network(net).node(i) is None]
    assert not missing, f"the example lost nodes {missing}"

    _select(window, selected)
    _by_menu(window, name)
    by_menu = dumps(model.doc)
    assert by_menu != before, f"{name} from the menu changed nothing"
    while dumps(model.doc) != before:  # back to the start, through the undo stack
        model.undo_stack.undo() if name != "undo" else model.undo_stack.redo()
    _select(window, selected)
    _by_key(window, name, qtbot)
    assert dumps(model.doc) == by_menu


def test_copy_paste_by_key_matches_menu(window: MainWindow, qtbot) -> None:
    model = window.model
    before = dumps(model.doc)
    _select(window, ["fc1"])
    _by_menu(window, "copy")
    _by_menu(window, "paste")
    by_menu = dumps(model.doc)
    assert by_menu != before
    model.undo_stack.undo()
    assert dumps(model.doc) == before
    window.current_view().paste_count = 0
    _select(window, ["fc1"])
    _by_key(window, "copy", qtbot)
    _by_key(window, "paste", qtbot)
    assert dumps(model.doc) == by_menu


def test_delete_key_in_a_text_field_edits_text_not_the_graph(window: MainWindow, qtbot) -> None:
    model = window.model
    _select(window, ["relu1"])
    before = dumps(model.doc)
    search = window.palette_panel.search
    window.docks["palette"].show()
    search.setText("conv")
    search.setFocus()
    qtbot.waitUntil(search.hasFocus)
    search.setCursorPosition(0)
    QTest.keySequence(search, QKeySequence(QKeySequence.StandardKey.Delete))
    assert search.text() == "onv"
    assert dumps(model.doc) == before


def test_shortcuts_dialog_lists_the_registry(window: MainWindow, qtbot) -> None:
    from designer.shortcuts_dialog import ShortcutsDialog

    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    table = dialog.findChild(QTableWidget)
    rows = shortcut_rows()
    assert table.rowCount() == len(rows) > 20
    listed = {table.item(r, 1).text() for r in range(table.rowCount())}
    assert {"Delete", "Group into Block", "Run", "Fit to Window", "Keyboard Shortcuts"} <= listed
    fit = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == "Fit to Window")
    assert "F" in table.item(fit, 2).text().split(", ")


def test_minimap_toggle_hides_every_canvas_minimap_and_is_remembered(window: MainWindow, qtbot) -> None:
    view = window.current_view()
    assert view is not None and view.minimap.wanted
    view.zoom_by(4.0)  # part of the network out of view: the overview is useful
    qtbot.waitUntil(view.minimap.isVisible)
    window.acts.minimap.trigger()
    assert not window.acts.minimap.isChecked()
    assert all(not v.minimap.wanted and not v.minimap.isVisible() for v in window.views.values())
    assert QSettings().value("canvas/minimap", type=bool) is False
    window.acts.minimap.trigger()
    qtbot.waitUntil(view.minimap.isVisible)


def test_no_two_commands_share_a_key() -> None:
    # QKeySequence.StandardKey.Delete also means Ctrl+D on X11 (not offscreen), which is Duplicate
    # here: the shortcut became ambiguous and Ctrl+D did nothing. Delete names its keys literally.
    assert all(isinstance(k, str) for k in BY_NAME["delete"].keys)
    keys = [s.toString() for c in COMMANDS for s in c.sequences()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_the_shortcut_list_shows_typed_keys_and_clips_nothing(window: MainWindow, qtbot) -> None:
    """X11's standard keys add keysym-only bindings ("Ctrl+Z, F14, Undo"): the list shows
    what people type; the actions keep every binding."""
    from designer.shortcuts_dialog import ShortcutsDialog

    odd = {"Undo", "Redo", "Copy", "Cut", "Paste", "Open", "New", "Save", "Exit", "Zoom In", "Zoom Out"}
    for _menu, command, keys, _where in shortcut_rows():
        for key in keys.split(", "):
            assert key not in odd, (command, keys)
            assert not any(key.endswith(f"F{n}") for n in range(13, 36)), (command, keys)
    by_label = {row[1]: row[2] for row in shortcut_rows()}
    assert by_label["Undo"].split(", ")[0] == QKeySequence(QKeySequence.StandardKey.Undo).toString(
        QKeySequence.SequenceFormat.NativeText)
    assert by_label["Copy"].split(", ")[0] == QKeySequence(QKeySequence.StandardKey.Copy).toString(
        QKeySequence.SequenceFormat.NativeText)
    # the actions still answer every binding of the platform's standard keys
    for name in ("undo", "copy", "paste"):
        assert window.acts.all[name].shortcuts() == BY_NAME[name].sequences()
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    header = table.horizontalHeader()
    for c in range(table.columnCount()):
        assert header.sectionSize(c) >= max(table.sizeHintForColumn(c), header.sectionSizeHint(c)), c
    assert header.length() <= table.viewport().width()
