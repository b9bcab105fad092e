"""Fold and expand on the canvas: view state only, never the document."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from designer.canvas import CanvasView
from designer.canvas.edge_item import EdgeItem
from designer.canvas.folding import repeat_runs
from designer.canvas.interactions import inner_node_at
from graph_compiler.layout import NODE_W
from designer.model import DocumentModel
from graph_compiler import document
from graph_compiler.document import Document, Edge, Network, Node


def layer_block(name: str = "Layer", width: int = 16) -> Network:
    nodes = [Node("x", "Input", {"shape": [width]}, (0, 0)),
             Node("fc", "Linear", {"out_features": width}, (300, 0)),
             Node("act", "ReLU", {}, (600, 0)),
             Node("y", "Output", {}, (900, 0))]
    return Network(name, nodes, [Edge("x", "fc"), Edge("fc", "act"), Edge("act", "y")])


def stacked_doc(n_layers: int = 4, imported: bool = False) -> Document:
    """Model: input -> Layer x n_layers -> head (Linear) -> output."""
    nodes = [Node("input1", "Input", {"shape": [16]}, (0, 0))]
    edges = []
    prev = "input1"
    for i in range(n_layers):
        nid = f"layer{i + 1}"
        nodes.append(Node(nid, "Layer", {}, (300.0 * (i + 1), 0)))
        edges.append(Edge(prev, nid))
        prev = nid
    nodes += [Node("head", "Linear", {"out_features": 4}, (300.0 * (n_layers + 1), 0)),
              Node("below", "ReLU", {}, (300.0, 300.0)),
              Node("output1", "Output", {}, (300.0 * (n_layers + 2), 0))]
    edges += [Edge(prev, "head"), Edge("head", "output1"), Edge("input1", "below")]
    doc = Document([Network("Model", nodes, edges), layer_block()])
    if imported:
        doc.meta["import"] = {"blocks": ["Layer"]}
    return doc


def start_point(edge: EdgeItem) -> QPointF:
    return QPointF(edge.p1)  # where the drawn curve starts


def end_point(edge: EdgeItem) -> QPointF:
    return QPointF(edge.p2)


def make_view(qtbot, doc: Document, network: str = "Model") -> tuple[DocumentModel, CanvasView]:
    model = DocumentModel(doc)
    model.analyze_now()
    view = CanvasView(model, network)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    return model, view


def test_expand_and_fold_leave_the_document_byte_identical(qtbot) -> None:
    model, view = make_view(qtbot, stacked_doc())
    before = document.dumps(model.doc)
    scene = view.scene()
    view.select_ids(["layer2"])
    assert view.expand_selected() == ["layer2"]
    item = scene.nodes["layer2"]
    assert item.frame is not None and set(item.frame.nodes) == {"x", "fc", "act", "y"}
    assert item.width > NODE_W and item.height > item.base_height
    # The inner network sits inside the frame, below its header.
    for child in item.frame.nodes.values():
        assert item.boundingRect().contains(child.mapRectToParent(child.boundingRect()).center())
    # Nodes to the right moved aside on screen, not in the file.
    assert scene.nodes["layer3"].pos().x() >= item.pos().x() + item.width
    assert model.doc.main.node("layer3").pos == (900.0, 0.0)
    # The wire into the frame ends on the frame's input port.
    edge = scene.edges[("layer1", 0, "layer2", 0)]
    assert end_point(edge) == item.scene_port_pos(False, 0)
    view.select_ids(["layer2"])
    assert view.fold_selected() == ["layer2"]
    assert item.frame is None and item.width == NODE_W
    assert scene.nodes["layer3"].pos().x() == 900.0
    assert document.dumps(model.doc) == before
    assert model.undo_stack.count() == 0 and not model.is_dirty()


def test_moving_a_shifted_node_stores_its_file_position(qtbot) -> None:
    model, view = make_view(qtbot, stacked_doc())
    view.scene().expand(["layer1"])
    view.select_ids(["layer3"])
    shifted = view.scene().nodes["layer3"].pos()
    assert shifted.x() > 900.0
    QTest.keyClick(view, Qt.Key.Key_Right)  # nudge by one grid step
    assert model.doc.main.node("layer3").pos == (920.0, 0.0)  # not the on-screen place
    assert view.scene().nodes["layer3"].pos().x() == shifted.x() + 20


def test_nested_expand_and_an_edit_inside_the_block(qtbot) -> None:
    inner = layer_block("Layer")
    outer = Network("Stage", [Node("x", "Input", {"shape": [16]}, (0, 0)),
                              Node("l1", "Layer", {}, (300, 0)), Node("l2", "Layer", {}, (600, 0)),
                              Node("y", "Output", {}, (900, 0))],
                    [Edge("x", "l1"), Edge("l1", "l2"), Edge("l2", "y")])
    main = Network("Model", [Node("input1", "Input", {"shape": [16]}, (0, 0)),
                             Node("stage", "Stage", {}, (300, 0)), Node("output1", "Output", {}, (600, 0))],
                   [Edge("input1", "stage"), Edge("stage", "output1")])
    model, view = make_view(qtbot, Document([main, outer, inner]))
    before = document.dumps(model.doc)
    scene = view.scene()
    scene.expand(["stage"])
    frame = scene.nodes["stage"]
    assert frame.frame is not None and frame.frame.network == "Stage"
    folded_w = frame.width
    assert scene.toggle_path(("stage", "l2"))
    l2 = frame.frame.nodes["l2"]
    assert l2.frame is not None and set(l2.frame.nodes) == {"x", "fc", "act", "y"}
    assert frame.width > folded_w  # the outer frame grew around the inner one
    assert l2.frame.nodes["fc"].out_shapes == ["[B, 16]"]
    # An edit in the block's own network reaches the expanded copy.
    model.set_param("Layer", "fc", "out_features", 8)
    model.analyze_now()
    fc = scene.nodes["stage"].frame.nodes["l2"].frame.nodes["fc"]  # type: ignore[union-attr]
    assert fc.out_shapes == ["[B, 8]"] and fc.key_text.endswith("8")
    model.undo_stack.undo()
    model.analyze_now()
    scene.fold(["stage"])
    assert scene.folding.expanded == set() and frame.frame is None
    assert document.dumps(model.doc) == before


def test_double_click_expands_an_inner_block(qtbot) -> None:
    inner = layer_block("Layer")
    outer = Network("Stage", [Node("x", "Input", {"shape": [16]}, (0, 0)), Node("l1", "Layer", {}, (300, 0)),
                              Node("y", "Output", {}, (600, 0))], [Edge("x", "l1"), Edge("l1", "y")])
    main = Network("Model", [Node("input1", "Input", {"shape": [16]}, (0, 0)),
                             Node("stage", "Stage", {}, (300, 0)), Node("output1", "Output", {}, (600, 0))],
                   [Edge("input1", "stage"), Edge("stage", "output1")])
    _model, view = make_view(qtbot, Document([main, outer, inner]))
    view.scene().expand(["stage"])
    view.fit_all()
    l1 = view.scene().nodes["stage"].frame.nodes["l1"]  # type: ignore[union-attr]
    at = view.mapFromScene(l1.mapToScene(l1.boundingRect().center()))
    assert inner_node_at(view.scene(), view.mapToScene(at)) is l1
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    l1 = view.scene().nodes["stage"].frame.nodes["l1"]  # type: ignore[union-attr] - frames are rebuilt
    assert ("stage", "l1") in view.scene().folding.expanded and l1.frame is not None


def test_repeated_blocks_fold_into_one_node_and_expand_again(qtbot) -> None:
    model, view = make_view(qtbot, stacked_doc(5))
    before = document.dumps(model.doc)
    net = model.doc.main
    assert repeat_runs(net, lambda t: t == "Layer") == [["layer1", "layer2", "layer3", "layer4", "layer5"]]
    scene = view.scene()
    view.select_ids(["layer3"])
    assert view.fold_selected() == ["layer1"]
    first = scene.nodes["layer1"]
    assert first.display_title() == "Layer \u00d75" and first.isVisible()
    assert not any(scene.nodes[f"layer{i}"].isVisible() for i in range(2, 6))
    # The wire out of the run leaves from the folded node; params add up over the run.
    out = scene.edges[("layer5", 0, "head", 0)]
    assert out.src is first and start_point(out) == first.scene_port_pos(True, 0)
    assert first.count_text == "1.4k params"  # 5 x (16 x 16 + 16) = 1,360
    view.select_ids(["layer1"])
    assert view.expand_selected() == ["layer1"]
    assert first.display_title() == "layer1" and all(scene.nodes[f"layer{i}"].isVisible() for i in range(1, 6))
    assert out.src is scene.nodes["layer5"]
    assert document.dumps(model.doc) == before


def test_an_edit_that_breaks_a_run_unfolds_it(qtbot) -> None:
    model, view = make_view(qtbot, stacked_doc(3))
    scene = view.scene()
    assert scene.folding.fold_runs() == ["layer1"]
    model.remove_nodes("Model", ["layer2"])
    assert scene.folding.runs == {} and scene.nodes["layer3"].isVisible()


def test_imported_models_open_with_runs_folded(qtbot) -> None:
    _model, view = make_view(qtbot, stacked_doc(4, imported=True))
    scene = view.scene()
    assert list(scene.folding.runs) == ["layer1"]
    assert scene.nodes["layer1"].display_title() == "Layer \u00d74"
    assert all(it.frame is None for it in scene.nodes.values())  # blocks folded too


def test_expanding_a_block_with_errors_shows_them_inside(qtbot) -> None:
    doc = stacked_doc(2)
    layer = doc.network("Layer")
    assert layer is not None
    layer.node("fc").params["out_features"] = -3  # a bad size
    layer.edges[:] = [e for e in layer.edges if e.dst != "y"]  # and an unwired Output
    model, view = make_view(qtbot, doc)
    before = document.dumps(model.doc)
    scene = view.scene()
    assert scene.nodes["layer1"].errors  # the block node itself says its block is broken
    assert scene.expand(["layer1"]) == ["layer1"]
    frame = scene.nodes["layer1"].frame
    assert frame is not None
    assert any("out_features" in m for m in frame.nodes["fc"].errors)
    assert frame.nodes["fc"].badge is not None and frame.nodes["fc"].badge.isVisible()
    assert any("not connected" in m for m in frame.nodes["y"].errors)
    view.viewport().grab()  # painting a broken frame does not raise
    assert scene.fold(["layer1"]) == ["layer1"]
    assert document.dumps(model.doc) == before


def test_a_block_that_uses_itself_is_not_expanded_forever(qtbot) -> None:
    doc = stacked_doc(1)
    layer = doc.network("Layer")
    assert layer is not None
    layer.nodes.append(Node("again", "Layer", {}, (300, 300)))  # recursive: an error
    model, view = make_view(qtbot, doc)
    scene = view.scene()
    scene.expand(["layer1"])
    frame = scene.nodes["layer1"].frame
    assert frame is not None and "again" in frame.nodes
    assert not scene.toggle_path(("layer1", "again"))
    assert frame.nodes["again"].frame is None


def test_folded_model_builds_only_its_top_level(qtbot) -> None:
    blocks = [layer_block(f"Stage{i}") for i in range(30)]
    nodes = [Node("input1", "Input", {"shape": [16]}, (0, 0))]
    edges = []
    for i in range(30):
        nodes.append(Node(f"s{i}", f"Stage{i}", {}, (300.0 * (i + 1), 0)))
        edges.append(Edge(nodes[-2].id, f"s{i}"))
    nodes.append(Node("output1", "Output", {}, (300.0 * 31, 0)))
    edges.append(Edge("s29", "output1"))
    doc = Document([Network("Model", nodes, edges), *blocks])
    doc.meta["import"] = {"blocks": [b.name for b in blocks]}
    _model, view = make_view(qtbot, doc)
    from designer.canvas.node_item import NodeItem

    assert sum(isinstance(i, NodeItem) for i in view.scene().items()) == 32
    assert view.scene().folding._layouts == {}  # no inner layout computed before an expand
    view.scene().expand(["s7"])
    assert list(view.scene().folding._layouts) == ["Stage7"]


def test_menu_and_context_menu_reach_fold_and_expand(qtbot) -> None:
    from designer.main_window import MainWindow

    model = DocumentModel(stacked_doc())
    win = MainWindow(model)
    qtbot.addWidget(win)
    win.show_editor()
    view = win.current_view()
    assert view is not None
    view.select_ids(["layer2"])
    win.acts.all["expand"].trigger()
    assert view.scene().nodes["layer2"].frame is not None
    win.acts.all["fold"].trigger()
    assert view.scene().nodes["layer2"].frame is None
    view.select_ids(["layer2"])
    win.acts.all["fold"].trigger()  # not expanded: folds its run
    assert list(view.scene().folding.runs) == ["layer1"]
    assert not model.is_dirty()


@pytest.mark.parametrize("n", [0, 1])
def test_no_runs_without_repeats(n: int) -> None:
    doc = stacked_doc(n)
    assert repeat_runs(doc.main, lambda t: t == "Layer") == []
