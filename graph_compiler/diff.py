"""Model diff: what changed between two designs, network by network (docs/diff.md).

Networks are matched by name. Nodes are matched by id first; the nodes left over on both
sides are then matched by structure (same type, and the most neighbours already matched
to each other, or failing that the same neighbour types), so a renamed node is reported as
renamed rather than as one removal and one addition. Positions (layout) do not count.

Each matched node reports its type, label and parameter changes (parameters compared with
the catalog defaults, or a block's declared defaults, filled in, so writing a default out
is not a change); a network also reports its block parameters (declared, dropped, renamed
(graph_compiler/diff_renames.py) or with another default) and its ties (shared weights)
added or removed; the analysis of
both sides adds the output shapes, parameter counts and FLOPs that change in consequence,
on edited nodes and downstream of them. Wires are compared through the node matching: an
input port fed from somewhere else is "rewired", the rest are added or removed.

Pure Python: the CLI (`netwright diff`) and the designer's Compare overlay both use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_compiler.analysis import Analysis, Analyzer
from graph_compiler.catalog import get_spec
from graph_compiler.catalog.spec import REQUIRED, fmt_shape
from graph_compiler.diff_renames import fold_renames
from graph_compiler.document import Document, Network, Node

FORMAT = "netwright-diff"
# 2: totals of an invalid side are null, with "invalid" and "reason"
# 3: per network, "block_params" (added, removed, changed defaults) and "ties" (added, removed)
VERSION = 3
Port = tuple[str, int]  # (node id, port index)
WireKey = tuple[str, int, str, int]  # (src, src_port, dst, dst_port)
TieKey = tuple[str, str, str, str]  # (node, param, to_node, to_param)
Declared = dict[str, dict[str, Any]]  # network name -> its block parameters (name -> default)


@dataclass
class NodeChange:
    """A node present on both sides (``old_id`` in A, ``id`` in B) that differs."""

    id: str
    old_id: str
    type: tuple[str, str] | None = None
    label: tuple[str, str] | None = None
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def renamed(self) -> bool:
        return self.id != self.old_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "old_id": self.old_id,
            "type": list(self.type) if self.type else None,
            "label": list(self.label) if self.label else None,
            "params": {k: [a, b] for k, a, b in ((k, *v) for k, v in self.params.items())},
        }


@dataclass
class NodeStats:
    """Output shape, parameter count and FLOPs of one node, as the analysis found them
    (``None``: unknown, the node could not be inferred)."""

    shape: str | None
    params: int | None
    flops: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"output_shape": self.shape, "params": self.params, "flops": self.flops}


@dataclass
class Rewire:
    """Input ``(dst, dst_port)`` (B's ids) is now fed from ``src`` instead of ``old_src``
    (both in B's ids; an old source that only exists in A keeps its A id)."""

    dst: str
    dst_port: int
    old_src: Port
    src: Port

    def to_dict(self) -> dict[str, Any]:
        return {"dst": self.dst, "dst_port": self.dst_port, "old_src": self.old_src[0],
                "old_src_port": self.old_src[1], "src": self.src[0], "src_port": self.src[1]}


@dataclass
class Delta:
    """A total on both sides. A side whose network has errors has no total (``None``):
    counting what could be inferred would report a made-up delta."""

    a: int | None
    b: int | None
    errors_a: int = 0  # errors in the network on that side (why its total is unknown)
    errors_b: int = 0
    network: str = ""  # B's network (A's when only A has it)
    network_a: str = ""  # A's, where the main networks are named differently

    @property
    def delta(self) -> int | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def invalid(self) -> list[str]:
        """The sides ("a", "b") whose total is unknown."""
        return [side for side, v in (("a", self.a), ("b", self.b)) if v is None]

    def reason(self, a_name: str, b_name: str) -> str | None:
        """Why the delta is unknown, naming the invalid side(s); None when it is known."""
        parts = []
        for side, name, n, net in (("a", a_name, self.errors_a, self.network_a or self.network),
                                   ("b", b_name, self.errors_b, self.network)):
            if side in self.invalid:
                errs = f"{n} error{'s' * (n != 1)}" if n else "errors"
                parts.append(f"{name} is invalid ({errs} in network {net})")
        return "; ".join(parts) or None

    def to_dict(self, a_name: str = "A", b_name: str = "B") -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "delta": self.delta, "invalid": self.invalid,
                "reason": self.reason(a_name, b_name)}


@dataclass
class NetworkDiff:
    name: str
    status: str  # "added", "removed", "changed" or "unchanged"
    added: dict[str, NodeStats] = field(default_factory=dict)  # B ids
    removed: dict[str, NodeStats] = field(default_factory=dict)  # A ids
    changed: list[NodeChange] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # node id -> type, for both sides
    wires_added: list[WireKey] = field(default_factory=list)  # B ids
    wires_removed: list[WireKey] = field(default_factory=list)  # A ids
    rewired: list[Rewire] = field(default_factory=list)
    shapes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # B id -> (A, B)
    counts: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # B id -> params (A, B)
    params: Delta = field(default_factory=lambda: Delta(0, 0))
    flops: Delta = field(default_factory=lambda: Delta(0, 0))
    matched: dict[str, str] = field(default_factory=dict)  # A id -> B id
    params_added: dict[str, Any] = field(default_factory=dict)  # block parameter -> B's default
    params_removed: dict[str, Any] = field(default_factory=dict)  # -> A's default
    params_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # -> (A's, B's) default
    params_renamed: dict[str, str] = field(default_factory=dict)  # A's name -> B's name
    ties_added: list[TieKey] = field(default_factory=list)  # B ids
    ties_removed: list[TieKey] = field(default_factory=list)  # A ids

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.wires_added
                    or self.wires_removed or self.rewired or self.params_added or self.params_removed
                    or self.params_changed or self.params_renamed or self.ties_added or self.ties_removed)

    def to_dict(self, a_name: str = "A", b_name: str = "B") -> dict[str, Any]:
        def wire(k: WireKey) -> dict[str, Any]:
            return {"src": k[0], "src_port": k[1], "dst": k[2], "dst_port": k[3]}

        def tie(k: TieKey) -> dict[str, Any]:
            return {"node": k[0], "param": k[1], "to_node": k[2], "to_param": k[3]}

        return {
            "name": self.name, "status": self.status,
            "nodes": {
                "added": [{"id": i, "type": self.types.get(i, ""), **s.to_dict()} for i, s in self.added.items()],
                "removed": [{"id": i, "type": self.types.get(i, ""), **s.to_dict()} for i, s in self.removed.items()],
                "changed": [c.to_dict() for c in self.changed],
            },
            "edges": {
                "added": [wire(k) for k in self.wires_added],
                "removed": [wire(k) for k in self.wires_removed],
                "rewired": [r.to_dict() for r in self.rewired],
            },
            "block_params": {
                "added": dict(self.params_added),
                "removed": dict(self.params_removed),
                "changed": {k: [a, b] for k, (a, b) in self.params_changed.items()},
                "renamed": dict(self.params_renamed),
            },
            "ties": {"added": [tie(k) for k in self.ties_added], "removed": [tie(k) for k in self.ties_removed]},
            "shapes": [{"id": i, "old": a, "new": b} for i, (a, b) in self.shapes.items()],
            "counts": [{"id": i, "old": a, "new": b} for i, (a, b) in self.counts.items()],
            "params": self.params.to_dict(a_name, b_name),
            "flops": self.flops.to_dict(a_name, b_name),
        }


