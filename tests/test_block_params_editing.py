"""Network ▸ Block Parameters…: the table dialog (add, rename, retype, remove, validation
naming the row, OK as one undo step, Cancel), renames that rewrite references and the
values the uses pass, removal of a used parameter refused naming the nodes, and the
warning on a declared parameter nothing uses."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QDialogButtonBox

from block_docs import dense_block

from designer.block_params import Row, check_rows
from designer.block_params_dialog import DEFAULT, NAME, USED, BlockParamsDialog
from designer.main_window import MainWindow
from designer.model import DocumentModel
from graph_compiler.analysis import WARNING, Analyzer
from graph_compiler import document
from graph_compiler.document import Document, Edge, Network, Node, make_ref


def doc() -> Document:
    """Model: input [16] -> Dense(width=32) -> Dense(inp=32) -> Linear(4)."""
    nodes = [Node("input1", "Input", {"shape": [16]}, (0, 0)),
             Node("d1", "Dense", {"width": 32}, (300, 0)),
             Node("d2", "Dense", {"inp": 32}, (600, 0)),
             Node("head", "Linear", {"out_features": 4}, (900, 0)),
             Node("output1", "Output", {}, (1200, 0))]
    edges = [Edge("input1", "d1"), Edge("d1", "d2"), Edge("d2", "head"), Edge("head", "output1")]
    return Document([Network("Model", nodes, edges), dense_block()])


def snapshot(d: Document) -> list[object]:
    return [(n.name, dict(n.params), [(x.id, dict(x.params)) for x in n.nodes]) for n in d.networks]


def warnings_of(model: DocumentModel) -> list[str]:
    return [d.format() for d in model.analyze_now().warnings]


@pytest.fixture
def dense_window(window: MainWindow, tmp_path: Path, qtbot) -> MainWindow:
    path = tmp_path / "dense.json"
    document.save(doc(), path)
    assert window.file_actions.open(str(path))
    window.model.analyze_now()
    window.tabs.setCurrentWidget(window.views["Dense"])
    assert window.current_network() == "Dense"
    return window


def open_dialog(w: MainWindow, qtbot) -> BlockParamsDialog:
    w.acts.block_params.trigger()
    dialog = w.findChild(BlockParamsDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def ok_button(dialog: BlockParamsDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_the_dialog_lists_the_declaration_and_ok_applies_the_table_as_one_undo_step(dense_window: MainWindow,
                                                                                    qtbot) -> None:
    w = dense_window
    model = w.model
    before = snapshot(model.doc)
    steps = model.undo_stack.count()
    dialog = open_dialog(w, qtbot)
    assert [(r.name, r.kind, r.text) for r in dialog.rows()] == [("inp", "int", "16"), ("width", "int", "16")]
    assert dialog.table.item(0, USED).text() == "fc.in_features"
    assert dialog.table.item(1, USED).text() == "fc.out_features"
    # Rename width -> units with a new default 24, add a float parameter.
    dialog.table.item(1, NAME).setText("units")
    dialog.table.item(1, DEFAULT).setText("24")
    dialog.add_button.click()
    r = dialog.table.rowCount() - 1
    assert dialog.rows()[r] == Row(None, "param1", "int", "0")  # a free name, editing it
    assert dialog.table.currentRow() == r
    dialog.table.item(r, NAME).setText("dropout")
    dialog.kind_combo(r).setCurrentText("float")
    dialog.table.item(r, DEFAULT).setText("0.25")
    assert dialog.validate() == [] and ok_button(dialog).isEnabled()
    ok_button(dialog).click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    dense_net = model.doc.network("Dense")
    assert dense_net is not None
    assert dense_net.params == {"inp": 16, "units": 24, "dropout": 0.25}
    assert list(dense_net.params) == ["inp", "units", "dropout"]  # the table's order
    assert dense_net.node("fc").params == {"in_features": make_ref("inp"), "out_features": make_ref("units")}
    main = model.doc.network("Model")
    assert main.node("d1").params == {"units": 32}  # the use keeps its value under the new name
    assert main.node("d2").params == {"inp": 32}
    assert model.undo_stack.count() == steps + 1
    assert model.undo_stack.undoText() == "Block parameters of Dense"
    an = model.analyze_now()
    assert an.ok, [d.format() for d in an.errors]
    assert an.node("Model", "d1").outputs[0].shape[1:] == (32,)
    assert an.node("Model", "d2").outputs[0].shape[1:] == (24,)  # the new default
    assert warnings_of(model) == ["Dense: warning: block parameter 'dropout' is declared but no node uses it; "
                                  'set a node parameter to {"param": "dropout"} or remove it']
    model.undo_stack.undo()
    assert snapshot(model.doc) == before
    assert warnings_of(model) == []


def test_the_dialog_names_each_bad_row_and_cancel_changes_nothing(dense_window: MainWindow, qtbot) -> None:
    w = dense_window
    model = w.model
    before = snapshot(model.doc)
    steps = model.undo_stack.count()
    dialog = open_dialog(w, qtbot)
    dialog.table.item(1, NAME).setText("inp")
    rows = [dialog.add_row() for _ in range(5)]
    for r, name in zip(rows, ["", "2x", "class", "wide", "sizes"]):
        dialog.table.item(r, NAME).setText(name)
    dialog.table.item(rows[3], DEFAULT).setText("wide")
    dialog.kind_combo(rows[4]).setCurrentText("list")
    dialog.table.item(rows[4], DEFAULT).setText("3, {")
    assert dialog.validate() == [
        "row 2 (inp): the name 'inp' is already used in row 1",
        "row 3: the name is empty",
        "row 4 (2x): '2x' is not a Python identifier: use letters, digits and _, not starting with a digit",
        "row 5 (class): 'class' is reserved in Python; pick another name",
        "row 6 (wide): default 'wide' is not a whole number",
        "row 7 (sizes): default '3, {' is not a list like 3, 3 or [1.5, \"a\"]",
    ]
    assert dialog.problems.isVisibleTo(dialog) and "row 3: the name is empty" in dialog.problems.text()
    assert not ok_button(dialog).isEnabled()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert snapshot(model.doc) == before
    assert model.undo_stack.count() == steps


def test_a_used_row_cannot_be_removed_and_an_unused_one_takes_the_uses_values_with_it(dense_window: MainWindow,
                                                                                      qtbot) -> None:
    w = dense_window
    model = w.model
    model.set_block_params("Dense", {"inp": 16, "width": 16, "bias": True})
    model.set_param("Model", "d1", "bias", False)
    dialog = open_dialog(w, qtbot)
    assert [r.kind for r in dialog.rows()] == ["int", "int", "bool"]
    dialog.table.selectRow(1)
    dialog.remove_button.click()
    assert dialog.table.rowCount() == 3
    assert dialog.problems.text() == ("Not removed: 'width' is used by fc.out_features. Set those parameters "
                                      "to values first (in the inspector).")
    dialog.table.selectRow(2)
    dialog.remove_button.click()
    assert [r.name for r in dialog.rows()] == ["inp", "width"]
    ok_button(dialog).click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert model.doc.network("Dense").params == {"inp": 16, "width": 16}
    assert model.doc.network("Model").node("d1").params == {"width": 32}
    assert model.analyze_now().ok
    model.undo_stack.undo()
    assert model.doc.network("Model").node("d1").params == {"width": 32, "bias": False}


def test_changing_a_rows_type_converts_its_default_where_it_can(dense_window: MainWindow, qtbot) -> None:
    dialog = open_dialog(dense_window, qtbot)
    dialog.kind_combo(0).setCurrentText("float")
    assert dialog.rows()[0].text == "16.0"
    dialog.kind_combo(0).setCurrentText("int")
    assert dialog.rows()[0].text == "16"
    dialog.kind_combo(1).setCurrentText("bool")
    assert dialog.rows()[1].text == "false"
    dialog.kind_combo(1).setCurrentText("none")
    assert dialog.rows()[1].text == "" and dialog.validate() == []
    assert check_rows(dialog.rows())[0] == {"inp": 16, "width": None}


def test_model_refuses_removing_a_used_parameter_naming_the_nodes(qtbot) -> None:
    model = DocumentModel(doc())
    messages: list[str] = []
    model.message.connect(messages.append)
    before = snapshot(model.doc)
    assert not model.set_block_params("Dense", {"inp": 16})
    assert messages == ["block parameters of Dense: cannot remove a block parameter that is still used: "
                        "'width' by fc.out_features. Set those parameters to values first"]
    assert snapshot(model.doc) == before and model.undo_stack.count() == 0
    assert not model.set_block_params("Dense", {"inp": 16, "width": 16}, {"nope": "width"})
    assert messages[-1] == "block parameters of Dense: there is no block parameter 'nope' to rename"


def test_renames_can_swap_two_names(qtbot) -> None:
    model = DocumentModel(doc())
    assert model.set_block_params("Dense", {"width": 16, "inp": 16}, {"inp": "width", "width": "inp"})
    dense_net = model.doc.network("Dense")
    assert dense_net.node("fc").params == {"in_features": make_ref("width"), "out_features": make_ref("inp")}
    assert model.doc.network("Model").node("d1").params == {"inp": 32}
    assert model.doc.network("Model").node("d2").params == {"width": 32}
    an = model.analyze_now()
    assert an.ok and an.node("Model", "d1").outputs[0].shape[1:] == (32,)


def test_a_rename_onto_a_removed_name_drops_the_old_values(qtbot) -> None:
    model = DocumentModel(doc())
    assert model.set_block_params("Dense", {"inp": 16, "width": 16, "bias": True})
    model.set_param("Model", "d1", "bias", False)
    assert model.set_block_params("Dense", {"inp": 16, "bias": 16}, {"width": "bias"})
    assert model.doc.network("Model").node("d1").params == {"bias": 32}  # width's value, not the old bias
    assert model.doc.network("Dense").node("fc").params["out_features"] == make_ref("bias")
    assert model.analyze_now().ok


def test_a_rename_reaches_nested_blocks_on_both_sides(qtbot) -> None:
    """Outer passes its own parameter on to Dense: renaming Dense's renames the key the
    outer node passes; renaming Outer's renames the reference in that value."""
    d = doc()
    outer = Network("Outer", [Node("x", "Input", {"shape": [16]}),
                              Node("inner", "Dense", {"width": make_ref("size")}),
                              Node("y", "Output", {})],
                    [Edge("x", "inner"), Edge("inner", "y")], params={"size": 8})
    d.networks.append(outer)
    d.networks[0].nodes.insert(1, Node("o1", "Outer", {"size": 16}))
    model = DocumentModel(d)
    assert model.set_block_params("Dense", {"inp": 16, "units": 16}, {"width": "units"})
    assert model.doc.network("Outer").node("inner").params == {"units": make_ref("size")}
    assert model.set_block_params("Outer", {"n": 8}, {"size": "n"})
    assert model.doc.network("Outer").node("inner").params == {"units": make_ref("n")}
    assert model.doc.network("Model").node("o1").params == {"n": 16}
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert model.doc.network("Outer").node("inner").params == {"width": make_ref("size")}
    assert model.doc.network("Model").node("o1").params == {"size": 16}


