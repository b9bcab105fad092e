"""Fit keeps the graph readable, and folding a block gives back its room: the scroll
range shrinks and a view zoomed out past reading comes back to a readable scale."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from designer.actions import BY_NAME
from graph_compiler import document
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.layout import MIN_READABLE_SCALE
from tests.test_folding import make_view


def wide_doc(n_outer: int = 10, n_inner: int = 14) -> Document:
    """Model: a chain of ReLUs with one block of a long inner chain in the middle."""
    inner = [Node("x", "Input", {"shape": [16]}, (0, 0))]
    inner += [Node(f"a{i}", "ReLU", {}, (300.0 * (i + 1), 0)) for i in range(n_inner)]
    inner.append(Node("y", "Output", {}, (300.0 * (n_inner + 1), 0)))
    ids = [n.id for n in inner]
    block = Network("Wide", inner, [Edge(a, b) for a, b in zip(ids, ids[1:])])
    outer = [Node("input1", "Input", {"shape": [16]}, (0, 0))]
    outer += [Node(f"r{i}", "ReLU", {}, (300.0 * (i + 1), 0)) for i in range(n_outer)]
    outer[3] = Node("blk", "Wide", {}, (900.0, 0))
    outer.append(Node("output1", "Output", {}, (300.0 * (n_outer + 1), 0)))
    oids = [n.id for n in outer]
    return Document([Network("Model", outer, [Edge(a, b) for a, b in zip(oids, oids[1:])]), block])


def _fit_key(view) -> None:
    view.setFocus()
    QTest.keySequence(view, QKeySequence(BY_NAME["fit"].sequences()[0]))


def test_fit_stays_readable_then_shows_all_when_pressed_again(qtbot, window, tmp_path) -> None:
    path = tmp_path / "wide.json"
    path.write_text(document.dumps(wide_doc()), encoding="utf-8")
    window.resize(1366, 768)
    assert window.file_actions.open(str(path))
    view = window.current_view()
    qtbot.waitUntil(lambda: view.viewport().width() > 100)
    view.zoom_by(0.3)  # the user zoomed out
    _fit_key(view)
    assert view.transform().m11() >= MIN_READABLE_SCALE  # shapes and names read
    first = view.scene().nodes["input1"].sceneBoundingRect()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(first)  # from the start
    _fit_key(view)  # again: the overview
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert view.transform().m11() < MIN_READABLE_SCALE
    for item in view.scene().nodes.values():
        assert visible.contains(item.sceneBoundingRect()), item.node_id


def test_folding_shrinks_the_scene_and_comes_back_to_a_readable_zoom(qtbot) -> None:
    _model, view = make_view(qtbot, wide_doc())
    scene = view.scene()
    folded_rect = scene.sceneRect()
    view.select_ids(["blk"])
    assert view.expand_selected() == ["blk"]
    assert scene.sceneRect().width() > folded_rect.width() * 1.5
    view.fit_all()  # an overview of the expanded graph: too small to read
    assert view.transform().m11() < MIN_READABLE_SCALE
    view.zoom_by(1.0)  # the user's own view now, not a fit
    view._auto_fit = None
    assert view.fold_selected() == ["blk"]
    assert scene.sceneRect().width() <= folded_rect.width() + 1  # the frame's room is gone
    assert view.transform().m11() >= MIN_READABLE_SCALE
    blk = scene.nodes["blk"].sceneBoundingRect()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(blk)  # where it folded


def test_an_overview_stays_an_overview_of_the_folded_graph(qtbot) -> None:
    _model, view = make_view(qtbot, wide_doc())
    view.select_ids(["blk"])
    view.expand_selected()
    view.fit_all()
    expanded_scale = view.transform().m11()
    view.fold_selected()
    assert view.transform().m11() > expanded_scale * 1.3  # refitted to the smaller graph
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.scene().nodes.values():
        assert visible.contains(item.sceneBoundingRect()), item.node_id
