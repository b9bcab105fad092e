"""Validation and shape / parameter / FLOP inference.

``Analyzer.analyze(doc)`` reports every problem at once and infers each node's output
shapes, parameter count and forward FLOPs (batch 1, as torch.utils.flop_counter counts
them). Every catalog layer has closed-form rules, so analysis never imports torch; torch's
meta device (exact, allocates nothing) runs only for specs without rules, and
``Analyzer(use_meta=True)`` runs it for every node: tests check the rules against it.
Results are cached per node on (type, params, input types), so after an edit only nodes
whose params or inputs changed recompute.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph_compiler.catalog import REGISTRY, NodeSpec, Shape, ShapeError, fmt_shape
from graph_compiler.catalog.spec import REQUIRED, short_repr
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.graphs import ancestors_of, cycles, topological_order

ERROR = "error"
WARNING = "warning"

# Sanity limits: beyond these a size is a typo, and building the module would exhaust
# memory (or take minutes) instead of failing with a message.
MAX_VALUES = 1 << 31  # values in one sample of one tensor
MAX_NODE_PARAMS = 1 << 32  # parameters of one node (16 GiB as float32)
_MAX_CYCLE_REPORTS = 20


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # ERROR or WARNING
    network: str
    node: str | None
    message: str
    param: str | None = None

    def format(self, file: str | None = None) -> str:
        where = self.network + (f"/{self.node}" if self.node else "")
        prefix = f"{file}:" if file else ""
        tag = "" if self.severity == ERROR else "warning: "
        return f"{prefix}{where}: {tag}{self.message}"

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "network": self.network, "node": self.node,
                "param": self.param, "message": self.message}


@dataclass(frozen=True)
class TensorType:
    shape: Shape
    dtype: str = "float"  # "float" or "long"

    def __str__(self) -> str:
        return fmt_shape(self.shape)


@dataclass
class NodeInfo:
    id: str
    type: str
    params: dict[str, Any]  # resolved: defaults and inferred sizes filled in
    inputs: list[TensorType | None]
    outputs: list[TensorType] | None  # None when the node could not be inferred
    n_params: int = 0
    flops: int = 0

    @property
    def output_shapes(self) -> list[Shape] | None:
        return None if self.outputs is None else [t.shape for t in self.outputs]

    @property
    def output_shape(self) -> Shape | None:
        return self.outputs[0].shape if self.outputs else None


@dataclass
class NetworkInfo:
    name: str
    order: list[str]  # topological, document order breaking ties
    nodes: dict[str, NodeInfo]
    inputs: list[str]  # Input node ids, in document order
    outputs: list[str]  # Output node ids, in document order
    ok: bool = True

    @property
    def total_params(self) -> int:
        return sum(n.n_params for n in self.nodes.values())

    @property
    def flops(self) -> int:
        return sum(n.flops for n in self.nodes.values())

    def input_types(self) -> list[TensorType | None]:
        return [(self.nodes[i].outputs or [None])[0] for i in self.inputs if i in self.nodes]

    def output_types(self) -> list[TensorType | None]:
        out: list[TensorType | None] = []
        for o in self.outputs:
            info = self.nodes.get(o)
            out.append(info.outputs[0] if info and info.outputs else None)
        return out


@dataclass
class Analysis:
    diagnostics: list[Diagnostic]
    networks: dict[str, NetworkInfo]
    main: str | None
    # Per network, the nodes whose results or diagnostics may differ from the previous
    # analysis by the same Analyzer (networks not listed are unchanged); None: anything may.
    changed: dict[str, set[str]] | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def node(self, network: str, node_id: str) -> NodeInfo | None:
        net = self.networks.get(network)
        return net.nodes.get(node_id) if net else None

    def for_node(self, network: str, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.network == network and d.node == node_id]


@dataclass
class _Result:
    params: dict[str, Any]
    outputs: list[TensorType] | None
    n_params: int
    flops: int
    problems: list[tuple[str, str | None]]  # (message, param)


class BlockSpec:
    """A network used as a node: its Input nodes are the ports in, its Outputs the ports out."""

    def __init__(self, info: NetworkInfo) -> None:
        self.info = info
        self.type = info.name

    def fingerprint(self) -> tuple[Any, ...]:
        ins = tuple(str(t) if t else None for t in self.info.input_types())
        outs = tuple((t.shape, t.dtype) if t else None for t in self.info.output_types())
        return (self.info.name, ins, outs, self.info.total_params, self.info.flops, self.info.ok)


@dataclass
class _Wiring:
    """A network's edges, checked and indexed: what feeds each input port, and who
    follows whom (for cycles, reachability and order)."""

    feeds: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    ports: dict[str, list[int]] = field(default_factory=dict)  # node -> input ports fed
    succ: dict[str, list[str]] = field(default_factory=dict)
    pred: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _NetState:
    """One network's last results, kept so an edit re-walks only what it can affect."""

    info: NetworkInfo
    node_diags: dict[str, list[Diagnostic]]  # problems found while inferring, per node
    diagnostics: list[Diagnostic]  # the plan's, then the nodes', in order
    block_key: tuple[Any, ...]  # what users of this network as a block see of it


