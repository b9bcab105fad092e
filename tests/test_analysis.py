"""Validation (every problem at once, each with severity, network, node, param and a
message) and inference (shapes, parameter counts, FLOPs), incremental re-analysis, and
that analysis never imports torch."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph_compiler import document
from graph_compiler.analysis import (
    ERROR,
    WARNING,
    Analysis,
    Analyzer,
    Diagnostic,
    analyze,
    validate,
)
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.graphs import cycles

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[1]


def net(name: str, nodes: list[tuple[Any, ...]], edges: list[tuple[Any, ...]]) -> Network:
    """nodes: (id, type[, params]); edges: (src, dst[, src_port[, dst_port]])."""
    return Network(name, [Node(n[0], n[1], dict(n[2]) if len(n) > 2 else {}) for n in nodes],
                   [Edge(e[0], e[1], e[2] if len(e) > 2 else 0, e[3] if len(e) > 3 else 0) for e in edges])


def doc(*networks: Network) -> Document:
    return Document(list(networks))


def chain(*ids: str) -> list[tuple[str, str]]:
    return list(itertools.pairwise(ids))


def mlp() -> Document:
    return doc(net("MLP", [("x", "Input", {"shape": [4]}), ("fc1", "Linear", {"out_features": 8}),
                           ("act", "ReLU"), ("fc2", "Linear", {"out_features": 3}), ("out", "Output")],
                   chain("x", "fc1", "act", "fc2", "out")))


def messages(a: Analysis, node: str | None = "any") -> list[str]:
    return [d.message for d in a.diagnostics if node == "any" or d.node == node]


def only(a: Analysis, node: str | None) -> Diagnostic:
    found = [d for d in a.diagnostics if d.node == node]
    assert len(found) == 1, a.diagnostics
    return found[0]


# ---------------------------------------------------------------- inference


def test_clean_graph_has_shapes_params_and_flops() -> None:
    a = analyze(mlp())
    assert a.ok and a.diagnostics == []
    info = a.networks["MLP"]
    assert info.order == ["x", "fc1", "act", "fc2", "out"]
    assert info.nodes["fc1"].output_shape == (1, 8)
    assert info.nodes["fc1"].params["in_features"] == 4  # inferred
    assert info.nodes["fc1"].n_params == 4 * 8 + 8
    assert info.nodes["fc1"].flops == 2 * 4 * 8
    assert info.total_params == 40 + 27 and info.flops == 64 + 48
    assert [str(t) for t in info.output_types()] == ["[B, 3]"]


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_closed_form_analysis_equals_meta_reference(path: Path) -> None:
    """Whole graphs, node by node: the closed-form rules and torch's meta device agree."""
    d = document.load(path)
    fast, ref = Analyzer().analyze(d), Analyzer(use_meta=True).analyze(d)
    assert fast.ok and ref.ok, fast.diagnostics + ref.diagnostics
    for name, info in fast.networks.items():
        for nid, n in info.nodes.items():
            r = ref.networks[name].nodes[nid]
            assert (n.output_shapes, n.n_params, n.flops) == (r.output_shapes, r.n_params, r.flops), nid


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_parameter_totals_match_the_built_module(path: Path) -> None:
    from graph_compiler.compile import CompiledDocument

    d = document.load(path)
    a = analyze(d)
    model = CompiledDocument(d, a).build()
    assert sum(p.numel() for p in model.parameters()) == a.networks[d.main.name].total_params


def test_blocks_carry_shapes_params_and_flops() -> None:
    block = net("Block", [("i", "Input", {"shape": [8]}), ("fc", "Linear", {"out_features": 8}), ("o", "Output")],
                chain("i", "fc", "o"))
    main = net("Main", [("x", "Input", {"shape": [8]}), ("b1", "Block"), ("b2", "Block"), ("out", "Output")],
               chain("x", "b1", "b2", "out"))
    a = analyze(doc(main, block))
    assert a.ok, a.diagnostics
    assert a.networks["Main"].nodes["b2"].output_shape == (1, 8)
    assert a.networks["Main"].total_params == 2 * 72 and a.networks["Main"].flops == 2 * 128


