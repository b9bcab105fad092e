"""Block parameters in the designer: the inspector edits a block node's values (one undo
step each), ×N runs fold only uses with equal values, ungrouping a use writes its values
into the inlined nodes, and an imported ResNet-18 opens folded into its two blocks."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtWidgets import QSpinBox

from block_docs import model_doc

from designer.canvas.folding import repeat_runs
from designer.model import DocumentModel
from designer.panels.inspector import InspectorPanel
from graph_compiler.document import make_ref




def test_inspector_edits_a_block_nodes_params_as_one_undo_step(qtbot) -> None:
    model = DocumentModel(model_doc([{"width": 32}, {"inp": 32, "width": 8}]))
    model.analyze_now()
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target("Model", "d2")
    assert list(insp.editors) == ["inp", "width"]
    width = insp.editors["width"].editor
    assert isinstance(width, QSpinBox) and width.value() == 8
    assert insp.stats["shape"].text() == "[B, 8]" and insp.stats["params"].text() == f"{32 * 8 + 8:,}"
    width.setValue(12)
    assert model.doc.main.node("d2").params == {"inp": 32, "width": 12}  # type: ignore[union-attr]
    model.analyze_now()
    assert model.analysis.node("Model", "d2").outputs[0].shape[1:] == (12,)  # type: ignore[index,union-attr]
    assert model.analysis.node("Model", "head").params["in_features"] == 12  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: insp.stats["params"].text() == f"{32 * 12 + 12:,}")
    model.undo_stack.undo()
    assert model.doc.main.node("d2").params == {"inp": 32, "width": 8}  # type: ignore[union-attr]
    model.analyze_now()
    qtbot.waitUntil(lambda: insp.stats["shape"].text() == "[B, 8]")
    # A value the block cannot take is flagged on the field, naming the problem.
    model.set_param("Model", "d1", "width", 0)
    model.analyze_now()
    insp.set_target("Model", "d1")
    assert "out_features" in (insp.editors["width"].doc_error or insp.problems.text())


def test_runs_fold_only_uses_with_equal_values() -> None:
    same = model_doc([{}, {}, {}]).main
    assert repeat_runs(same, lambda t: t == "Dense") == [["d1", "d2", "d3"]]
    mixed = model_doc([{"width": 32}, {"inp": 32, "width": 32}, {"inp": 32, "width": 32}]).main
    assert repeat_runs(mixed, lambda t: t == "Dense") == [["d2", "d3"]]


def test_ungrouping_a_use_writes_its_values_into_the_inlined_nodes(qtbot) -> None:
    model = DocumentModel(model_doc([{"width": 32}, {"inp": 32, "width": 8}]))
    model.analyze_now()
    total = model.analysis.networks["Model"].total_params
    assert model.ungroup("Model", "d2")
    inlined = [n for n in model.doc.main.nodes if n.type == "Linear" and n.id != "head"]
    assert [n.params for n in inlined] == [{"in_features": 32, "out_features": 8}]
    model.analyze_now()
    assert model.analysis.ok and model.analysis.networks["Model"].total_params == total
    model.undo_stack.undo()
    assert model.doc.main.node("d2").type == "Dense"  # type: ignore[union-attr]


def test_grouping_nodes_that_use_block_parameters_passes_them_on(qtbot) -> None:
    doc = model_doc([{"width": 32}])
    model = DocumentModel(doc)
    model.analyze_now()
    name = model.group_into_block("Dense", ["fc", "act"], "Inner")
    assert name is not None
    inner = model.doc.network("Inner")
    assert inner is not None and inner.params == {"inp": 16, "width": 16}
    dense = model.doc.network("Dense")
    assert dense is not None and dense.params == {"inp": 16, "width": 16}
    node = next(n for n in dense.nodes if n.type == "Inner")
    assert node.params == {"inp": make_ref("inp"), "width": make_ref("width")}
    model.analyze_now()
    assert model.analysis.ok, [d.format() for d in model.analysis.errors]
    assert model.analysis.node("Model", "d1").n_params == 16 * 32 + 32  # type: ignore[union-attr]


def test_an_expanded_use_shows_its_own_shapes_and_the_node_its_values(qtbot) -> None:
    from designer.canvas import CanvasView

    model = DocumentModel(model_doc([{"width": 32}, {"inp": 32, "width": 8}]))
    model.analyze_now()
    view = CanvasView(model, "Model")
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    scene = view.scene()
    assert scene.nodes["d2"].key_text == "inp=32, width=8"
    view.select_ids(["d1", "d2"])
    assert sorted(view.expand_selected()) == ["d1", "d2"]
    d1, d2 = scene.nodes["d1"].frame, scene.nodes["d2"].frame
    assert d1 is not None and d2 is not None
    assert d1.nodes["fc"].out_shapes == ["[B, 32]"] and d2.nodes["fc"].out_shapes == ["[B, 8]"]
    assert d2.nodes["fc"].key_text == "32 → 8"
    model.set_param("Model", "d2", "width", 5)  # an edit of the use reaches its frame
    model.analyze_now()
    def shows_five() -> bool:
        frame = scene.nodes["d2"].frame
        return frame is not None and frame.nodes["fc"].out_shapes == ["[B, 5]"]

    qtbot.waitUntil(shows_five)


def test_inside_a_parameterised_block_a_param_can_be_set_to_a_block_parameter(qtbot) -> None:
    from PySide6.QtWidgets import QLineEdit

    model = DocumentModel(model_doc([{"width": 32}]))
    model.analyze_now()
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target("Dense", "fc")
    field = insp.editors["out_features"]
    assert isinstance(field.editor, QLineEdit) and field.editor.text() == '{"param": "width"}'
    field.editor.setText('{"param": "nope"}')
    field.editor.editingFinished.emit()
    assert field.local_error is not None and "inp, width" in field.local_error
    assert model.doc.network("Dense").node("fc").params["out_features"] == make_ref("width")  # type: ignore[union-attr]
    field.editor.setText("24")
    field.editor.editingFinished.emit()
    assert model.doc.network("Dense").node("fc").params["out_features"] == 24  # type: ignore[union-attr]
    field.editor.setText('{"param": "width"}')
    field.editor.editingFinished.emit()
    assert model.doc.network("Dense").node("fc").params["out_features"] == make_ref("width")  # type: ignore[union-attr]
    model.undo_stack.undo()
    assert model.doc.network("Dense").node("fc").params["out_features"] == 24  # type: ignore[union-attr]


def test_declaring_block_parameters_is_one_undo_step_and_reaches_the_uses(qtbot) -> None:
    doc = model_doc([{"width": 32}])
    plain = doc.network("Dense")
    assert plain is not None
    plain.params = {}
    plain.nodes[1].params = {"out_features": 16}
    model = DocumentModel(doc)
    model.analyze_now()
    assert [d.message for d in model.analysis.errors] == [
        "unknown parameter 'width': a block node takes no parameters"]
    messages: list[str] = []
    model.message.connect(messages.append)
    assert not model.set_block_params("Dense", {"two words": 1})
    assert messages == ["block parameters of Dense: 'two words' is not a Python identifier: use letters, "
                        "digits and _, not starting with a digit"]
    assert model.set_block_params("Dense", {"width": 16})
    model.set_param("Dense", "fc", "out_features", make_ref("width"))
    model.analyze_now()
    assert model.analysis.ok, [d.format() for d in model.analysis.errors]
    assert model.analysis.node("Model", "d1").outputs[0].shape[1:] == (32,)  # type: ignore[index,union-attr]
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert model.doc.network("Dense").params == {}  # type: ignore[union-attr]
    model.analyze_now()
    assert not model.analysis.ok
