"""A big network's items are built as the view comes to them (designer/canvas/lazy.py):
what is on screen is always there, asking for a node by id builds it, and what draws
the whole network (map, minimap, fit, select all) still sees every node."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QRectF

from designer.canvas import CanvasView
from designer.canvas import scene as scene_module
from designer.canvas.edit_actions import select_all
from designer.canvas.lazy import LAZY_MIN_NODES
from designer.model import DocumentModel
from graph_compiler.document import Document, Edge, Network, Node

PER_ROW = 40
N = LAZY_MIN_NODES + 200


def pos(i: int) -> tuple[float, float]:
    return (float(i % PER_ROW) * 260.0, float(i // PER_ROW) * 160.0)


def grid_chain(n: int = N) -> Document:
    """Input -> Linear/ReLU ... -> Output in rows of 40: the wire from each row's end to
    the next row's start runs back across the whole row."""
    nodes = [Node("input1", "Input", {"shape": [8]}, pos(0))]
    for i in range(1, n - 1):
        kind = "Linear" if i % 2 else "ReLU"
        nodes.append(Node(f"n{i}", kind, {"out_features": 8} if kind == "Linear" else {}, pos(i)))
    nodes.append(Node("output1", "Output", {}, pos(n - 1)))
    edges = [Edge(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
    return Document([Network("Model", nodes, edges)])


@pytest.fixture
def view(qtbot) -> CanvasView:
    model = DocumentModel(grid_chain())
    model.analyze_now()
    v = CanvasView(model, "Model")
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    v.zoom_by(1.0 / v.transform().m11())
    return v


def visible(view: CanvasView) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def paint(view: CanvasView) -> None:
    view.viewport().repaint()


def nodes_in(view: CanvasView, rect: QRectF) -> set[str]:
    net = view.model.doc.network("Model")
    assert net is not None
    return {n.id for n in net.nodes if QRectF(n.pos[0], n.pos[1], 200, 80).intersects(rect)}


def test_a_big_network_opens_with_only_what_is_in_view(view: CanvasView) -> None:
    scene = view.scene()
    paint(view)
    assert 0 < len(scene.nodes) < N // 5
    assert nodes_in(view, visible(view)) <= set(scene.nodes)
    # Every wire between two built nodes is built, with its shape label.
    for key in [e.key for e in view.model.doc.network("Model").edges]:
        if key[0] in scene.nodes and key[2] in scene.nodes:
            assert key in scene.edges and scene.edges[key].label == "[B, 8]"
    # Built items carry their analysis like any other.
    linear = next(it for it in scene.nodes.values() if it.type_name == "Linear")
    assert linear.count_text and linear.shape_text == "[B, 8]"


def test_scrolling_builds_what_comes_into_view(view: CanvasView) -> None:
    scene = view.scene()
    paint(view)
    far = f"n{N - 300}"
    assert far not in scene.nodes
    x, y = pos(N - 300)
    view.centerOn(x + 100, y + 40)
    paint(view)
    assert far in scene.nodes
    assert nodes_in(view, visible(view)) <= set(scene.nodes)


def test_a_wire_crossing_the_view_is_built_with_both_its_ends(view: CanvasView) -> None:
    scene = view.scene()
    # Between rows 40 and 41, in the middle: only the wrap-around wire from n1639 (the
    # row's end) to n1640 (the next row's start) passes here.
    row_end, row_start = f"n{41 * PER_ROW - 1}", f"n{41 * PER_ROW}"
    _, y = pos(41 * PER_ROW - 1)
    view.centerOn(20 * 260.0, y + 130)
    paint(view)
    assert (row_end, 0, row_start, 0) in scene.edges
    assert {row_end, row_start} <= set(scene.nodes)


def test_asking_for_a_node_by_id_builds_it(view: CanvasView) -> None:
    scene = view.scene()
    far = f"n{N - 10}"
    assert far not in scene.nodes
    view.select_ids([far])
    assert view.selected_ids() == [far]
    other = f"n{N - 500}"
    view.center_on(other)
    assert other in scene.nodes and visible(view).contains(scene.nodes[other].sceneBoundingRect().center())


def test_select_all_takes_every_node_and_the_wholes_see_unbuilt_ones(view: CanvasView, qtbot) -> None:
    scene = view.scene()
    paint(view)
    built = len(scene.nodes)
    # The minimap and the map draw every node, built or not.
    assert len(view.minimap._nodes()) == N
    lines, boxes, _broken = scene.map_extras()
    assert len(boxes) == N - built and len(lines) + len(scene.edges) == N - 1
    select_all(view)
    assert len(view.selected_ids()) == N and len(scene.edges) == N - 1 and not scene.lazy


def test_fit_sees_the_whole_network_before_it_is_built(view: CanvasView, monkeypatch, qtbot) -> None:
    lazy_rect = view._graph_rect()
    monkeypatch.setattr(scene_module, "LAZY_MIN_NODES", 10**9)  # the same network, every item built
    eager = CanvasView(view.model, "Model")
    qtbot.addWidget(eager)
    eager.resize(900, 600)
    eager.show()
    qtbot.waitExposed(eager)
    assert not eager.scene().lazy
    full = eager._graph_rect()
    for a, b in ((lazy_rect.left(), full.left()), (lazy_rect.top(), full.top()),
                 (lazy_rect.right(), full.right()), (lazy_rect.bottom(), full.bottom())):
        assert abs(a - b) <= 12  # wire boxes are estimated within a label's height


def test_edits_to_nodes_not_built_yet(view: CanvasView) -> None:
    scene, model = view.scene(), view.model
    paint(view)
    a, b = f"n{N - 101}", f"n{N - 100}"  # a Linear and the ReLU after it, far from the view
    assert a not in scene.nodes and b not in scene.nodes
    model.set_param("Model", a, "out_features", -3)  # broken: the minimap shows it red
    model.analyze_now()
    assert a in scene.error_ids() and a in view.minimap._errors
    model.remove_nodes("Model", [b])
    assert b not in scene.lazy.nodes and not any(b in (k[0], k[2]) for k in scene.lazy.edges)
    new = model.add_node("Model", "ReLU", (pos(N - 101)[0], pos(N - 101)[1] + 90), connect_from=(a, 0))
    model.analyze_now()
    assert new in scene.nodes  # made by the user: built at once; its wire waits for its source
    assert (a, 0, new, 0) in scene.lazy.edges
    view.center_on(a)
    paint(view)
    assert scene.nodes[a].errors and (a, 0, new, 0) in scene.edges
    model.undo_stack.undo()
    model.undo_stack.undo()
    model.analyze_now()
    paint(view)
    assert new not in scene.nodes and b in scene.nodes and (a, 0, b, 0) in scene.edges


@settings(max_examples=200, deadline=None)
@given(st.floats(-20000, 20000), st.floats(-20000, 20000), st.floats(-5000, 5000))
def test_a_wire_box_before_its_item_is_the_curve_box(x1: float, x2: float, dy: float) -> None:
    from PySide6.QtCore import QPointF

    from designer.canvas.lazy import curve_span
    from designer.canvas.routing import curve

    box = curve(QPointF(x1, 0.0), QPointF(x2, dy)).boundingRect()
    lo, hi = curve_span(x1, x2)
    assert lo == pytest.approx(box.left(), abs=0.5) and hi == pytest.approx(box.right(), abs=0.5)


def test_wires_of_a_big_network_are_not_routed_while_it_is_built_bit_by_bit(view: CanvasView) -> None:
    scene = view.scene()
    paint(view)
    assert 0 < len(scene.nodes) < 400  # as few items as a small graph, whose wires route
    assert scene.route_obstacles(visible(view), (scene.nodes["input1"], scene.nodes["n1"])) == []


def test_a_node_moved_before_it_is_built_shows_where_it_went(view: CanvasView) -> None:
    scene, model = view.scene(), view.model
    paint(view)
    far = f"n{N - 50}"
    assert far not in scene.nodes
    model.move_nodes("Model", {far: (-3000.0, -2000.0)})  # beyond the graph's top-left corner
    assert far in scene.lazy.nodes and view._graph_rect().left() < -3000.0
    view.centerOn(-2900.0, -1960.0)
    paint(view)
    assert far in scene.nodes and (scene.nodes[far].pos().x(), scene.nodes[far].pos().y()) == (-3000.0, -2000.0)
    wires = [k for k in scene.edges if far in (k[0], k[2])]
    assert len(wires) == 2  # both its wires, built with it: they cross the view to reach it
