"""The Analyzer: every network of a document, with a per-node cache."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph_compiler.analysis.blockparams import (
    Problem,
    bind,
    check_declarations,
    check_values,
    describe,
    has_refs,
    inconsistent,
    unused,
    use_nodes,
)
from graph_compiler.analysis.nodes import BlockSpec, _eval_block, _evaluate, _freeze, _Result
from graph_compiler.analysis.results import (
    ERROR,
    WARNING,
    Analysis,
    Diagnostic,
    NetworkInfo,
    NodeInfo,
    TensorType,
)
from graph_compiler.analysis.replan import replan
from graph_compiler.analysis.structure import _Plan, _signature, network_order
from graph_compiler.catalog import REGISTRY, NodeSpec
from graph_compiler.document import Document, Network, Node
from graph_compiler.ties import apply_ties


@dataclass
class _NetState:
    """One network's last results, kept so an edit re-walks only what it can affect."""

    info: NetworkInfo
    node_diags: dict[str, list[Diagnostic]]  # problems found while inferring, per node
    diagnostics: list[Diagnostic]  # the plan's, then the nodes', then the ties', in order
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
        self._gen: dict[str, int] = {}  # per network: bumped each time its own analysis re-runs
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
        blocks: dict[str, BlockSpec] = {}
        for net in order:
            if net.name in infos:
                continue  # a duplicate name, reported above
            context = (dict(blocks), bad_nets, net_names)
            dirty: set[str] | None = None
            if changes is not None:
                dirty = set(changes.get(net.name, ()))
                if moved_blocks:
                    dirty.update(n.id for n in net.nodes if n.type in moved_blocks)
                if net.name not in changes and not dirty:
                    state = self._states[net.name]  # untouched: last results stand
                    infos[net.name] = state.info
                    diags.extend(state.diagnostics)
                    blocks[net.name] = BlockSpec(state.info, net, self._gen.get(net.name, 0), context)
                    continue
            touched: set[str] = set()
            infos[net.name] = self._analyze_network(net, context[0], bad_nets, net_names, diags, dirty, touched)
            if net.params:
                self._gen[net.name] = self._gen.get(net.name, 0) + 1
            blocks[net.name] = BlockSpec(infos[net.name], net, self._gen.get(net.name, 0), context)
            if changed is not None:
                changed[net.name] = touched
            state = self._states[net.name]
            key = (*BlockSpec(state.info).fingerprint(), tuple(state.info.inputs), tuple(state.info.outputs),
                   # a parameterised block's uses depend on all of it, not just its own face
                   self._gen[net.name] if net.params else None)
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
        keep: bool = True,
    ) -> NetworkInfo:
        """Every node when ``dirty`` is None; otherwise only the ``dirty`` nodes, nodes whose
        wiring changed, and whatever their new outputs reach. ``touched`` collects the nodes
        whose results or diagnostics may have changed. ``keep`` False: one use of a
        parameterised block (its nodes already bound), analysed without touching the
        network's own kept state."""
        name = net.name
        nodes: dict[str, Node] = {}
        for n in net.nodes:
            nodes.setdefault(n.id, n)
        signature = _signature(net, blocks, bad_nets, net_names)
        old_plan = self._plans.get(name)
        plan = old_plan
        if plan is None or plan.signature != signature:
            plan = replan(plan, net, nodes, blocks, bad_nets, net_names, signature)
            if keep:
                self._plans[name] = plan
        prev = self._states.get(name) if keep else None
        binding = net.params
        if prev is None or old_plan is None or net.ties:
            dirty = None  # ties adjust the counts of the nodes they join: walk them all
        if dirty is not None and old_plan is not None and plan is not old_plan:
            if plan.rewired is not None and plan.diag_nodes is not None:  # updated in place: it knows
                dirty.update(plan.rewired)
                if touched is not None:
                    touched.update(plan.diag_nodes)
            else:
                dirty.update(nid for nid in plan.order if plan.sources[nid] != old_plan.sources.get(nid)
                             or plan.inputs_ok[nid] != old_plan.inputs_ok.get(nid))
                # Structural diagnostics (unwired ports, unused nodes) come and go with wiring.
                if touched is not None:
                    touched.update(d.node for d in set(old_plan.diagnostics) ^ set(plan.diagnostics) if d.node)
        infos: dict[str, NodeInfo]
        node_diags: dict[str, list[Diagnostic]]
        if prev is None or dirty is None:
            infos, node_diags = {}, {}
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
                raw = node.params
                ref_problems: list[Problem] = []
                if has_refs(raw):
                    raw, ref_problems = bind(raw, binding, name, node.type)
                if isinstance(spec, BlockSpec):
                    result = self._eval_block_use(name, nid, spec, raw, in_types, upstream_ok)
                else:
                    result = self._eval(name, nid, spec, raw, in_types, upstream_ok)
                if ref_problems:
                    result = _Result(result.params, None, 0, 0, [*ref_problems, *result.problems])
                # Copies: callers may change what they get; the cached result must not change.
                info.params = dict(result.params)
                info.outputs = None if result.outputs is None else list(result.outputs)
                info.n_params, info.flops = result.n_params, result.flops
                info.use = result.use
                if result.problems:
                    node_diags[nid] = [Diagnostic(ERROR, name, nid, msg, param) for msg, param in result.problems]
            if dirty is not None and (old_info is None or old_info.outputs != info.outputs):
                dirty.update(plan.succ.get(nid, ()))
        net_diags = list(plan.diagnostics)
        if net.params and keep:
            net_diags.extend(Diagnostic(ERROR, name, None, msg, param) for msg, param in check_declarations(net))
            net_diags.extend(Diagnostic(WARNING, name, None, msg, param) for msg, param in unused(net))
        if node_diags:
            net_diags.extend(d for nid in plan.order for d in node_diags.get(nid, ()))
        if net.ties:
            net_diags.extend(Diagnostic(ERROR, name, nid, msg) for nid, msg in apply_ties(net, infos))
        diags.extend(net_diags)
        ok = not any(d.severity == ERROR for d in net_diags)
        info_net = NetworkInfo(name, list(plan.order), infos, list(plan.input_ids), list(plan.output_ids), ok)
        if keep:
            block_key = prev.block_key if prev is not None else ()
            self._states[name] = _NetState(info_net, node_diags, net_diags, block_key)
        return info_net

    # ------------------------------------------------------------ one node

    def _eval(
        self, net: str, nid: str, spec: NodeSpec, raw: dict[str, Any], in_types: list[TensorType | None],
        upstream_ok: bool,
    ) -> _Result:
        key = (spec.type, _freeze(raw), tuple(in_types), upstream_ok)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.recomputed.append((net, nid))
        result = _evaluate(spec, raw, in_types, upstream_ok, self.use_meta)
        self._store(key, result)
        return result

    def _store(self, key: tuple[Any, ...], result: _Result) -> None:
        if len(self._cache) > 200_000:  # bound the memory of a long editing session
            self._cache.clear()
        self._cache[key] = result

    def _eval_block_use(
        self, net: str, nid: str, spec: BlockSpec, raw: dict[str, Any], in_types: list[TensorType | None],
        upstream_ok: bool,
    ) -> _Result:
        """A block node. A parameterised block is analysed for this use's values and input
        types (once per distinct use); a plain one has one fixed face."""
        declared = spec.params
        if not declared:
            return _eval_block(spec, raw, in_types, upstream_ok)
        problems = check_values(spec.type, declared, raw)
        values = {**declared, **{k: v for k, v in raw.items() if k in declared}}
        if not spec.info.ok:
            problems.append((f"block {spec.type!r} has errors; fix that network first", None))
        if problems or not upstream_ok:
            return _Result(values, None, 0, 0, problems)
        key = ("block", spec.type, spec.gen, _freeze(values), tuple(in_types))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.recomputed.append((net, nid))
        result = self._analyze_use(spec, values, in_types)
        self._store(key, result)
        return result

    def _analyze_use(self, spec: BlockSpec, values: dict[str, Any], in_types: list[TensorType | None]) -> _Result:
        assert spec.network is not None and spec.context is not None  # a parameterised block has both
        own = spec.network
        nodes, bound_problems = use_nodes(own, values, in_types)
        if bound_problems:  # e.g. a Reshape size that is 0 in this use
            where = f"in block {spec.type!r} ({describe(values)})"
            return _Result(values, None, 0, 0, [(f"{where}: {msg}", None) for msg in bound_problems])
        net = Network(own.name, nodes, own.edges, ties=own.ties, params=own.params)
        blocks, bad_nets, net_names = spec.context
        found: list[Diagnostic] = []
        info = self._analyze_network(net, blocks, bad_nets, net_names, found, keep=False)
        errors = [d for d in found if d.severity == ERROR]
        if errors:
            where = f"in block {spec.type!r} ({describe(values)})"
            problems: list[Problem] = [(f"{where}: {d.node + ': ' if d.node else ''}{d.message}", None)
                                       for d in errors[:5]]
            if len(errors) > 5:
                problems.append((f"{where}: ... and {len(errors) - 5} more", None))
            return _Result(values, None, 0, 0, problems)
        outs = info.output_types()
        if any(o is None for o in outs):
            return _Result(values, None, 0, 0, [(f"block {spec.type!r}: an output has no type", None)])
        batch = next((t.shape[0] for t in in_types if t is not None), 1)
        outputs = [TensorType((batch, *o.shape[1:]), o.dtype) for o in outs if o is not None]
        return _Result(values, outputs, info.total_params, info.flops, inconsistent(own, spec.info, info, values),
                       info)


def analyze(doc: Document) -> Analysis:
    return Analyzer().analyze(doc)


def validate(doc: Document) -> list[Diagnostic]:
    return analyze(doc).diagnostics
