"""Tied weights in the designer: the canvas says which node shares what, and deleting,
grouping and ungrouping nodes keep a network's ties consistent (and undoable)."""
from __future__ import annotations

import pytest

from designer.canvas import CanvasView
from designer.model import DocumentModel
from graph_compiler.document import Document, Edge, Network, Node, Tie

NET = "LM"


def lm_doc() -> Document:
    nodes = [Node("idx", "Input", {"shape": [6], "dtype": "int64"}, (0, 0)),
             Node("wte", "Embedding", {"num_embeddings": 40, "embedding_dim": 8}, (300, 0)),
             Node("ln", "LayerNorm", {}, (600, 0)),
             Node("lm_head", "Linear", {"out_features": 40, "bias": False}, (900, 0)),
             Node("logits", "Output", {}, (1200, 0))]
    edges = [Edge("idx", "wte"), Edge("wte", "ln"), Edge("ln", "lm_head"), Edge("lm_head", "logits")]
    return Document([Network(NET, nodes, edges, ties=[Tie("lm_head", "weight", "wte", "weight")])])


@pytest.fixture
def model(qtbot) -> DocumentModel:
    m = DocumentModel(lm_doc())
    m.analyze_now()
    return m


def test_canvas_marks_the_tied_node_and_lists_the_tie_in_its_tooltip(qtbot, model: DocumentModel) -> None:
    view = CanvasView(model, NET)
    qtbot.addWidget(view)
    view.resize(1400, 600)
    view.show()
    qtbot.waitExposed(view)
    head, wte = view.scene().nodes["lm_head"], view.scene().nodes["wte"]
    assert head.count_text == "tied" and head.notes == ["weight tied to wte.weight (counted there)"]
    assert wte.count_text == "320 params" and wte.notes == ["weight shared with lm_head.weight"]
    assert model.analysis.networks[NET].total_params == 320 + 16
    # Hovering the node body shows the notes with the doc and any errors.
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QGraphicsSceneHoverEvent

    event = QGraphicsSceneHoverEvent()
    event.setPos(QPointF(40, 40))
    head.hoverMoveEvent(event)
    assert "◦ weight tied to wte.weight (counted there)" in head.toolTip()


def test_deleting_a_tied_node_drops_its_tie_and_undo_restores_it(model: DocumentModel) -> None:
    model.remove_nodes(NET, ["wte"])
    assert model.doc.network(NET).ties == []
    model.analyze_now()
    assert not any("tie" in d.message for d in model.analysis.diagnostics)
    model.undo_stack.undo()
    assert model.doc.network(NET).ties == [Tie("lm_head", "weight", "wte", "weight")]
    model.analyze_now()
    assert model.analysis.ok and model.analysis.networks[NET].total_params == 336


def test_grouping_keeps_ties_whole(model: DocumentModel) -> None:
    said: list[str] = []
    model.message.connect(said.append)
    assert model.group_into_block(NET, ["ln", "lm_head"]) is None
    assert said == ["cannot group: lm_head.weight is tied to wte.weight; select both nodes or neither"]
    bid = model.group_into_block(NET, ["wte", "ln", "lm_head"], "Body")
    assert bid is not None
    assert model.doc.network(NET).ties == []
    assert model.doc.network("Body").ties == [Tie("lm_head", "weight", "wte", "weight")]
    model.analyze_now()
    assert model.analysis.ok and model.analysis.networks[NET].total_params == 336
    assert model.ungroup(NET, bid)
    assert model.doc.network(NET).ties == [Tie("lm_head", "weight", "wte", "weight")]
    model.analyze_now()
    assert model.analysis.ok and model.analysis.networks[NET].total_params == 336


def test_canvas_summarises_the_imported_model_nodes() -> None:
    from designer.canvas.text import key_params
    from graph_compiler.catalog import REGISTRY

    assert key_params("Index", {"index": ":, [-1], :"}) == "[:, [-1], :]"
    assert key_params("ScalarOp", {"op": "rsub", "value": 1.0}) == "1.0 - x"
    assert key_params("Transpose", {"dim0": 1, "dim1": 2}) == "1 ↔ 2"
    assert key_params("Parameter", {"shape": [1, 1, 16, 16], "kind": "buffer"}) == "[1, 1, 16, 16] buffer"
    assert key_params("ScaledDotProductAttention", {"is_causal": True}) == "causal"
    assert key_params("StochasticDepth", {"p": 0.2, "mode": "row"}) == "p=0.2, row"
    assert key_params("Upsample", {"scale_factor": None, "size": [9, 3], "mode": "bilinear"}) == "→ 9x3 bilinear"
    assert key_params("Upsample", {"scale_factor": 2.0}) == "×2.0 nearest"
    for spec in REGISTRY:  # defaults only, or nothing at all: never an exception
        assert isinstance(key_params(spec.type, spec.defaults()), str)
        assert isinstance(key_params(spec.type, {}), str)
