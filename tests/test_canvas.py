"""The canvas driven through real mouse and keyboard events on the view (offscreen)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
import json
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPathStroker,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsScene, QVBoxLayout, QWidget

from designer.actions import Actions, create_actions
from designer.canvas import MIME, CanvasView
from designer.canvas.edge_item import EdgeItem
from designer.canvas.node_item import NodeItem
from graph_compiler.layout import NODE_W
from designer.menus import CONTEXT_MENU, canvas_handlers
from designer.model import DocumentModel
from graph_compiler.document import Document, Edge, Network, Node

NET = "Model"
L, M = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton
NOB = Qt.MouseButton.NoButton


def chain_doc() -> Document:
    nodes = [Node("input1", "Input", {"shape": [8]}, (0, 0)),
             Node("linear1", "Linear", {"out_features": 16}, (300, 0)),
             Node("relu1", "ReLU", {}, (600, 0)),
             Node("linear2", "Linear", {"out_features": 4}, (900, 0)),
             Node("output1", "Output", {}, (1200, 0))]
    ids = [n.id for n in nodes]
    return Document([Network(NET, nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)])])


@pytest.fixture
def model(qtbot) -> DocumentModel:
    m = DocumentModel(chain_doc())
    m.analyze_now()
    return m


@pytest.fixture
def view(qtbot, model: DocumentModel) -> Iterator[CanvasView]:
    # The command keys are the registry's canvas-scoped actions, as in the window.
    host = QWidget()
    qtbot.addWidget(host)
    v = CanvasView(model, NET, host)
    handlers = canvas_handlers(lambda: v)
    acts = create_actions(host, handlers, canvas_scope=host, names=handlers)
    host.addActions([a for a in acts.all.values() if a.shortcutContext() == Qt.ShortcutContext.WindowShortcut])
    v.set_context_actions(context_actions_for(acts))
    QVBoxLayout(host).addWidget(v)
    host.layout().setContentsMargins(0, 0, 0, 0)
    host.resize(1400, 700)
    host.show()
    qtbot.waitExposed(v)
    v.fit_all()
    v.setFocus()
    yield v  # the host (and its actions) live until the test ends
    host.close()


def context_actions_for(acts: Actions) -> list:
    return [acts.all[n] if n else None for n in CONTEXT_MENU if n is None or n in acts.all]


def messages(model: DocumentModel) -> list[str]:
    out: list[str] = []
    model.message.connect(out.append)
    return out


def vp(view: CanvasView, p: QPointF) -> QPoint:
    return view.mapFromScene(p)


def mouse(view: CanvasView, kind: QEvent.Type, at: QPoint, button: Qt.MouseButton,
          buttons: Qt.MouseButton, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    # QTest.mouseMove carries no buttons, so a drag is sent as explicit QMouseEvents.
    g = view.viewport().mapToGlobal(at)
    ev = QMouseEvent(kind, QPointF(at), QPointF(g), button, buttons, mods)
    QApplication.sendEvent(view.viewport(), ev)


def drag(view: CanvasView, a: QPointF, b: QPointF, button: Qt.MouseButton = L, steps: int = 5) -> None:
    pa, pb = vp(view, a), vp(view, b)
    mouse(view, QEvent.Type.MouseButtonPress, pa, button, button)
    for i in range(1, steps + 1):
        p = pa + (pb - pa) * (i / steps)
        mouse(view, QEvent.Type.MouseMove, p, NOB, button)
    mouse(view, QEvent.Type.MouseButtonRelease, pb, button, NOB)


def port(view: CanvasView, nid: str, output: bool, i: int = 0) -> QPointF:
    return view.scene().nodes[nid].scene_port_pos(output, i)


def body(view: CanvasView, nid: str) -> QPointF:
    item = view.scene().nodes[nid]
    return item.pos() + QPointF(NODE_W / 2, item.height - 8)


def edge_keys(model: DocumentModel) -> set:
    return {e.key for e in model.doc.network(NET).edges}


def key(view: CanvasView, k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(view, k, mods)


CTRL = Qt.KeyboardModifier.ControlModifier


def test_scene_setup_and_contract(view: CanvasView, model: DocumentModel, qtbot) -> None:
    scene = view.scene()
    assert scene.itemIndexMethod() == QGraphicsScene.ItemIndexMethod.NoIndex
    assert scene.sceneRect().contains(scene.nodes["output1"].sceneBoundingRect())
    assert scene.nodes["linear1"].key_text == "8 → 16"
    assert scene.nodes["linear1"].shape_text == "[B, 16]"
    assert scene.nodes["linear1"].count_text == "144 params"
    assert scene.edges[("input1", 0, "linear1", 0)].label == "[B, 8]"
    with qtbot.waitSignal(view.selectionChangedIds) as sig:
        view.select_ids(["relu1", "linear2"])
    assert sorted(sig.args[0]) == ["linear2", "relu1"]
    assert sorted(view.selected_ids()) == ["linear2", "relu1"]
    s = view.transform().m11()
    view.zoom_by(2.0)
    assert view.transform().m11() == pytest.approx(2 * s)
    view.center_on("output1")
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(body(view, "output1"))


def test_drop_node_from_palette(view: CanvasView, model: DocumentModel) -> None:
    data = QMimeData()
    data.setData(MIME, b"Conv2d")
    target = QPointF(400, 300)
    # Qt routes a drop only to the widget that accepted the DragEnter, as a real drag does.
    enter = QDragEnterEvent(vp(view, target), Qt.DropAction.CopyAction, data, NOB,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    ev = QDropEvent(QPointF(vp(view, target)), Qt.DropAction.CopyAction, data, NOB,
                    Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), ev)
    node = model.doc.network(NET).node("conv1")
    assert node is not None and node.params == {"out_channels": 16, "kernel_size": 3}
    assert abs(node.pos[0] - 400) <= 20 and abs(node.pos[1] - 300) <= 20
    assert node.pos[0] % 20 == 0  # snapped to the grid
    assert view.selected_ids() == ["conv1"]
    assert "conv1" in view.scene().nodes


def test_connect_by_dragging_ports(view: CanvasView, model: DocumentModel) -> None:
    model.disconnect(NET, [("relu1", 0, "linear2", 0)])
    assert ("relu1", 0, "linear2", 0) not in view.scene().edges
    drag(view, port(view, "relu1", True), port(view, "linear2", False))
    assert ("relu1", 0, "linear2", 0) in edge_keys(model)
    assert ("relu1", 0, "linear2", 0) in view.scene().edges
    assert model.analyze_now().ok
    assert model.undo_stack.undoText().startswith("Connect")
    assert not any(it.accepting for it in view.scene().nodes.values())  # highlights cleared


def test_wire_drag_highlights_ports_that_accept(view: CanvasView, model: DocumentModel) -> None:
    model.disconnect(NET, [("relu1", 0, "linear2", 0)])
    a = vp(view, port(view, "relu1", True))
    mouse(view, QEvent.Type.MouseButtonPress, a, L, L)
    mouse(view, QEvent.Type.MouseMove, a + QPoint(30, 30), NOB, L)
    lit = {nid for nid, it in view.scene().nodes.items() if it.accepting}
    assert lit == {"linear2"}  # every other input is fed, and linear1 would be a cycle
    mouse(view, QEvent.Type.MouseButtonRelease, vp(view, port(view, "linear2", False)), L, NOB)
    assert not any(it.accepting for it in view.scene().nodes.values())


@pytest.mark.parametrize("case", ["port_fed", "cycle"])
def test_refused_connection_reports_reason(view: CanvasView, model: DocumentModel, case: str) -> None:
    if case == "cycle":
        model.disconnect(NET, [("input1", 0, "linear1", 0)])
        src, dst, word = "relu1", "linear1", "cycle"
    else:
        src, dst, word = "input1", "relu1", "already fed"
    before = edge_keys(model)
    msgs = messages(model)
    drag(view, port(view, src, True), port(view, dst, False))
    assert edge_keys(model) == before
    assert msgs and word in msgs[-1]
    assert word in view.hint_text()


def test_move_is_one_undo_step(view: CanvasView, model: DocumentModel) -> None:
    view.select_ids(["relu1", "linear2"])
    count = model.undo_stack.count()
    old = {n: model.doc.network(NET).node(n).pos for n in ("relu1", "linear2")}
    drag(view, body(view, "relu1"), body(view, "relu1") + QPointF(200, 120), steps=8)
    assert model.undo_stack.count() == count + 1
    new = {n: model.doc.network(NET).node(n).pos for n in ("relu1", "linear2")}
    for n, pos in new.items():
        assert pos != old[n]
        assert pos[0] % 20 == 0 and pos[1] % 20 == 0  # snapped
        assert (view.scene().nodes[n].pos().x(), view.scene().nodes[n].pos().y()) == pos
    edge = view.scene().edges[("linear1", 0, "relu1", 0)]
    assert edge.boundingRect().contains(port(view, "relu1", False))
    model.undo_stack.undo()
    for n, pos in old.items():
        assert model.doc.network(NET).node(n).pos == pos
        assert (view.scene().nodes[n].pos().x(), view.scene().nodes[n].pos().y()) == pos
    model.undo_stack.redo()
    for n, pos in new.items():
        assert (view.scene().nodes[n].pos().x(), view.scene().nodes[n].pos().y()) == pos


def test_click_without_moving_pushes_nothing(view: CanvasView, model: DocumentModel) -> None:
    p = vp(view, body(view, "relu1"))
    QTest.mouseClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, p)
    assert view.selected_ids() == ["relu1"]
    assert model.undo_stack.count() == 0


def test_rubber_band_and_select_all(view: CanvasView, model: DocumentModel) -> None:
    a = view.scene().nodes["input1"].pos() + QPointF(-30, -60)
    b = view.scene().nodes["linear1"].pos() + QPointF(NODE_W + 30, 150)
    drag(view, a, b)
    assert sorted(view.selected_ids()) == ["input1", "linear1"]
    key(view, Qt.Key.Key_A, CTRL)
    assert len(view.selected_ids()) == 5


def test_quick_add_with_tab_wires_to_selection(view: CanvasView, model: DocumentModel, qtbot) -> None:
    model.remove_nodes(NET, ["output1"])
    view.select_ids(["linear2"])
    key(view, Qt.Key.Key_Tab)
    popup = view._quick
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.edit, "outp")
    assert popup.current_type() == "Output"
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new = view.selected_ids()
    assert new == ["output1"]  # the id is free again
    assert ("linear2", 0, "output1", 0) in edge_keys(model)
    assert model.analyze_now().ok



def test_quick_add_places_the_node_right_of_its_source_in_free_space(view: CanvasView, model: DocumentModel) -> None:
    """Tab with a node selected used to drop the new node where the mouse was (often on
    top of the source): it goes to the source's right, below whatever already sits there."""
    model.move_nodes(NET, {"linear2": (900.0, 0.0)})
    src = view.scene().nodes["relu1"].sceneBoundingRect()
    for expected_new in ("tanh1", "tanh2"):  # the second one must avoid the first too
        view.select_ids(["relu1"])
        key(view, Qt.Key.Key_Tab)
        popup = view._quick
        assert popup is not None and popup.isVisible()
        QTest.keyClicks(popup.edit, "Tanh")
        QTest.keyClick(popup.edit, Qt.Key.Key_Return)
        assert view.selected_ids() == [expected_new]
        assert ("relu1", 0, expected_new, 0) in edge_keys(model)
        new = view.scene().nodes[expected_new].sceneBoundingRect()
        assert new.left() > src.right() and new.left() - src.right() < 200  # beside it
        assert new.top() >= src.top() - 1
        others = [it.sceneBoundingRect() for nid, it in view.scene().nodes.items() if nid != expected_new]
        assert not any(new.intersects(r) for r in others), expected_new
        assert view.mapToScene(view.viewport().rect()).boundingRect().contains(new)


