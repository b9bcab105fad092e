"""Panels: palette search and drag, inspector editing (valid and invalid values),
diagnostics navigation, code and summary tabs."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QSpinBox

from designer.model import DocumentModel
from designer.panels.highlighter import PythonHighlighter
from designer.panels.inspector import InspectorPanel
from designer.panels.palette import MIME_TYPE, PalettePanel
from designer.panels.param_editors import parse_text
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import to_dict
from graph_compiler.examples import example_path

CNN = str(example_path("cnn_digits"))
NET = "DigitsCNN"


def out_shape(model: DocumentModel, node: str) -> tuple:
    return model.analysis.node(NET, node).output_shape


# ---------------------------------------------------------------- palette


def test_palette_lists_catalog_and_searches(env, qtbot):
    p = PalettePanel()
    qtbot.addWidget(p)
    assert set(p.visible_types()) == {s.type for s in REGISTRY}
    p.search.setText("conv")
    shown = set(p.visible_types())
    assert {"Conv1d", "Conv2d", "ConvTranspose2d"} <= shown
    for t in shown:  # the others mention convolutions in their docs
        spec = REGISTRY.get(t)
        assert "conv" in " ".join([spec.type, *spec.aliases, spec.doc]).lower(), t
    assert "Linear" not in shown
    p.search.setText("depthwise")  # an alias / doc word, not a name
    assert "Conv2d" in p.visible_types()
    p.search.setText("attention head")  # every word must match, in any field
    shown = p.visible_types()
    assert "MultiheadAttention" in shown and "Linear" not in shown
    for t in shown:
        text = " ".join([t, *REGISTRY.get(t).aliases, REGISTRY.get(t).doc]).lower()
        assert "attention" in text and "head" in text, t
    p.search.setText("zzzz-no-such-layer")
    assert p.visible_types() == []
    p.search.clear()
    assert len(p.visible_types()) == len(list(REGISTRY))


def test_palette_blocks_and_drag_data(env, qtbot):
    p = PalettePanel()
    qtbot.addWidget(p)
    p.set_blocks(["ResBlock"])
    assert "ResBlock" in p.visible_types()
    item = p.item_for("Linear")
    assert "Linear" in item.toolTip(0) and "out_features" in item.toolTip(0)
    mime = p.tree.mimeData([item])
    assert bytes(mime.data(MIME_TYPE).data()).decode() == "Linear"
    assert p.tree.mimeTypes() == [MIME_TYPE]


def test_drop_from_palette_adds_node(cnn_window, qtbot):
    view = cnn_window.current_view()
    before = len(cnn_window.model.doc.main.nodes)
    mime = cnn_window.palette_panel.tree.mimeData([cnn_window.palette_panel.item_for("Dropout")])
    centre = view.viewport().rect().center()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(view.viewport(), enter)  # the sequence a real drag delivers
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(view.viewport(), drop)
    assert len(cnn_window.model.doc.main.nodes) == before + 1
    added = cnn_window.model.doc.main.nodes[-1]
    assert added.type == "Dropout"
    assert added.id in view.scene().nodes
    assert cnn_window.inspector.node_id == added.id  # the new node is selected and inspected


def test_palette_double_click_adds_at_view_centre(cnn_window):
    before = len(cnn_window.model.doc.main.nodes)
    cnn_window.palette_panel.activated.emit("ReLU")
    assert len(cnn_window.model.doc.main.nodes) == before + 1
    cnn_window.model.undo_stack.undo()
    assert len(cnn_window.model.doc.main.nodes) == before


# ---------------------------------------------------------------- inspector


def test_inspector_spinbox_edit_updates_downstream_shapes(model, qtbot):
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target(NET, "conv1")
    assert out_shape(model, "relu1") == (1, 16, 8, 8)
    spin = insp.editors["out_channels"].editor
    assert isinstance(spin, QSpinBox) and spin.minimum() == 1
    spin.setValue(8)
    assert model.doc.main.node("conv1").params["out_channels"] == 8
    model.analyze_now()
    assert out_shape(model, "conv1") == (1, 8, 8, 8)
    assert out_shape(model, "relu1") == (1, 8, 8, 8)  # downstream follows
    assert model.analysis.node(NET, "conv2").params["in_channels"] == 8
    assert insp.stats["shape"].text() == "[B, 8, 8, 8]"
    model.undo_stack.undo()  # one undo step
    assert model.doc.main.node("conv1").params["out_channels"] == 16


def test_inspector_text_edit_and_auto_param(model, qtbot):
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target(NET, "conv2")
    inferred = insp.editors["in_channels"].editor
    assert isinstance(inferred, QLineEdit) and inferred.text() == ""
    assert inferred.placeholderText() == "auto (16)" and inferred.property("auto")
    kernel = insp.editors["kernel_size"].editor
    kernel.setText("[5, 5]")
    kernel.editingFinished.emit()
    assert model.doc.main.node("conv2").params["kernel_size"] == [5, 5]
    kernel.setText("3")
    kernel.editingFinished.emit()
    assert model.doc.main.node("conv2").params["kernel_size"] == 3
    stride = insp.editors["stride"].editor
    stride.setText("2, 2")
    stride.editingFinished.emit()
    model.analyze_now()
    assert out_shape(model, "conv2") == (1, 32, 2, 2)
    stride.setText("")  # back to the default: the key goes away
    stride.editingFinished.emit()
    assert "stride" not in model.doc.main.node("conv2").params


def test_inspector_invalid_value_is_flagged_and_document_unchanged(model, qtbot):
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target(NET, "conv2")
    before, steps = to_dict(model.doc), model.undo_stack.count()
    field = insp.editors["kernel_size"]
    for bad in ("abc", "3, x", "0", "3, 3, 3", "-1"):
        field.editor.setText(bad)
        field.editor.editingFinished.emit()
        assert field.invalid and field.error_label.isVisibleTo(insp), bad
        assert field.editor.property("invalid") is True
        assert to_dict(model.doc) == before and model.undo_stack.count() == steps, bad
    model.analyze_now()  # a refresh keeps the user's text and the message on screen
    assert field.editor.text() == "-1" and field.invalid
    field.editor.setText("5")
    field.editor.editingFinished.emit()
    assert not field.invalid and not field.error_label.isVisibleTo(insp)
    assert model.doc.main.node("conv2").params["kernel_size"] == 5


def test_inspector_shows_document_errors_inline(model, qtbot):
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    model.set_param(NET, "classifier", "in_features", 99)  # contradicts the input shape
    model.analyze_now()
    insp.set_target(NET, "classifier")
    field = insp.editors["in_features"]
    assert field.invalid and "99" in field.error_label.text()
    assert "99" in insp.problems.text()


def test_inspector_typed_editors(model, qtbot):
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target(NET, "conv1")
    assert isinstance(insp.editors["bias"].editor, QCheckBox)
    combo = insp.editors["padding_mode"].editor
    assert isinstance(combo, QComboBox) and combo.currentText() == "zeros"
    combo.setCurrentIndex(combo.findText("reflect"))
    combo.activated.emit(combo.currentIndex())
    assert model.doc.main.node("conv1").params["padding_mode"] == "reflect"
    insp.editors["bias"].editor.setChecked(False)
    assert model.doc.main.node("conv1").params["bias"] is False
    insp.label_edit.setText("first conv")
    insp.label_edit.editingFinished.emit()
    assert model.doc.main.node("conv1").label == "first conv"
    assert insp.id_edit.isReadOnly()


def test_parse_text_rules():
    spec = REGISTRY.get("Conv2d")
    k = spec.param("kernel_size")
    assert parse_text(k, "3") == (3, None)
    assert parse_text(k, "3, 3") == ([3, 3], None)
    assert parse_text(k, "[3, 5]") == ([3, 5], None)
    assert parse_text(k, "(3,5)") == ([3, 5], None)
    assert parse_text(k, "x")[1]
    pad = spec.param("padding")
    assert parse_text(pad, "same") == ("same", None)
    assert parse_text(pad, "'valid'") == ("valid", None)
    shape = REGISTRY.get("Input").param("shape")
    assert parse_text(shape, "1, 8, 8") == ([1, 8, 8], None)
    assert parse_text(shape, "8") == ([8], None)
    assert parse_text(shape, "")[1]  # required


# ---------------------------------------------------------------- diagnostics, code, summary


def test_diagnostics_click_selects_and_centres_node(cnn_window, qtbot):
    assert cnn_window.diagnostics.count() == 0
    cnn_window.model.set_param(NET, "classifier", "in_features", 99)
    cnn_window.model.analyze_now()
    entries = cnn_window.diagnostics.entries()
    assert any(node == "classifier" for _net, node, _msg in entries)
    row = next(i for i, e in enumerate(entries) if e[1] == "classifier")
    cnn_window.diagnostics.activate_row(row)
    view = cnn_window.current_view()
    assert cnn_window.current_network() == NET
    assert view.selected_ids() == ["classifier"]
    assert cnn_window.inspector.node_id == "classifier"
    assert cnn_window.status_counts.text().startswith("1 error")


def test_diagnostics_switches_network_tab(cnn_window):
    w = cnn_window
    assert w.file_actions.open(str(example_path("resnet_small")))
    w.model.set_param("ResBlock", "conv1", "kernel_size", 0)
    w.model.analyze_now()
    row = next(i for i, e in enumerate(w.diagnostics.entries()) if e[0] == "ResBlock" and e[1] == "conv1")
    assert w.current_network() == "ResNetSmall"
    w.diagnostics.activate_row(row)
    assert w.current_network() == "ResBlock"
    assert w.current_view().selected_ids() == ["conv1"]


def test_code_tab_live_and_stale(cnn_window, qtbot):
    code = cnn_window.code
    cnn_window.docks["code"].raise_()  # live while in view (hidden, it waits: test_canvas_perf_logic)
    qtbot.waitUntil(code.on_screen)
    code.refresh()
    assert "class DigitsCNN(nn.Module)" in code.text() and not code.banner.isVisibleTo(code)
    cnn_window.model.set_param(NET, "conv2", "out_channels", 24)
    qtbot.waitUntil(lambda: "nn.Conv2d(16, 24" in code.text(), timeout=2000)  # debounced
    good = code.text()
    cnn_window.model.set_param(NET, "conv2", "kernel_size", 0)
    cnn_window.model.analyze_now()
    code.refresh()
    assert code.stale and code.banner.isVisibleTo(code)
    assert "conv2" in code.banner.text()
    assert code.text() == good  # the last good code stays, greyed
    cnn_window.model.undo_stack.undo()
    cnn_window.model.analyze_now()
    code.refresh()
    assert not code.stale and not code.banner.isVisibleTo(code)


def test_summary_totals(cnn_window):
    cnn_window.summary.refresh()
    tree = cnn_window.summary.tree
    top = tree.topLevelItem(0)
    info = cnn_window.model.analysis.networks[NET]
    assert top.text(0) == NET and top.text(3) == f"{info.total_params:,}"
    assert top.childCount() == len(cnn_window.model.doc.main.nodes)
    first = top.child(0)
    assert first.text(1) == "Input" and first.text(2) == "[B, 1, 8, 8]"
    assert cnn_window.summary.totals()[NET][0] == info.total_params == sum(n.n_params for n in info.nodes.values())


def test_an_invalid_network_has_unknown_totals_in_the_summary_and_status_bar(cnn_window):
    cnn_window.model.set_param(NET, "classifier", "in_features", 99)
    cnn_window.model.analyze_now()
    cnn_window.summary.refresh()
    top = cnn_window.summary.tree.topLevelItem(0)
    assert (top.text(3), top.text(4)) == ("?", "?") and "has errors" in top.toolTip(3)
    assert cnn_window.summary.totals()[NET] == (None, None)
    rows = {top.child(i).text(0): top.child(i) for i in range(top.childCount())}
    assert rows["classifier"].text(3) == "?" and rows["conv1"].text(3) != "?"  # conv1 was inferred
    status = cnn_window.status_counts.text()
    assert status.startswith("1 error") and "params unknown" in status
    cnn_window.model.undo_stack.undo()
    cnn_window.model.analyze_now()
    info = cnn_window.model.analysis.networks[NET]
    assert f"{info.total_params:,} params" in cnn_window.status_counts.text()


def test_highlighter_formats_keywords(env, qtbot):
    from PySide6.QtWidgets import QPlainTextEdit

    edit = QPlainTextEdit()  # a document with a layout: highlighters follow its edits
    qtbot.addWidget(edit)
    doc = edit.document()
    PythonHighlighter(doc)
    edit.setPlainText('def f(x):  # comment\n    return "str" + 3\n"""doc\nstring"""\n')
    formats = doc.firstBlock().layout().formats()
    assert formats  # keywords, names, comments got colours
    third = doc.findBlockByNumber(3)
    assert third.previous().userState() == 1  # inside the triple-quoted string
