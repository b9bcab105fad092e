"""The structural plan updated after a local edit equals the plan built from scratch:
same diagnostics in the same order, same order of inference, same wiring; and the
cheap path is really the one taken for the edits the designer makes most."""
from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from graph_compiler.analysis import Analyzer
from graph_compiler.analysis.replan import replan
from graph_compiler.analysis.structure import _Plan, _plan, _signature
from graph_compiler.document import Document, Edge, Network, Node

TYPES = ["Linear", "ReLU", "Add", "Concat", "Chunk", "Output", "Input", "Nope"]


def chain(n: int) -> Network:
    nodes = [Node("input1", "Input", {"shape": [8]}, (0, 0))]
    for i in range(1, n - 1):
        kind = "Linear" if i % 2 else "ReLU"
        nodes.append(Node(f"{kind.lower()}{i}", kind, {"out_features": 8} if kind == "Linear" else {}, (0, 0)))
    nodes.append(Node("output1", "Output", {}, (0, 0)))
    return Network("Model", nodes, [Edge(a.id, b.id) for a, b in zip(nodes, nodes[1:])])


def build(net: Network, old: _Plan | None) -> tuple[_Plan, _Plan]:
    """(updated from ``old``, built from scratch) for the network as it is now."""
    nodes: dict[str, Node] = {}
    for n in net.nodes:
        nodes.setdefault(n.id, n)
    sig = _signature(net, {}, set(), {net.name})
    return replan(old, net, nodes, {}, set(), {net.name}, sig), _plan(net, nodes, {}, set(), {net.name}, sig)


def same(a: _Plan, b: _Plan) -> None:
    assert a.diagnostics == b.diagnostics
    assert a.order == b.order
    assert a.sources == b.sources
    assert a.inputs_ok == b.inputs_ok
    assert a.untyped == b.untyped
    assert (a.input_ids, a.output_ids) == (b.input_ids, b.output_ids)
    assert {k: sorted(v) for k, v in a.succ.items()} == {k: sorted(v) for k, v in b.succ.items()}


def claims_hold(old: _Plan, new: _Plan) -> None:
    """An updated plan names (at least) every node whose wiring or diagnostics changed."""
    if new.rewired is None or new.diag_nodes is None:
        return
    moved = {n for n in new.order if new.sources[n] != old.sources.get(n)
             or new.inputs_ok[n] != old.inputs_ok.get(n)}
    assert moved <= new.rewired
    assert {d.node for d in set(old.diagnostics) ^ set(new.diagnostics) if d.node} <= new.diag_nodes


def random_edit(net: Network, rng: random.Random, counter: list[int]) -> None:
    ids = [n.id for n in net.nodes]
    kind = rng.randrange(7)
    if kind == 0:  # a node, somewhere in the document (undo puts one back where it was)
        counter[0] += 1
        t = rng.choice(TYPES)
        params: dict[str, Any] = {"out_features": 4} if t == "Linear" else {"chunks": 3} if t == "Chunk" else {}
        net.nodes.insert(rng.randrange(len(net.nodes) + 1), Node(f"n{counter[0]}", t, params, (0, 0)))
    elif kind == 1 and ids:  # delete a node and its wires (rarely: leave a wire dangling)
        victim = rng.choice(ids)
        net.nodes = [n for n in net.nodes if n.id != victim]
        if rng.random() < 0.9:
            net.edges = [e for e in net.edges if victim not in (e.src, e.dst)]
    elif kind in (2, 3) and len(ids) > 1:  # a wire, maybe to a port that is taken, or back
        a, b = rng.sample(ids, 2) if rng.random() < 0.95 else (ids[0], ids[0])
        net.edges.insert(rng.randrange(len(net.edges) + 1), Edge(a, b, rng.randrange(3), rng.randrange(3)))
    elif kind == 4 and net.edges:
        net.edges.pop(rng.randrange(len(net.edges)))
    elif kind == 5 and ids:  # a type or output-count change
        node = net.nodes[rng.randrange(len(net.nodes))]
        if node.type == "Chunk":
            node.params = {"chunks": rng.choice([2, 3, 4])}
        else:
            node.type = rng.choice(TYPES)
    elif kind == 6 and len(net.nodes) > 1:  # nodes reordered in the document
        i, j = rng.sample(range(len(net.nodes)), 2)
        net.nodes[i], net.nodes[j] = net.nodes[j], net.nodes[i]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**9), st.integers(3, 14))
def test_an_updated_plan_equals_a_rebuilt_one(seed: int, n: int) -> None:
    rng = random.Random(seed)
    net = chain(n)
    plan, _ = build(net, None)
    counter = [0]
    for _ in range(25):
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            random_edit(net, rng, counter)
        new, fresh = build(net, plan)
        same(new, fresh)
        claims_hold(plan, new)
        plan = new


def test_the_designers_common_edits_take_the_cheap_path() -> None:
    net = chain(40)
    plan, _ = build(net, None)
    steps = [
        lambda: net.nodes.append(Node("extra", "ReLU", {}, (0, 0))),  # add a node
        lambda: net.edges.append(Edge("linear3", "extra")),  # connect it (src earlier)
        lambda: net.edges.pop(),  # undo
        lambda: setattr(net, "nodes", net.nodes[:-1]),  # delete it
        lambda: setattr(net, "edges", [e for e in net.edges if "relu20" not in (e.src, e.dst)]),  # cut
        lambda: net.nodes.pop(20),  # delete relu20 (now without wires)
    ]
    for step in steps:
        step()
        new, fresh = build(net, plan)
        same(new, fresh)
        assert new.rewired is not None, step
        plan = new
    # The cut left the first 20 nodes unused: each one's warning, in document order.
    assert [d.node for d in plan.diagnostics if d.severity == "warning"] == [n.id for n in net.nodes[:20]]


def test_a_wire_closing_a_cycle_is_reported_by_the_rebuild() -> None:
    net = chain(6)
    plan, _ = build(net, None)
    net.edges[0] = Edge("relu4", "linear1")  # in place of input1 -> linear1
    new, fresh = build(net, plan)
    same(new, fresh)
    assert new.rewired is None and any("cycle" in d.message for d in new.diagnostics)


def test_analysis_with_local_edits_matches_a_fresh_analysis() -> None:
    doc = Document([chain(30)])
    net = doc.main
    analyzer = Analyzer()
    analyzer.analyze(doc)
    net.nodes.insert(5, Node("side", "Linear", {"out_features": 3}, (0, 0)))
    net.edges.append(Edge("relu2", "side"))
    inc = analyzer.analyze(doc, {"Model": {"side"}})
    assert analyzer._plans["Model"].rewired is not None  # the plan was updated, not rebuilt
    fresh = Analyzer().analyze(doc)
    assert inc.diagnostics == fresh.diagnostics
    assert inc.networks["Model"].order == fresh.networks["Model"].order
    assert inc.changed is not None and "side" in inc.changed["Model"]
