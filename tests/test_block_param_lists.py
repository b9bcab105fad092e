"""Block parameter references as elements of list params: a layer scale's
``"shape": [{"param": "dim"}, 1, 1]``, a Reshape's or an Expand's sizes. Format round
trip, analysis per use, generated code (run with two values), bad references, the
designer's text form and block edits, and the loader/compiler under hypothesis."""
from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QLineEdit
from test_codegen import assert_ruff_clean

from graph_compiler import document
from graph_compiler.analysis import analyze
from graph_compiler.codegen import generate_code
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.errors import DocumentError
from graph_compiler.schema_check import schema_errors

REF = {"param": "dim"}


def scaled_doc(gamma: Any = None, reshape: Any = None, init: str = "constant",
               uses: tuple[int, int] = (6, 10)) -> dict[str, Any]:
    """Scaled(dim): x * gamma (a [dim, 1, 1] layer scale), reshaped to [dim, -1]. Model
    feeds a [6, 4, 4] input to one use (dim=6) and a [10, 4, 4] input to another."""
    block = {"name": "Scaled", "params": {"dim": 8}, "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [8, 4, 4]}},
        {"id": "gamma", "type": "Parameter", "params": {
            "shape": [REF, 1, 1] if gamma is None else gamma, "batch_dim": False, "init": init, "value": 0.5}},
        {"id": "mul", "type": "Multiply", "params": {}},
        {"id": "flat", "type": "Reshape", "params": {"shape": [REF, -1] if reshape is None else reshape}},
        {"id": "y", "type": "Output", "params": {}}],
        "edges": [{"src": "x", "dst": "mul"}, {"src": "gamma", "dst": "mul", "dst_port": 1},
                  {"src": "mul", "dst": "flat"}, {"src": "flat", "dst": "y"}]}
    a, b = uses
    main = {"name": "Model", "nodes": [
        {"id": "x1", "type": "Input", "params": {"shape": [a, 4, 4]}},
        {"id": "x2", "type": "Input", "params": {"shape": [b, 4, 4]}},
        {"id": "a", "type": "Scaled", "params": {"dim": a}},
        {"id": "b", "type": "Scaled", "params": {"dim": b}},
        {"id": "y1", "type": "Output", "params": {}}, {"id": "y2", "type": "Output", "params": {}}],
        "edges": [{"src": "x1", "dst": "a"}, {"src": "x2", "dst": "b"},
                  {"src": "a", "dst": "y1"}, {"src": "b", "dst": "y2"}]}
    return {"format": "netwright-graph", "version": 2, "networks": [main, block]}


def tile_doc(size: Any) -> dict[str, Any]:
    """Tile(n): a [1, 4] input expanded to [n, 4]; used with n=3 and n=5."""
    block = {"name": "Tile", "params": {"n": 2}, "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [1, 4]}},
        {"id": "grow", "type": "Expand", "params": {"size": size}},
        {"id": "y", "type": "Output", "params": {}}],
        "edges": [{"src": "x", "dst": "grow"}, {"src": "grow", "dst": "y"}]}
    main = {"name": "Model", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [1, 4]}},
        {"id": "three", "type": "Tile", "params": {"n": 3}},
        {"id": "five", "type": "Tile", "params": {"n": 5}},
        {"id": "y1", "type": "Output", "params": {}}, {"id": "y2", "type": "Output", "params": {}}],
        "edges": [{"src": "x", "dst": "three"}, {"src": "x", "dst": "five"},
                  {"src": "three", "dst": "y1"}, {"src": "five", "dst": "y2"}]}
    return {"format": "netwright-graph", "version": 2, "networks": [main, block]}


def _errors(raw: dict[str, Any]) -> list[str]:
    return [d.format() for d in analyze(document.from_dict(raw)).errors]


# ---------------------------------------------------------------- format


def test_a_reference_inside_a_list_round_trips() -> None:
    raw = scaled_doc()
    doc = document.from_dict(raw)
    block = doc.network("Scaled")
    assert block is not None
    assert block.node("gamma").params["shape"] == [{"param": "dim"}, 1, 1]  # type: ignore[union-attr]
    text = document.dumps(doc)
    assert document.loads(text) == doc
    saved = json.loads(text)
    assert saved["networks"][1]["nodes"][1]["params"]["shape"] == [{"param": "dim"}, 1, 1]
    assert schema_errors(saved) == []  # the schema allows objects inside a list value


# ---------------------------------------------------------------- analysis


