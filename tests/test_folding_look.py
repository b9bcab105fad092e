"""What fold and expand look like on screen: colours, room made, nothing left behind."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainterPathStroker

from designer.canvas import style
from graph_compiler.layout import HEADER_H, NODE_W

from tests.test_folding import make_view, stacked_doc


def header_pixel(view, nid: str) -> QColor:
    """The colour drawn in the middle of a node's header, right of its title."""
    item = view.scene().nodes[nid]
    at = view.mapFromScene(item.mapToScene(QPointF(NODE_W * 0.6, HEADER_H * 0.2)))
    view.viewport().repaint()
    return view.viewport().grab().toImage().pixelColor(at)


@pytest.mark.parametrize("scale", [1.0, 0.3, 0.1])
def test_block_headers_keep_their_colour_after_expand_and_fold(qtbot, scale: float) -> None:
    # Painting a frame set the alpha of the shared, cached category colour: every block
    # header drawn after it was near-white (a new user could not read the titles).
    _model, view = make_view(qtbot, stacked_doc())
    want = QColor(style.category_hex("Blocks"))
    view.resetTransform()
    view.scale(scale, scale)
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want
    view.select_ids(["layer2"])
    assert view.expand_selected() == ["layer2"]
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want  # drawn after the frame
    view.fold_selected()
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want
    assert style.qcolor(style.category_hex("Blocks")).alpha() == 255