@dataclass
class DocumentDiff:
    a: str
    b: str
    networks: list[NetworkDiff]
    training: dict[str, tuple[Any, Any]]
    params: Delta  # of the main networks
    flops: Delta

    @property
    def identical(self) -> bool:
        return not self.training and all(n.status == "unchanged" for n in self.networks)

    def network(self, name: str) -> NetworkDiff | None:
        return next((n for n in self.networks if n.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "a": self.a, "b": self.b,
            "identical": self.identical,
            "networks": [n.to_dict(self.a, self.b) for n in self.networks],
            "training": {k: [a, b] for k, (a, b) in self.training.items()},
            "totals": {"params": self.params.to_dict(self.a, self.b),
                       "flops": self.flops.to_dict(self.a, self.b)},
        }


# ---------------------------------------------------------------- matching


def _with_defaults(node: Node, declared: Declared | None = None) -> dict[str, Any]:
    """Params with the catalog's defaults filled in; a block node's with its network's
    declared defaults (``declared``), so a value written out at its default is no change."""
    spec = get_spec(node.type)
    out = dict(node.params)
    if spec is not None:
        for p in spec.params:
            if p.name not in out and p.default is not REQUIRED:
                out[p.name] = p.default
    elif declared is not None:
        for name, default in declared.get(node.type, {}).items():
            out.setdefault(name, default)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as values: 1 and True differ; 2 and 2.0, [3, 3] and (3, 3) do not."""
    return bool(_tagged(a) == _tagged(b))


def _tagged(v: Any) -> Any:
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (list, tuple)):
        return tuple(_tagged(x) for x in v)
    if isinstance(v, dict):
        return ("dict", tuple(sorted((str(k), _tagged(x)) for k, x in v.items())))
    return v


def _declared(doc: Document, other: Document) -> Declared:
    """``doc``'s block parameter defaults, of the parameters ``other`` declares too: a
    block node's value left at such a default is compared as that default. A parameter
    declared on one side only is compared as written (its declaration's own change is
    reported once, on its network, not on every use)."""
    out: Declared = {}
    for net in doc.networks:
        theirs = other.network(net.name)
        common = {k: v for k, v in net.params.items() if theirs is not None and k in theirs.params}
        if common:
            out[net.name] = common
    return out


def _norm(v: Any) -> Any:
    """Lists and tuples compare alike ([3, 3] in a file, (3, 3) as a default)."""
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    return v


def jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    return v


def match_nodes(a: Network, b: Network, declared_a: Declared | None = None,
                declared_b: Declared | None = None) -> dict[str, str]:
    """A id -> B id: by id, then by structure for the nodes left over (renames)."""
    b_ids = {n.id for n in b.nodes}
    mapping = {n.id: n.id for n in a.nodes if n.id in b_ids}
    left_a = [n for n in a.nodes if n.id not in mapping]
    left_b = [n for n in b.nodes if n.id not in set(mapping.values())]
    if not left_a or not left_b:
        return mapping
    a_nbrs = _neighbours(a)
    b_nbrs = _neighbours(b)
    a_types = {n.id: n.type for n in a.nodes}
    b_types = {n.id: n.type for n in b.nodes}
    a_params = {n.id: _norm(_with_defaults(n, declared_a)) for n in left_a}
    b_params = {n.id: _norm(_with_defaults(n, declared_b)) for n in left_b}
    while True:  # each round's matches can anchor the next round's
        best: list[tuple[int, int, int, str, str]] = []
        for i, na in enumerate(left_a):
            for j, nb in enumerate(left_b):
                if na.type != nb.type:
                    continue
                anchored = sum(1 for d, pa in a_nbrs[na.id] for e, pb in b_nbrs[nb.id]
                               if d == e and mapping.get(pa) == pb)
                same_types = (sorted((d, a_types[p]) for d, p in a_nbrs[na.id])
                              == sorted((d, b_types[p]) for d, p in b_nbrs[nb.id]))
                if anchored == 0 and not same_types:
                    continue
                score = 4 * anchored + 2 * int(same_types) + int(a_params[na.id] == b_params[nb.id])
                best.append((-score, i, j, na.id, nb.id))
        if not best:
            return mapping
        best.sort()
        used_a: set[str] = set()
        used_b: set[str] = set()
        for _, _, _, ia, ib in best:
            if ia not in used_a and ib not in used_b:
                mapping[ia] = ib
                used_a.add(ia)
                used_b.add(ib)
        left_a = [n for n in left_a if n.id not in used_a]
        left_b = [n for n in left_b if n.id not in used_b]
        if not left_a or not left_b:
            return mapping


def _neighbours(net: Network) -> dict[str, list[tuple[str, str]]]:
    """Node id -> [(direction and ports, neighbour id)] for every wire at the node."""
    out: dict[str, list[tuple[str, str]]] = {n.id: [] for n in net.nodes}
    for e in net.edges:
        if e.src in out and e.dst in out:
            out[e.src].append((f"out{e.src_port}>in{e.dst_port}", e.dst))
            out[e.dst].append((f"in{e.dst_port}<out{e.src_port}", e.src))
    return out


# ---------------------------------------------------------------- comparing


def _stats(analysis: Analysis, network: str, node_id: str) -> NodeStats:
    info = analysis.node(network, node_id)
    if info is None or info.outputs is None:
        return NodeStats(None, None, None)
    shapes = info.output_shapes
    shape = None if not shapes else "  ".join(fmt_shape(s) for s in shapes)
    return NodeStats(shape, info.n_params, info.flops)


def _network_totals(analysis: Analysis, name: str) -> tuple[int | None, int | None, int]:
    """(params, FLOPs, errors) of a network: the totals are None when it has errors."""
    info = analysis.networks.get(name)
    if info is None:
        return None, None, 0
    if not info.ok:
        return None, None, sum(1 for e in analysis.errors if e.network == name)
    return info.total_params, info.flops, 0


def _totals(an_a: Analysis | None, an_b: Analysis | None, a_name: str | None,
            b_name: str | None, network: str) -> tuple[Delta, Delta]:
    """Params and FLOPs deltas of a network; a side without it (None) counts 0."""
    pa, fa, ea = _network_totals(an_a, a_name) if an_a is not None and a_name is not None else (0, 0, 0)
    pb, fb, eb = _network_totals(an_b, b_name) if an_b is not None and b_name is not None else (0, 0, 0)
    return (Delta(pa, pb, ea, eb, network, a_name or network),
            Delta(fa, fb, ea, eb, network, a_name or network))


def diff_networks(a: Network, b: Network, an_a: Analysis, an_b: Analysis,
                  declared_a: Declared | None = None, declared_b: Declared | None = None) -> NetworkDiff:
    """``declared_a`` / ``declared_b``: each side's block parameters by network, so a block
    node's values compare with its block's defaults filled in."""
    mapping = match_nodes(a, b, declared_a, declared_b)
    back = {v: k for k, v in mapping.items()}
    a_map = a.node_map()
    nd = NetworkDiff(b.name, "unchanged", matched=dict(mapping))
    nd.types = {**{n.id: n.type for n in a.nodes}, **{n.id: n.type for n in b.nodes}}
    for n in b.nodes:
        if n.id not in back:
            nd.added[n.id] = _stats(an_b, b.name, n.id)
    for n in a.nodes:
        if n.id not in mapping:
            nd.removed[n.id] = _stats(an_a, a.name, n.id)
    for n in b.nodes:
        old_id = back.get(n.id)
        if old_id is None:
            continue
        na = a_map[old_id]
        change = NodeChange(n.id, old_id)
        if na.type != n.type:
            change.type = (na.type, n.type)
        if (na.label or "") != (n.label or ""):
            change.label = (na.label or "", n.label or "")
        pa, pb = _with_defaults(na, declared_a), _with_defaults(n, declared_b)
        for key in sorted(set(pa) | set(pb)):
            va, vb = pa.get(key), pb.get(key)
            if not _same(va, vb):
                change.params[key] = (jsonable(va), jsonable(vb))
        if change.type or change.label or change.params or change.renamed:
            nd.changed.append(change)
        sa, sb = _stats(an_a, a.name, old_id), _stats(an_b, b.name, n.id)
        if sa.shape != sb.shape:
            nd.shapes[n.id] = (sa.shape, sb.shape)
        if sa.params != sb.params:
            nd.counts[n.id] = (sa.params, sb.params)

    # Wires, in B's ids (an A-only end keeps its A id).
    def to_b(k: WireKey) -> WireKey:
        return (mapping.get(k[0], k[0]), k[1], mapping.get(k[2], k[2]), k[3])

    a_keys = {to_b(e.key): e.key for e in a.edges}
    b_keys = {e.key for e in b.edges}
    a_feed = {(k[2], k[3]): (k[0], k[1]) for k in a_keys}
    b_feed = {(k[2], k[3]): (k[0], k[1]) for k in b_keys}
    rewired_ports = {p for p in a_feed.keys() & b_feed.keys() if a_feed[p] != b_feed[p]
                     and p[0] in back}
    for p in sorted(rewired_ports):
        nd.rewired.append(Rewire(p[0], p[1], a_feed[p], b_feed[p]))
    nd.wires_added = [k for k in (e.key for e in b.edges)
                      if k not in a_keys and (k[2], k[3]) not in rewired_ports]
    nd.wires_removed = [a_keys[k] for k in a_keys
                        if k not in b_keys and (k[2], k[3]) not in rewired_ports]
    nd.params_added = {k: v for k, v in b.params.items() if k not in a.params}
    nd.params_removed = {k: v for k, v in a.params.items() if k not in b.params}
    nd.params_changed = {k: (a.params[k], v) for k, v in b.params.items()
                         if k in a.params and not _same(a.params[k], v)}
    a_ties = {(mapping.get(t.node, t.node), t.param, mapping.get(t.to_node, t.to_node), t.to_param):
              (t.node, t.param, t.to_node, t.to_param) for t in a.ties}
    b_ties = [(t.node, t.param, t.to_node, t.to_param) for t in b.ties]
    nd.ties_added = [k for k in b_ties if k not in a_ties]
    nd.ties_removed = [old for k, old in a_ties.items() if k not in set(b_ties)]
    nd.params, nd.flops = _totals(an_a, an_b, a.name, b.name, b.name)
    nd.status = "changed" if nd.differs else "unchanged"
    return nd


def diff_documents(a: Document, b: Document, an_a: Analysis | None = None,
                   an_b: Analysis | None = None) -> DocumentDiff:
    """Everything that differs from ``a`` (old) to ``b`` (new)."""
    an_a = an_a if an_a is not None else Analyzer().analyze(a)
    an_b = an_b if an_b is not None else Analyzer().analyze(b)
    declared_a, declared_b = _declared(a, b), _declared(b, a)
    nets: list[NetworkDiff] = []
    for nb in b.networks:
        na = a.network(nb.name)
        if na is None:
            nd = NetworkDiff(nb.name, "added")
            nd.added = {n.id: _stats(an_b, nb.name, n.id) for n in nb.nodes}
            nd.types = {n.id: n.type for n in nb.nodes}
            nd.params_added = dict(nb.params)
            nd.ties_added = [(t.node, t.param, t.to_node, t.to_param) for t in nb.ties]
            nd.params, nd.flops = _totals(None, an_b, None, nb.name, nb.name)
            nets.append(nd)
        else:
            nets.append(diff_networks(na, nb, an_a, an_b, declared_a, declared_b))
    for na in a.networks:
        if b.network(na.name) is None:
            nd = NetworkDiff(na.name, "removed")
            nd.removed = {n.id: _stats(an_a, na.name, n.id) for n in na.nodes}
            nd.types = {n.id: n.type for n in na.nodes}
            nd.params_removed = dict(na.params)
            nd.ties_removed = [(t.node, t.param, t.to_node, t.to_param) for t in na.ties]
            nd.params, nd.flops = _totals(an_a, None, na.name, None, na.name)
            nets.append(nd)
    ta, tb = a.training or {}, b.training or {}
    training = {k: (ta.get(k), tb.get(k)) for k in sorted(set(ta) | set(tb)) if ta.get(k) != tb.get(k)}
    fold_renames(nets, a, b)
    main_a = a.networks[0].name if a.networks else None
    main_b = b.networks[0].name if b.networks else None
    params, flops = _totals(an_a, an_b, main_a, main_b, main_b or main_a or "")
    return DocumentDiff(a.display_name, b.display_name, nets, training, params, flops)