def test_each_use_binds_the_elements_with_its_own_values() -> None:
    analysis = analyze(document.from_dict(scaled_doc()))
    assert analysis.ok and not analysis.warnings, [d.format() for d in analysis.diagnostics]
    a, b = analysis.node("Model", "a"), analysis.node("Model", "b")
    assert a is not None and b is not None
    assert a.outputs is not None and a.outputs[0].shape == (1, 6, 16) and a.n_params == 6
    assert b.outputs is not None and b.outputs[0].shape == (1, 10, 16) and b.n_params == 10
    # The block's own tab: its default, dim=8.
    own = analysis.node("Scaled", "gamma")
    assert own is not None and own.params["shape"] == (8, 1, 1) and own.n_params == 8


def test_a_plain_element_that_differs_from_the_blocks_own_network_is_still_reported() -> None:
    # The reference covers only its element: a use whose channels make the 1s differ is
    # not what the class generated from the block's network would do.
    raw = scaled_doc(reshape=[REF, 16])
    raw["networks"][0]["nodes"][1]["params"]["shape"] = [10, 2, 2]  # b's input: 8 values per channel
    msgs = _errors(raw)
    assert any(m.startswith("Model/b: in block 'Scaled' (dim=10): flat: Reshape") for m in msgs), msgs


# ---------------------------------------------------------------- code


@pytest.mark.parametrize(("init", "ctor"), [
    ("constant", "nn.Parameter(torch.full((dim, 1, 1), 0.5))"),
    ("zeros", "nn.Parameter(torch.zeros(dim, 1, 1))"),
    ("normal", "nn.Parameter(torch.empty(dim, 1, 1).normal_(std=0.02))"),
])
def test_code_writes_the_name_in_a_parameter_shape_and_a_reshape(init: str, ctor: str) -> None:
    doc = document.from_dict(scaled_doc(init=init))
    source = generate_code(doc)
    assert_ruff_clean(source)
    assert "def __init__(self, dim: int = 8) -> None:" in source
    assert f"self.gamma = {ctor}" in source
    assert "self.dim = dim" in source  # forward() reads it: the Reshape
    assert ".reshape(x.shape[0], self.dim, -1)" in source
    assert "self.a = Scaled(dim=6)" in source and "self.b = Scaled(dim=10)" in source
    model = exec_source(source)["Model"]()
    state = model.state_dict()
    assert state["a.gamma"].shape == (6, 1, 1) and state["b.gamma"].shape == (10, 1, 1)
    x1, x2 = torch.randn(2, 6, 4, 4), torch.randn(2, 10, 4, 4)
    with torch.no_grad():
        y1, y2 = model(x1, x2)
    assert y1.shape == (2, 6, 16) and y2.shape == (2, 10, 16)
    if init == "constant":
        assert torch.allclose(y1, (x1 * 0.5).reshape(2, 6, 16))
    assert sum(p.numel() for p in model.parameters()) == analyze(doc).networks["Model"].total_params == 16


def test_code_writes_the_name_in_expand_sizes() -> None:
    doc = document.from_dict(tile_doc([{"param": "n"}, -1]))
    analysis = analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    source = generate_code(doc)
    assert_ruff_clean(source)
    assert "self.n = n" in source and ".expand(x.shape[0], self.n, -1)" in source
    model = CompiledDocument(doc).build()
    y3, y5 = model(torch.arange(8.0).reshape(2, 1, 4))
    assert y3.shape == (2, 3, 4) and y5.shape == (2, 5, 4)
    assert torch.equal(y5[:, 4], torch.arange(8.0).reshape(2, 4))


def test_a_whole_list_reference_is_refused_with_the_element_form_as_the_way_out() -> None:
    raw = scaled_doc(gamma={"param": "size"})
    raw["networks"][1]["params"] = {"dim": 8, "size": [8, 1, 1]}
    raw["networks"][0]["nodes"][2]["params"]["size"] = [6, 1, 1]
    raw["networks"][0]["nodes"][3]["params"]["size"] = [10, 1, 1]
    doc = document.from_dict(raw)
    from graph_compiler.errors import GraphError
    with pytest.raises(GraphError, match=r"Scaled/gamma: Parameter's code computes with shape, so it cannot be a "
                                         r"block parameter \(TypeError\); give it a value in the block, or refer "
                                         r"to its elements \(shape: \[\{\"param\": NAME\}, 1, \.\.\.\]\)"):
        generate_code(doc)


# ---------------------------------------------------------------- bad references


