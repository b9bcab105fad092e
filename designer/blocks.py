"""Group a selection into a block (a new network used as a node) and ungroup it again.

Both are pure: they return a new list of networks and leave the document alone, so the
model can push the swap as one undo step. Untouched networks, nodes and edges are shared
between the old and new lists (cheap for big files; the linear undo stack keeps it safe).
"""
from __future__ import annotations

import copy
import re

from designer.ops import IdAllocator, NetIndex
from graph_compiler.analysis import Analysis
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Document, Edge, Network, Node, Tie, make_ref, map_refs, refs_in

IO_TYPES = ("Input", "Output")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-]{0,63}$")


class BlockError(Exception):
    """Why a group / ungroup was refused (shown to the user)."""


def check_block_name(doc: Document, name: str) -> str | None:
    if not name or not _NAME_RE.match(name):
        return (f"{name!r} is not a usable block name: start with a letter, then letters, "
                "digits, spaces, '_' or '-' (at most 64)")
    if name in REGISTRY:
        return f"{name!r} is a built-in node type; pick another block name"
    if doc.network(name) is not None:
        return f"there is already a network called {name!r}"
    return None


def group(doc: Document, net: Network, ids: list[str], name: str,
          analysis: Analysis) -> tuple[list[Network], str]:
    """(new networks, id of the block node that replaces the selection)."""
    problem = check_block_name(doc, name)
    if problem:
        raise BlockError(problem)
    index = NetIndex.build(net)
    # In document order, not selection order: the same nodes always make the same block.
    wanted = set(ids)
    chosen = [n.id for n in net.nodes if n.id in wanted]
    if not chosen:
        raise BlockError("select the nodes to group first")
    sel = set(chosen)
    io = [nid for nid in chosen if index.nodes[nid].type in IO_TYPES]
    if io:
        raise BlockError(f"{io[0]} is an {index.nodes[io[0]].type} node; a block's inputs and "
                         "outputs are made for you, so leave Input and Output nodes out")
    incoming = [e for e in net.edges if e.dst in sel and e.src not in sel]
    outgoing = [e for e in net.edges if e.src in sel and e.dst not in sel]
    back = index.descendants({e.dst for e in outgoing}) & sel
    if back:
        raise BlockError(f"cannot group: a path leaves the selection and comes back into "
                         f"{min(back)}, which would make a cycle; add the nodes on that path")

    cut = [t for t in net.ties if (t.node in sel) != (t.to_node in sel)]
    if cut:
        raise BlockError(f"cannot group: {cut[0].node}.{cut[0].param} is tied to {cut[0].to_node}."
                         f"{cut[0].to_param}; select both nodes or neither")

    nodes = [index.nodes[nid] for nid in chosen]
    xs, ys = [n.pos[0] for n in nodes], [n.pos[1] for n in nodes]
    alloc = IdAllocator(sel)
    inner: list[Node] = [copy.deepcopy(n) for n in nodes]
    inner_edges = [copy.deepcopy(e) for e in net.edges if e.src in sel and e.dst in sel]

    # One block input per distinct outside source port: two selected nodes reading the same
    # tensor share one input, as they would in hand-written code.
    in_ports: dict[tuple[str, int], int] = {}
    for e in incoming:
        src = (e.src, e.src_port)
        if src not in in_ports:
            info = analysis.node(net.name, e.src)
            if info is None or not info.outputs or e.src_port >= len(info.outputs):
                raise BlockError(f"the shape of {e.src} is not known yet (fix its errors "
                                 "first), so the block's input cannot be typed")
            t = info.outputs[e.src_port]
            params: dict = {"shape": list(t.shape[1:])}
            if t.dtype == "long":
                params["dtype"] = "int64"
            k = len(in_ports)
            in_ports[src] = k
            inner.insert(k, Node(alloc.new("Input"), "Input", params,
                                 (min(xs) - 260.0, min(ys) + 130.0 * k)))
        inner_edges.append(Edge(inner[in_ports[src]].id, e.dst, 0, e.dst_port))
    out_ports: dict[tuple[str, int], int] = {}
    for e in outgoing:
        src = (e.src, e.src_port)
        if src not in out_ports:
            k = out_ports[src] = len(out_ports)
            oid = alloc.new("Output")
            inner.append(Node(oid, "Output", {}, (max(xs) + 260.0, min(ys) + 130.0 * k)))
            inner_edges.append(Edge(e.src, oid, e.src_port, 0))
    # Block parameters of the host that the chosen nodes refer to become the new block's,
    # passed on by its node: {"param": "width"} keeps meaning the host's width.
    used = [r for n in inner for v in n.params.values() for r in refs_in(v)]
    passed = {r: net.params[r] for r in dict.fromkeys(used) if r in net.params}
    block = Network(name, inner, inner_edges,
                    ties=[copy.deepcopy(t) for t in net.ties if t.node in sel], params=passed)

    host_alloc = IdAllocator(n.id for n in net.nodes if n.id not in sel)
    bid = host_alloc.new(name)
    host_nodes = [n for n in net.nodes if n.id not in sel]
    host_nodes.append(Node(bid, name, {r: make_ref(r) for r in passed}, (min(xs), sum(ys) / len(ys))))
    host_edges = [e for e in net.edges if e.src not in sel and e.dst not in sel]
    host_edges += [Edge(e.src, bid, e.src_port, in_ports[(e.src, e.src_port)]) for e in incoming]
    host_edges += [Edge(bid, e.dst, out_ports[(e.src, e.src_port)], e.dst_port) for e in outgoing]
    host = Network(net.name, host_nodes, host_edges, net.extra, [t for t in net.ties if t.node not in sel],
                   net.params)
    nets = [host if n is net else n for n in doc.networks]
    nets.append(block)
    return nets, bid


