"""The minimap: where it sits, what it draws, and that clicking or dragging on it moves
the view."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import itertools

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication

from designer.canvas import CanvasView, style
from graph_compiler.layout import NODE_W
from designer.model import DocumentModel
from graph_compiler.document import Document, Edge, Network, Node

NET = "Model"


def long_chain(n: int = 30) -> Document:
    nodes = [Node("input1", "Input", {"shape": [8]}, (0, 0))]
    nodes += [Node(f"fc{i}", "Linear", {"out_features": 8}, (300 * i, 0)) for i in range(1, n)]
    nodes += [Node("output1", "Output", {}, (300 * n, 0))]
    ids = [x.id for x in nodes]
    return Document([Network(NET, nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)])])


def real_size_view(qtbot) -> CanvasView:
    """The long chain in a 900x600 view at real size: far wider than the view."""
    model = DocumentModel(long_chain())
    model.analyze_now()
    v = CanvasView(model, NET)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    v.zoom_by(1.0 / v.transform().m11())
    return v


@pytest.fixture
def view(qtbot):
    v = real_size_view(qtbot)
    mm = v.minimap
    qtbot.waitUntil(lambda: mm._pixmap is not None)
    return v


def click(widget, at: QPointF, kind=QEvent.Type.MouseButtonPress, buttons=Qt.MouseButton.LeftButton) -> None:
    ev = QMouseEvent(kind, at, widget.mapToGlobal(at), Qt.MouseButton.LeftButton, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def test_sits_in_the_corner_and_stays_there_when_the_view_scrolls(view: CanvasView) -> None:
    mm = view.minimap
    vp = view.viewport().geometry()
    corner = mm.geometry().bottomRight()
    assert vp.contains(mm.geometry())
    assert vp.bottomRight().x() - corner.x() < 20 and vp.bottomRight().y() - corner.y() < 20
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 400)
    assert mm.geometry().bottomRight() == corner


def test_click_and_drag_move_the_view(view: CanvasView, qtbot) -> None:
    mm = view.minimap
    target = view.scene().nodes["fc25"].sceneBoundingRect().center()
    click(mm, mm.to_map(target))
    click(mm, mm.to_map(target), QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(target)
    assert not shown.contains(view.scene().nodes["fc2"].sceneBoundingRect())
    # drag back to the start of the chain
    start = view.scene().nodes["fc2"].sceneBoundingRect().center()
    click(mm, mm.to_map(target))
    click(mm, mm.to_map(start), QEvent.Type.MouseMove)
    click(mm, mm.to_map(start), QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(start)
    r = mm.visible_rect()
    assert r.contains(start)


def test_nodes_with_errors_are_red(view: CanvasView, qtbot) -> None:
    mm = view.minimap
    model = view.model
    item = view.scene().nodes["fc10"]
    centre = item.pos() + QPointF(NODE_W / 2, item.height / 2)

    def colour_at(p: QPointF) -> QColor:
        img = mm._pixmap.toImage()
        ratio = mm._pixmap.devicePixelRatio()
        q = mm.to_map(p)
        return img.pixelColor(QPoint(int(q.x() * ratio), int(q.y() * ratio)))

    error = QColor(style.qcolor(style.colors().error))
    assert colour_at(centre) != error
    model.set_param(NET, "fc10", "out_features", -3)  # impossible: an error on fc10
    model.analyze_now()
    qtbot.waitUntil(lambda: colour_at(centre) == error)
    assert colour_at(view.scene().nodes["fc11"].pos() + QPointF(NODE_W / 2, 5)) != error


def test_shrinks_on_a_small_canvas_and_hides_when_too_small(view: CanvasView, qtbot) -> None:
    """With the training dock open on a 1366x768 screen the canvas is ~330 px high: a
    200x130 overview there hid the nodes it is meant to help find."""
    mm = view.minimap
    assert (mm.width(), mm.height()) == (200, 130)
    view.resize(800, 330)
    qtbot.waitUntil(lambda: mm.width() < 200)
    vp = view.viewport().geometry()
    assert mm.isVisible() and vp.contains(mm.geometry())
    assert mm.width() <= 0.25 * vp.width() + 1 and mm.height() <= 0.3 * vp.height() + 1
    # the picture follows the new size: the chain's first node is drawn inside it
    qtbot.waitUntil(lambda: mm._pixmap is not None and mm._pixmap.deviceIndependentSize().toSize() == mm.size())
    assert QRectF(0, 0, mm.width(), mm.height()).contains(mm.to_map(view.scene().nodes["fc2"].pos()))
    view.resize(400, 200)  # too small to be any use: hidden, the nodes get the room
    qtbot.waitUntil(lambda: not mm.isVisible())
    view.resize(900, 600)
    qtbot.waitUntil(lambda: mm.isVisible() and (mm.width(), mm.height()) == (200, 130))
    view.set_minimap_visible(False)  # the user's choice wins over a canvas with room
    view.resize(1000, 700)
    qtbot.waitUntil(lambda: view.viewport().width() > 900)
    assert not mm.isVisible()


def test_it_steps_aside_while_the_whole_network_is_in_view(view: CanvasView, qtbot) -> None:
    mm = view.minimap
    assert mm.isVisible() and not mm.all_in_view()  # the chain is wider than the view at 1.0
    view.fit_all()
    qtbot.waitUntil(lambda: not mm.isVisible())
    assert mm.wanted and mm.all_in_view()
    view.zoom_by(3.0)
    qtbot.waitUntil(mm.isVisible)


def test_while_hidden_an_edit_only_measures_and_showing_draws_it(view: CanvasView, qtbot) -> None:
    mm = view.minimap
    view.fit_all()
    qtbot.waitUntil(lambda: not mm.isVisible())
    far = view.model.add_node(NET, "ReLU", (300.0 * 15, 1500.0))  # below the chain
    qtbot.waitUntil(lambda: mm._bounds.bottom() > 1500.0)  # the extent follows the edit...
    assert mm._pixmap is None  # ...but nothing is drawn for a hidden minimap
    view.fit_all()
    view.zoom_by(3.0)
    qtbot.waitUntil(mm.isVisible)
    assert mm._pixmap is not None  # drawn when shown, with the new node in it
    item = view.scene().nodes[far]
    img = mm._pixmap.toImage()
    ratio = mm._pixmap.devicePixelRatio()

    def pixel(x: float, y: float) -> QColor:
        p = mm.to_map(QPointF(x, y))
        return img.pixelColor(int(p.x() * ratio), int(p.y() * ratio))

    centre = (300.0 * 15 + item.width / 2, 1500.0 + item.height / 2)
    assert pixel(*centre) != pixel(centre[0], 800.0)  # a box where it is, background above it


def grid_doc(cols: int, rows: int) -> Document:
    nodes = [Node(f"n{r}_{c}", "Linear", {"out_features": 8}, (300.0 * c, 150.0 * r))
             for r in range(rows) for c in range(cols)]
    nodes[0] = Node("n0_0", "Input", {"shape": [8]}, (0.0, 0.0))
    ids = [n.id for n in nodes]
    return Document([Network(NET, nodes, [Edge(a, b) for a, b in itertools.pairwise(ids)])])


def test_takes_a_corner_that_hides_no_node(qtbot) -> None:
    v = real_size_view(qtbot)
    # The row of nodes runs along the bottom of the view: the bottom corners would hide it.
    row = v.scene().nodes["fc5"].sceneBoundingRect()
    v.centerOn(QPointF(row.center().x(), row.bottom() - v.viewport().height() / 2 + 20))
    mm = v.minimap
    mm.rebuild()
    qtbot.waitUntil(mm.isVisible)
    vp = v.viewport().geometry()
    assert mm.geometry().top() < vp.center().y()  # a top corner
    g = mm.geometry()
    covered = v.mapToScene(g.translated(v.viewport().mapFrom(v, g.topLeft()) - g.topLeft())).boundingRect()
    assert not any(it.sceneBoundingRect().intersects(covered) for it in v.scene().nodes.values())


def test_waits_for_the_first_move_where_every_corner_would_hide_a_node(qtbot) -> None:
    # As a file opens at the readable scale with the graph too big to show whole, nodes
    # fill the view's corners: the minimap waits for the user's first scroll or zoom.
    model = DocumentModel(grid_doc(4, 6))
    model.analyze_now()
    v = CanvasView(model, NET)
    qtbot.addWidget(v)
    v.resize(770, 474)
    v.show()
    qtbot.waitExposed(v)
    mm = v.minimap
    qtbot.waitUntil(lambda: bool(mm._rects))
    mm.place()
    assert v.keeps_fit() and not mm.all_in_view()
    assert mm.waiting and not mm.isVisible()
    v.zoom_by(0.9)
    assert mm.isVisible() and not mm.waiting