def test_bad_references_inside_lists_name_the_node_the_param_and_the_element() -> None:
    msgs = _errors(scaled_doc(gamma=[{"param": "dmi"}, 1, 1], reshape=[REF, {"parm": "dim"}]))
    assert "Scaled/gamma: shape[0] refers to unknown block parameter 'dmi' (network 'Scaled' declares: dim)" in msgs
    assert ("Scaled/flat: shape[1]={'parm': 'dim'}: an object is not a parameter value "
            '(a block parameter reference is {"param": NAME})') in msgs
    assert "Model/a: block 'Scaled' has errors; fix that network first" in msgs


def test_a_reference_in_a_network_without_parameters_is_an_error() -> None:
    raw = scaled_doc()
    raw["networks"][0]["nodes"].append({"id": "p", "type": "Parameter", "params": {"shape": [1, REF]}})
    assert ("Model/p: shape[1] refers to block parameter 'dim', but network 'Model' declares no block "
            "parameters") in _errors(raw)


def test_a_value_an_element_cannot_take_is_reported_on_the_use() -> None:
    raw = scaled_doc(reshape=[-1], uses=(6, 0))
    raw["networks"][0]["nodes"][1]["params"]["shape"] = [1, 4, 4]
    msgs = _errors(raw)
    assert any(m.startswith("Model/b: in block 'Scaled' (dim=0): gamma: Parameter: shape has size 0") for m in msgs), msgs


def test_a_reshape_reference_whose_value_is_zero_is_refused() -> None:
    # 0 in a Reshape keeps the input's size: code cannot read that off an argument.
    raw = scaled_doc(gamma=[1, 1, 1], reshape=[{"param": "dim"}, 16], uses=(6, 0))
    raw["networks"][0]["nodes"][1]["params"]["shape"] = [1, 4, 4]
    why = ("flat: shape[0] refers to block parameter 'dim', whose value here is 0; 0 keeps the input's "
           "size, which a block parameter cannot stand for: write 0 in the list itself")
    assert _errors(raw) == [f"Model/b: in block 'Scaled' (dim=0): {why}"]
    raw["networks"][1]["params"] = {"dim": 0}  # the default: the block's own tab
    assert f"Scaled/{why}" in _errors(raw)


def test_a_parameter_used_only_inside_a_list_is_not_unused() -> None:
    raw = scaled_doc(reshape=[-1])
    assert not analyze(document.from_dict(raw)).warnings
    raw["networks"][1]["nodes"][1]["params"]["shape"] = [6, 1, 1]
    raw["networks"][0]["nodes"][2]["params"] = {}
    raw["networks"][0]["nodes"][3]["params"] = {}
    warnings = [d.format() for d in analyze(document.from_dict(raw)).warnings]
    assert any("block parameter 'dim' is declared but no node uses it" in w for w in warnings)


# ---------------------------------------------------------------- the designer's block edits


def test_renaming_removing_and_ungrouping_see_references_inside_lists() -> None:
    from designer.block_params import apply
    from designer.blocks import ungroup

    doc = document.from_dict(scaled_doc())
    block = doc.network("Scaled")
    assert block is not None
    nets, why = apply(doc, block, {"width": 8}, {"dim": "width"})
    assert why is None
    renamed = next(n for n in nets if n.name == "Scaled")
    assert renamed.node("gamma").params["shape"] == [{"param": "width"}, 1, 1]  # type: ignore[union-attr]
    assert renamed.node("flat").params["shape"] == [{"param": "width"}, -1]  # type: ignore[union-attr]
    assert apply(doc, block, {}, {})[1] == ("cannot remove a block parameter that is still used: 'dim' by "
                                             "gamma.shape, flat.shape. Set those parameters to values first")
    nets, _ids = ungroup(doc, doc.main, "b")
    model = next(n for n in nets if n.name == "Model")
    assert model.node("gamma").params["shape"] == [10, 1, 1]  # type: ignore[union-attr]
    assert model.node("flat").params["shape"] == [10, -1]  # type: ignore[union-attr]


def test_the_inspector_shows_a_reference_in_a_list_by_name_and_reads_it_back(qtbot: Any) -> None:
    from designer.panels.param_editors import ParamEditor, format_value, parse_text
    from graph_compiler.catalog import REGISTRY

    spec = REGISTRY.get("Parameter")
    assert spec is not None
    shape = spec.params[0]
    assert format_value([REF, 1, 1]) == "dim, 1, 1"
    assert parse_text(shape, "dim, 1, 1", ("dim",)) == ([REF, 1, 1], None)
    assert parse_text(shape, "[dim, 2]", ("dim", "k")) == ([REF, 2], None)
    assert parse_text(shape, "dmi, 1", ("dim",)) == (
        None, "'dmi' is not a number or a block parameter of this network (dim)")
    assert parse_text(shape, "dim, 0", ("dim",))[1] == "shape has size 0; sizes must be 1..16777216"
    assert parse_text(shape, "dim, 1", ()) == (None, "'dim, 1' is not a list of whole numbers")
    editor = ParamEditor(shape, refs=("dim",))
    qtbot.addWidget(editor)
    editor.set_value([REF, 1, 1])
    assert isinstance(editor.editor, QLineEdit) and editor.editor.text() == "dim, 1, 1"
    with qtbot.waitSignal(editor.committed) as got:
        editor.editor.setText("dim, 2, 2")
        editor.editor.editingFinished.emit()
    assert got.args == [[REF, 2, 2]]