def test_multi_output_and_optional_ports() -> None:
    d = doc(net("N", [("x", "Input", {"shape": [5, 8]}), ("k", "Input", {"shape": [3, 8]}),
                      ("v", "Input", {"shape": [3, 8]}), ("mha", "MultiheadAttention", {"num_heads": 2}),
                      ("split", "Chunk", {"chunks": 2, "dim": -1}), ("a", "Output"), ("b", "Output")],
                [("x", "mha"), ("k", "mha", 0, 1), ("v", "mha", 0, 2), ("mha", "split"),
                 ("split", "a", 0), ("split", "b", 1)]))
    a = analyze(d)
    assert a.ok, a.diagnostics
    assert a.networks["N"].nodes["split"].output_shapes == [(1, 5, 4), (1, 5, 4)]
    # value fed, key not: port 2 keeps its meaning (value), key defaults to the query.
    d.networks[0].edges = [e for e in d.networks[0].edges if e.src != "k"]
    a = analyze(d)
    assert "key [B, 5, 8] and value [B, 3, 8] lengths differ" in " ".join(messages(a))


# ---------------------------------------------------------------- diagnostics


def test_every_problem_is_reported_at_once() -> None:
    d = doc(net("Broken", [
        ("x", "Input", {"shape": [4]}),
        ("x", "Input", {"shape": [4]}),  # duplicate id
        ("fc", "Linear", {"out_features": -3, "bias": "yes"}),  # out of range, wrong type
        ("mystery", "Linaer", {}),  # unknown type
        ("a", "ReLU"), ("b", "ReLU"),  # a cycle
        ("add", "Add"),  # port 1 unconnected
        ("lonely", "Tanh"),  # reaches no output
    ], [("x", "fc"), ("fc", "add"), ("a", "b"), ("b", "a"), ("x", "ghost"), ("x", "fc", 0, 3),
        ("x", "lonely")]))
    a = analyze(d)
    text = "\n".join(d.format() for d in a.diagnostics)
    for needle in [
        "duplicate node id 'x'",
        "out_features=-3 is out of range (allowed 1..16777216)",
        "bias must be true or false, got 'yes'",
        "unknown node type 'Linaer'; did you mean Linear?",
        "cycle: a -> b -> a",
        "input port 1 (b) is not connected",
        "refers to missing node 'ghost'",
        "Linear has no input port 3 (it has 1)",
        "the network has no Output node",
    ]:
        assert needle in text, needle
    assert not a.ok
    for diag in a.diagnostics:
        assert diag.severity in (ERROR, WARNING) and diag.network == "Broken" and diag.message
    fc = [x for x in a.diagnostics if x.node == "fc"]
    assert {x.param for x in fc} >= {"out_features", "bias"}


def test_shape_mismatch_names_node_and_both_shapes() -> None:
    d = doc(net("CNN", [("x", "Input", {"shape": [1, 8, 8]}),
                        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3}),
                        ("fc", "Linear", {"in_features": 999, "out_features": 10}), ("out", "Output")],
                chain("x", "conv", "fc", "out")))
    a = analyze(d)
    diag = only(a, "fc")
    assert diag.format() == "CNN/fc: Linear expects 999 input features, gets [B, 4, 6, 6]; add a Flatten?"
    assert diag.param == "in_features" and diag.severity == ERROR
    assert a.networks["CNN"].nodes["conv"].output_shape == (1, 4, 6, 6)  # upstream still inferred
    assert a.networks["CNN"].nodes["out"].outputs is None  # downstream not guessed