class Analyzer:
    """Analysis with a per-node cache, so re-analysing after an edit is incremental.

    ``recomputed`` lists the (network, node) pairs evaluated by the last ``analyze`` call
    (cache misses): after an edit, the edited node and those downstream whose inputs
    changed. ``walked`` lists the nodes visited at all; with ``changes`` (which nodes of
    which networks were edited since the last call on the same document) that is only the
    edited nodes and what their new results reach, instead of every node.
    """

    def __init__(self, use_meta: bool = False) -> None:
        self.use_meta = use_meta  # reference mode: every node on torch's meta device
        self._cache: dict[tuple[Any, ...], _Result] = {}
        self._plans: dict[str, _Plan] = {}
        self._states: dict[str, _NetState] = {}
        self._doc: Document | None = None
        self.recomputed: list[tuple[str, str]] = []
        self.walked: list[tuple[str, str]] = []

    def analyze(self, doc: Document, changes: dict[str, set[str]] | None = None) -> Analysis:
        """``changes``: {network: ids of nodes whose type or params changed, or that were
        added} since the previous call on this same document; networks whose wiring or
        node set changed must be listed too (even with no ids). Networks not listed are
        taken as unchanged. None (the default) re-checks everything."""
        self.recomputed = []
        self.walked = []
        if doc is not self._doc:
            changes = None
            self._doc = doc
        diags: list[Diagnostic] = []
        infos: dict[str, NetworkInfo] = {}
        names = [n.name for n in doc.networks]
        counts: dict[str, int] = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        for name in sorted(n for n, c in counts.items() if c > 1):
            diags.append(Diagnostic(ERROR, name, None, f"two networks are named {name!r}; names must be unique"))
        for name in names:
            if name in REGISTRY:
                diags.append(Diagnostic(ERROR, name, None,
                                        f"network name {name!r} clashes with the built-in node type {name}; rename it"))
        order, recursive = network_order(doc)
        for cycle in recursive:
            chain = " -> ".join([*cycle, cycle[0]])
            diags.append(Diagnostic(ERROR, cycle[0], None, f"recursive block reference: {chain}"))
        bad_nets = {n for c in recursive for n in c}
        net_names = set(names)
        if changes is not None and (set(self._states) != net_names or bad_nets or len(names) != len(net_names)):
            changes = None  # networks came or went: the cheap path's bookkeeping is void
        changed: dict[str, set[str]] | None = None if changes is None else {}
        moved_blocks: set[str] = set()  # networks whose face as a block changed
        for net in order:
            if net.name in infos:
                continue  # a duplicate name, reported above
            blocks = {k: BlockSpec(v) for k, v in infos.items()}
            dirty: set[str] | None = None
            if changes is not None:
                dirty = set(changes.get(net.name, ()))
                if moved_blocks:
                    dirty.update(n.id for n in net.nodes if n.type in moved_blocks)
                if net.name not in changes and not dirty:
                    state = self._states[net.name]  # untouched: last results stand
                    infos[net.name] = state.info
                    diags.extend(state.diagnostics)
                    continue
            touched: set[str] = set()
            infos[net.name] = self._analyze_network(net, blocks, bad_nets, net_names, diags, dirty, touched)
            if changed is not None:
                changed[net.name] = touched
            state = self._states[net.name]
            key = (*BlockSpec(state.info).fingerprint(), tuple(state.info.inputs), tuple(state.info.outputs))
            if changes is not None and key != state.block_key:
                moved_blocks.add(net.name)
            state.block_key = key
        for name in [n for n in self._states if n not in net_names]:
            del self._states[name]
        main = doc.networks[0].name if doc.networks else None
        if main is None:
            diags.append(Diagnostic(ERROR, "", None, "the document has no networks"))
        return Analysis(diags, infos, main, changed)

    # ------------------------------------------------------------ one network

    def _analyze_network(
        self, net: Network, blocks: dict[str, BlockSpec], bad_nets: set[str], net_names: set[str],
        diags: list[Diagnostic], dirty: set[str] | None = None, touched: set[str] | None = None,
    ) -> NetworkInfo:
        """Every node when ``dirty`` is None; otherwise only the ``dirty`` nodes, nodes whose
        wiring changed, and whatever their new outputs reach. ``touched`` collects the nodes
        whose results or diagnostics may have changed."""
        name = net.name
        nodes: dict[str, Node] = {}
        for n in net.nodes:
            nodes.setdefault(n.id, n)
        signature = _signature(net, blocks, bad_nets, net_names)
        old_plan = self._plans.get(name)
        plan = old_plan
        if plan is None or plan.signature != signature:
            plan = _plan(net, nodes, blocks, bad_nets, net_names, signature)
            self._plans[name] = plan
        prev = self._states.get(name)
        if prev is None or old_plan is None:
            dirty = None
        if dirty is not None and old_plan is not None and plan is not old_plan:
            dirty.update(nid for nid in plan.order if plan.sources[nid] != old_plan.sources.get(nid)
                         or plan.inputs_ok[nid] != old_plan.inputs_ok.get(nid))
            # Structural diagnostics (unwired ports, unused nodes) come and go with wiring.
            if touched is not None:
                touched.update(d.node for d in set(old_plan.diagnostics) ^ set(plan.diagnostics) if d.node)
        if prev is None or dirty is None:
            infos: dict[str, NodeInfo] = {}
            node_diags: dict[str, list[Diagnostic]] = {}
        else:
            infos = {nid: prev.info.nodes[nid] for nid in plan.order if nid in prev.info.nodes}
            node_diags = {nid: ds for nid, ds in prev.node_diags.items() if nid in infos}
        for nid in plan.order:
            old_info = infos.get(nid)
            if dirty is not None and old_info is not None and nid not in dirty:
                continue
            self.walked.append((name, nid))
            if touched is not None:
                touched.add(nid)
            node = nodes[nid]
            in_types: list[TensorType | None] = []
            upstream_ok = plan.inputs_ok[nid]
            for src in plan.sources[nid]:
                t = None
                if src is not None:
                    outs = infos[src[0]].outputs if src[0] in infos else None
                    t = outs[src[1]] if outs is not None and src[1] < len(outs) else None
                    upstream_ok = upstream_ok and t is not None
                in_types.append(t)
            info = NodeInfo(nid, node.type, dict(node.params), in_types, None)
            infos[nid] = info
            node_diags.pop(nid, None)
            spec = REGISTRY.get(node.type) or blocks.get(node.type)
            if spec is not None and nid not in plan.untyped:
                if isinstance(spec, BlockSpec):
                    result = _eval_block(spec, node, in_types, upstream_ok)
                else:
                    result = self._eval(name, spec, node, in_types, upstream_ok)
                # Copies: callers may change what they get; the cached result must not change.
                info.params = dict(result.params)
                info.outputs = None if result.outputs is None else list(result.outputs)
                info.n_params, info.flops = result.n_params, result.flops
                if result.problems:
                    node_diags[nid] = [Diagnostic(ERROR, name, nid, msg, param) for msg, param in result.problems]
            if dirty is not None and (old_info is None or old_info.outputs != info.outputs):
                dirty.update(plan.succ.get(nid, ()))
        net_diags = list(plan.diagnostics)
        if node_diags:
            net_diags.extend(d for nid in plan.order for d in node_diags.get(nid, ()))
        diags.extend(net_diags)
        ok = not any(d.severity == ERROR for d in net_diags)
        info_net = NetworkInfo(name, list(plan.order), infos, list(plan.input_ids), list(plan.output_ids), ok)
        block_key = prev.block_key if prev is not None else ()
        self._states[name] = _NetState(info_net, node_diags, net_diags, block_key)
        return info_net

    # ------------------------------------------------------------ one node

    def _eval(
        self, net: str, spec: NodeSpec, node: Node, in_types: list[TensorType | None], upstream_ok: bool
    ) -> _Result:
        key = (spec.type, _freeze(node.params), tuple(in_types), upstream_ok)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.recomputed.append((net, node.id))
        result = _evaluate(spec, node.params, in_types, upstream_ok, self.use_meta)
        if len(self._cache) > 200_000:  # bound the memory of a long editing session
            self._cache.clear()
        self._cache[key] = result
        return result