def test_quick_add_search_uses_aliases() -> None:
    from designer.canvas.quick_add import catalog_entries, search
    entries = catalog_entries(["ResBlock"])
    assert search(entries, "linear")[0].type == "Linear"
    assert search(entries, "fully connected")[0].type == "Linear"
    assert search(entries, "resb")[0].type == "ResBlock"
    assert search(entries, "zzzz") == []


def test_copy_paste_with_keyboard(view: CanvasView, model: DocumentModel) -> None:
    view.select_ids(["linear1", "relu1"])
    key(view, Qt.Key.Key_C, CTRL)
    data = json.loads(QGuiApplication.clipboard().text())
    assert [n["id"] for n in data["nodes"]] == ["linear1", "relu1"]
    key(view, Qt.Key.Key_V, CTRL)
    assert sorted(view.selected_ids()) == ["linear3", "relu2"]
    assert ("linear3", 0, "relu2", 0) in edge_keys(model)
    key(view, Qt.Key.Key_D, CTRL)
    assert len(view.selected_ids()) == 2 and len(model.doc.network(NET).nodes) == 9


def test_bad_paste_changes_nothing(view: CanvasView, model: DocumentModel) -> None:
    QGuiApplication.clipboard().setText("this is not a graph {")
    msgs = messages(model)
    before = [(n.id, n.pos) for n in model.doc.network(NET).nodes]
    key(view, Qt.Key.Key_V, CTRL)
    assert [(n.id, n.pos) for n in model.doc.network(NET).nodes] == before
    assert model.undo_stack.count() == 0
    assert msgs and "not Netwright nodes" in msgs[-1]
    assert view.hint_text()


