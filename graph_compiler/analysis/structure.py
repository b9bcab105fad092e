"""What a network's structure alone decides: ports fed, cycles, order, reachability."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph_compiler.analysis.nodes import (
    BlockSpec,
    _freeze,
    _has_input,
    _input_name,
    _n_inputs,
    _n_outputs,
    _n_required_inputs,
)
from graph_compiler.analysis.results import _MAX_CYCLE_REPORTS, ERROR, WARNING, Diagnostic
from graph_compiler.catalog import REGISTRY, NodeSpec
from graph_compiler.catalog.spec import short_repr
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.graphs import ancestors_of, cycles, topological_order

# ---------------------------------------------------------------- structure


@dataclass
class _Wiring:
    """A network's edges, checked and indexed: what feeds each input port, and who
    follows whom (for cycles, reachability and order)."""

    feeds: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    ports: dict[str, list[int]] = field(default_factory=dict)  # node -> input ports fed
    succ: dict[str, list[str]] = field(default_factory=dict)
    pred: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Local:
    """What updating a plan after a local edit needs (graph_compiler/analysis/replan.py):
    the checked wiring and each node's structural diagnostics by kind. Kept only for a
    plan without duplicate ids, bad edges or cycles; the sets and indexes are filled in
    the first time an update needs them."""

    ids: list[str]  # the network's node ids, in document order
    specs: dict[str, NodeSpec | BlockSpec]
    wiring: _Wiring
    reach: set[str] | None  # nodes with a path to an Output; None when there is no Output
    type_diags: dict[str, Diagnostic]  # unknown or recursive node types
    port_diags: dict[str, list[Diagnostic]]  # unwired input ports
    unused: dict[str, Diagnostic]  # "does not reach any Output"
    node_set: set[tuple[Any, ...]] | None = None  # the signature's node and edge entries
    edge_set: set[tuple[Any, ...]] | None = None
    index: dict[str, int] | None = None  # each node's place in the order


@dataclass
class _Plan:
    """What a network's structure alone decides: its structural diagnostics, the order of
    inference, and where each node's inputs come from. Kept between analyses and rebuilt
    only when the structure changes, so an edit to one node's params costs little more
    than re-inferring that node and what follows it."""

    signature: tuple[Any, ...]
    diagnostics: list[Diagnostic]
    order: list[str]
    sources: dict[str, list[tuple[str, int] | None]]  # node -> what feeds each input port
    inputs_ok: dict[str, bool]  # required ports fed, no gaps
    untyped: set[str]  # nodes whose type cannot be resolved (reported)
    input_ids: list[str]
    output_ids: list[str]
    succ: dict[str, list[str]] = field(default_factory=dict)  # who reads each node
    local: _Local | None = None
    # Set by an incremental update: the nodes whose sources or inputs_ok, and the nodes
    # whose structural diagnostics, may differ from the plan it was derived from (None:
    # unknown, compare the two plans).
    rewired: set[str] | None = None
    diag_nodes: set[str] | None = None


def _signature(net: Network, blocks: dict[str, BlockSpec], bad_nets: set[str],
               net_names: set[str]) -> tuple[Any, ...]:
    """Everything the structural checks read. Params matter only where they set the
    number of output ports (Chunk, Split)."""
    nodes = []
    for n in net.nodes:
        spec = REGISTRY.get(n.type)
        extra = _freeze(n.params) if spec is not None and spec.num_outputs is not None else None
        nodes.append((n.id, n.type, extra))
    edges = tuple((e.src, e.src_port, e.dst, e.dst_port) for e in net.edges)
    block_ports = tuple(sorted((k, len(b.info.inputs), len(b.info.outputs), tuple(b.info.inputs))
                               for k, b in blocks.items()))
    return (tuple(nodes), edges, block_ports, frozenset(bad_nets), frozenset(net_names))


def _plan(net: Network, nodes: dict[str, Node], blocks: dict[str, BlockSpec], bad_nets: set[str],
          net_names: set[str], signature: tuple[Any, ...]) -> _Plan:
    name = net.name
    diags: list[Diagnostic] = []

    def err(node: str | None, msg: str, param: str | None = None, sev: str = ERROR) -> None:
        diags.append(Diagnostic(sev, name, node, msg, param))

    seen: set[str] = set()
    for n in net.nodes:
        if n.id in seen:
            err(n.id, f"duplicate node id {n.id!r}; ids must be unique within a network")
        seen.add(n.id)
    clean = not diags
    specs = _resolve_types(nodes, blocks, bad_nets, net_names, name, err)
    type_diags = {d.node: d for d in diags if d.node is not None}
    n_before_wiring = len(diags)
    wiring = _wire(net, nodes, specs, err)
    clean = clean and len(diags) == n_before_wiring

    in_cycle: set[str] = set()
    ids = list(nodes)
    order = topological_order(ids, wiring.succ)
    # Kahn's order leaves out exactly the nodes on or behind a cycle: a full order proves
    # there is none, and Tarjan (a third of a big network's structural check) is skipped.
    for i, cycle in enumerate(cycles(ids, wiring.succ) if len(order) < len(ids) else ()):
        in_cycle.update(cycle)
        if i < _MAX_CYCLE_REPORTS:
            chain = " -> ".join([*cycle, cycle[0]])
            err(cycle[0], f"cycle: {chain}; a network must not feed back into itself")

    inputs_ok: dict[str, bool] = {}
    port_diags: dict[str, list[Diagnostic]] = {}
    required: dict[int, int] = {}  # per spec object: most nodes share a few specs
    for nid, spec in specs.items():
        ok, found = _check_ports(name, nid, spec, wiring, required)
        inputs_ok[nid] = ok
        if found:
            port_diags[nid] = found
            diags.extend(found)

    input_ids = [n.id for n in nodes.values() if n.type == "Input"]
    output_ids = [n.id for n in nodes.values() if n.type == "Output"]
    _no_ends(name, input_ids, output_ids, diags)
    reach: set[str] | None = None
    unused: dict[str, Diagnostic] = {}
    if output_ids:
        reach = ancestors_of(output_ids, wiring.pred)
        for nid in ids:
            if nid not in reach:
                d = unused[nid] = _unused(name, nid)
                diags.append(d)

    if in_cycle:
        order = topological_order([i for i in ids if i not in in_cycle], wiring.succ)
    sources: dict[str, list[tuple[str, int] | None]] = {}
    for nid in order:
        sources[nid] = _sources(nid, wiring)
        inputs_ok.setdefault(nid, False)
    untyped = {nid for nid in nodes if nid not in specs}
    local = None
    if clean and not in_cycle:
        local = _Local(ids, specs, wiring, reach, type_diags, port_diags, unused)
    return _Plan(signature, diags, order, sources, inputs_ok, untyped, input_ids, output_ids, wiring.succ,
                 local)


def _check_ports(name: str, nid: str, spec: NodeSpec | BlockSpec, wiring: _Wiring,
                 required: dict[int, int]) -> tuple[bool, list[Diagnostic]]:
    """Whether a node's required input ports are fed, without gaps, and what is wrong."""
    found: list[Diagnostic] = []
    fed = wiring.ports.get(nid, [])
    n_req = required.get(id(spec))
    if n_req is None:
        n_req = required[id(spec)] = _n_required_inputs(spec)
    for port in range(n_req):
        if (nid, port) not in wiring.feeds:
            found.append(Diagnostic(ERROR, name, nid, f"input port {port} ({_input_name(spec, port)}) is not connected"))
    if isinstance(spec, NodeSpec) and spec.variadic and fed:
        for port in range(len(spec.inputs), max(fed)):
            if (nid, port) not in wiring.feeds:
                found.append(Diagnostic(ERROR, name, nid,
                                        f"input port {port} ({_input_name(spec, port)}) is not connected, "
                                        f"but port {max(fed)} is; connect {spec.type}'s inputs in order"))
    return not found, found


