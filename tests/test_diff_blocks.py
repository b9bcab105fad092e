"""`netwright diff` on block parameters and ties: a network's declared parameters
(added, removed, another default), block nodes' values compared with their block's
defaults filled in, and ties added or removed; text and JSON (docs/diff.md)."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from graph_compiler.cli import main
from graph_compiler.diff import diff_documents
from graph_compiler.document import Document, Edge, Network, Node, Tie, dumps, make_ref


def conv_block(params: dict[str, Any]) -> Network:
    nodes = [Node("x", "Input", {"shape": [3, 8, 8]}),
             Node("conv", "Conv2d", {"in_channels": make_ref("inp"), "out_channels": make_ref("out"),
                                     "kernel_size": 3, "stride": make_ref("stride"), "padding": 1}),
             Node("relu", "ReLU"), Node("y", "Output")]
    return Network("ConvBlock", nodes, [Edge("x", "conv"), Edge("conv", "relu"), Edge("relu", "y")],
                   params=params)


def old_doc() -> Document:
    """Model: Input [3, 8, 8] -> b1 ConvBlock -> b2 ConvBlock(stride 2) -> Flatten -> Output."""
    nodes = [Node("x", "Input", {"shape": [3, 8, 8]}), Node("b1", "ConvBlock", {"out": 16}),
             Node("b2", "ConvBlock", {"inp": 16, "out": 32, "stride": 2}), Node("flat", "Flatten"),
             Node("y", "Output")]
    ids = [n.id for n in nodes]
    return Document([Network("Model", nodes, [Edge(a, b) for a, b in zip(ids, ids[1:])]),
                     conv_block({"inp": 3, "out": 8, "stride": 1})])


def new_doc() -> Document:
    """The block's `out` defaults to 16 (b1 now leaves it out: no change), `stride` is
    gone (b2 loses its value), and a new `k` gives the kernel size."""
    doc = copy.deepcopy(old_doc())
    block = doc.network("ConvBlock")
    block.params = {"inp": 3, "out": 16, "k": 3}
    block.node("conv").params.update({"stride": 1, "kernel_size": make_ref("k")})
    main_net = doc.network("Model")
    main_net.node("b1").params = {}
    main_net.node("b2").params = {"inp": 16, "out": 32}
    return doc


def write(tmp_path: Path, name: str, doc: Document) -> str:
    p = tmp_path / name
    p.write_text(dumps(doc), encoding="utf-8")
    return str(p)


def test_block_parameter_changes_in_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write(tmp_path, "a.json", old_doc()), write(tmp_path, "b.json", new_doc())
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    block = out[out.index("Network ConvBlock"):]
    assert block.splitlines()[1:5] == [
        "  + block parameter k = 3",
        "  - block parameter stride (default 1)",
        "  ~ block parameter out: default 8 -> 16",
        '  ~ conv: kernel_size 3 -> {"param": "k"}, stride {"param": "stride"} -> 1',
    ]
    model = out[out.index("Network Model"):out.index("Network ConvBlock")]
    assert "  ~ b2: stride 2 -> (unset)" in model.splitlines()
    assert "b1:" not in model.split("shapes and counts")[0]  # 16 written out, then 16 by default: no change
    assert "    b2: [B, 32, 4, 4] -> [B, 32, 8, 8]" in model.splitlines()


def test_block_parameter_changes_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write(tmp_path, "a.json", old_doc()), write(tmp_path, "b.json", new_doc())
    assert main(["diff", a, b, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 3
    nets = {n["name"]: n for n in data["networks"]}
    assert nets["ConvBlock"]["block_params"] == {"added": {"k": 3}, "removed": {"stride": 1},
                                                 "changed": {"out": [8, 16]}, "renamed": {}}
    assert nets["Model"]["block_params"] == {"added": {}, "removed": {}, "changed": {}, "renamed": {}}
    assert nets["Model"]["nodes"]["changed"] == [
        {"id": "b2", "old_id": "b2", "type": None, "label": None, "params": {"stride": [2, None]}}]
    assert nets["ConvBlock"]["nodes"]["changed"] == [
        {"id": "conv", "old_id": "conv", "type": None, "label": None,
         "params": {"kernel_size": [3, {"param": "k"}], "stride": [{"param": "stride"}, 1]}}]


def test_a_block_value_written_at_its_default_is_no_change() -> None:
    a, b = old_doc(), old_doc()
    b.network("Model").node("b2").params["inp"] = 16
    b.network("Model").node("b1").params["stride"] = 1  # the default, written out
    assert diff_documents(a, b).identical
    b.network("Model").node("b1").params["stride"] = True  # not an int: a change, even though 1 == True
    d = diff_documents(a, b)
    assert [(c.id, c.params) for c in d.network("Model").changed] == [("b1", {"stride": (1, True)})]


def lm(ties: list[Tie]) -> Document:
    nodes = [Node("idx", "Input", {"shape": [6], "dtype": "int64"}),
             Node("wte", "Embedding", {"num_embeddings": 40, "embedding_dim": 8}),
             Node("lm_head", "Linear", {"out_features": 40, "bias": False}), Node("logits", "Output")]
    ids = [n.id for n in nodes]
    return Document([Network("LM", nodes, [Edge(x, y) for x, y in zip(ids, ids[1:])], ties=ties)])


def test_ties_added_and_removed_in_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    untied = write(tmp_path, "untied.json", lm([]))
    tied = write(tmp_path, "tied.json", lm([Tie("lm_head", "weight", "wte", "weight")]))
    assert main(["diff", untied, tied]) == 1
    out = capsys.readouterr().out
    assert "  + tie lm_head.weight -> wte.weight" in out.splitlines()
    assert "  params 640 -> 320 (-320), FLOPs" in out  # the tied head's weight counts once
    assert main(["diff", tied, untied, "--json"]) == 1
    net = json.loads(capsys.readouterr().out)["networks"][0]
    assert net["ties"] == {"added": [], "removed": [{"node": "lm_head", "param": "weight", "to_node": "wte",
                                                     "to_param": "weight"}]}
    assert main(["diff", tied, tied]) == 0


def test_a_tie_follows_a_renamed_node() -> None:
    a = lm([Tie("lm_head", "weight", "wte", "weight")])
    b = copy.deepcopy(a)
    net = b.networks[0]
    net.node("lm_head").id = "head"
    net.edges = [Edge(e.src, "head" if e.dst == "lm_head" else e.dst) if e.dst == "lm_head" else
                 Edge("head" if e.src == "lm_head" else e.src, e.dst) for e in net.edges]
    net.ties = [Tie("head", "weight", "wte", "weight")]
    nd = diff_documents(a, b).networks[0]
    assert [c.old_id for c in nd.changed] == ["lm_head"] and nd.changed[0].id == "head"
    assert nd.ties_added == [] and nd.ties_removed == []


@pytest.fixture
def window(window):
    """conftest's window, collecting error dialogs instead of failing."""
    errors: list[tuple[str, str]] = []
    window.prompts.error = lambda title, text: errors.append((title, text))
    return window


