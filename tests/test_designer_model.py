"""DocumentModel and its undo commands, headless: every edit method plus undo / redo."""
from __future__ import annotations

import itertools
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from graph_compiler.layout import NODE_W, layered_layout
from designer.model import DocumentModel
from designer.ops import CYCLE, NO_SUCH_PORT, PORT_FED, SAME_NODE, id_stem
from graph_compiler import document
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.errors import DocumentError

NET = "Model"


def mlp_doc() -> Document:
    nodes = [Node("input1", "Input", {"shape": [8]}, (0, 0)),
             Node("linear1", "Linear", {"out_features": 16}, (200, 0)),
             Node("relu1", "ReLU", {}, (400, 0)),
             Node("linear2", "Linear", {"out_features": 4}, (600, 0)),
             Node("output1", "Output", {}, (800, 0))]
    ids = [n.id for n in nodes]
    return Document([Network(NET, nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)])])


@pytest.fixture
def model(qtbot) -> DocumentModel:
    m = DocumentModel(mlp_doc())
    assert m.analyze_now().ok
    return m


def messages(model: DocumentModel) -> list[str]:
    out: list[str] = []
    model.message.connect(out.append)
    return out


def net(model: DocumentModel) -> Network:
    n = model.doc.network(NET)
    assert n is not None
    return n


def snapshot(model: DocumentModel) -> str:
    return document.dumps(model.doc)


def test_new_document_is_valid_and_clean(qtbot) -> None:
    m = DocumentModel()
    assert m.analyze_now().ok
    assert not m.is_dirty()


def test_add_node_readable_ids_and_starting_params(model: DocumentModel) -> None:
    before = snapshot(model)
    nid = model.add_node(NET, "Conv2d", (10, 20))
    assert nid == "conv1"
    node = net(model).node(nid)
    assert node.params == {"out_channels": 16, "kernel_size": 3}
    assert model.add_node(NET, "Linear", (0, 0)) == "linear3"
    assert net(model).node("linear3").params == {"out_features": 64}
    assert model.add_node(NET, "Input", (0, 0)) == "input2"
    assert net(model).node("input2").params == {"shape": [1, 8, 8]}
    assert model.is_dirty()
    for _ in range(3):
        model.undo_stack.undo()
    assert snapshot(model) == before
    model.undo_stack.redo()
    assert net(model).node("conv1") is not None
    assert id_stem("BatchNorm2d") == "batchnorm"


def test_add_node_connected_validates(model: DocumentModel) -> None:
    model.remove_nodes(NET, ["output1"])
    nid = model.add_node(NET, "Linear", (900, 0), connect_from=("linear2", 0))
    out = model.add_node(NET, "Output", (1100, 0), connect_from=(nid, 0))
    assert (nid, 0, out, 0) in [e.key for e in net(model).edges]
    a = model.analyze_now()
    assert a.ok, a.diagnostics
    assert a.node(NET, nid).output_shape == (1, 64)
    model.undo_stack.undo()  # one step removes node and wire
    assert out not in [n.id for n in net(model).nodes]
    assert not any(e.dst == out for e in net(model).edges)


def test_add_node_refusals(model: DocumentModel) -> None:
    msgs = messages(model)
    assert model.add_node(NET, "NoSuchLayer", (0, 0)) is None
    assert model.add_node(NET, NET, (0, 0)) is None
    assert model.add_node("Nope", "Linear", (0, 0)) is None
    assert len(msgs) == 3 and "unknown node type" in msgs[0]
    assert model.undo_stack.count() == 0


def test_remove_nodes_removes_attached_edges_and_undo_restores_order(model: DocumentModel) -> None:
    before = snapshot(model)
    changed: list[tuple[str, list]] = []
    model.nodesChanged.connect(lambda n, ids: changed.append((n, ids)))
    model.remove_nodes(NET, ["relu1"])
    assert net(model).node("relu1") is None
    assert not any("relu1" in (e.src, e.dst) for e in net(model).edges)
    assert len(net(model).edges) == 2
    assert changed[-1] == (NET, ["relu1"])
    model.undo_stack.undo()
    assert snapshot(model) == before
    model.undo_stack.redo()
    assert net(model).node("relu1") is None


def test_move_nodes_one_step(model: DocumentModel) -> None:
    model.move_nodes(NET, {"linear1": (5, 6), "relu1": (7, 8)})
    assert model.undo_stack.count() == 1
    assert net(model).node("relu1").pos == (7.0, 8.0)
    model.undo_stack.undo()
    assert net(model).node("linear1").pos == (200.0, 0.0)
    model.move_nodes(NET, {"linear1": (200, 0)})  # no change: no command
    assert model.undo_stack.index() == 0