def test_a_hostile_name_in_a_refusal_is_shown_as_typed_not_as_markup(view: CanvasView, model: DocumentModel) -> None:
    clip = {"format": "netwright-selection", "nodes": [{"id": "<b>evil</b>", "type": "<i>Bogus</i>"}]}
    QGuiApplication.clipboard().setText(json.dumps(clip))
    key(view, Qt.Key.Key_V, CTRL)
    assert "<b>evil</b>" in view.hint_text() and "<i>Bogus</i>" in view.hint_text()
    assert view._hint.textFormat() == Qt.TextFormat.PlainText  # shown as typed, never as rich text


def test_delete_removes_attached_edges(view: CanvasView, model: DocumentModel) -> None:
    view.select_ids(["relu1"])
    key(view, Qt.Key.Key_Delete)
    assert "relu1" not in view.scene().nodes
    assert not any("relu1" in (k[0], k[2]) for k in edge_keys(model))
    assert not any("relu1" in (k[0], k[2]) for k in view.scene().edges)
    assert model.undo_stack.count() == 1
    model.undo_stack.undo()
    assert "relu1" in view.scene().nodes and ("relu1", 0, "linear2", 0) in view.scene().edges


def test_delete_selected_edge(view: CanvasView, model: DocumentModel) -> None:
    edge = view.scene().edges[("relu1", 0, "linear2", 0)]
    view.scene().clearSelection()
    edge.setSelected(True)
    key(view, Qt.Key.Key_Backspace)
    assert ("relu1", 0, "linear2", 0) not in edge_keys(model)
    assert set(view.scene().nodes) == {"input1", "linear1", "relu1", "linear2", "output1"}