def test_rows_check_names_and_defaults() -> None:
    params, renames, problems = check_rows([Row("a", "alpha", "float", "1e-3"), Row(None, "flag", "bool", "yes"),
                                            Row(None, "ks", "list", "3, 3"), Row(None, "mode", "string", "same"),
                                            Row(None, "mix", "list", '[1.5, "a", null]')])
    assert problems == []
    assert params == {"alpha": 0.001, "flag": True, "ks": [3, 3], "mode": "same", "mix": [1.5, "a", None]}
    assert renames == {"a": "alpha"}
    assert check_rows([Row(None, "self", "int", "1"), Row(None, "x", "float", "nan"),
                       Row(None, "y", "bool", "maybe"), Row(None, "é", "int", "1")])[2] == [
        "row 1 (self): 'self' is reserved in Python; pick another name",
        "row 2 (x): default use a finite number",
        "row 3 (y): default 'maybe' is not true or false",
        "row 4 (é): 'é' is not a Python identifier: use letters, digits and _, not starting with a digit",
    ]


def test_a_declared_parameter_nothing_uses_is_a_warning_until_a_node_uses_it() -> None:
    d = doc()
    d.network("Dense").params["stride"] = 1
    analyzer = Analyzer()
    an = analyzer.analyze(d)
    assert an.ok
    [warn] = an.warnings
    assert (warn.severity, warn.network, warn.node, warn.param) == (WARNING, "Dense", None, "stride")
    assert warn.message.startswith("block parameter 'stride' is declared but no node uses it")
    d.network("Dense").node("act").type = "LeakyReLU"
    d.network("Dense").node("act").params = {"negative_slope": make_ref("stride")}
    assert analyzer.analyze(d, {"Dense": {"act"}}).warnings == []  # incrementally too
    d.network("Dense").node("act").params = {}
    assert [w.param for w in analyzer.analyze(d, {"Dense": {"act"}}).warnings] == ["stride"]