def test_connection_checks_give_typed_reasons(model: DocumentModel) -> None:
    def kinds(*a: object) -> str:
        return model.check_connection(NET, *a).kind
    assert kinds("relu1", 0, "linear1", 0) == PORT_FED
    assert kinds("linear1", 0, "linear1", 0) == SAME_NODE
    assert kinds("linear1", 3, "relu1", 0) == NO_SUCH_PORT
    assert kinds("linear1", 0, "relu1", 1) == NO_SUCH_PORT
    model.disconnect(NET, [("input1", 0, "linear1", 0)])
    assert kinds("relu1", 0, "linear1", 0) == CYCLE
    msgs = messages(model)
    n_edges = len(net(model).edges)
    assert model.connect(NET, "relu1", 0, "linear1", 0) is False
    assert "cycle" in msgs[-1]
    assert len(net(model).edges) == n_edges
    assert model.can_connect(NET, "input1", 0, "linear1", 0) is None
    assert model.connect(NET, "input1", 0, "linear1", 0)
    assert model.analyze_now().ok


def test_connect_disconnect_undo(model: DocumentModel) -> None:
    before = snapshot(model)
    model.disconnect(NET, [("relu1", 0, "linear2", 0)])
    assert not model.analyze_now().ok
    model.connect(NET, "linear1", 0, "linear2", 0)
    assert model.analyze_now().ok
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert snapshot(model) == before


def test_variadic_add_gets_a_spare_port(model: DocumentModel) -> None:
    add = model.add_node(NET, "Add", (0, 300))
    assert len(model.ports(NET, add).inputs) == 2
    assert model.connect(NET, "linear1", 0, add, 0)
    assert model.connect(NET, "relu1", 0, add, 1)
    assert len(model.ports(NET, add).inputs) == 3
    assert model.can_connect(NET, "linear2", 0, add, 2) is None


def test_set_param_and_label(model: DocumentModel) -> None:
    model.set_param(NET, "linear1", "out_features", 32)
    assert model.analyze_now().node(NET, "linear2").params["in_features"] == 32
    model.set_param(NET, "linear1", "out_features", 32)  # same value: no step
    assert model.undo_stack.count() == 1
    model.set_param(NET, "linear1", "out_features", "many")  # accepted, flagged
    assert any(d.param == "out_features" for d in model.analyze_now().for_node(NET, "linear1"))
    model.set_param(NET, "linear1", "bias", None)  # None removes: nothing to remove
    assert model.undo_stack.count() == 2
    msgs = messages(model)
    model.set_param(NET, "linear1", "out_features", object())
    assert msgs and model.undo_stack.count() == 2
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert net(model).node("linear1").params == {"out_features": 16}
    model.set_param(NET, "linear1", "out_features", None)
    assert "out_features" not in net(model).node("linear1").params
    model.undo_stack.undo()
    model.set_label(NET, "relu1", "  act  ")
    assert net(model).node("relu1").label == "act"
    model.undo_stack.undo()
    assert net(model).node("relu1").label == ""


def test_copy_paste_json(model: DocumentModel) -> None:
    text = model.copy_json(NET, ["linear1", "relu1"])
    data = json.loads(text)
    assert [n["id"] for n in data["nodes"]] == ["linear1", "relu1"]
    assert len(data["edges"]) == 1
    new = model.paste_json(NET, text)
    assert new == ["linear3", "relu2"]
    assert net(model).node("linear3").pos == (230.0, 30.0)
    assert ("linear3", 0, "relu2", 0) in [e.key for e in net(model).edges]
    model.undo_stack.undo()
    assert net(model).node("linear3") is None
    at = model.paste_json(NET, text, at=(1000, 1000))
    assert net(model).node(at[0]).pos == (1000.0, 1000.0)
    dup = model.duplicate(NET, ["relu1"])
    assert dup == ["relu3"] and model.undo_stack.undoText() == "Duplicate"


@pytest.mark.parametrize("text", [
    "", "hello", "[1, 2]", "{\"format\": \"other\"}", "{\"nodes\": []}",
    json.dumps({"format": "netwright-selection", "nodes": [{"id": "a"}]}),
    json.dumps({"format": "netwright-selection", "nodes": [{"id": "a", "type": "ReLU"}],
                "edges": [{"src": "a", "dst": "b"}]}),
    json.dumps({"format": "netwright-selection", "nodes": [{"id": "a", "type": "Bogus"}]}),
    json.dumps({"format": "netwright-selection", "nodes": [{"id": "a", "type": "ReLU", "pos": [1e400, 0]}]}),
    "{\"format\": \"netwright-selection\", \"nodes\": [{\"id\": \"a\", \"type\": \"ReLU\", \"pos\": [NaN, 0]}]}",
    "[" * 100000,
])
def test_bad_paste_changes_nothing(model: DocumentModel, text: str) -> None:
    before = snapshot(model)
    msgs = messages(model)
    assert model.paste_json(NET, text) == []
    assert snapshot(model) == before
    assert model.undo_stack.count() == 0
    assert msgs and msgs[-1]


