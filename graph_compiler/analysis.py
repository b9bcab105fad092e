"""Validation and shape / parameter / FLOP inference.

``Analyzer.analyze(doc)`` reports every problem at once and infers each node's output
shapes, parameter count and forward FLOPs (batch 1, as torch.utils.flop_counter counts
them). Common layers use closed-form rules; everything else runs on torch's meta device,
which is exact and allocates nothing. Results are cached per node on (type, params,
input shapes), so after an edit only nodes whose inputs or params changed recompute.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import networkx as nx

from graph_compiler.catalog import REGISTRY, NodeSpec, Shape, ShapeError, fmt_shape
from graph_compiler.catalog.spec import REQUIRED
from graph_compiler.document import Document, Network, Node

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    network: str
    node: str | None
    message: str
    param: str | None = None

    def format(self, file: str | None = None) -> str:
        where = self.network + (f"/{self.node}" if self.node else "")
        prefix = f"{file}:" if file else ""
        tag = "" if self.severity == ERROR else "warning: "
        return f"{prefix}{where}: {tag}{self.message}"

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
    order: list[str]  # topological
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


class Analyzer:
    """Analysis with a per-node cache, so re-analysing after an edit is incremental."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], _Result] = {}
        self.recomputed: list[tuple[str, str]] = []  # (network, node) evaluated in the last run

    def analyze(self, doc: Document) -> Analysis:
        self.recomputed = []
        diags: list[Diagnostic] = []
        infos: dict[str, NetworkInfo] = {}
        names = [n.name for n in doc.networks]
        for name in sorted({n for n in names if names.count(n) > 1}):
            diags.append(Diagnostic(ERROR, name, None, f"two networks are named {name!r}; names must be unique"))
        for name in names:
            if name in REGISTRY:
                diags.append(Diagnostic(ERROR, name, None,
                                        f"network name {name!r} clashes with the built-in node type {name}; rename it"))
        order, recursive = _network_order(doc)
        for cycle in recursive:
            chain = " -> ".join([*cycle, cycle[0]])
            diags.append(Diagnostic(ERROR, cycle[0], None, f"recursive block reference: {chain}"))
        bad_nets = {n for c in recursive for n in c}
        seen: set[str] = set()
        for net in order:
            if net.name in seen:
                continue
            seen.add(net.name)
            blocks = {k: BlockSpec(v) for k, v in infos.items()}
            infos[net.name] = self._analyze_network(net, blocks, bad_nets, set(names), diags)
        main = doc.networks[0].name if doc.networks else None
        if main is None:
            diags.append(Diagnostic(ERROR, "", None, "the document has no networks"))
        return Analysis(diags, infos, main)

    # ------------------------------------------------------------ one network

    def _analyze_network(
        self, net: Network, blocks: dict[str, BlockSpec], bad_nets: set[str], net_names: set[str],
        diags: list[Diagnostic],
    ) -> NetworkInfo:
        name = net.name
        start = len(diags)

        def err(node: str | None, msg: str, param: str | None = None, sev: str = ERROR) -> None:
            diags.append(Diagnostic(sev, name, node, msg, param))

        nodes: dict[str, Node] = {}
        for n in net.nodes:
            if n.id in nodes:
                err(n.id, f"duplicate node id {n.id!r}; ids must be unique within a network")
                continue
            nodes[n.id] = n

        specs: dict[str, NodeSpec | BlockSpec] = {}
        for n in nodes.values():
            spec = REGISTRY.get(n.type)
            if spec is not None:
                specs[n.id] = spec
            elif n.type in blocks:
                specs[n.id] = blocks[n.type]
            elif n.type in bad_nets or n.type in net_names:
                err(n.id, f"block {n.type!r} cannot be used here (recursive reference)")
            else:
                options = list(REGISTRY.specs) + [b for b in blocks if b != name]
                close = difflib.get_close_matches(n.type, options, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                err(n.id, f"unknown node type {n.type!r}{hint}")

        # Structural checks on edges: endpoints, ports, a port fed twice.
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes)
        feeds: dict[tuple[str, int], tuple[str, int]] = {}
        for e in net.edges:
            label = f"edge {e.src}:{e.src_port} -> {e.dst}:{e.dst_port}"
            missing = [x for x in (e.src, e.dst) if x not in nodes]
            if missing:
                err(missing[0] if e.src in nodes else e.dst if e.dst in nodes else None,
                    f"{label} refers to missing node {missing[0]!r}")
                continue
            ssrc, sdst = specs.get(e.src), specs.get(e.dst)
            if ssrc is not None and e.src_port >= _n_outputs(ssrc, nodes[e.src].params):
                err(e.src, f"{label}: {nodes[e.src].type} has no output port {e.src_port}"
                    f" (it has {_n_outputs(ssrc, nodes[e.src].params)})")
                continue
            if sdst is not None and not _has_input(sdst, e.dst_port):
                err(e.dst, f"{label}: {nodes[e.dst].type} has no input port {e.dst_port}"
                    f" (it has {_n_inputs(sdst)})")
                continue
            key = (e.dst, e.dst_port)
            if key in feeds:
                other = feeds[key]
                err(e.dst, f"input port {e.dst_port} is fed twice (by {other[0]} and {e.src}); "
                    "a port takes one wire - use an Add or Concat to combine them")
                continue
            feeds[key] = (e.src, e.src_port)
            graph.add_edge(e.src, e.dst)

        in_cycle: set[str] = set()
        for cycle in list(nx.simple_cycles(graph))[:5]:
            chain = " -> ".join([*cycle, cycle[0]])
            err(cycle[0], f"cycle: {chain}; a network must not feed back into itself")
            in_cycle.update(cycle)
        if in_cycle:
            # Find every node on any cycle, not only the first few reported.
            for comp in nx.strongly_connected_components(graph):
                if len(comp) > 1:
                    in_cycle.update(comp)
            in_cycle.update(n for n in graph if graph.has_edge(n, n))

        for nid, spec in specs.items():
            for port in range(_n_required_inputs(spec)):
                if (nid, port) not in feeds:
                    err(nid, f"input port {port} ({_input_name(spec, port)}) is not connected")

        input_ids = [n.id for n in nodes.values() if n.type == "Input"]
        output_ids = [n.id for n in nodes.values() if n.type == "Output"]
        if not input_ids:
            err(None, "the network has no Input node")
        if not output_ids:
            err(None, "the network has no Output node")
        else:
            reach = set(output_ids)
            for o in output_ids:
                reach |= nx.ancestors(graph, o)
            for nid in nodes:
                if nid not in reach:
                    err(nid, "does not reach any Output (its result is unused)", sev=WARNING)

        # Shape inference in topological order (document order breaks ties).
        position = {nid: i for i, nid in enumerate(nodes)}
        acyclic = graph.subgraph([n for n in graph if n not in in_cycle])
        order = list(nx.lexicographical_topological_sort(acyclic, key=lambda n: position[n]))
        infos: dict[str, NodeInfo] = {}
        for nid in order:
            node, spec = nodes[nid], specs.get(nid)
            n_in = max([p + 1 for (d, p) in feeds if d == nid], default=0)
            in_types: list[TensorType | None] = []
            for port in range(n_in):
                src = feeds.get((nid, port))
                src_info = infos.get(src[0]) if src else None
                if src and src_info and src_info.outputs and src[1] < len(src_info.outputs):
                    in_types.append(src_info.outputs[src[1]])
                else:
                    in_types.append(None)
            info = NodeInfo(nid, node.type, dict(node.params), in_types, None)
            infos[nid] = info
            if spec is None:
                continue
            upstream_ok = all(
                t is not None for p, t in enumerate(in_types) if (nid, p) in feeds
            ) and all((nid, p) in feeds for p in range(_n_required_inputs(spec)))
            if isinstance(spec, BlockSpec):
                result = self._eval_block(spec, node, in_types, upstream_ok)
            else:
                result = self._eval(name, spec, node, in_types, upstream_ok)
            info.params = result.params
            info.outputs = result.outputs
            info.n_params, info.flops = result.n_params, result.flops
            for msg, param in result.problems:
                err(nid, msg, param)
        ok = not any(d.severity == ERROR for d in diags[start:])
        return NetworkInfo(name, order, infos, input_ids, output_ids, ok)

    # ------------------------------------------------------------ one node

    def _eval(
        self, net: str, spec: NodeSpec, node: Node, in_types: list[TensorType | None], upstream_ok: bool
    ) -> _Result:
        key = ("node", spec.type, _freeze(node.params), tuple(in_types), upstream_ok)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.recomputed.append((net, node.id))
        result = _evaluate(spec, node.params, in_types, upstream_ok)
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _eval_block(
        self, spec: BlockSpec, node: Node, in_types: list[TensorType | None], upstream_ok: bool
    ) -> _Result:
        problems: list[tuple[str, str | None]] = []
        for k in node.params:
            problems.append((f"unknown parameter {k!r}: a block node takes no parameters", k))
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
                problems.append((
                    f"block {spec.type!r} expects {want} on port {port} "
                    f"(its Input {info.inputs[port]!r}), gets {got}", None))
        outs = info.output_types()
        if problems or any(o is None for o in outs):
            return _Result({}, None, 0, 0, problems)
        batch = in_types[0].shape[0] if in_types and in_types[0] else 1
        outputs = [TensorType((batch, *o.shape[1:]), o.dtype) for o in outs if o is not None]
        return _Result({}, outputs, info.total_params, info.flops, [])