@pytest.mark.parametrize("factory", ["resnet18", "mobilenet_v2"])
def test_import_with_blocks_declares_no_parameter_that_nothing_uses(factory: str) -> None:
    import torch
    from models import zoo

    from graph_compiler.interop.fx_import import import_model

    torch.manual_seed(0)
    imported = import_model(getattr(zoo, factory)(), (3, 16, 16), blocks=True)
    declared = [n for n in imported.networks if n.params]
    assert declared, "the repeated blocks differ in some values"
    an = Analyzer().analyze(imported)
    assert an.ok
    assert [w.format() for w in an.warnings if "declared but no node uses it" in w.message] == []


def test_validate_prints_the_unused_parameter_warning_and_passes(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from graph_compiler.cli import main

    d = doc()
    d.network("Dense").params["stride"] = 1
    path = tmp_path / "unused.json"
    document.save(d, path)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}:Dense: warning: block parameter 'stride' is declared but no node uses it; set a node "
        'parameter to {"param": "stride"} or remove it')


def test_the_inspector_follows_a_declaration_change_of_the_block_it_shows(qtbot) -> None:
    from designer.panels.inspector import InspectorPanel

    model = DocumentModel(doc())
    inspector = InspectorPanel(model)
    qtbot.addWidget(inspector)
    inspector.set_target("Model", "d2")
    assert [(p.param.name, p.param.default) for p in inspector.editors.values()] == [("inp", 16), ("width", 16)]
    model_net = model.doc.network("Model")
    assert model.set_block_params("Dense", {"inp": 16, "width": 24, "bias": True})
    assert model.doc.network("Model") is model_net  # no use changed: only the declaration did
    assert [(p.param.name, p.param.default) for p in inspector.editors.values()] == [
        ("inp", 16), ("width", 24), ("bias", True)]
    model.undo_stack.undo()
    assert list(inspector.editors) == ["inp", "width"]