def _no_ends(name: str, input_ids: list[str], output_ids: list[str], diags: list[Diagnostic]) -> None:
    if not input_ids:
        diags.append(Diagnostic(ERROR, name, None, "the network has no Input node"))
    if not output_ids:
        diags.append(Diagnostic(ERROR, name, None, "the network has no Output node"))


def _unused(name: str, nid: str) -> Diagnostic:
    return Diagnostic(WARNING, name, nid, "does not reach any Output (its result is unused)")


def _sources(nid: str, wiring: _Wiring) -> list[tuple[str, int] | None]:
    fed_ports = wiring.ports.get(nid)
    return [wiring.feeds.get((nid, p)) for p in range(max(fed_ports) + 1)] if fed_ports else []


def _resolve_types(nodes: dict[str, Node], blocks: dict[str, BlockSpec], bad_nets: set[str],
                   net_names: set[str], name: str, err: Any) -> dict[str, NodeSpec | BlockSpec]:
    specs: dict[str, NodeSpec | BlockSpec] = {}
    for n in nodes.values():
        spec = REGISTRY.get(n.type)
        if spec is not None:
            specs[n.id] = spec
        elif n.type in bad_nets or (n.type in net_names and n.type not in blocks):
            err(n.id, f"block {n.type!r} cannot be used here (recursive reference)")
        elif n.type in blocks:
            specs[n.id] = blocks[n.type]
        else:
            options = list(REGISTRY.specs) + [b for b in blocks if b != name]
            close = difflib.get_close_matches(n.type, options, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            err(n.id, f"unknown node type {short_repr(n.type)}{hint}")
    return specs


# ---------------------------------------------------------------- wiring


def _wire(net: Network, nodes: dict[str, Node], specs: dict[str, NodeSpec | BlockSpec], err: Any) -> _Wiring:
    """Check every edge (endpoints, ports, a port fed twice) and index the good ones."""
    w = _Wiring(succ={n: [] for n in nodes}, pred={n: [] for n in nodes})
    n_out_cache: dict[str, int] = {}

    def label(e: Edge) -> str:  # only built for a message: big networks have many edges
        return f"edge {e.src}:{e.src_port} -> {e.dst}:{e.dst_port}"

    for e in net.edges:
        if e.src not in nodes or e.dst not in nodes:
            missing = e.dst if e.src in nodes else e.src
            at = e.src if e.src in nodes else e.dst if e.dst in nodes else None
            err(at, f"{label(e)} refers to missing node {missing!r}")
            continue
        ssrc, sdst = specs.get(e.src), specs.get(e.dst)
        if ssrc is not None:
            n_out = n_out_cache.get(e.src)
            if n_out is None:
                n_out = n_out_cache[e.src] = _n_outputs(ssrc, nodes[e.src].params)
            if e.src_port >= n_out:
                err(e.src, f"{label(e)}: {nodes[e.src].type} has no output port {e.src_port} (it has {n_out})")
                continue
        if sdst is not None and not _has_input(sdst, e.dst_port):
            err(e.dst, f"{label(e)}: {nodes[e.dst].type} has no input port {e.dst_port}"
                f" (it has {_n_inputs(sdst)})")
            continue
        key = (e.dst, e.dst_port)
        if key in w.feeds:
            other = w.feeds[key]
            err(e.dst, f"input port {e.dst_port} is fed twice (by {other[0]} and {e.src}); "
                "a port takes one wire - use an Add or Concat to combine them")
            continue
        w.feeds[key] = (e.src, e.src_port)
        w.ports.setdefault(e.dst, []).append(e.dst_port)
        w.succ[e.src].append(e.dst)
        w.pred[e.dst].append(e.src)
    return w


def topo_nodes(net: Network) -> Iterable[Node]:
    """The nodes of a network in topological order (document order breaks ties)."""
    by_id = net.node_map()
    succ: dict[str, list[str]] = {}
    for e in net.edges:
        if e.src in by_id and e.dst in by_id:
            succ.setdefault(e.src, []).append(e.dst)
    return (by_id[i] for i in topological_order(list(by_id), succ))


def network_order(doc: Document) -> tuple[list[Network], list[list[str]]]:
    """Networks so that blocks come before the networks that use them, plus any recursion
    (each cycle of networks using each other as blocks, as a list of names)."""
    names: dict[str, Network] = {}
    for n in doc.networks:
        names.setdefault(n.name, n)
    uses: dict[str, list[str]] = {name: [] for name in names}
    for net in doc.networks:
        for node in net.nodes:
            if node.type in names and node.type not in REGISTRY and node.type not in uses[net.name]:
                uses[net.name].append(node.type)
    order_names = list(names)
    found = cycles(order_names, uses)
    bad = {n for c in found for n in c}
    # Blocks first: a topological order of the "is used by" graph, document order on ties.
    used_by: dict[str, list[str]] = {n: [] for n in names if n not in bad}
    for user, used in uses.items():
        for u in used:
            if user not in bad and u not in bad:
                used_by[u].append(user)
    ok = topological_order([n for n in order_names if n not in bad], used_by)
    ordered = [names[n] for n in ok] + [names[n] for n in order_names if n not in set(ok)]
    return ordered, found