@pytest.mark.parametrize("nodes,edges,node,needle", [
    ([("x", "Input", {"shape": [3, 4, 4]}), ("c", "Conv2d", {"out_channels": 2, "kernel_size": 5})],
     [("x", "c")], "c", "Conv2d: input 4x4 is too small for kernel 5x5"),
    ([("x", "Input", {"shape": [3, 4]}), ("c", "Conv2d", {"out_channels": 2, "kernel_size": 3})],
     [("x", "c")], "c", "Conv2d expects [B, C, H, W], gets [B, 3, 4]; add a Reshape or Unflatten?"),
    ([("x", "Input", {"shape": [6, 4, 4]}), ("c", "Conv2d", {"out_channels": 3, "kernel_size": 1, "groups": 2})],
     [("x", "c")], "c", "out_channels=3 is not divisible by groups=2"),
    ([("x", "Input", {"shape": [4]}), ("f", "Flatten", {"start_dim": 0})],
     [("x", "f")], "f", "flattening the batch dimension"),
    ([("x", "Input", {"shape": [4, 5]}), ("r", "Reshape", {"shape": [3, 7]})],
     [("x", "r")], "r", "cannot reshape [B, 4, 5] (20 values per sample) to [B, 3, 7] (21 values)"),
    ([("x", "Input", {"shape": [4]}), ("e", "Embedding", {"num_embeddings": 5, "embedding_dim": 2})],
     [("x", "e")], "e", "expects int64 token ids, gets float values [B, 4]"),
    ([("x", "Input", {"shape": [4], "dtype": "int64"}), ("l", "Linear", {"out_features": 2})],
     [("x", "l")], "l", "Linear expects float values, gets int64 token ids [B, 4]; add an Embedding?"),
    ([("x", "Input", {"shape": [4, 6]}), ("m", "MultiheadAttention", {"num_heads": 4})],
     [("x", "m")], "m", "model size 6 is not divisible by num_heads=4"),
    ([("x", "Input", {"shape": [3]}), ("y", "Input", {"shape": [4]}), ("a", "Add")],
     [("x", "a"), ("y", "a", 0, 1)], "a", "Add: cannot add [B, 3] and [B, 4]"),
    ([("x", "Input", {"shape": [3]}), ("y", "Input", {"shape": [2, 3]}), ("a", "Add")],
     [("x", "a"), ("y", "a", 0, 1)], "a", "Add: inputs have different ranks"),
    ([("x", "Input", {"shape": [3]}), ("a", "Add")],
     [("x", "a"), ("x", "a", 0, 1), ("x", "a", 0, 3)], "a", "input port 2 (b2) is not connected, but port 3 is"),
    ([("x", "Input", {"shape": [3]}), ("c", "Chunk", {"chunks": 2})],
     [("x", "c"), ("c", "x", 2)], "c", "Chunk has no output port 2 (it has 2)"),
    ([("x", "Input", {"shape": [3]}), ("s", "Softmax", {"dim": 0})],
     [("x", "s")], "s", "normalising over the batch dimension"),
    ([("x", "Input", {"shape": [3]}), ("y", "Input", {"shape": [3]}), ("r", "ReLU")],
     [("x", "r"), ("y", "r")], "r", "input port 0 is fed twice (by x and y)"),
    ([("x", "Input", {"shape": [100000, 100000]}), ("l", "Linear", {"out_features": 4})],
     [("x", "l")], "x", "10,000,000,000 values per sample"),
    ([("x", "Input", {"shape": [65536]}), ("l", "Linear", {"out_features": 16777216})],
     [("x", "l")], "l", "would not fit in memory"),
])
def test_specific_problems(nodes: list[tuple[Any, ...]], edges: list[tuple[Any, ...]], node: str, needle: str) -> None:
    d = doc(net("N", [*nodes, ("out", "Output")], [*edges]))
    a = analyze(d)
    found = [x for x in a.diagnostics if x.node == node and x.severity == ERROR]
    assert any(needle in x.message for x in found), a.diagnostics


def test_missing_input_and_output_and_unused_nodes() -> None:
    a = analyze(doc(net("Empty", [("t", "Tanh")], [])))
    assert {(d.node, d.message) for d in a.errors} >= {
        (None, "the network has no Input node"), (None, "the network has no Output node"),
        ("t", "input port 0 (x) is not connected")}
    d = mlp()
    d.networks[0].nodes.append(Node("dangling", "ReLU"))
    d.networks[0].edges.append(Edge("act", "dangling"))
    a = analyze(d)
    assert a.ok
    warn = only(a, "dangling")
    assert warn.severity == WARNING and "does not reach any Output" in warn.message


def test_long_cycle_names_every_node_on_it() -> None:
    ids = [f"n{i}" for i in range(30)]
    nodes = [("x", "Input", {"shape": [2]}), *[(i, "ReLU") for i in ids], ("out", "Output")]
    edges = [("x", "out"), *chain(*ids), (ids[-1], ids[0])]
    a = analyze(doc(net("N", nodes, edges)))
    cyc = [d for d in a.errors if d.message.startswith("cycle:")]
    assert len(cyc) == 1 and cyc[0].node == "n0"
    assert cyc[0].message.startswith("cycle: " + " -> ".join([*ids, "n0"]))