def marks(w) -> dict[str, tuple[str, str]]:
    from designer.compare import DiffMark

    return {item.parentItem().node_id: (item.state, item.toolTip())
            for item in w.current_view().scene().items() if isinstance(item, DiffMark)}


def test_compare_overlay_names_block_parameter_and_tie_changes(window, tmp_path: Path, qtbot) -> None:
    old, new = write(tmp_path, "old.json", old_doc()), write(tmp_path, "new.json", new_doc())
    assert window.file_actions.open(new)
    window.model.analyze_now()
    window.tabs.setCurrentWidget(window.views["ConvBlock"])
    assert window.compare_with(old)
    state, tip = marks(window)["conv"]
    assert state == "changed"
    assert tip.splitlines() == ['kernel_size 3 → {"param": "k"}', 'stride {"param": "stride"} → 1',
                                "block parameter out: default 8 → 16", "output [B, 8, 8, 8] → [B, 16, 8, 8]",
                                "params 224 → 448"]
    assert "block parameters of ConvBlock changed" in window.statusBar().currentMessage()

    untied, tied = write(tmp_path, "untied.json", lm([])), write(tmp_path, "tied.json", lm([Tie("lm_head", "weight",
                                                                                              "wte", "weight")]))
    assert window.file_actions.open(tied)
    window.model.analyze_now()
    assert window.compare_with(untied)
    got = marks(window)
    assert got["wte"] == ("changed", "tie lm_head.weight → wte.weight added")
    assert got["lm_head"][0] == "changed" and "tie lm_head.weight → wte.weight added" in got["lm_head"][1]
    assert window.statusBar().currentMessage().startswith("Compared with untied.json: 0 nodes differ; "
                                                          "1 tie added or removed; params -320")


