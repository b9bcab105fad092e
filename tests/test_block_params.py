"""Block parameters: a network that declares ``params`` is used like a module with
constructor arguments. Format round trip and bad references, per-use analysis, code
generation, incremental analysis, export and training."""
from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from graph_compiler import document
from graph_compiler.analysis import Analyzer, analyze
from graph_compiler.cli import main as cli_main
from graph_compiler.codegen import generate_code
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.errors import DocumentError, GraphError
from graph_compiler.schema_check import schema_errors


def _chain(name: str, nodes: list[tuple[str, str, dict[str, Any]]], params: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    net: dict[str, Any] = {"name": name,
                           "nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes],
                           "edges": [{"src": a[0], "dst": b[0]} for a, b in zip(nodes, nodes[1:])]}
    if params is not None:
        net["params"] = params
    return net


def conv_doc(uses: list[dict[str, Any]], bn: Any = None) -> dict[str, Any]:
    """Model: Input [3, 8, 8] -> ConvBlock per use -> Flatten -> Linear(10)."""
    block = _chain("ConvBlock", [
        ("x", "Input", {"shape": [3, 8, 8]}),
        ("conv", "Conv2d", {"in_channels": {"param": "inp"}, "out_channels": {"param": "out"}, "kernel_size": 3,
                            "stride": {"param": "stride"}, "padding": 1}),
        ("bn", "BatchNorm2d", {"num_features": {"param": "out"}} if bn is None else bn),
        ("relu", "ReLU", {}),
        ("y", "Output", {}),
    ], params={"inp": 3, "out": 8, "stride": 1})
    main = _chain("Model", [("x", "Input", {"shape": [3, 8, 8]}),
                            *((f"b{i}", "ConvBlock", u) for i, u in enumerate(uses)),
                            ("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 10}), ("y", "Output", {})])
    return {"format": "netwright-graph", "version": 2, "networks": [main, block]}


USES = [{"out": 16}, {"inp": 16, "out": 32, "stride": 2}]


def _doc(raw: dict[str, Any]) -> document.Document:
    return document.from_dict(raw)


# ---------------------------------------------------------------- format


def test_round_trip_keeps_params_and_references(tmp_path: Path) -> None:
    raw = conv_doc(USES)
    doc = _doc(raw)
    block = doc.network("ConvBlock")
    assert block is not None and block.params == {"inp": 3, "out": 8, "stride": 1}
    assert block.node("conv").params["out_channels"] == {"param": "out"}  # type: ignore[union-attr]
    text = document.dumps(doc)
    assert document.loads(text) == doc
    document.save(doc, tmp_path / "d.json")
    assert (tmp_path / "d.json").read_text() == text  # a second save writes the same bytes
    saved = json.loads(text)
    assert list(saved["networks"][1])[:2] == ["name", "params"]
    assert "params" not in saved["networks"][0]  # written only when declared
    assert schema_errors(saved) == []
    assert schema_errors({**saved, "networks": [{**saved["networks"][1], "params": {"a": {"param": "b"}}}]})


@pytest.mark.parametrize(("params", "message"), [
    ([1, 2], "network 'ConvBlock'.params: expected an object, got a list"),
    ({"a": float("nan")}, "network 'ConvBlock'.params.a: numbers must be finite"),
    ({"": 1}, "network 'ConvBlock'.params: a block parameter name must not be empty"),
])
def test_malformed_declarations_are_load_errors(params: Any, message: str) -> None:
    raw = conv_doc(USES)
    raw["networks"][1]["params"] = params
    with pytest.raises(DocumentError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        _doc(raw)


json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | st.text(max_size=4)
                           | st.floats(allow_nan=False, allow_infinity=False),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=2), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(declared=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
       conv=st.dictionaries(st.sampled_from(["out_channels", "stride", "kernel_size", "bogus"]),
                            json_values | st.builds(lambda n: {"param": n}, st.text(max_size=6)), max_size=3),
       use=st.dictionaries(st.text(max_size=6), json_values, max_size=3))
def test_any_declarations_and_references_load_or_fail_cleanly(declared: dict[str, Any], conv: dict[str, Any],
                                                              use: dict[str, Any]) -> None:
    raw = conv_doc([use])
    raw["networks"][1]["params"] = declared
    raw["networks"][1]["nodes"][1]["params"] = conv
    try:
        doc = document.loads(json.dumps(raw))
    except DocumentError:
        return
    analysis = analyze(doc)  # never raises: every problem is a diagnostic
    if analysis.ok:
        generate_code(doc)


# ---------------------------------------------------------------- analysis


def _messages(doc: document.Document) -> list[str]:
    return [d.format() for d in analyze(doc).errors]


def test_bad_references_and_values_name_the_node_and_the_known_params() -> None:
    raw = conv_doc([{"out": 16, "widht": 3}, {"out": "wide"}])
    raw["networks"][1]["nodes"][1]["params"]["kernel_size"] = {"param": "k"}
    raw["networks"][0]["nodes"].append({"id": "stray", "type": "ReLU", "params": {"inplace": {"param": "x"}}})
    msgs = _messages(_doc(raw))
    assert "ConvBlock/conv: kernel_size refers to unknown block parameter 'k' (network 'ConvBlock' declares: " \
           "inp, out, stride)" in msgs
    assert "Model/b0: unknown parameter 'widht' for block 'ConvBlock' (known: inp, out, stride)" in msgs
    assert "Model/b1: block 'ConvBlock': out must be an integer, got 'wide'" in msgs
    assert "Model/stray: inplace refers to block parameter 'x', but network 'Model' declares no block " \
           "parameters" in msgs


def test_a_plain_block_still_takes_no_params_and_one_input_shape() -> None:
    raw = conv_doc([{}])
    raw["networks"][1].pop("params")
    raw["networks"][1]["nodes"][1]["params"] = {"out_channels": 8, "kernel_size": 3, "padding": 1}
    raw["networks"][1]["nodes"][2]["params"] = {}
    raw["networks"][0]["nodes"][1]["params"] = {"out": 4}
    assert _messages(_doc(raw)) == ["Model/b0: unknown parameter 'out': a block node takes no parameters"]
    raw["networks"][0]["nodes"][0]["params"] = {"shape": [3, 4, 4]}
    raw["networks"][0]["nodes"][1]["params"] = {}
    assert _messages(_doc(raw)) == ["Model/b0: block 'ConvBlock' expects [B, 3, 8, 8] on port 0 "
                                    "(its Input 'x'), gets [B, 3, 4, 4]"]


def test_each_use_is_analysed_with_its_values_and_input_types() -> None:
    doc = _doc(conv_doc(USES))
    analysis = analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    b0, b1 = analysis.node("Model", "b0"), analysis.node("Model", "b1")
    assert b0 is not None and b1 is not None
    assert b0.params == {"inp": 3, "out": 16, "stride": 1}  # defaults filled in
    assert b0.outputs is not None and b0.outputs[0].shape[1:] == (16, 8, 8)
    assert b1.outputs is not None and b1.outputs[0].shape[1:] == (32, 4, 4)
    # The same layers written out flat give the same counts.
    flat = _doc({"format": "netwright-graph", "version": 2, "networks": [_chain("Flat", [
        ("x", "Input", {"shape": [3, 8, 8]}),
        ("c0", "Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("n0", "BatchNorm2d", {}),
        ("r0", "ReLU", {}),
        ("c1", "Conv2d", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1}),
        ("n1", "BatchNorm2d", {}), ("r1", "ReLU", {}), ("y", "Output", {})])]})
    ref = analyze(flat).networks["Flat"].nodes
    assert b0.n_params == sum(ref[i].n_params for i in ("c0", "n0", "r0"))
    assert b1.n_params == sum(ref[i].n_params for i in ("c1", "n1", "r1"))
    assert b0.flops == sum(ref[i].flops for i in ("c0", "n0", "r0"))
    assert b1.flops == sum(ref[i].flops for i in ("c1", "n1", "r1"))
    # The block's own tab: its defaults and its example input.
    own = analysis.networks["ConvBlock"]
    assert own.nodes["y"].outputs is not None and own.nodes["y"].outputs[0].shape[1:] == (8, 8, 8)
    assert own.total_params == 3 * 8 * 9 + 8 + 16


def test_errors_inside_a_use_are_reported_on_the_block_node_naming_the_inner_node() -> None:
    doc = _doc(conv_doc([{"out": 16}, {"out": 32}]))  # the second use leaves inp at 3, but gets 16
    assert _messages(doc) == ["Model/b1: in block 'ConvBlock' (inp=3, out=32, stride=1): conv: "
                              "Conv2d expects 3 input channels, gets [B, 16, 8, 8]"]


def test_an_inferred_size_that_differs_between_uses_must_be_a_parameter() -> None:
    doc = _doc(conv_doc(USES, bn={}))  # bn.num_features left to inference: 8 in the block, 16 and 32 in uses
    msgs = _messages(doc)
    assert msgs[0] == ("Model/b0: bn.num_features is 16 in this use but 8 in the block's own network 'ConvBlock', "
                       "from which its code is generated; set bn.num_features to a block parameter "
                       '(it follows out: {"param": "out"})')
    with pytest.raises(GraphError):
        generate_code(doc)


def test_incremental_analysis_reanalyses_the_users_of_a_changed_block() -> None:
    doc = _doc(conv_doc(USES))
    analyzer = Analyzer()
    analyzer.analyze(doc)
    block = doc.network("ConvBlock")
    assert block is not None
    conv = block.node("conv")
    assert conv is not None
    conv.params["kernel_size"] = 5  # an edit inside the block changes every use
    conv.params["padding"] = 2
    after = analyzer.analyze(doc, changes={"ConvBlock": {"conv"}})
    fresh = Analyzer().analyze(doc)
    for nid in ("b0", "b1", "fc"):
        assert after.node("Model", nid).n_params == fresh.node("Model", nid).n_params  # type: ignore[union-attr]
    assert after.node("Model", "b0").n_params == 3 * 16 * 25 + 16 + 32  # type: ignore[union-attr]
    block.params["stride"] = 2  # a new default changes the uses that rely on it
    after = analyzer.analyze(doc, changes={"ConvBlock": set()})
    assert after.node("Model", "b0").outputs[0].shape[1:] == (16, 4, 4)  # type: ignore[index,union-attr]
    assert [d.format() for d in after.diagnostics] == [d.format() for d in Analyzer().analyze(doc).diagnostics]


# ---------------------------------------------------------------- code, export, training


def test_code_has_constructor_arguments_and_each_use_passes_its_values() -> None:
    doc = _doc(conv_doc(USES))
    source = generate_code(doc)
    assert "    def __init__(self, inp: int = 3, out: int = 8, stride: int = 1) -> None:\n" in source
    assert "        self.conv = nn.Conv2d(inp, out, kernel_size=3, stride=stride, padding=1)\n" in source
    assert "        self.bn = nn.BatchNorm2d(out)\n" in source
    assert "        self.b0 = ConvBlock(inp=3, out=16, stride=1)\n" in source
    assert "        self.b1 = ConvBlock(inp=16, out=32, stride=2)\n" in source
    model = exec_source(source)["build_model"]()
    analysis = analyze(doc)
    assert sum(p.numel() for p in model.parameters()) == analysis.networks["Model"].total_params
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_a_reference_a_nested_block_passes_on() -> None:
    raw = conv_doc([{"out": 16}])
    stage = _chain("Stage", [("x", "Input", {"shape": [3, 8, 8]}),
                             ("inner", "ConvBlock", {"out": {"param": "width"}}), ("y", "Output", {})],
                   params={"width": 4})
    raw["networks"].append(stage)
    raw["networks"][0]["nodes"][1] = {"id": "b0", "type": "Stage", "params": {"width": 12}}
    doc = _doc(raw)
    analysis = analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    assert analysis.node("Model", "b0").n_params == 3 * 12 * 9 + 12 + 24  # type: ignore[union-attr]
    source = generate_code(doc)
    assert "self.inner = ConvBlock(inp=3, out=width, stride=1)" in source
    assert "self.b0 = Stage(width=12)" in source
    model = CompiledDocument(doc).build()
    assert sum(p.numel() for p in model.parameters()) == analysis.networks["Model"].total_params


def test_a_param_whose_code_computes_with_it_cannot_be_a_reference() -> None:
    raw = conv_doc([{"out": 8}])
    raw["networks"][1]["params"]["size"] = [8, 1, 1]
    raw["networks"][1]["nodes"].insert(3, {"id": "scale", "type": "Parameter",
                                           "params": {"shape": {"param": "size"}, "batch_dim": False}})
    raw["networks"][1]["nodes"].insert(4, {"id": "mul", "type": "Multiply", "params": {}})
    raw["networks"][1]["edges"] = [{"src": "x", "dst": "conv"}, {"src": "conv", "dst": "bn"},
                                   {"src": "bn", "dst": "mul"}, {"src": "scale", "dst": "mul", "dst_port": 1},
                                   {"src": "mul", "dst": "relu"}, {"src": "relu", "dst": "y"}]
    doc = _doc(raw)
    assert analyze(doc).ok, [d.format() for d in analyze(doc).errors]
    with pytest.raises(GraphError, match=r"ConvBlock/scale: Parameter's code computes with shape, so it cannot "
                                         r"be a block parameter"):
        generate_code(doc)


def test_export_and_train_a_document_with_parameterised_blocks(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    block = _chain("Dense", [("x", "Input", {"shape": [2]}),
                             ("fc", "Linear", {"in_features": {"param": "inp"}, "out_features": {"param": "width"}}),
                             ("act", "ReLU", {}), ("y", "Output", {})], params={"inp": 2, "width": 8})
    main = _chain("Net", [("x", "Input", {"shape": [2]}), ("d1", "Dense", {"width": 16}),
                          ("d2", "Dense", {"inp": 16, "width": 8}), ("head", "Linear", {"out_features": 3}),
                          ("out", "Output", {})])
    doc = _doc({"format": "netwright-graph", "version": 2, "networks": [main, block],
                "training": {"recipe": "classification", "dataset": {"name": "blobs", "n": 120}, "epochs": 2,
                             "batch_size": 32}})
    path = tmp_path / "dense.json"
    document.save(doc, path)
    assert cli_main(["summary", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == (2 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3)
    save = tmp_path / "run"
    assert cli_main(["train", str(path), "--save", str(save), "--quiet", "--device", "cpu"]) == 0
    assert cli_main(["export", str(path), "-o", str(tmp_path / "dense.py"), "--weights", str(save)]) == 0
    capsys.readouterr()
    exported = runpy.run_path(str(tmp_path / "dense.py"))["build_model"]()

    exported.load_state_dict(load_file(str(save / "weights.safetensors")), strict=True)
    assert list(exported.state_dict())[:2] == ["d1.fc.weight", "d1.fc.bias"]
    assert exported(torch.randn(4, 2)).shape == (4, 3)
    assert cli_main(["export", str(path), "--script", "-o", str(tmp_path / "dense_train.py")]) == 0
    script = (tmp_path / "dense_train.py").read_text()
    assert "def __init__(self, inp: int = 2, width: int = 8) -> None:" in script
    assert "self.d2 = Dense(inp=16, width=8)" in script
    compile(script, "dense_train.py", "exec")


def test_declarations_need_identifier_names_and_plain_defaults() -> None:
    raw = conv_doc([{}])
    raw["networks"][1]["params"] = {"inp": 3, "out": 8, "stride": 1, "two words": 1, "bad": {"a": 1}}
    msgs = _messages(_doc(raw))
    assert "ConvBlock: block parameter 'two words' must be a Python identifier (letters, digits and _), as it " \
           "becomes a constructor argument" in msgs
    assert "ConvBlock: block parameter 'bad' has an object as its default; give a plain value" in msgs


def test_empty_or_null_declarations_are_not_written_back() -> None:
    for empty in ({}, None):
        raw = conv_doc([{}])
        raw["networks"][0]["params"] = empty
        saved = json.loads(document.dumps(_doc(raw)))
        assert "params" not in saved["networks"][0]


def test_each_distinct_use_is_analysed_once() -> None:
    doc = _doc(conv_doc([{"inp": 3, "out": 3}, {"inp": 3, "out": 3}, {"inp": 3, "out": 3}, {"inp": 3, "out": 5}]))
    analyzer = Analyzer()
    analysis = analyzer.analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    uses = [nid for net, nid in analyzer.recomputed if net == "Model" and nid.startswith("b")]
    assert uses == ["b0", "b3"]  # b1 and b2 get b0's results: same values, same input types
    assert {analysis.node("Model", f"b{i}").n_params for i in range(3)} == {3 * 3 * 9 + 3 + 6}  # type: ignore[union-attr]