def banded_doc():
    """Input, 7 blocks and an output wrapped into three bands of three, as imports lay out."""
    from graph_compiler.document import Document, Edge, Network, Node
    from tests.test_folding import layer_block
    ids = ["input1"] + [f"l{i}" for i in range(1, 8)] + ["output1"]
    nodes = []
    for k, nid in enumerate(ids):
        kind = "Input" if nid == "input1" else "Output" if nid == "output1" else "Layer"
        params = {"shape": [16]} if kind == "Input" else {}
        nodes.append(Node(nid, kind, params, (300.0 * (k % 3), 200.0 * (k // 3))))
    edges = [Edge(a, b) for a, b in zip(ids, ids[1:])]
    return Document([Network("Model", nodes, edges), layer_block()])


def crosses(path, rect) -> bool:
    """Whether a drawn wire (its stroke, not the area its path encloses) enters ``rect``."""
    stroker = QPainterPathStroker()
    stroker.setWidth(2)
    return stroker.createStroke(path).intersects(rect)


def rect_of(item):
    return item.sceneBoundingRect()


def test_expanding_in_a_wrapped_layout_makes_room_locally_and_fold_restores(qtbot) -> None:
    model, view = make_view(qtbot, banded_doc())
    scene = view.scene()
    before = {nid: (it.pos().x(), it.pos().y()) for nid, it in scene.nodes.items()}
    changed: list = []
    scene.changed.connect(lambda rects: changed.extend(rects))
    assert scene.expand(["l4"]) == ["l4"]  # the middle of the middle band
    frame = scene.nodes["l4"]
    grown = frame.width - NODE_W
    after = {nid: (it.pos().x(), it.pos().y()) for nid, it in scene.nodes.items()}
    # The band above stays; the rest of the frame's band moves right by the frame's growth;
    # the band below moves straight down (no node thrown into a far column).
    for nid in ("input1", "l1", "l2", "l3"):
        assert after[nid] == before[nid]
    assert after["l5"] == (before["l5"][0] + grown, before["l5"][1])
    for nid in ("l6", "l7", "output1"):
        assert after[nid][0] == before[nid][0] and after[nid][1] > before[nid][1]
        assert rect_of(scene.nodes[nid]).top() > rect_of(frame).bottom()
    # Nothing overlaps the frame, and the wires that do not end at it go around it.
    for nid, it in scene.nodes.items():
        if nid != "l4":
            assert not rect_of(it).intersects(rect_of(frame)), nid
    inside = rect_of(frame).adjusted(12, 12, -12, -12)
    for key, edge in scene.edges.items():
        if "l4" not in (key[0], key[2]):
            assert not crosses(edge._path, inside), key
    # Inner wires route around the inner nodes too (the block's own layout is one row).
    for key, edge in frame.frame.edges.items():
        for nid, child in frame.frame.nodes.items():
            if nid not in (key[0], key[2]):
                body = child.mapRectToParent(child.boundingRect()).adjusted(4, 4, -4, -4)
                assert not crosses(edge._path, body), (key, nid)
    big = QRectF(rect_of(frame))
    changed.clear()
    scene.fold(["l4"])
    qtbot.waitUntil(lambda: bool(changed))
    # Folding repaints the frame's old area in full: no stale wire pieces stay there.
    assert any(QRectF(r).contains(big) for r in changed)
    assert {nid: (it.pos().x(), it.pos().y()) for nid, it in scene.nodes.items()} == before


def test_the_minimap_follows_expand_and_fold(qtbot) -> None:
    _model, view = make_view(qtbot, banded_doc())
    view.resize(700, 420)
    view.zoom_by(1.0 / view.transform().m11())  # the user zooms in to real size: the minimap shows
    view.minimap.rebuild()
    qtbot.waitUntil(view.minimap.isVisible)
    folded_bounds = QRectF(view.minimap._bounds)
    view.scene().expand(["l4"])
    frame = view.scene().nodes["l4"].sceneBoundingRect()
    qtbot.waitUntil(lambda: view.minimap._bounds.contains(frame))
    assert view.minimap._bounds.height() > folded_bounds.height()
    # The frame is drawn as a frame, its inner nodes on top where they are on screen.
    from designer.canvas.minimap import FRAME
    boxes = view.minimap._nodes()
    frames = [b for b in boxes if b[4].startswith(FRAME)]
    item = view.scene().nodes["l4"]
    assert len(frames) == 1 and frames[0][:4] == (item.pos().x(), item.pos().y(), item.width, item.height)
    inner = view.scene().nodes["l4"].frame.nodes["fc"]
    assert (inner.scenePos().x(), inner.scenePos().y(), inner.width, inner.height, "Dense", False) in boxes
    view.scene().fold(["l4"])
    qtbot.waitUntil(lambda: view.minimap._bounds == folded_bounds)


def test_folded_runs_leave_no_empty_slot_and_unfolding_restores_the_file_layout(qtbot) -> None:
    model, view = make_view(qtbot, stacked_doc(4, imported=True))  # one row: input, 4 blocks, head, output
    scene = view.scene()
    assert list(scene.folding.runs) == ["layer1"]
    x = {nid: it.pos().x() for nid, it in scene.nodes.items() if it.isVisible()}
    step = x["layer1"] - x["input1"]
    # The node after the ×4 node sits one column on, where layer2 was, not four.
    assert step > NODE_W and x["head"] - x["layer1"] == pytest.approx(step, abs=1)
    visible = [it.sceneBoundingRect() for it in scene.nodes.values() if it.isVisible()]
    assert not any(a.intersects(b) for i, a in enumerate(visible) for b in visible[i + 1:])
    # The minimap draws the ×4 node alone, where it is on screen.
    view.minimap.rebuild()
    assert len(view.minimap._nodes()) == len(visible)
    assert model.doc.main.node("head").pos == (1500.0, 0.0)  # the file is unchanged
    scene.expand(["layer1"])  # back into its 4 nodes: every node where the file puts it
    for node in model.doc.main.nodes:
        assert (scene.nodes[node.id].pos().x(), scene.nodes[node.id].pos().y()) == node.pos


def test_the_inspector_of_a_folded_run_speaks_for_the_whole_run(qtbot, window) -> None:
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.model.load_document(stacked_doc(3, imported=True))
    window.model.analyze_now()
    window.show_editor()
    view = window.views["Model"]
    qtbot.waitUntil(lambda: view.isVisible() and view.scene().built)
    first = view.scene().nodes["layer1"]
    assert first.repeat == ["layer1", "layer2", "layer3"]
    view.select_ids(["layer1"])
    each = window.model.analysis.node("Model", "layer1").n_params  # 16 x 16 + 16
    insp = window.inspector
    assert insp.stats["params"].text() == f"{3 * each:,}  (3 uses)"
    assert first.count_text == f"{3 * each:,} params"  # the node body says the same
    flops = sum(window.model.analysis.node("Model", n).flops for n in first.repeat)
    assert f"({flops:,})" in insp.stats["flops"].text()
    # Unfolded, the same selection is one node again.
    view.expand_selected()
    qtbot.waitUntil(lambda: insp.stats["params"].text() == f"{each:,}")