def test_many_cycles_are_found_fast() -> None:
    """A dense tangle has exponentially many simple cycles; we report one per tangle."""
    ids = [f"n{i}" for i in range(60)]
    edges = [(a, b) for a in ids for b in ids if a != b][:2000]
    d = doc(net("N", [("x", "Input", {"shape": [2]}), *[(i, "Add") for i in ids], ("out", "Output")],
                [("x", "out"), *edges]))
    a = analyze(d)
    assert sum(m.startswith("cycle:") for m in messages(a)) == 1
    # "Fast" as work done, not seconds: finding that cycle reads each wire a bounded number
    # of times (Tarjan once, the shortest-cycle search at most once), not once per cycle.
    succ: dict[str, list[str]] = {}
    for a_id, b_id in edges:
        succ.setdefault(a_id, []).append(b_id)
    reads = 0

    class Counting(dict[str, list[str]]):
        def get(self, key: str, default: Any = None) -> Any:
            nonlocal reads
            for w in super().get(key, default or ()):
                reads += 1
                yield w

    found = cycles(ids, Counting(succ))
    assert len(found) == 1 and found[0][0] == "n0"
    assert 0 < reads <= 2 * len(edges) + len(ids)


def test_recursive_blocks_are_reported() -> None:
    a_net = net("A", [("x", "Input", {"shape": [2]}), ("b", "B"), ("o", "Output")], chain("x", "b", "o"))
    b_net = net("B", [("x", "Input", {"shape": [2]}), ("a", "A"), ("o", "Output")], chain("x", "a", "o"))
    self_net = net("C", [("x", "Input", {"shape": [2]}), ("c", "C"), ("o", "Output")], chain("x", "c", "o"))
    a = analyze(doc(a_net, b_net, self_net))
    text = "\n".join(d.format() for d in a.errors)
    assert "recursive block reference: A -> B -> A" in text
    assert "recursive block reference: C -> C" in text
    assert "A/b: block 'B' cannot be used here (recursive reference)" in text
    assert "B/a: block 'A' cannot be used here (recursive reference)" in text


def test_block_problems() -> None:
    block = net("Block", [("i", "Input", {"shape": [8]}), ("fc", "Linear", {"out_features": 8}), ("o", "Output")],
                chain("i", "fc", "o"))
    main = net("Main", [("x", "Input", {"shape": [4]}), ("b", "Block", {"size": 3}), ("out", "Output")],
               chain("x", "b", "out"))
    a = analyze(doc(main, block))
    text = " | ".join(messages(a, "b"))
    assert "unknown parameter 'size': a block node takes no parameters" in text
    del main.nodes[1].params["size"]
    a = analyze(doc(main, block))
    assert "block 'Block' expects [B, 8] on port 0 (its Input 'i'), gets [B, 4]" in " ".join(messages(a, "b"))
    clash = net("Linear", [("x", "Input", {"shape": [1]}), ("o", "Output")], chain("x", "o"))
    a = analyze(doc(mlp().networks[0], clash, clash))
    assert "clashes with the built-in node type Linear" in " ".join(messages(a, None))
    assert "two networks are named 'Linear'" in " ".join(messages(a, None))


def test_diagnostics_serialise() -> None:
    d = Diagnostic(ERROR, "Net", "fc", "Linear: out_features=0 is out of range", "out_features")
    assert d.to_dict() == {"severity": "error", "network": "Net", "node": "fc", "param": "out_features",
                           "message": "Linear: out_features=0 is out of range"}
    assert str(d) == "Net/fc: Linear: out_features=0 is out of range"
    assert Diagnostic(WARNING, "Net", None, "m").format("f.json") == "f.json:Net: warning: m"
    assert json.dumps([x.to_dict() for x in validate(mlp())]) == "[]"


# ---------------------------------------------------------------- incremental


def _long_chain(n: int) -> Document:
    nodes: list[tuple[Any, ...]] = [("x", "Input", {"shape": [16]})]
    for i in range(n):
        nodes.append((f"fc{i}", "Linear", {"out_features": 16}))
        nodes.append((f"act{i}", "ReLU" if i % 2 else "Tanh"))
    nodes.append(("out", "Output"))
    return doc(net("Chain", nodes, chain(*[x[0] for x in nodes])))