def test_copy_paste_carries_ties_within_the_selection(qtbot) -> None:
    """A tied pair pasted together stays tied (its own pair); a lone half pastes untied."""
    nodes = [Node("idx", "Input", {"shape": [6], "dtype": "int64"}, (0, 0)),
             Node("wte", "Embedding", {"num_embeddings": 50, "embedding_dim": 8}, (200, 0)),
             Node("lm_head", "Linear", {"out_features": 50, "bias": False}, (400, 0)),
             Node("logits", "Output", {}, (600, 0))]
    ids = [n.id for n in nodes]
    doc = Document([Network(NET, nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)],
                            ties=[document.Tie("lm_head", "weight", "wte", "weight")])])
    m = DocumentModel(doc)
    text = m.copy_json(NET, ["wte", "lm_head"])
    assert json.loads(text)["ties"] == [{"node": "lm_head", "param": "weight", "to_node": "wte",
                                         "to_param": "weight"}]
    new = m.paste_json(NET, text)
    assert [(t.node, t.to_node) for t in net(m).ties] == [("lm_head", "wte"), (new[1], new[0])]
    assert not [d for d in m.analyze_now().diagnostics if "tie" in d.message]
    m.undo_stack.undo()
    assert [(t.node, t.to_node) for t in net(m).ties] == [("lm_head", "wte")]
    assert "ties" not in json.loads(m.copy_json(NET, ["lm_head"]))
    bad = json.loads(text)
    bad["ties"][0]["to_node"] = "elsewhere"
    msgs = messages(m)
    assert m.paste_json(NET, json.dumps(bad)) == []
    assert "tie lm_head.weight -> elsewhere.weight" in msgs[-1]


def test_paste_brings_block_definitions(model: DocumentModel) -> None:
    bid = model.group_into_block(NET, ["linear1", "relu1"], "Body")
    text = model.copy_json(NET, [bid])
    other = DocumentModel()
    new = other.paste_json("Model", text)
    assert other.doc.network("Body") is not None
    assert other.doc.main.node(new[0]).type == "Body"
    other.undo_stack.undo()
    assert other.doc.network("Body") is None


def test_group_and_ungroup(model: DocumentModel) -> None:
    before = snapshot(model)
    bid = model.group_into_block(NET, ["linear1", "relu1"], "Hidden")
    assert bid == "hidden1"
    assert model.doc.network_names() == [NET, "Hidden"]
    block = model.doc.network("Hidden")
    assert [n.type for n in block.nodes].count("Input") == 1
    assert [n.params for n in block.nodes if n.type == "Input"] == [{"shape": [8]}]
    a = model.analyze_now()
    assert a.ok, a.diagnostics
    assert a.node(NET, "linear2").params["in_features"] == 16
    assert model.undo_stack.count() == 1
    assert model.ungroup(NET, bid)
    a = model.analyze_now()
    assert a.ok, a.diagnostics
    assert model.doc.network_names() == [NET]
    assert {n.id for n in net(model).nodes} == {"input1", "linear1", "relu1", "linear2", "output1"}
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert snapshot(model) == before


def test_group_refusals(model: DocumentModel) -> None:
    msgs = messages(model)
    assert model.group_into_block(NET, ["input1", "linear1"], "B") is None
    assert model.group_into_block(NET, [], "B") is None
    assert model.group_into_block(NET, ["linear1"], "Linear") is None
    assert model.group_into_block(NET, ["linear1"], NET) is None
    assert model.group_into_block(NET, ["linear1", "linear2"], "B") is None  # relu1 path back
    assert "cycle" in msgs[-1]
    assert len(msgs) == 5 and model.undo_stack.count() == 0
    assert not model.ungroup(NET, "relu1")


