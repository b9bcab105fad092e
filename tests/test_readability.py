"""Readable at first sight: every bundled example, opened in a window the size of a
1366x768 laptop screen (and in the default window), shows full node names, key params,
output shapes, parameter counts and wire shapes without the user zooming."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

from designer.canvas import lod as LOD
from graph_compiler.layout import DEFAULT_VIEW, MIN_READABLE_SCALE, NODE_W, layered_layout
from designer.main_window import MainWindow
from graph_compiler.examples import example_names, example_path


def open_example(qtbot, w: MainWindow, name: str, size: tuple[int, int]) -> None:
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    assert w.file_actions.open(str(example_path(name)))
    w.model.analyze_now()


def check_readable(qtbot, w: MainWindow, network: str) -> None:
    view = w.views[network]
    w.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.isVisible() and view.viewport().width() > 100)
    view.fit_readable()  # what a tab shows until the user moves (a hidden tab fits when shown)
    scale = view.transform().m11()
    assert scale >= MIN_READABLE_SCALE, f"{network}: opened at {scale:.2f}"
    # The level of detail paint() uses is the view's scale: every node at full detail.
    assert scale >= LOD.NODE_DETAIL and scale >= LOD.EDGE_LABELS
    a = w.model.analysis.networks[network]
    for nid, item in view.scene().nodes.items():
        drawn = item.drawn_texts(scale)
        assert drawn["title"] == item.title, f"{network}/{nid}: title cut to {drawn['title']!r}"
        if item.type_name != item.title:  # the type shares the header: it may be cut, not lost
            assert drawn["type"].rstrip("…") and item.type_name.startswith(drawn["type"].rstrip("…"))
        assert drawn["params"] == item.key_text
        info = a.nodes[nid]
        if info.n_params:  # the count is drawn, and so is the shape (one output)
            assert item.count_text and item.count_text in drawn["body"], (nid, drawn)
        if len(item.out_names) == 1:
            assert item.shape_text and item.shape_text in drawn["body"], (nid, drawn)
    for key, edge in view.scene().edges.items():
        assert edge.label, f"{network}: wire {key} has no shape"
        assert edge.label_shown(), f"{network}: no room for the shape on wire {key}"
    # The start of the graph is on screen, not scrolled away.
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    first = view.scene().nodes[w.model.doc.network(network).nodes[0].id]
    assert visible.contains(first.sceneBoundingRect())


@pytest.mark.parametrize("name", example_names())
def test_every_example_reads_at_first_sight_on_a_laptop_screen(qtbot, window: MainWindow, name: str) -> None:
    open_example(qtbot, window, name, (1366, 768))
    for network in window.model.doc.network_names():
        check_readable(qtbot, window, network)


def test_small_examples_fit_whole_and_readable_in_the_default_window(qtbot, window: MainWindow) -> None:
    """An MLP and an LSTM model are seen whole, at a readable scale, in the default window."""
    for name in ("mlp_digits", "lstm_sequence", "transformer_chars"):
        open_example(qtbot, window, name, (1400, 900))
        view = window.current_view()
        qtbot.waitUntil(lambda v=view: v.viewport().width() > 100)
        view.fit_readable()
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        for item in view.scene().nodes.values():
            assert visible.contains(item.sceneBoundingRect()), (name, item.node_id)
        assert view.transform().m11() >= 0.9


def test_long_chain_wraps_into_bands_that_fit_the_view() -> None:
    ids = [f"n{i}" for i in range(13)]
    edges = [(a, b) for a, b in zip(ids, ids[1:], strict=False)]
    flat = layered_layout(ids, edges)
    assert len({y for _, y in flat.values()}) == 1  # no view given: one row
    wrapped = layered_layout(ids, edges, view=DEFAULT_VIEW)
    xs = [wrapped[n][0] for n in ids]
    ys = [wrapped[n][1] for n in ids]
    # Read like text: left to right within a band, bands top to bottom.
    assert max(xs) + NODE_W <= DEFAULT_VIEW[0] / MIN_READABLE_SCALE
    assert ys == sorted(ys) and len(set(ys)) > 1
    for a, b in zip(ids, ids[1:], strict=False):
        same_band = wrapped[a][1] == wrapped[b][1]
        assert (wrapped[b][0] > wrapped[a][0]) == same_band


def test_wrap_cuts_where_fewest_wires_cross() -> None:
    """A residual block is not cut through its skip connection when a chain link will do."""
    ids = ["p", "q", "x", "a", "add", "c", "d", "e", "f", "g", "h"]
    chain = [("p", "q"), ("q", "x"), ("x", "a"), ("a", "add"), ("add", "c"), ("c", "d"),
             ("d", "e"), ("e", "f"), ("f", "g"), ("g", "h")]
    edges = [(s, d, 0, 0) for s, d in chain] + [("x", "add", 0, 1)]
    pos = layered_layout(ids, edges, view=DEFAULT_VIEW)
    assert len({y for _, y in pos.values()}) > 2  # wrapped
    # Three columns to a band would cut through the block; the band ends one early instead,
    # so x, a and add share a band, left to right, and the skip wire stays inside it.
    assert pos["q"][0] > pos["p"][0] and pos["x"][0] < pos["q"][0]
    assert pos["x"][0] < pos["a"][0] < pos["add"][0]


def test_a_long_chain_wraps_to_the_readable_width() -> None:
    """Too long to be read whole at any band count: bands as wide as the view at a
    readable scale, so the reader scrolls down only."""
    ids = [f"n{i}" for i in range(2_000)]
    edges = [(a, b) for a, b in zip(ids, ids[1:], strict=False)]
    pos = layered_layout(ids, edges, view=DEFAULT_VIEW)
    assert max(x for x, _ in pos.values()) + NODE_W <= DEFAULT_VIEW[0] / MIN_READABLE_SCALE


def test_wires_wrapping_to_the_next_band_cross_no_node(qtbot, window) -> None:
    """The README: a wire that wraps back to the next band runs in the lane between bands."""
    from PySide6.QtGui import QPainterPathStroker

    assert window.file_actions.open(str(example_path("resnet_small")))
    scene = window.current_view().scene()
    band = QPainterPathStroker()
    band.setWidth(2.0)
    wrapped = [e for e in scene.edges.values() if e._p2.x() < e._p1.x()]
    assert wrapped, "the example is laid out in bands"
    for e in wrapped:
        stroke = band.createStroke(e._path)
        for nid, item in scene.nodes.items():
            body = item.sceneBoundingRect().adjusted(12, 0, -12, 0)
            assert not stroke.intersects(body), (e.key, nid)


def imported_names_doc():
    """An imported model's names: module paths that share a long prefix, a long block
    name folded into a ×2 run, and a block with long parameter names."""
    from graph_compiler.document import Document, Edge, Network, Node
    block = Network("InvertedResidual_features_block", [
        Node("x", "Input", {"shape": [8]}, (0, 0)), Node("fc", "Linear", {"out_features": 8}, (300, 0)),
        Node("y", "Output", {}, (600, 0))], [Edge("x", "fc"), Edge("fc", "y")])
    ids = ["idx", "transformer.wte", "transformer.wpe", "features.1", "features.2", "out"]
    types = ["Input", "Linear", "Linear", block.name, block.name, "Output"]
    params = [{"shape": [8]}, {"out_features": 8}, {"out_features": 8}, {}, {}, {}]
    nodes = [Node(i, t, p, (300.0 * k, 0.0)) for k, (i, t, p) in enumerate(zip(ids, types, params))]
    main = Network("Model", nodes, [Edge(a, b) for a, b in zip(ids, ids[1:])])
    doc = Document([main, block])
    doc.meta["import"] = {"blocks": [block.name]}
    return doc


def test_imported_names_stay_told_apart_and_keep_their_count(qtbot, window: MainWindow) -> None:
    from graph_compiler.document import Node
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.model.load_document(imported_names_doc())
    window.model.analyze_now()
    window.show_editor()  # past the start page
    view = window.views["Model"]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.isVisible() and view.scene().built)
    scene = view.scene()
    # It opens whole and readable (folded: the ×2 run is one node, and no slot is left).
    view.fit_readable()
    assert view.transform().m11() >= MIN_READABLE_SCALE and view.keeps_fit()
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(seen.contains(it.sceneBoundingRect()) for it in scene.nodes.values() if it.isVisible())
    level = max(view.transform().m11(), LOD.NODE_DETAIL)
    for level in (level, (LOD.NODE_TITLES + LOD.NODE_DETAIL) / 2):  # detailed, and zoomed out
        titles = {nid: it.drawn_texts(level)["title"] for nid, it in scene.nodes.items() if it.isVisible()}
        assert len(set(titles.values())) == len(titles), (titles, scene.folding.runs)  # no two read the same
        for nid, drawn in titles.items():  # each shows how its module path ends
            if drawn != nid and not scene.nodes[nid].repeat:
                assert drawn.startswith("\u2026") and nid.endswith(drawn[1:]), (nid, drawn)
        assert titles.get("features.1", "").endswith(" \u00d72"), titles  # the run count is never cut
    wte = scene.nodes["transformer.wte"]
    # The full id is in the tooltip.
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QGraphicsSceneHoverEvent
    ev = QGraphicsSceneHoverEvent()
    ev.setPos(QPointF(NODE_W / 2, 40))
    wte.hoverMoveEvent(ev)
    assert wte.toolTip().startswith("transformer.wte (Linear)")
    # A block use with long parameter names shows every value, the names shortened.
    item = scene.nodes["features.1"]
    item.repeat = []
    item.set_node(Node("features.1", "InvertedResidual_features_block",
                       {"in_channels": 16, "out_channels": 24, "expand_ratio": 6}, (0, 0)),
                  ("x",), ("y",), "Blocks", "")
    drawn = item.drawn_texts(1.0)["params"]
    assert drawn in ("in_channels=16, out_channels=24, expand_ratio=6", "in_ch=16, out_ch=24, expand_ra=6",
                     "ic=16, oc=24, er=6"), drawn
