"""Ctrl+Z / Ctrl+Shift+Z typed in an inspector field after an edit was committed (Enter)
undo and redo the document, as the toolbar does; while text is still being typed the
field keeps the keys for its own text undo."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QSpinBox

from designer.main_window import MainWindow
from graph_compiler.examples import example_path

UNDO = QKeySequence.StandardKey.Undo
REDO = "Ctrl+Shift+Z"  # QKeySequences are made once the app exists


def _inspect(window: MainWindow, node_id: str) -> None:
    assert window.file_actions.open(str(example_path("mlp_digits")))
    window.model.analyze_now()
    view = window.current_view()
    assert view is not None
    view.select_ids([node_id])
    window.docks["inspector"].show()
    assert window.inspector.node_id == node_id


def _type_into(qtbot, field, text: str) -> None:
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None and field.isAncestorOf(
        QApplication.focusWidget()) or field.hasFocus())
    QTest.keySequence(QApplication.focusWidget(), QKeySequence(QKeySequence.StandardKey.SelectAll))
    QTest.keyClicks(QApplication.focusWidget(), text)


def _param(window: MainWindow, node_id: str, name: str):
    return window.model.doc.main.node(node_id).params.get(name)


def test_ctrl_z_in_a_committed_spin_box_undoes_the_document(window: MainWindow, qtbot) -> None:
    _inspect(window, "fc1")
    before = _param(window, "fc1", "out_features")
    spin = window.inspector.editors["out_features"].editor
    assert isinstance(spin, QSpinBox)
    _type_into(qtbot, spin, "96")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert _param(window, "fc1", "out_features") == 96
    focused = QApplication.focusWidget()
    assert focused is spin or spin.isAncestorOf(focused)  # the field still has the focus

    QTest.keySequence(focused, QKeySequence(UNDO))
    assert _param(window, "fc1", "out_features") == before
    qtbot.waitUntil(lambda: spin.value() == before)  # the field shows the undone value
    QTest.keySequence(QApplication.focusWidget(), QKeySequence(REDO))
    assert _param(window, "fc1", "out_features") == 96
    assert spin.value() == 96


def test_ctrl_z_while_typing_undoes_the_text_not_the_document(window: MainWindow, qtbot) -> None:
    _inspect(window, "fc1")
    spin = window.inspector.editors["out_features"].editor
    _type_into(qtbot, spin, "96")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    depth = window.model.undo_stack.index()
    QTest.keyClicks(QApplication.focusWidget(), "7")  # 967, not committed
    assert window.inspector.editors["out_features"].pending()
    QTest.keySequence(QApplication.focusWidget(), QKeySequence(UNDO))
    assert window.model.undo_stack.index() == depth  # the document kept its edit
    assert _param(window, "fc1", "out_features") == 96


def test_ctrl_z_in_the_label_field_after_enter_undoes_the_rename(window: MainWindow, qtbot) -> None:
    _inspect(window, "fc1")
    label = window.inspector.label_edit
    assert isinstance(label, QLineEdit)
    old = window.model.doc.main.node("fc1").label
    _type_into(qtbot, label, "first layer")
    QTest.keyClick(label, Qt.Key.Key_Return)
    assert window.model.doc.main.node("fc1").label == "first layer"
    QTest.keySequence(label, QKeySequence(UNDO))
    assert window.model.doc.main.node("fc1").label == old
    QTest.keySequence(label, QKeySequence(REDO))
    assert window.model.doc.main.node("fc1").label == "first layer"