def test_auto_layout_no_overlap_one_step(model: DocumentModel) -> None:
    for i in range(6):
        model.add_node(NET, "ReLU", (0, 0), connect_from=("input1", 0))
    count = model.undo_stack.count()
    model.auto_layout(NET, view=None)  # no view to wrap for: one left-to-right band
    assert model.undo_stack.count() == count + 1
    boxes = [(n.pos[0], n.pos[1]) for n in net(model).nodes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert abs(a[0] - b[0]) >= NODE_W or abs(a[1] - b[1]) >= 60
    xs = {n.id: n.pos[0] for n in net(model).nodes}
    assert xs["input1"] < xs["linear1"] < xs["relu1"] < xs["linear2"] < xs["output1"]


def test_layered_layout_handles_cycles_and_skips() -> None:
    nodes = ["a", "b", "c", "d"]
    pos = layered_layout(nodes, [("a", "b"), ("b", "c"), ("c", "b"), ("a", "d"), ("c", "d")])
    assert set(pos) == set(nodes)
    assert pos["a"][0] < pos["b"][0] < pos["c"][0] < pos["d"][0]


def test_layered_layout_keeps_a_skip_connection_straight_and_clear() -> None:
    from graph_compiler.layout import node_height, port_y

    # x -> a -> b -> add(port 0), and the skip x -> add(port 1), as in a residual block.
    nodes = ["x", "a", "b", "add", "out"]
    edges = [("x", "a", 0, 0), ("a", "b", 0, 0), ("b", "add", 0, 0), ("x", "add", 0, 1), ("add", "out", 0, 0)]
    sizes = {n: (NODE_W, node_height(3 if n == "add" else 1, 1)) for n in nodes}
    pos = layered_layout(nodes, edges, sizes)
    skip_y = pos["x"][1] + port_y(0)
    assert skip_y == pytest.approx(pos["add"][1] + port_y(1))  # one straight wire
    for n in ("a", "b"):  # the path it jumps over stays off that wire, on the port-0 side
        assert pos[n][1] + sizes[n][1] < skip_y
    # Wires into a node never cross: the upper input comes from above.
    assert pos["b"][1] + port_y(0) < pos["x"][1] + port_y(0)
    assert pos["out"][1] + port_y(0) == pytest.approx(pos["add"][1] + port_y(0))  # chain straight


def test_networks_add_rename_remove(model: DocumentModel) -> None:
    bid = model.group_into_block(NET, ["relu1"], "Act")
    renamed: list[tuple[str, str]] = []
    model.networkRenamed.connect(lambda a, b: renamed.append((a, b)))
    assert model.rename_network("Act", "Activation")
    assert renamed == [("Act", "Activation")]
    assert net(model).node(bid).type == "Activation"
    assert model.analyze_now().ok
    assert not model.rename_network("Activation", "ReLU")
    model.undo_stack.undo()
    assert net(model).node(bid).type == "Act"
    name = model.add_network("Act")
    assert name == "Act2" and model.doc.network("Act2") is not None
    model.remove_network("Act2")
    assert model.doc.network("Act2") is None
    model.undo_stack.undo()
    assert model.doc.network("Act2") is not None


def test_save_load_dirty_and_atomic(model: DocumentModel, tmp_path) -> None:
    dirty: list[bool] = []
    model.dirtyChanged.connect(dirty.append)
    model.add_node(NET, "ReLU", (0, 0))
    assert dirty == [True]
    path = str(tmp_path / "m.json")
    model.save(path)
    assert dirty == [True, False] and model.path == path and not model.is_dirty()
    assert document.load(path).main.node("relu2") is not None
    other = DocumentModel()
    other.load(path)
    assert other.path == path and not other.is_dirty()
    assert other.doc.main.node("relu2") is not None
    with pytest.raises(DocumentError):
        model.save(str(tmp_path / "no" / "such" / "dir.json"))


@pytest.mark.parametrize("content", [
    b"", b"\xff\xfe", b"{", b"[]", b'{"format": "netwright-graph", "version": 99, "networks": []}',
    b'{"format": "netwright-graph", "version": 1, "networks": [{"name": "x", "nodes": [{"id": 1}]}]}',
    b"[" * 200000,
])
def test_loading_bad_file_leaves_document_untouched(model: DocumentModel, tmp_path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    before = snapshot(model)
    model.add_node(NET, "ReLU", (0, 0))
    with pytest.raises(DocumentError):
        model.load(str(path))
    assert model.undo_stack.count() == 1
    model.undo_stack.undo()
    assert snapshot(model) == before


def test_load_document_import_is_dirty_and_resets(model: DocumentModel) -> None:
    resets: list[int] = []
    model.documentReset.connect(lambda: resets.append(1))
    model.load_document(mlp_doc())
    assert resets == [1] and model.is_dirty() and model.undo_stack.count() == 0
    model.new()
    assert not model.is_dirty()


def test_generated_code(model: DocumentModel) -> None:
    src, err = model.generated_code()
    assert err is None and "nn.Linear(8, 16)" in src
    model.disconnect(NET, [("relu1", 0, "linear2", 0)])
    src, err = model.generated_code()
    assert src == "" and "not connected" in err


def test_analysis_signal_is_coalesced(model: DocumentModel, qtbot) -> None:
    with qtbot.waitSignal(model.analysisUpdated, timeout=2000):
        model.set_param(NET, "linear1", "out_features", 12)
        model.set_param(NET, "linear1", "out_features", 13)
    assert model.analysis.node(NET, "linear2").params["in_features"] == 13