def test_a_whole_float_equals_its_int_but_a_bool_is_not_a_number() -> None:
    a, b = old_doc(), old_doc()
    b.network("ConvBlock").node("conv").params["padding"] = 1.0
    b.network("ConvBlock").params["stride"] = 1.0
    assert diff_documents(a, b).identical
    b.network("ConvBlock").params["stride"] = True
    assert diff_documents(a, b).network("ConvBlock").params_changed == {"stride": (1, True)}


def test_a_rename_made_in_the_designer_reads_as_one_rename(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          qtbot) -> None:
    """Block Parameters… renames `out` to `width` (and its default 8 -> 12): the references
    and every use's value follow, and the diff says so once, not as a removal, an addition,
    a changed reference and a moved value per use."""
    from designer.model import DocumentModel

    model = DocumentModel(old_doc())
    a = write(tmp_path, "a.json", model.doc)
    assert model.set_block_params("ConvBlock", {"inp": 3, "width": 12, "stride": 1}, {"out": "width"})
    assert model.doc.network("Model").node("b2").params == {"inp": 16, "width": 32, "stride": 2}
    b = write(tmp_path, "b.json", model.doc)
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    assert out.split("\n\n")[1:3] == [
        "Network Model: unchanged",
        "Network ConvBlock\n"
        "  ~ block parameter out renamed to width\n"
        "  ~ block parameter width: default 8 -> 12\n"
        "  shapes and counts that follow:\n"
        "    conv: [B, 8, 8, 8] -> [B, 12, 8, 8], params 224 -> 336\n"
        "    relu: [B, 8, 8, 8] -> [B, 12, 8, 8]\n"
        "    y: [B, 8, 8, 8] -> [B, 12, 8, 8]\n"
        "  params 224 -> 336 (+112), FLOPs 27.65k -> 41.47k (+13.82k)",
    ]
    assert main(["diff", a, b, "--json"]) == 1
    net = json.loads(capsys.readouterr().out)["networks"][1]
    assert net["block_params"] == {"added": {}, "removed": {}, "changed": {"width": [8, 12]},
                                   "renamed": {"out": "width"}}
    assert net["nodes"]["changed"] == []
    # Not a rename: the new parameter is used elsewhere than the old one was.
    model.set_param("ConvBlock", "conv", "out_channels", 8)
    model.set_param("ConvBlock", "conv", "kernel_size", make_ref("width"))
    nd = diff_documents(old_doc(), model.doc).network("ConvBlock")
    assert nd.params_renamed == {} and list(nd.params_removed) == ["out"] and list(nd.params_added) == ["width"]


def test_a_network_whose_blocks_changed_shows_what_follows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only a layer inside the block changed: the main network has no edit of its own, but
    its block nodes' counts and totals move, and the report says so (docs/diff.md)."""
    old = old_doc()
    new = copy.deepcopy(old)
    new.network("ConvBlock").node("conv").params.update(kernel_size=5, padding=2)  # inside the block
    (tmp_path / "a.json").write_text(dumps(old))
    (tmp_path / "b.json").write_text(dumps(new))
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    text = capsys.readouterr().out
    assert "Network Model: no edits of its own; through the blocks it uses:" in text
    assert "    b1: params 448 -> 1,216" in text
    assert "Network Model: unchanged" not in text
    d = diff_documents(old, new)
    assert {n.name: n.status for n in d.networks} == {"Model": "unchanged", "ConvBlock": "changed"}
