"""Block nodes of one network shorten their parameter names alike: when one block's
values need ``ic``/``oc`` to fit, every block of the network reads ``ic``/``oc``."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from designer.canvas.lod import NODE_DETAIL
from designer.canvas.text import short_param_name
from graph_compiler.document import Document, Edge, Network, Node, make_ref
from tests.test_folding import make_view


def conv_block(name: str, params: dict) -> Network:
    conv = {"in_channels": make_ref("in_channels"), "out_channels": make_ref("out_channels"), "kernel_size": 3,
            "padding": 1, **({"stride": make_ref("stride")} if "stride" in params else {})}
    return Network(name, [Node("x", "Input", {"shape": [8, 8, 8]}, (0, 0)), Node("conv", "Conv2d", conv, (300, 0)),
                          Node("y", "Output", {}, (600, 0))],
                   [Edge("x", "conv"), Edge("conv", "y")], params=params)


def two_blocks_doc() -> Document:
    wide = conv_block("Down", {"in_channels": 8, "stride": 1, "out_channels": 16})
    narrow = conv_block("Plain", {"in_channels": 16, "out_channels": 16})
    main = Network("Model", [
        Node("input1", "Input", {"shape": [8, 8, 8]}, (0, 0)),
        Node("down", "Down", {"in_channels": 8, "stride": 1, "out_channels": 16}, (300, 0)),
        Node("plain", "Plain", {"in_channels": 16, "out_channels": 16}, (600, 0)),
        Node("output1", "Output", {}, (900, 0))],
        [Edge("input1", "down"), Edge("down", "plain"), Edge("plain", "output1")])
    return Document([main, wide, narrow])


def _names(text: str) -> set[str]:
    return {part.split("=")[0].strip() for part in text.split(",")}


def test_every_block_of_a_network_uses_the_same_short_names(qtbot) -> None:
    model, view = make_view(qtbot, two_blocks_doc())
    scene = view.scene()
    down, plain = scene.nodes["down"], scene.nodes["plain"]
    assert down.key_level() > plain.key_level()  # alone, the two would read differently
    level = down.key_level()
    down_text = down.drawn_texts(NODE_DETAIL)["params"]
    plain_text = plain.drawn_texts(NODE_DETAIL)["params"]
    assert _names(down_text) == {short_param_name(n, level) for n in ("in_channels", "stride", "out_channels")}
    assert _names(plain_text) == {short_param_name(n, level) for n in ("in_channels", "out_channels")}
    assert "oc=16" in plain_text and "oc=16" in down_text  # every value shows

    # Without the long block, the other reads its names as it can.
    model.remove_nodes("Model", ["down"])
    model.analyze_now()
    scene.refresh_analysis()
    plain_text = plain.drawn_texts(NODE_DETAIL)["params"]
    assert _names(plain_text) == {short_param_name(n, plain.key_level()) for n in ("in_channels", "out_channels")}
    assert plain.key_level() < level
