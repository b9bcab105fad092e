"""Documents with parameterised blocks, shared by the designer's block-parameter tests."""
from __future__ import annotations

from graph_compiler.document import Document, Edge, Network, Node, make_ref


def dense_block() -> Network:
    """Dense: input [16] -> Linear(inp -> width) -> ReLU, with block parameters inp and width."""
    nodes = [Node("x", "Input", {"shape": [16]}, (0, 0)),
             Node("fc", "Linear", {"in_features": make_ref("inp"), "out_features": make_ref("width")}, (300, 0)),
             Node("act", "ReLU", {}, (600, 0)),
             Node("y", "Output", {}, (900, 0))]
    return Network("Dense", nodes, [Edge("x", "fc"), Edge("fc", "act"), Edge("act", "y")],
                   params={"inp": 16, "width": 16})


def model_doc(uses: list[dict[str, int]]) -> Document:
    """Model: input [16] -> one Dense use per entry of ``uses`` (its values) -> Linear(4)."""
    nodes = [Node("input1", "Input", {"shape": [16]}, (0, 0))]
    edges = []
    prev = "input1"
    for i, values in enumerate(uses):
        nid = f"d{i + 1}"
        nodes.append(Node(nid, "Dense", dict(values), (300.0 * (i + 1), 0)))
        edges.append(Edge(prev, nid))
        prev = nid
    nodes += [Node("head", "Linear", {"out_features": 4}, (300.0 * (len(uses) + 1), 0)),
              Node("output1", "Output", {}, (300.0 * (len(uses) + 2), 0))]
    edges += [Edge(prev, "head"), Edge("head", "output1")]
    return Document([Network("Model", nodes, edges), dense_block()])
