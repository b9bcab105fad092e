"""What keeps big canvases fast, checked by counting work rather than timing it: an edit
re-analyses only what it reaches, refreshes only those items, spin-box steps merge into
one undo step, and the Code tab works only while visible."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import random

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QPlainTextEdit

from designer.canvas import CanvasView
from designer.model import DocumentModel
from designer.panels.code_view import CodePanel, _replace_changed_lines
from graph_compiler.analysis import Analyzer
from graph_compiler.document import Document, Edge, Network, Node


def chain(n: int) -> Document:
    nodes = [Node("input1", "Input", {"shape": [8]}, (0, 0))]
    for i in range(1, n - 1):
        kind = "Linear" if i % 2 else "ReLU"
        nodes.append(Node(f"{kind.lower()}{i}", kind, {"out_features": 8} if kind == "Linear" else {},
                          (260.0 * i, 0)))
    nodes.append(Node("output1", "Output", {}, (260.0 * n, 0)))
    edges = [Edge(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
    return Document([Network("Model", nodes, edges)])


def make_view(qtbot, doc: Document) -> tuple[DocumentModel, CanvasView]:
    model = DocumentModel(doc)
    model.analyze_now()
    view = CanvasView(model, "Model")
    qtbot.addWidget(view)
    return model, view


def walked(model: DocumentModel) -> set[str]:
    return {nid for _net, nid in model._analyzer.walked}


def test_a_param_edit_reanalyses_and_redraws_only_what_it_reaches(qtbot) -> None:
    model, view = make_view(qtbot, chain(400))
    scene = view.scene()
    model.set_param("Model", "linear201", "out_features", 4)  # linear203 restores the width
    model.analyze_now()
    assert walked(model) == {"linear201", "relu202", "linear203"}
    assert scene.refreshed == 3
    assert scene.nodes["relu202"].out_shapes == ["[B, 4]"]
    assert scene.edges[("relu202", 0, "linear203", 0)].label == "[B, 4]"
    model.set_param("Model", "linear201", "bias", False)  # same shapes: the node alone
    model.analyze_now()
    assert walked(model) == {"linear201"} and scene.refreshed == 1


def test_structural_edits_are_incremental_too(qtbot) -> None:
    model, view = make_view(qtbot, chain(400))
    scene = view.scene()
    nid = model.add_node("Model", "ReLU", (0.0, 400.0))
    assert nid is not None
    model.analyze_now()
    assert walked(model) == {nid}
    assert model.connect("Model", "linear101", 0, nid, 0)
    model.analyze_now()
    assert walked(model) == {nid} and scene.nodes[nid].in_shapes == ["[B, 8]"]
    # Cutting the chain near its end: only what is downstream is re-inferred (and the
    # nodes whose diagnostics change are refreshed), not the 390 nodes before it.
    model.disconnect("Model", [("linear391", 0, "relu392", 0)])
    a = model.analyze_now()
    downstream = {n.id for n in model.doc.main.nodes[392:399]}
    assert downstream == {"relu392", "linear393", "relu394", "linear395", "relu396", "linear397", "relu398"}
    assert walked(model) == downstream | {"output1"}
    assert any("not connected" in d.message for d in a.for_node("Model", "relu392"))
    # Refreshed: those, and the 391 nodes before the cut that now reach no Output (a new
    # warning each); not the added node, unused before and after.
    assert scene.nodes["relu392"].errors and scene.refreshed == len(model.doc.main.nodes) - 1
    model.undo_stack.undo()
    model.analyze_now()
    assert not scene.nodes["relu392"].errors and model.analysis.ok
    assert [(d.node, d.severity) for d in model.analysis.diagnostics] == [(nid, "warning")]  # unused


def test_an_edit_inside_a_block_reaches_its_users_only(qtbot) -> None:
    block = Network("Blk", [Node("x", "Input", {"shape": [8]}, (0, 0)),
                            Node("fc", "Linear", {"out_features": 8}, (300, 0)), Node("y", "Output", {}, (600, 0))],
                    [Edge("x", "fc"), Edge("fc", "y")])
    doc = chain(50)
    main = doc.main
    main.nodes.insert(5, Node("blk", "Blk", {}, (0, 300)))
    main.edges += [Edge("linear3", "blk")]
    doc.networks.append(block)
    model, _view = make_view(qtbot, doc)
    model.set_param("Blk", "fc", "out_features", 5)
    a = model.analyze_now()
    assert model._analyzer.walked == [("Blk", "fc"), ("Blk", "y"), ("Model", "blk")]
    assert a.node("Model", "blk").outputs[0].shape == (1, 5)


def test_spin_box_steps_merge_into_one_undo_step(qtbot) -> None:
    model, _view = make_view(qtbot, chain(5))
    for v in (9, 10, 11, 12):
        model.set_param("Model", "linear1", "out_features", v)
    assert model.undo_stack.count() == 1
    model.undo_stack.undo()
    assert model.doc.main.node("linear1").params["out_features"] == 8
    model.undo_stack.redo()
    assert model.doc.main.node("linear1").params["out_features"] == 12
    model.set_param("Model", "linear3", "out_features", 3)  # another param: its own step
    model.set_param("Model", "linear3", "out_features", 8)  # back where it started...
    assert model.undo_stack.count() == 1  # ...leaves no step at all
    model.set_param("Model", "linear1", "bias", False)  # not a number: never merged
    model.set_param("Model", "linear1", "bias", True)
    assert model.undo_stack.count() == 3


def test_code_tab_generates_only_while_visible(qtbot, monkeypatch) -> None:
    model = DocumentModel(chain(6))
    panel = CodePanel(model)
    qtbot.addWidget(panel)
    calls = []
    real = model.generated_code

    def counting() -> tuple[str, str | None]:
        calls.append(1)
        return real()

    monkeypatch.setattr(model, "generated_code", counting)
    model.set_param("Model", "linear1", "out_features", 5)
    model.analyze_now()
    qtbot.wait(300)  # longer than the debounce: a hidden tab still generates nothing
    assert calls == [] and panel.pending
    panel.show()
    qtbot.waitUntil(lambda: bool(calls) and "nn.Linear(8, 5)" in panel.text())
    first = len(calls)
    model.set_param("Model", "linear3", "out_features", 6)
    model.analyze_now()
    qtbot.waitUntil(lambda: "nn.Linear(5, 6)" in panel.text())
    assert len(calls) == first + 1  # one regeneration per burst


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abc\n", max_size=6), min_size=2, max_size=2))
def test_replacing_changed_lines_gives_the_new_text(qapp, texts: list[str]) -> None:
    old, new = texts
    editor = QPlainTextEdit()
    editor.setPlainText(old)
    _replace_changed_lines(editor, editor.toPlainText(), new)
    assert editor.toPlainText() == new


def _random_edit(model: DocumentModel, rng: random.Random) -> None:
    net = model.doc.main
    ids = [n.id for n in net.nodes]
    kind = rng.randrange(5)
    if kind == 0:
        linears = [n.id for n in net.nodes if n.type == "Linear"]
        if linears:
            model.set_param("Model", rng.choice(linears), "out_features", rng.choice([2, 3, 8, -1]))
    elif kind == 1:
        model.add_node("Model", rng.choice(["ReLU", "Linear", "Add"]), (0.0, 0.0),
                       connect_from=(rng.choice(ids), 0) if rng.random() < 0.7 else None)
    elif kind == 2 and len(ids) > 2:
        model.remove_nodes("Model", [rng.choice(ids)])
    elif kind == 3 and net.edges:
        e = rng.choice(net.edges)
        model.disconnect("Model", [e.key])
    elif kind == 4 and len(ids) > 1:
        a, b = rng.sample(ids, 2)
        model.connect("Model", a, 0, b, rng.randrange(2))
    if rng.random() < 0.2 and model.undo_stack.canUndo():
        model.undo_stack.undo()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_incremental_analysis_matches_a_fresh_one(qapp, seed: int) -> None:
    rng = random.Random(seed)
    model = DocumentModel(chain(12))
    model.analyze_now()
    for _ in range(12):
        _random_edit(model, rng)
        if rng.random() < 0.5:
            model.analyze_now()
    inc = model.analyze_now()
    fresh = Analyzer().analyze(model.doc)
    assert inc.diagnostics == fresh.diagnostics
    a, b = inc.networks["Model"], fresh.networks["Model"]
    assert a.order == b.order and a.ok == b.ok
    assert {k: (v.outputs, v.inputs, v.n_params, v.flops, v.params) for k, v in a.nodes.items()} == \
        {k: (v.outputs, v.inputs, v.n_params, v.flops, v.params) for k, v in b.nodes.items()}


def test_code_dock_behind_another_tab_waits_until_brought_forward(qtbot) -> None:
    from designer.main_window import MainWindow

    model = DocumentModel(chain(6))
    win = MainWindow(model)
    win.prompts.unsaved = lambda _name: "discard"  # closing at teardown must not ask
    qtbot.addWidget(win)
    win.show()
    win.show_editor()
    win.docks["inspector"].raise_()  # the Code tab shares its dock group
    qtbot.waitUntil(lambda: not win.code.on_screen())
    before = win.code.text()
    model.set_param("Model", "linear1", "out_features", 5)
    model.analyze_now()
    qtbot.wait(300)
    assert win.code.pending and win.code.text() == before
    win.docks["code"].raise_()
    qtbot.waitUntil(lambda: "nn.Linear(8, 5)" in win.code.text())
    assert not win.code.pending
    model.undo_stack.setClean()  # closing must not ask to save


def test_far_out_the_canvas_draws_one_map_picture(qtbot, monkeypatch) -> None:
    model, view = make_view(qtbot, chain(60))
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    scene = view.scene()
    model.set_param("Model", "linear31", "out_features", -1)  # an error: outlined in red
    model.analyze_now()
    view.resetTransform()
    view.zoom_by(0.05)
    view.center_on("linear31")
    painted: list[str] = []
    from designer.canvas.node_item import NodeItem

    real = NodeItem.paint
    monkeypatch.setattr(NodeItem, "paint", lambda self, *a: (painted.append(self.node_id), real(self, *a)))
    for it in scene.nodes.values():
        it.setCacheMode(NodeItem.CacheMode.NoCache)  # so a per-item paint would show up
    view.select_ids(["linear11"])
    image = view.viewport().grab().toImage()
    assert painted == [] and scene._map is not None  # one picture, no item painted
    item = scene.nodes["linear21"]
    at = view.mapFromScene(item.mapToScene(item.boundingRect().center()))
    from designer.canvas import style

    assert image.pixelColor(at).name() == style.category_hex(item.category).lower()
    model.set_param("Model", "linear31", "out_features", 8)  # edits redraw the map
    model.analyze_now()
    assert scene._map is None
    view.viewport().grab()
    assert scene._map is not None and painted == []
    view.zoom_by(20.0)  # close enough for text: items paint themselves again
    view.viewport().grab()
    assert painted


def test_the_map_is_recorded_again_only_when_it_would_look_different(qtbot) -> None:
    model, view = make_view(qtbot, chain(40))
    view.show()
    qtbot.waitExposed(view)
    view.resetTransform()
    view.zoom_by(0.05)
    view.viewport().grab()
    scene = view.scene()
    recorded = scene._map
    assert recorded is not None
    model.set_param("Model", "linear5", "out_features", 9)  # shapes change, the map does not
    model.analyze_now()
    assert scene._map is recorded
    model.set_param("Model", "linear5", "out_features", -9)  # broken: outlined in red
    model.analyze_now()
    assert scene._map is None
    view.viewport().grab()
    model.move_nodes("Model", {"relu6": (0.0, 900.0)})
    assert scene._map is None


def test_panning_far_out_blits_the_map_drawn_at_that_scale(qtbot) -> None:
    model, view = make_view(qtbot, chain(60))
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.resetTransform()
    view.zoom_by(0.05)
    view.center_on("linear31")
    scene = view.scene()
    before = view.viewport().grab().toImage()  # a first paint at this scale: the picture
    view.viewport().grab()  # painted again in place (an edit's second paint): the picture
    assert scene._map is not None and scene._map_pixmap is None
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 30)
    view.viewport().grab()  # panned at this scale: the map is drawn once into a pixmap
    drawn = scene._map_pixmap
    assert drawn is not None and drawn[0] == pytest.approx((0.05, 0.05))
    bar.setValue(bar.value() - 30)
    after = view.viewport().grab().toImage()
    assert scene._map_pixmap is drawn  # panned again: the same pixmap, blitted
    assert after == before  # and the canvas looks as the replayed picture did
    view.zoom_by(1.2)
    view.viewport().grab()
    bar.setValue(bar.value() + 30)
    view.viewport().grab()
    assert scene._map_pixmap is not drawn and scene._map_pixmap[0] == pytest.approx((0.06, 0.06))
    model.move_nodes("Model", {"relu6": (0.0, 900.0)})
    assert scene._map_pixmap is None  # an edit redraws both


def test_wires_switch_cache_mode_at_once_then_wait_while_a_zoom_goes_back_and_forth(qtbot) -> None:
    import time

    from designer.canvas.edge_item import EdgeItem
    from designer.canvas.scene import OVERVIEW_DELAY_MS

    model, view = make_view(qtbot, chain(30))
    view.show()
    qtbot.waitExposed(view)
    scene = view.scene()
    view.resetTransform()
    view.viewport().grab()

    def settled() -> bool:
        return not scene._overview_timer.isActive() and \
            time.monotonic() - scene._overview_at > OVERVIEW_DELAY_MS / 1000

    qtbot.waitUntil(settled)  # the fit as it opened was far out: that switch is over
    assert not scene.overview
    view.zoom_by(0.3)
    view.viewport().grab()  # the first crossing: at once
    edge = next(iter(scene.edges.values()))
    assert scene.overview and edge.cacheMode() == EdgeItem.CacheMode.DeviceCoordinateCache
    view.zoom_by(2.0)
    view.viewport().grab()  # back within the delay: waits for the zoom to settle
    assert scene.overview
    qtbot.waitUntil(lambda: not scene.overview)
    assert edge.cacheMode() == EdgeItem.CacheMode.NoCache
