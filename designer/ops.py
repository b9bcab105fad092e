"""Pure document helpers for the designer: readable ids, starting params, ports, and the
connection check. No Qt here, so they are cheap to test and the model stays small."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graph_compiler.analysis import check_params
from graph_compiler.catalog import REGISTRY, NodeSpec
from graph_compiler.document import Document, Edge, Network, Node

MAX_PORT = 1024  # the file format's own limit

# ---------------------------------------------------------------- ids


def id_stem(type_name: str) -> str:
    """'Conv2d' -> 'conv', 'BatchNorm2d' -> 'batchnorm', 'My Block' -> 'my_block'."""
    s = re.sub(r"[123]d$", "", type_name.strip()).lower()
    s = re.sub(r"[^a-z0-9_]+", "_", s).strip("_").rstrip("0123456789_")
    if not s or s[0].isdigit():
        s = "node" + s
    return s


class IdAllocator:
    """Hands out unique, readable ids ('linear1', 'linear2', ...) against a set of taken ids.
    One allocator per edit keeps bulk pastes linear instead of rescanning the network."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self._next: dict[str, int] = {}

    def new(self, type_name: str, prefer: str | None = None) -> str:
        if prefer and prefer not in self.taken:
            self.taken.add(prefer)
            return prefer
        stem = id_stem(type_name)
        i = self._next.get(stem, 1)
        while f"{stem}{i}" in self.taken:
            i += 1
        self._next[stem] = i + 1
        nid = f"{stem}{i}"
        self.taken.add(nid)
        return nid


# ---------------------------------------------------------------- starting params

# Only required, non-inferred params get a value, so a new node validates at once where it
# can while everything else stays at its (documented) default.
_STARTING: dict[str, Any] = {
    "out_features": 64, "out_channels": 16, "hidden_size": 64,
    "num_embeddings": 1000, "embedding_dim": 64,
}