def ungroup(doc: Document, net: Network, node_id: str) -> tuple[list[Network], list[str]]:
    """(new networks, ids of the inlined nodes). The block's network is dropped when no
    other node uses it, so ungroup undoes a group exactly."""
    node = net.node(node_id)
    if node is None:
        raise BlockError(f"there is no node {node_id!r} in {net.name}")
    block = doc.network(node.type)
    if block is None or node.type in REGISTRY:
        raise BlockError(f"{node_id} is a {node.type}, not a block; only blocks can be ungrouped")
    if block is net:
        raise BlockError(f"{node_id} uses its own network; remove it instead")
    ins = [n.id for n in block.nodes if n.type == "Input"]
    outs = [n.id for n in block.nodes if n.type == "Output"]
    body = [n for n in block.nodes if n.type not in IO_TYPES]
    alloc = IdAllocator(n.id for n in net.nodes if n.id != node_id)
    rename = {n.id: alloc.new(n.type, prefer=n.id) for n in body}
    if body:
        cx = (min(n.pos[0] for n in body) + max(n.pos[0] for n in body)) / 2
        cy = (min(n.pos[1] for n in body) + max(n.pos[1] for n in body)) / 2
    else:
        cx = cy = 0.0
    new_nodes = []
    values = {**block.params, **{k: v for k, v in node.params.items() if k in block.params}}
    for n in body:
        c = copy.deepcopy(n)
        c.id = rename[n.id]
        # This use's values replace the block's parameters (a value that is itself a
        # reference to the host's parameter stays one).
        c.params = {k: map_refs(v, lambda r: copy.deepcopy(values[r]) if r in values else make_ref(r))
                    for k, v in c.params.items()}
        c.pos = (n.pos[0] - cx + node.pos[0], n.pos[1] - cy + node.pos[1])
        new_nodes.append(c)

    feeds = {e.dst_port: (e.src, e.src_port) for e in net.edges if e.dst == node_id}
    # Where each block output comes from, in host terms (an Input wired straight to an
    # Output passes the host tensor through).
    def source(src: str, port: int) -> tuple[str, int] | None:
        if src in rename:
            return rename[src], port
        if src in ins:
            return feeds.get(ins.index(src))
        return None

    new_edges: list[Edge] = []
    for e in block.edges:
        if e.dst in rename:
            s = source(e.src, e.src_port)
            if s is not None:
                new_edges.append(Edge(s[0], rename[e.dst], s[1], e.dst_port, dict(e.extra)))
    produced = {outs.index(e.dst): source(e.src, e.src_port) for e in block.edges if e.dst in outs}
    for e in net.edges:
        if e.src == node_id:
            s = produced.get(e.src_port)
            if s is not None:
                new_edges.append(Edge(s[0], e.dst, s[1], e.dst_port))

    new_ties = [Tie(rename[t.node], t.param, rename[t.to_node], t.to_param, dict(t.extra))
                for t in block.ties if t.node in rename and t.to_node in rename]
    host = Network(net.name, [n for n in net.nodes if n.id != node_id] + new_nodes,
                   [e for e in net.edges if node_id not in (e.src, e.dst)] + new_edges, net.extra,
                   [*net.ties, *new_ties], net.params)
    still_used = any(n.type == block.name for other in doc.networks if other is not net
                     for n in other.nodes) or any(n.type == block.name for n in host.nodes)
    nets = [host if n is net else n for n in doc.networks
            if not (n is block and not still_used and n is not doc.networks[0])]
    return nets, [n.id for n in new_nodes]