def test_group_and_ungroup_with_keyboard(view: CanvasView, model: DocumentModel) -> None:
    view.select_ids(["linear1", "relu1"])
    key(view, Qt.Key.Key_G, CTRL)
    assert model.doc.network_names() == [NET, "Block1"]
    assert view.selected_ids() == ["block1"]
    assert set(view.scene().nodes) == {"input1", "block1", "linear2", "output1"}
    assert view.scene().nodes["block1"].category == "Blocks"
    a = model.analyze_now()
    assert a.ok, a.diagnostics
    assert view.scene().nodes["block1"].shape_text == "[B, 16]"
    key(view, Qt.Key.Key_G, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert model.analyze_now().ok
    assert set(view.scene().nodes) == {"input1", "linear1", "relu1", "linear2", "output1"}
    assert ("linear1", 0, "relu1", 0) in view.scene().edges
    assert sorted(view.selected_ids()) == ["linear1", "relu1"]


def test_fit_all_shows_the_whole_graph_never_past_real_size(view: CanvasView, model: DocumentModel) -> None:
    view.resize(600, 400)
    view.fit_all()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.scene().nodes.values():
        assert visible.contains(item.sceneBoundingRect())
    assert view.transform().m11() < 1.0
    view.resize(4000, 2000)  # untouched since the fit: it follows the new size, capped at 1.0
    assert view.transform().m11() == pytest.approx(1.0)
    view.zoom_by(0.5)  # the user zoomed: a resize leaves the view alone now
    view.resize(3000, 1500)
    assert view.transform().m11() == pytest.approx(0.5)


def test_edge_label_only_where_it_fits(view: CanvasView, model: DocumentModel) -> None:
    edge = view.scene().edges[("input1", 0, "linear1", 0)]
    assert edge.label and edge.label_shown()
    model.move_nodes(NET, {"linear1": (NODE_W + 40, 0)})  # 40 px apart: no room for "[B, 8]"
    assert not edge.label_shown()
    model.undo_stack.undo()
    assert edge.label_shown()


def test_auto_layout_no_overlap(view: CanvasView, model: DocumentModel) -> None:
    for i in range(5):
        model.add_node(NET, "ReLU", (0, 0), connect_from=("input1", 0))
    count = model.undo_stack.count()
    key(view, Qt.Key.Key_L, CTRL)
    assert model.undo_stack.count() == count + 1
    rects = [it.sceneBoundingRect().adjusted(10, 1, -10, -1) for it in view.scene().nodes.values()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b)


def test_rename_inline_with_f2(view: CanvasView, model: DocumentModel) -> None:
    view.select_ids(["relu1"])
    key(view, Qt.Key.Key_F2)
    editor = view._editor
    assert editor is not None and editor.text() == "relu1"
    editor.selectAll()
    QTest.keyClicks(editor, "activation")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert model.doc.network(NET).node("relu1").label == "activation"
    assert view.scene().nodes["relu1"].title == "activation"
    assert model.undo_stack.count() == 1


def test_invalid_node_badge_and_tooltips(view: CanvasView, model: DocumentModel) -> None:
    model.set_param(NET, "linear1", "out_features", -3)
    model.analyze_now()
    item = view.scene().nodes["linear1"]
    assert item.badge is not None and item.badge.isVisible()
    assert "out_features" in item.badge.toolTip()
    model.set_param(NET, "linear1", "out_features", 16)
    model.analyze_now()
    assert not item.badge.isVisible()
    assert item is view.scene().nodes["linear1"]  # refreshed, not recreated
    assert item.port_tooltip(item.port_at(item.port_pos(True, 0))) == "output 'out': [B, 16]"


def test_updates_touch_only_changed_items(view: CanvasView, model: DocumentModel) -> None:
    items = dict(view.scene().nodes)
    edges = dict(view.scene().edges)
    model.set_param(NET, "linear1", "out_features", 32)
    model.analyze_now()
    assert all(view.scene().nodes[k] is v for k, v in items.items())
    assert all(view.scene().edges[k] is v for k, v in edges.items())
    assert view.scene().edges[("relu1", 0, "linear2", 0)].label == "[B, 32]"


def test_wheel_zoom_and_middle_pan(view: CanvasView) -> None:
    s = view.transform().m11()
    at = view.viewport().rect().center()
    QTest.mouseMove(view.viewport(), at)
    from PySide6.QtGui import QWheelEvent
    ev = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(), QPoint(0, 120),
                     NOB, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.transform().m11() > s
    h = view.horizontalScrollBar().value()
    drag(view, view.mapToScene(at), view.mapToScene(at + QPoint(-100, 0)), button=M)
    assert view.horizontalScrollBar().value() != h


def test_low_zoom_renders_plain_boxes(view: CanvasView) -> None:
    view.zoom_by(0.1)
    img = QImage(400, 300, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    view.render(p)
    p.end()
    assert not img.isNull()


def test_renamed_network_is_followed(view: CanvasView, model: DocumentModel) -> None:
    model.add_network("Other")
    model.rename_network(NET, "Main")
    assert view.network == "Main"
    model.add_node("Main", "ReLU", (0, 300))
    assert "relu2" in view.scene().nodes


def test_document_reset_rebuilds(view: CanvasView, model: DocumentModel) -> None:
    model.new()
    assert set(view.scene().nodes) == {"input1", "output1"}
    assert ("input1", 0, "output1", 0) in view.scene().edges
    assert isinstance(view.scene().nodes["input1"], NodeItem)


def test_double_click_title_renames_and_escape_cancels(view: CanvasView, model: DocumentModel) -> None:
    title = view.scene().nodes["relu1"].pos() + QPointF(40, 10)
    QTest.mouseDClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, vp(view, title))
    editor = view._editor
    assert editor is not None
    QTest.keyClicks(editor, "zzz")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert model.doc.network(NET).node("relu1").label == ""
    assert model.undo_stack.count() == 0


def test_double_click_body_activates_and_empty_opens_quick_add(view: CanvasView, qtbot) -> None:
    with qtbot.waitSignal(view.nodeActivated) as sig:
        QTest.mouseDClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, vp(view, body(view, "relu1")))
    assert sig.args == ["relu1"]
    empty = view.scene().nodes["relu1"].pos() + QPointF(0, 400)
    QTest.mouseDClick(view.viewport(), L, Qt.KeyboardModifier.NoModifier, vp(view, empty))
    assert view._quick is not None and view._quick.isVisible()


