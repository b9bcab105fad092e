"""README "Extending the catalog": one `_act(...)` line in graph_compiler/catalog/dense.py
gives a node type that validates, infers shapes, generates code, builds and runs."""
from __future__ import annotations

import pytest
import torch

from graph_compiler.analysis import Analyzer
from graph_compiler.catalog import REGISTRY, dense
from graph_compiler.codegen import generate
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import Document, Edge, Network, Node


def test_the_readmes_one_line_activation_is_a_whole_node_type(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Softsign" not in REGISTRY  # the README's example must stay one to add
    spec = dense._act("Softsign", "x / (1 + |x|): a gentler tanh.")  # the README's line
    monkeypatch.setitem(REGISTRY.specs, spec.type, spec)
    nodes = [Node("x", "Input", {"shape": [5]}), Node("act", "Softsign"), Node("y", "Output")]
    doc = Document([Network("Net", nodes, [Edge("x", "act"), Edge("act", "y")])])
    info = Analyzer().analyze(doc).networks["Net"]
    assert info.ok and info.nodes["act"].outputs[0].shape == (1, 5)
    assert "nn.Softsign()" in generate(doc).source
    x = torch.linspace(-3, 3, 10).reshape(2, 5)
    torch.testing.assert_close(CompiledDocument(doc).build()(x), x / (1 + x.abs()))
    assert spec.category == "Activation" and "gentler tanh" in spec.doc