def test_the_inspector_edits_a_list_with_a_reference_as_one_undo_step(qtbot: Any) -> None:
    from designer.model import DocumentModel
    from designer.panels.inspector import InspectorPanel

    model = DocumentModel(document.from_dict(scaled_doc()))
    model.analyze_now()
    insp = InspectorPanel(model)
    qtbot.addWidget(insp)
    insp.set_target("Scaled", "gamma")
    field = insp.editors["shape"]
    assert isinstance(field.editor, QLineEdit) and field.editor.text() == "dim, 1, 1"

    def gamma() -> Any:
        block = model.doc.network("Scaled")
        assert block is not None
        return block.node_map()["gamma"].params["shape"]

    field.editor.setText("1, 1, 1")
    field.editor.editingFinished.emit()
    assert gamma() == [1, 1, 1]
    field.editor.setText("[dim, 1, 1]")
    field.editor.editingFinished.emit()
    assert gamma() == [REF, 1, 1]
    model.undo_stack.undo()
    assert gamma() == [1, 1, 1]


def test_diff_reads_a_rename_used_inside_lists_as_one_rename() -> None:
    from designer.block_params import apply
    from graph_compiler.diff import diff_documents

    old = document.from_dict(scaled_doc())
    block = old.network("Scaled")
    assert block is not None
    nets, _why = apply(old, block, {"width": 8}, {"dim": "width"})
    new = document.Document(nets)
    nd = diff_documents(old, new).network("Scaled")
    assert nd is not None and nd.params_renamed == {"dim": "width"}
    assert not nd.params_removed and not nd.params_added
    assert [c.params for c in nd.changed] == []  # the lists' references follow the rename: no change
    # Not a rename when the new name stands in one list only.
    raw = scaled_doc(reshape=[-1])
    raw["networks"][1]["params"] = {"width": 8}
    raw["networks"][1]["nodes"][1]["params"]["shape"] = [{"param": "width"}, 1, 1]
    raw["networks"][0]["nodes"][2]["params"] = {"width": 6}
    raw["networks"][0]["nodes"][3]["params"] = {"width": 10}
    nd = diff_documents(old, document.from_dict(raw)).network("Scaled")
    assert nd is not None and nd.params_renamed == {} and list(nd.params_removed) == ["dim"]


# ---------------------------------------------------------------- hypothesis

elements = (st.integers(-2, 12) | st.sampled_from(["dim", "other", ""]).map(lambda n: {"param": n})
            | st.just({"parm": "dim"}) | st.just({"param": 3}) | st.text(max_size=2) | st.none())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gamma=st.sampled_from([[REF, 1, 1], [1, 1, 1], [1], [REF, 4, 1]]) | st.lists(elements, max_size=3) | elements,
       reshape=st.sampled_from([[REF, -1], [-1, REF], [REF, 4, 4], [REF, 0]]) | st.lists(elements, max_size=3),
       dim=st.sampled_from([6, 3]) | st.integers(-1, 12) | st.text(max_size=2))
def test_any_list_with_references_analyses_or_fails_cleanly(gamma: Any, reshape: Any, dim: Any) -> None:
    sized = isinstance(dim, int) and dim > 0
    raw = scaled_doc(gamma=gamma, reshape=reshape, uses=(dim if sized else 6, 10))
    raw["networks"][0]["nodes"][2]["params"] = {"dim": dim}
    try:
        doc = document.loads(json.dumps(raw))
    except DocumentError:
        return
    analysis = analyze(doc)  # never raises: every problem is a diagnostic
    if analysis.ok:
        source = generate_code(doc)
        model = exec_source(source)["Model"]()
        a = analysis.node("Model", "a")
        assert a is not None and a.outputs is not None
        with torch.no_grad():
            y1, _y2 = model(torch.randn(1, dim, 4, 4), torch.randn(1, 10, 4, 4))
        assert tuple(y1.shape)[1:] == a.outputs[0].shape[1:]