def test_palette_colours_light_and_dark() -> None:
    from designer.canvas import style
    light = style.category_color("Convolution", dark=False)
    dark = style.category_color("Convolution", dark=True)
    assert light.isValid() and dark.isValid() and light != dark
    assert dark.lightness() > light.lightness()
    assert style.category_color("no such category").isValid()
    try:  # what a node paint reads, per variant: the header and its readable title colour
        for dark in (False, True):
            style.set_dark(dark)
            head, title = style.header_colors("Activation")
            assert head == style.category_color("Activation", dark=dark)
            assert title.name() == style.text_on(style.category_hex("Activation", dark))
        assert style.header_colors("Activation")[0] != style.header_colors("Dense")[0]
    finally:
        style.set_dark(None)


# ---------------------------------------------------------------- picking wires up again


def test_redrag_wire_end_to_another_input_is_one_undo_step(view: CanvasView, model: DocumentModel) -> None:
    model.disconnect(NET, [("relu1", 0, "linear2", 0)])
    count = model.undo_stack.count()
    drag(view, port(view, "relu1", False), port(view, "linear2", False))
    edges = edge_keys(model)
    assert ("linear1", 0, "linear2", 0) in edges and ("linear1", 0, "relu1", 0) not in edges
    assert ("linear1", 0, "linear2", 0) in view.scene().edges
    assert view.scene().edges[("linear1", 0, "linear2", 0)].isVisible()
    assert model.undo_stack.count() == count + 1
    model.undo_stack.undo()
    assert ("linear1", 0, "relu1", 0) in edge_keys(model)
    assert ("linear1", 0, "linear2", 0) not in edge_keys(model)