def starting_params(spec: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in spec.params:
        if not p.required:
            continue
        if p.name in _STARTING:
            out[p.name] = _STARTING[p.name]
        elif p.name == "kernel_size":
            out[p.name] = 2 if spec.category == "Pooling" else 3
        elif spec.type == "Input" and p.name == "shape":
            out[p.name] = [1, 8, 8]
        elif spec.type == "Reshape" and p.name == "shape":
            out[p.name] = [-1]
        elif spec.type == "Permute" and p.name == "dims":
            out[p.name] = [0, 2, 1]
    return out


# ---------------------------------------------------------------- structure index


@dataclass
class NetIndex:
    """Adjacency for one network, rebuilt lazily after structural edits (the document keeps
    plain lists; scanning them per port check would make big graphs quadratic)."""

    nodes: dict[str, Node]
    ins: dict[str, list[Edge]]
    outs: dict[str, list[Edge]]
    _ancestors: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, net: Network) -> NetIndex:
        nodes = net.node_map()
        ins: dict[str, list[Edge]] = {n: [] for n in nodes}
        outs: dict[str, list[Edge]] = {n: [] for n in nodes}
        for e in net.edges:
            ins.setdefault(e.dst, []).append(e)
            outs.setdefault(e.src, []).append(e)
        return cls(nodes, ins, outs)

    def ancestors(self, node_id: str) -> set[str]:
        """Every node with a path into node_id (memoised: a wire drag asks per port)."""
        hit = self._ancestors.get(node_id)
        if hit is not None:
            return hit
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for e in self.ins.get(stack.pop(), ()):
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        self._ancestors[node_id] = seen
        return seen

    def descendants(self, node_ids: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(node_ids)
        while stack:
            for e in self.outs.get(stack.pop(), ()):
                if e.dst not in seen:
                    seen.add(e.dst)
                    stack.append(e.dst)
        return seen


# ---------------------------------------------------------------- ports


@dataclass(frozen=True)
class PortInfo:
    inputs: tuple[str, ...]  # names of the input ports shown (variadic: one spare at the end)
    outputs: tuple[str, ...]
    variadic: bool = False
    known: bool = True  # False for an unknown type: ports are whatever the wires use


def block_ports(block: Network) -> PortInfo:
    """A network used as a node: its Input nodes are its inputs, its Outputs its outputs,
    in document order (the order the analysis uses)."""
    ins = tuple(n.label or n.id for n in block.nodes if n.type == "Input")
    outs = tuple(n.label or n.id for n in block.nodes if n.type == "Output")
    return PortInfo(ins, outs)


def node_ports(doc: Document, node: Node, in_edges: list[Edge], out_edges: list[Edge]) -> PortInfo:
    spec = REGISTRY.get(node.type)
    if spec is not None:
        if spec.num_outputs is not None:
            n_out = spec.output_count(check_params(spec, node.params)[0])
        else:
            n_out = len(spec.outputs)
        outs = tuple(spec.output_name(i) for i in range(n_out))
        n_in = len(spec.inputs)
        if spec.variadic:
            n_in = max(n_in, max((e.dst_port + 2 for e in in_edges), default=0))
        return PortInfo(tuple(spec.input_name(i) for i in range(n_in)), outs, spec.variadic)
    block = doc.network(node.type)
    if block is not None:
        return block_ports(block)
    n_in = max((e.dst_port + 1 for e in in_edges), default=0)
    n_out = max((e.src_port + 1 for e in out_edges), default=0)
    return PortInfo(tuple(f"in{i}" for i in range(n_in)), tuple(f"out{i}" for i in range(n_out)),
                    known=False)


# ---------------------------------------------------------------- connection check

CYCLE = "cycle"
PORT_FED = "port_fed"
SAME_NODE = "same_node"
NO_SUCH_PORT = "no_such_port"
NO_SUCH_NODE = "no_such_node"


class Refusal(NamedTuple):
    """Why a connection cannot be made; ``kind`` is one of the constants above."""

    kind: str
    message: str


def check_connection(
    doc: Document, net: Network, index: NetIndex, src: str, src_port: int, dst: str, dst_port: int
) -> Refusal | None:
    for nid in (src, dst):
        if nid not in index.nodes:
            return Refusal(NO_SUCH_NODE, f"there is no node {nid!r} in {net.name}")
    if src == dst:
        return Refusal(SAME_NODE, f"cannot connect {src} to itself")
    s_node, d_node = index.nodes[src], index.nodes[dst]
    sp = node_ports(doc, s_node, index.ins[src], index.outs[src])
    if not 0 <= src_port < len(sp.outputs) and sp.known:
        return Refusal(NO_SUCH_PORT, f"{src} ({s_node.type}) has no output port {src_port}"
                       f" (it has {len(sp.outputs)})")
    dp = node_ports(doc, d_node, index.ins[dst], index.outs[dst])
    in_range = 0 <= dst_port <= MAX_PORT if dp.variadic else 0 <= dst_port < len(dp.inputs)
    if not in_range and dp.known:
        return Refusal(NO_SUCH_PORT, f"{dst} ({d_node.type}) has no input port {dst_port}"
                       f" (it has {len(dp.inputs)})")
    if not 0 <= src_port <= MAX_PORT or not 0 <= dst_port <= MAX_PORT:
        return Refusal(NO_SUCH_PORT, f"port numbers must be 0..{MAX_PORT}")
    for e in index.ins[dst]:
        if e.dst_port == dst_port:
            name = dp.inputs[dst_port] if dst_port < len(dp.inputs) else str(dst_port)
            return Refusal(PORT_FED, f"input '{name}' of {dst} is already fed by {e.src}; "
                           "remove that wire first, or merge both with an Add or Concat")
    if dst in index.ancestors(src):
        return Refusal(CYCLE, f"{src} -> {dst} would make a cycle: {dst} already feeds {src}")
    return None
