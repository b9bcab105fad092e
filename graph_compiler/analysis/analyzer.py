"""The Analyzer: every network of a document, with a per-node cache."""
from __future__ import annotations

from typing import Any

from graph_compiler.analysis.nodes import BlockSpec, _eval_block, _evaluate, _freeze, _Result
from graph_compiler.analysis.results import (
    ERROR,
    Analysis,
    Diagnostic,
    NetworkInfo,
    NodeInfo,
    TensorType,
)
from graph_compiler.analysis.structure import _Plan, _plan, _signature, network_order
from graph_compiler.catalog import REGISTRY, NodeSpec
from graph_compiler.document import Document, Network, Node
from graph_compiler.ties import apply_ties


class Analyzer:
    """Analysis with a per-node cache, so re-analysing after an edit is incremental.

    ``recomputed`` lists the (network, node) pairs evaluated by the last ``analyze`` call:
    after an edit, the edited node and those downstream whose inputs changed.
    """

    def __init__(self, use_meta: bool = False) -> None:
        self.use_meta = use_meta  # reference mode: every node on torch's meta device
        self._cache: dict[tuple[Any, ...], _Result] = {}
        self._plans: dict[str, _Plan] = {}
        self.recomputed: list[tuple[str, str]] = []

    def analyze(self, doc: Document) -> Analysis:
        self.recomputed = []
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
        for net in order:
            if net.name in infos:
                continue  # a duplicate name, reported above
            blocks = {k: BlockSpec(v) for k, v in infos.items()}
            infos[net.name] = self._analyze_network(net, blocks, bad_nets, net_names, diags)
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
        nodes: dict[str, Node] = {}
        for n in net.nodes:
            nodes.setdefault(n.id, n)
        signature = _signature(net, blocks, bad_nets, net_names)
        plan = self._plans.get(name)
        if plan is None or plan.signature != signature:
            plan = _plan(net, nodes, blocks, bad_nets, net_names, signature)
            self._plans[name] = plan
        diags.extend(plan.diagnostics)

        infos: dict[str, NodeInfo] = {}
        for nid in plan.order:
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
            spec = REGISTRY.get(node.type) or blocks.get(node.type)
            if spec is None or nid in plan.untyped:
                continue
            if isinstance(spec, BlockSpec):
                result = _eval_block(spec, node, in_types, upstream_ok)
            else:
                result = self._eval(name, spec, node, in_types, upstream_ok)
            # Copies: callers may change what they get; the cached result must not change.
            info.params = dict(result.params)
            info.outputs = None if result.outputs is None else list(result.outputs)
            info.n_params, info.flops = result.n_params, result.flops
            for msg, param in result.problems:
                diags.append(Diagnostic(ERROR, name, nid, msg, param))
        if net.ties:
            for nid, msg in apply_ties(net, infos):
                diags.append(Diagnostic(ERROR, name, nid, msg))
        ok = not any(d.severity == ERROR for d in diags[start:])
        return NetworkInfo(name, list(plan.order), infos, list(plan.input_ids), list(plan.output_ids), ok)

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