NAMES = st.sampled_from(["a", "b", "c", "width", "inp", "units"])


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["inp", "width"]), NAMES, max_size=2).filter(
    lambda m: len(set(m.values())) == len(m)))
def test_any_rename_keeps_references_and_use_values_consistent(mapping: dict[str, str]) -> None:
    """Renaming inp / width to any distinct names: every reference names a declared
    parameter, and each use passes the same values under the new names."""
    from designer.block_params import apply

    d = doc()
    dense_net = d.network("Dense")
    new_names = {k: mapping.get(k, k) for k in dense_net.params}
    assume(len(set(new_names.values())) == len(new_names))  # else the dialog reports a duplicate row
    params = {new_names[k]: v for k, v in dense_net.params.items()}
    nets, problem = apply(d, dense_net, params, {k: v for k, v in mapping.items() if k != v})
    assert problem is None
    after = Document(nets)
    block = after.network("Dense")
    refs = {v["param"] for n in block.nodes for v in n.params.values() if isinstance(v, dict)}
    assert refs <= set(block.params) and refs == {new_names["inp"], new_names["width"]}
    for before_node, after_node in zip(d.network("Model").nodes, after.network("Model").nodes):
        if before_node.type == "Dense":
            assert after_node.params == {new_names[k]: v for k, v in before_node.params.items()}
    assert snapshot(d) == snapshot(doc())  # the old networks are untouched (undo swaps them back)