def analyze(doc: Document) -> Analysis:
    return Analyzer().analyze(doc)


def validate(doc: Document) -> list[Diagnostic]:
    return analyze(doc).diagnostics


# ---------------------------------------------------------------- structure


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
    specs = _resolve_types(nodes, blocks, bad_nets, net_names, name, err)
    wiring = _wire(net, nodes, specs, err)

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
    required: dict[int, int] = {}  # per spec object: most nodes share a few specs
    for nid, spec in specs.items():
        fed = wiring.ports.get(nid, [])
        ok = True
        n_req = required.get(id(spec))
        if n_req is None:
            n_req = required[id(spec)] = _n_required_inputs(spec)
        for port in range(n_req):
            if (nid, port) not in wiring.feeds:
                ok = False
                err(nid, f"input port {port} ({_input_name(spec, port)}) is not connected")
        if isinstance(spec, NodeSpec) and spec.variadic and fed:
            for port in range(len(spec.inputs), max(fed)):
                if (nid, port) not in wiring.feeds:
                    ok = False
                    err(nid, f"input port {port} ({_input_name(spec, port)}) is not connected, "
                        f"but port {max(fed)} is; connect {spec.type}'s inputs in order")
        inputs_ok[nid] = ok

    input_ids = [n.id for n in nodes.values() if n.type == "Input"]
    output_ids = [n.id for n in nodes.values() if n.type == "Output"]
    if not input_ids:
        err(None, "the network has no Input node")
    if not output_ids:
        err(None, "the network has no Output node")
    else:
        reach = ancestors_of(output_ids, wiring.pred)
        for nid in ids:
            if nid not in reach:
                err(nid, "does not reach any Output (its result is unused)", sev=WARNING)

    if in_cycle:
        order = topological_order([i for i in ids if i not in in_cycle], wiring.succ)
    sources: dict[str, list[tuple[str, int] | None]] = {}
    for nid in order:
        fed = wiring.ports.get(nid)
        sources[nid] = [wiring.feeds.get((nid, p)) for p in range(max(fed) + 1)] if fed else []
        inputs_ok.setdefault(nid, False)
    untyped = {nid for nid in nodes if nid not in specs}
    return _Plan(signature, diags, order, sources, inputs_ok, untyped, input_ids, output_ids, wiring.succ)


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