def test_redrag_wire_end_onto_empty_canvas_deletes_it(view: CanvasView, model: DocumentModel) -> None:
    empty = port(view, "relu1", False) + QPointF(0, 400)
    assert not [i for i in view.scene().items(empty) if isinstance(i, NodeItem | EdgeItem)]  # tiles aside
    drag(view, port(view, "relu1", False), empty)
    assert ("linear1", 0, "relu1", 0) not in edge_keys(model)
    assert ("linear1", 0, "relu1", 0) not in view.scene().edges
    model.undo_stack.undo()
    assert ("linear1", 0, "relu1", 0) in edge_keys(model)


def test_redrag_wire_back_to_its_port_or_a_refusing_one_changes_nothing(view: CanvasView,
                                                                      model: DocumentModel) -> None:
    count, before = model.undo_stack.count(), edge_keys(model)
    drag(view, port(view, "relu1", False), port(view, "relu1", False) + QPointF(3, 2))
    assert edge_keys(model) == before and model.undo_stack.count() == count
    msgs = messages(model)
    drag(view, port(view, "relu1", False), port(view, "linear2", False))  # linear2 is fed already
    assert edge_keys(model) == before and model.undo_stack.count() == count
    assert msgs and "already fed" in msgs[-1]
    assert view.scene().edges[("linear1", 0, "relu1", 0)].isVisible()


