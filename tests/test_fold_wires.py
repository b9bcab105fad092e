"""Wires into and out of a folded "×N" node run straight along its row, as the other
rows' wires do: the hidden members of the run stand where the ×N node is and are no
obstacle to route around."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from tests.test_folding import make_view, stacked_doc


def test_wires_of_a_folded_run_are_straight(qtbot) -> None:
    _model, view = make_view(qtbot, stacked_doc(4, imported=True))  # opens folded: "Layer ×4"
    scene = view.scene()
    first = scene.nodes["layer1"]
    assert first.repeat == ["layer1", "layer2", "layer3", "layer4"]
    assert not scene.nodes["layer2"].isVisible()
    into = scene.edges[("input1", 0, "layer1", 0)]
    out = next(e for e in scene.edges.values() if e.key[0] == "layer4" and e.key[2] == "head")
    for wire in (into, out):
        assert wire.isVisible()
        assert not wire._routed, wire.key  # the plain curve, no detour
        low, high = sorted((wire.p1.y(), wire.p2.y()))
        box = wire._path.boundingRect()
        assert box.top() >= low - 1 and box.bottom() <= high + 1, wire.key  # no dip to a lane


def test_a_visible_node_in_the_way_is_avoided_a_hidden_one_is_not(qtbot) -> None:
    _model, view = make_view(qtbot, stacked_doc(4))
    scene = view.scene()
    wire = scene.edges[("layer1", 0, "layer2", 0)]
    a, b, below = scene.nodes["layer1"], scene.nodes["layer2"], scene.nodes["below"]
    below.setPos((a.pos().x() + b.pos().x()) / 2 - 20, a.pos().y())  # across the wire
    wire.adjust()
    assert wire._routed
    below.setVisible(False)
    wire.adjust()
    assert not wire._routed