# ---------------------------------------------------------------- helpers


def _freeze(params: dict[str, Any]) -> Any:
    """A cache key for param values. repr() is exact for JSON values (1, 1.0 and True
    differ) and several times faster than json.dumps; dicts that differ only in key order
    merely miss the cache."""
    try:
        return repr(params)
    except RecursionError:
        return object()  # never equal to anything: recompute


def _n_outputs(spec: NodeSpec | BlockSpec, params: dict[str, Any]) -> int:
    if isinstance(spec, BlockSpec):
        return len(spec.info.outputs)
    if spec.num_outputs is not None:
        checked = check_params(spec, params)[0]
        return spec.output_count(checked)
    return len(spec.outputs)


def _n_inputs(spec: NodeSpec | BlockSpec) -> str:
    if isinstance(spec, BlockSpec):
        return str(len(spec.info.inputs))
    return f"{len(spec.inputs)} or more" if spec.variadic else str(len(spec.inputs))


def _has_input(spec: NodeSpec | BlockSpec, port: int) -> bool:
    if isinstance(spec, BlockSpec):
        return port < len(spec.info.inputs)
    return spec.variadic or port < len(spec.inputs)


def _n_required_inputs(spec: NodeSpec | BlockSpec) -> int:
    if isinstance(spec, BlockSpec):
        return len(spec.info.inputs)
    return sum(1 for p in spec.inputs if not p.optional)