def analyze(doc: Document) -> Analysis:
    return Analyzer().analyze(doc)


def validate(doc: Document) -> list[Diagnostic]:
    return analyze(doc).diagnostics


# ---------------------------------------------------------------- helpers


def _freeze(params: dict[str, Any]) -> str:
    try:
        return json.dumps(params, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(sorted(params.items(), key=lambda kv: str(kv[0])))


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
        return spec.info.inputs[port]
    return spec.input_name(port)


def check_params(spec: NodeSpec, raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Defaults filled, values normalised, and a message for every bad param."""
    problems: list[tuple[str, str | None]] = []
    params: dict[str, Any] = {}
    for key in raw:
        if spec.param(key) is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            problems.append((f"unknown parameter {key!r} for {spec.type} (known: {known})", key))
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


def _evaluate(spec: NodeSpec, raw: dict[str, Any], in_types: list[TensorType | None], upstream_ok: bool) -> _Result:
    params, problems = check_params(spec, raw)
    if problems or not upstream_ok:
        return _Result(params, None, 0, 0, problems)
    ins = [t for t in in_types if t is not None]
    if spec.input_dtype != "any":
        for t in ins:
            if t.dtype == spec.input_dtype:
                continue
            if t.dtype == "long":
                msg = f"{spec.type} expects float values, gets int64 token ids {t}; add an Embedding?"
            else:
                msg = f"{spec.type} expects int64 token ids, gets float values {t}; set the Input's dtype to int64"
            return _Result(params, None, 0, 0, [(msg, None)])
    shapes = [t.shape for t in ins]
    try:
        if spec.resolve is not None:
            params = spec.resolve(params, shapes)
        if spec.shape is not None and spec.count is not None:
            out_shapes = spec.shape(params, shapes)
            n_params, flops = spec.count(params, shapes, out_shapes)
        else:
            if spec.shape is not None:
                spec.shape(params, shapes)  # its message is clearer than torch's
            out_shapes, n_params, flops = meta_run(spec, params, ins)
    except ShapeError as exc:
        return _Result(params, None, 0, 0, [(str(exc), exc.param)])
    dtype = _out_dtype(spec, params, ins)
    outputs = [TensorType(tuple(s), dtype) for s in out_shapes]
    return _Result(params, outputs, n_params, flops, [])


_FLOP_MODE: Any = None


def meta_run(spec: NodeSpec, params: dict[str, Any], ins: Sequence[TensorType]) -> tuple[list[Shape], int, int]:
    """Build the node on the meta device and run it: exact shapes, params and FLOPs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from graph_compiler.catalog.support import namespace

    ns = dict(namespace())
    try:
        ctor = spec.constructor(params)
        with torch.device("meta"):
            module = eval(ctor, ns) if ctor else None  # noqa: S307 - catalog text, not user text
        tensors = [
            torch.empty(t.shape, dtype=torch.long if t.dtype == "long" else torch.float32, device="meta")
            for t in ins
        ]
        n_out = spec.output_count(params)
        in_names = [f"in{i}" for i in range(len(tensors))]
        out_names = [f"out{i}" for i in range(n_out)]
        lines = spec.forward_lines("m" if module is not None else None, in_names, out_names, params)
        local: dict[str, Any] = {"m": module, **dict(zip(in_names, tensors))}
        if module is not None:
            module.eval()
        with FlopCounterMode(display=False) as counter:
            exec("\n".join(lines), ns, local)  # noqa: S102 - catalog text, not user text
        outs = [tuple(local[o].shape) for o in out_names]
        n_params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        return outs, n_params, int(counter.get_total_flops())
    except ShapeError:
        raise
    except Exception as exc:  # torch's own complaint, made readable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(f"{spec.type}: {first}") from None


def topo_nodes(net: Network) -> Iterable[Node]:
    info_order = {n.id: n for n in net.nodes}
    g = nx.DiGraph()
    g.add_nodes_from(info_order)
    g.add_edges_from((e.src, e.dst) for e in net.edges if e.src in info_order and e.dst in info_order)
    return (info_order[i] for i in nx.topological_sort(g))


def _network_order(doc: Document) -> tuple[list[Network], list[list[str]]]:
    """Networks so that blocks come before the networks that use them, plus any recursion."""
    names = {n.name: n for n in doc.networks}
    g = nx.DiGraph()
    g.add_nodes_from(names)
    for net in doc.networks:
        for node in net.nodes:
            if node.type in names and node.type not in REGISTRY:
                g.add_edge(net.name, node.type)
    cycles = [c for c in nx.simple_cycles(g)][:5]
    bad = {n for c in cycles for n in c}
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1:
            bad |= comp
    acyclic = g.subgraph([n for n in g if n not in bad])
    pos = {n.name: i for i, n in enumerate(doc.networks)}
    order = list(reversed(list(nx.lexicographical_topological_sort(acyclic, key=lambda n: -pos[n]))))
    ordered = [names[n] for n in order] + [names[n] for n in names if n in bad]
    return ordered, cycles
