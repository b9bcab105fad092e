"""A node with two named inputs keeps its shape line whole: the line is narrowed only by
the port names beside it ("x2" on its left), not by "out", which is on the line above."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from designer.canvas.lod import NODE_DETAIL
from graph_compiler.document import Document, Edge, Network, Node, make_ref
from tests.test_folding import make_view


def two_input_doc(with_params: bool = False) -> Document:
    """Model: two inputs into a block "Join" (Concat, Conv2d): a node with named inputs
    x1 and x2 and one output; ``with_params``: the block takes out_channels."""
    width = make_ref("out_channels") if with_params else 32
    join = Network("Join", [
        Node("x1", "Input", {"shape": [32, 8, 8]}, (0, 0)),
        Node("x2", "Input", {"shape": [32, 8, 8]}, (0, 150)),
        Node("cat", "Concat", {}, (300, 0)),
        Node("conv", "Conv2d", {"out_channels": width, "kernel_size": 3, "padding": 1}, (600, 0)),
        Node("out", "Output", {}, (900, 0))],
        [Edge("x1", "cat"), Edge("x2", "cat", dst_port=1), Edge("cat", "conv"), Edge("conv", "out")],
        params={"out_channels": 32} if with_params else {})
    main = Network("Model", [
        Node("a", "Input", {"shape": [32, 8, 8]}, (0, 0)),
        Node("b", "Input", {"shape": [32, 8, 8]}, (0, 150)),
        Node("join", "Join", {"out_channels": 32} if with_params else {}, (300, 0)),
        Node("output1", "Output", {}, (600, 0))],
        [Edge("a", "join"), Edge("b", "join", dst_port=1), Edge("join", "output1")])
    return Document([main, join])


def test_a_two_input_block_shows_its_whole_shape_and_count(qtbot) -> None:
    _model, view = make_view(qtbot, two_input_doc(with_params=True))
    item = view.scene().nodes["join"]
    assert len(item.in_names) == 2 and len(item.out_names) == 1  # named ports: labels beside them
    drawn = item.drawn_texts(NODE_DETAIL)
    assert drawn["params"] == "out_channels=32"
    assert "params" in item.count_text
    assert drawn["body"] == f"[B, 32, 8, 8]   {item.count_text}", drawn  # not "[B, 32, 8, …k params"


def test_without_a_parameter_line_shape_and_count_stack_rather_than_cut(qtbot) -> None:
    _model, view = make_view(qtbot, two_input_doc())
    item = view.scene().nodes["join"]
    drawn = item.drawn_texts(NODE_DETAIL)
    assert drawn["params"] == ""
    assert drawn["body"] == f"[B, 32, 8, 8]\n{item.count_text}", drawn