def _input_name(spec: NodeSpec | BlockSpec, port: int) -> str:
    if isinstance(spec, BlockSpec):
        return spec.info.inputs[port] if port < len(spec.info.inputs) else f"in{port}"
    return spec.input_name(port)


def check_params(spec: NodeSpec, raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Defaults filled, values normalised, and a message for every bad param."""
    problems: list[tuple[str, str | None]] = []
    params: dict[str, Any] = {}
    for key in raw:
        if spec.param(key) is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            problems.append((f"unknown parameter {short_repr(key)} for {spec.type} (known: {known})", str(key)))
    for p in spec.params:
        if p.name in raw and not (raw[p.name] is None and p.inferred):
            value, msg = p.check(raw[p.name])
            if msg:
                problems.append((f"{spec.type}: {msg}", p.name))
            else:
                params[p.name] = value
        elif p.default is not REQUIRED:
            params[p.name] = p.default
        elif not p.inferred:
            problems.append((f"{spec.type}: required parameter {p.name!r} is missing ({p.doc})", p.name))
    return params, problems


def _out_dtype(spec: NodeSpec, params: dict[str, Any], ins: Sequence[TensorType | None]) -> str:
    if spec.output_dtype == "same":
        return ins[0].dtype if ins and ins[0] else "float"
    if spec.output_dtype.startswith("param:"):
        return "long" if params.get(spec.output_dtype[6:]) == "int64" else "float"
    return spec.output_dtype


def _dtype_problem(spec: NodeSpec, ins: Sequence[TensorType]) -> str | None:
    if spec.input_dtype == "any":
        if spec.output_dtype == "same" and len({t.dtype for t in ins}) > 1:
            return f"{spec.type}: inputs mix int64 and float values ({', '.join(map(str, ins))})"
        return None
    for t in ins:
        if t.dtype == spec.input_dtype:
            continue
        if t.dtype == "long":
            return f"{spec.type} expects float values, gets int64 token ids {t}; add an Embedding?"
        return f"{spec.type} expects int64 token ids, gets float values {t}; set the Input's dtype to int64"
    return None


def _evaluate(spec: NodeSpec, raw: dict[str, Any], in_types: list[TensorType | None], upstream_ok: bool,
              use_meta: bool = False) -> _Result:
    params, problems = check_params(spec, raw)
    if problems or not upstream_ok:
        return _Result(params, None, 0, 0, problems)
    ins = [t for t in in_types if t is not None]
    msg = _dtype_problem(spec, ins)
    if msg:
        return _Result(params, None, 0, 0, [(msg, None)])
    # Unfed optional ports stay None, so port numbers keep their meaning (MHA's value).
    shapes: list[Any] = [t.shape if t is not None else None for t in in_types]
    try:
        if spec.resolve is not None:
            params = spec.resolve(params, shapes)
        runs_torch = spec.module is not None or spec.init is not None or spec.forward is not None
        if spec.shape is not None and spec.count is not None and not (use_meta and runs_torch):
            out_shapes = spec.shape(params, shapes)
            n_params, flops = spec.count(params, shapes, out_shapes)
        else:
            if spec.shape is not None:
                spec.shape(params, shapes)  # its message is clearer than torch's
            out_shapes, n_params, flops = meta_run(spec, params, in_types)
    except ShapeError as exc:
        return _Result(params, None, 0, 0, [(str(exc), exc.param)])
    except Exception as exc:  # noqa: BLE001 - a bug in a rule must not crash the designer
        return _failed(params, f"{spec.type}: internal error while inferring shapes ({type(exc).__name__}: "
                               f"{short_repr(str(exc), 120)}); please report this")
    dtype = _out_dtype(spec, params, ins)
    outputs = [TensorType(tuple(s), dtype) for s in out_shapes]
    for t in outputs:
        values = 1
        for d in t.shape[1:]:
            values *= d
        if values > MAX_VALUES:
            return _failed(params, f"{spec.type}: output {t} has {values:,} values per sample "
                                   f"(more than {MAX_VALUES:,}); is a size a typo?")
    if n_params > MAX_NODE_PARAMS:
        return _failed(params, f"{spec.type}: {n_params:,} parameters (more than {MAX_NODE_PARAMS:,}) "
                               "would not fit in memory; is a size a typo?")
    return _Result(params, outputs, n_params, flops, [])


def _failed(params: dict[str, Any], message: str, param: str | None = None) -> _Result:
    return _Result(params, None, 0, 0, [(message, param)])


def _eval_block(spec: BlockSpec, node: Node, in_types: list[TensorType | None], upstream_ok: bool) -> _Result:
    problems: list[tuple[str, str | None]] = []
    for k in node.params:
        problems.append((f"unknown parameter {short_repr(k)}: a block node takes no parameters", str(k)))
    info = spec.info
    if not info.ok:
        problems.append((f"block {spec.type!r} has errors; fix that network first", None))
    if problems or not upstream_ok:
        return _Result({}, None, 0, 0, problems)
    declared = info.input_types()
    for port, (want, got) in enumerate(zip(declared, in_types)):
        if want is None or got is None:
            continue
        if want.shape[1:] != got.shape[1:] or want.dtype != got.dtype:
            kind = "" if want.dtype == got.dtype else f" ({want.dtype} vs {got.dtype})"
            message = (f"block {spec.type!r} expects {want} on port {port} "
                       f"(its Input {info.inputs[port]!r}), gets {got}{kind}")
            problems.append((message, None))
    outs = info.output_types()
    if problems or any(o is None for o in outs):
        return _Result({}, None, 0, 0, problems)
    batch = in_types[0].shape[0] if in_types and in_types[0] else 1
    outputs = [TensorType((batch, *o.shape[1:]), o.dtype) for o in outs if o is not None]
    return _Result({}, outputs, info.total_params, info.flops, [])


def meta_run(spec: NodeSpec, params: dict[str, Any],
             ins: Sequence[TensorType | None]) -> tuple[list[Shape], int, int]:
    """Build the node on the meta device and run it: exact shapes, params and FLOPs.

    The reference for the closed-form rules, and the fallback for specs without them.
    The first call in a process imports torch and sets up the flop counter (~3 s)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from graph_compiler.catalog.support import namespace

    ns = dict(namespace())
    try:
        ctor = spec.constructor(params)
        with torch.device("meta"):
            module = eval(ctor, ns) if ctor else None
        local: dict[str, Any] = {"m": module}
        in_names: list[str | None] = []
        for i, t in enumerate(ins):
            if t is None:
                in_names.append(None)  # an unfed optional port, as codegen passes it
                continue
            dtype = torch.long if t.dtype == "long" else torch.float32
            local[f"in{i}"] = torch.empty(t.shape, dtype=dtype, device="meta")
            in_names.append(f"in{i}")
        n_out = spec.output_count(params)
        out_names = [f"out{i}" for i in range(n_out)]
        lines = spec.forward_lines("m" if module is not None else None, in_names, out_names,  # type: ignore[arg-type]
                                   params)
        if module is not None:
            module.eval()
        with FlopCounterMode(display=False) as counter:
            exec("\n".join(lines), ns, local)  # noqa: S102 - catalog text, not user text
        outs = [tuple(local[o].shape) for o in out_names]
        n_params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        return outs, n_params, int(counter.get_total_flops())
    except ShapeError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch's own complaint, made readable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(f"{spec.type}: {first}") from None


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


_network_order = network_order  # the old private name, still used by older callers


__all__ = [
    "ERROR", "WARNING", "Analysis", "Analyzer", "BlockSpec", "Diagnostic", "NetworkInfo", "NodeInfo",
    "TensorType", "analyze", "check_params", "meta_run", "network_order", "topo_nodes", "validate",
]