def test_wire_tooltip_names_shape_and_dtype(view: CanvasView) -> None:
    tip = view.scene().edges[("input1", 0, "linear1", 0)].toolTip()
    assert "[B, 8]" in tip and "float32" in tip and "input1" in tip and "linear1" in tip


def test_wires_route_around_nodes_in_their_way(view: CanvasView, model: DocumentModel) -> None:
    skip = model.add_node(NET, "ReLU", (1500, 0), connect_from=("input1", 0))
    assert skip is not None
    edge = view.scene().edges[("input1", 0, skip, 0)]
    band = QPainterPathStroker()
    band.setWidth(2.0)
    stroke = band.createStroke(edge._path)
    for nid in ("linear1", "relu1", "linear2", "output1"):  # all on the wire's straight line
        assert not stroke.intersects(view.scene().nodes[nid].sceneBoundingRect()), nid
    # a node put where the detour runs makes the wire take a new route
    mid = edge._path.pointAtPercent(0.5)
    model.add_node(NET, "Tanh", (mid.x() - 90, mid.y() - 20))
    tanh = next(it for it in view.scene().nodes.values() if it.type_name == "Tanh")
    assert tanh.sceneBoundingRect().contains(mid)
    assert not band.createStroke(edge._path).intersects(tanh.sceneBoundingRect())


@pytest.mark.parametrize("text", [
    '{"a": 1}', "[1, 2, 3]", '"just a string"', "null", "",
    '{"format": "netwright-graph", "version": 1, "networks": []}',
    '{"format": "netwright-clipboard", "version": 1, "nodes": [{"id": "x", "type": "NoSuchLayer"}]}',
    '{"format": "netwright-clipboard", "version": 1, "nodes": [{"id": "x"}], "edges": [{"src": "x"}]}',
    '{"nodes": [' + "[" * 500 + "]" * 500 + "]}",
])
def test_foreign_clipboard_shows_a_message_and_changes_nothing(view: CanvasView, model: DocumentModel,
                                                               text: str) -> None:
    QGuiApplication.clipboard().setText(text)
    msgs = messages(model)
    before = json.dumps([(n.id, n.type, n.pos) for n in model.doc.network(NET).nodes])
    key(view, Qt.Key.Key_V, CTRL)
    assert json.dumps([(n.id, n.type, n.pos) for n in model.doc.network(NET).nodes]) == before
    assert model.undo_stack.count() == 0
    assert msgs and msgs[-1]


def test_a_wire_back_to_the_left_goes_around_its_own_target(view: CanvasView, model: DocumentModel) -> None:
    # output1 sits right of everything; wire it back into a node far to the left and below
    back = model.add_node(NET, "ReLU", (0, 200))
    assert back is not None
    model.connect(NET, "linear2", 0, back, 0)
    edge = view.scene().edges[("linear2", 0, back, 0)]
    band = QPainterPathStroker()
    band.setWidth(2.0)
    stroke = band.createStroke(edge._path)
    target = view.scene().nodes[back]
    body = target.sceneBoundingRect().adjusted(12, 0, -12, 0)
    assert not stroke.intersects(body)
    for nid in ("input1", "linear1", "relu1"):  # nor the nodes between
        assert not stroke.intersects(view.scene().nodes[nid].sceneBoundingRect()), nid