def test_only_downstream_nodes_reinfer_after_an_edit() -> None:
    d = _long_chain(20)
    analyzer = Analyzer()
    analyzer.analyze(d)
    assert len(analyzer.recomputed) > 0
    analyzer.analyze(d)
    assert analyzer.recomputed == []  # nothing changed: everything from the cache

    node = next(n for n in d.networks[0].nodes if n.id == "fc10")
    node.params["out_features"] = 12  # changes the shape of fc10 and what follows it
    a = analyzer.analyze(d)
    assert a.ok
    ran = [nid for _, nid in analyzer.recomputed]
    assert ran[0] == "fc10" and ran == ["fc10", "act10", "fc11"]  # fc11 restores the width
    order = a.networks["Chain"].order
    assert all(order.index(nid) >= order.index("fc10") for nid in ran)

    node.params["bias"] = False  # same output shape: only the node itself recomputes
    analyzer.analyze(d)
    assert analyzer.recomputed == [("Chain", "fc10")]


def test_a_single_edit_on_1000_nodes_walks_only_what_it_reaches() -> None:
    """The work an edit costs, counted (its time is in bench/bench_compiler.py): told what
    changed, the analyzer visits the edited node and the nodes its new result reaches,
    not the other ~1,000, and ends where a fresh analysis does."""
    d = _long_chain(500)
    analyzer = Analyzer()
    analyzer.analyze(d)
    assert len(analyzer.walked) == len(d.networks[0].nodes) == 1002  # cold: everything
    next(n for n in d.networks[0].nodes if n.id == "fc250").params["out_features"] = 8
    warm = analyzer.analyze(d, {"Chain": {"fc250"}})
    reached = [("Chain", "fc250"), ("Chain", "act250"), ("Chain", "fc251")]  # fc251 restores the width
    assert analyzer.walked == analyzer.recomputed == reached
    assert warm.changed == {"Chain": {"fc250", "act250", "fc251"}}
    fresh = Analyzer().analyze(d)
    assert warm.ok and fresh.ok
    for nid, info in fresh.networks["Chain"].nodes.items():
        assert warm.networks["Chain"].nodes[nid].output_shapes == info.output_shapes, nid
    assert warm.networks["Chain"].total_params == fresh.networks["Chain"].total_params
    # Not told what changed, it re-walks every node but re-infers only the same three.
    next(n for n in d.networks[0].nodes if n.id == "fc250").params["out_features"] = 9
    analyzer.analyze(d)
    assert len(analyzer.walked) == 1002 and analyzer.recomputed == reached


# ---------------------------------------------------------------- no torch


def test_analysis_and_codegen_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import graph_compiler.analysis, graph_compiler.codegen\n"
        "from graph_compiler import document\n"
        "from graph_compiler.analysis import Analyzer\n"
        "from graph_compiler.codegen import generate\n"
        f"for p in sorted(__import__('pathlib').Path({str(GOLDEN)!r}).glob('*.json')):\n"
        "    d = document.load(p)\n"
        "    a = Analyzer().analyze(d)\n"
        "    assert a.ok, a.diagnostics\n"
        "    generate(d, a)\n"
        "heavy = sorted(m for m in ('torch', 'networkx', 'numpy') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_structure_edits_reach_a_warm_analyzer() -> None:
    """The structural checks are cached per network; every kind of edit must refresh them."""
    d = doc(net("N", [("x", "Input", {"shape": [6]}), ("c", "Chunk", {"chunks": 2}), ("a", "Output"),
                      ("b", "Output")], [("x", "c"), ("c", "a", 0), ("c", "b", 2)]))
    warm = Analyzer()
    assert "Chunk has no output port 2 (it has 2)" in " ".join(messages(warm.analyze(d)))
    d.networks[0].nodes[1].params["chunks"] = 3  # the port count follows a param
    assert warm.analyze(d).ok
    d.networks[0].edges.append(Edge("c", "c", 1, 0))  # a wire
    assert "input port 0 is fed twice (by x and c)" in " ".join(messages(warm.analyze(d)))
    d.networks[0].edges.pop()
    assert warm.analyze(d).ok
    d.networks[0].nodes[1].type = "Chunkk"  # a type
    assert "unknown node type 'Chunkk'; did you mean Chunk?" in messages(warm.analyze(d))
    d.networks[0].nodes[1].type = "Chunk"
    d.networks[0].nodes[1].id = "c2"  # an id
    assert "refers to missing node 'c'" in " ".join(messages(warm.analyze(d)))
