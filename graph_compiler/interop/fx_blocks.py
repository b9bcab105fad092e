"""``import --blocks``: instances of one sub-module class become one block network.

Each instance is converted on its own (its network named by a placeholder); once all are
known, the instances of a class are grouped by structure (node ids, types, wires) and,
within a group, the values that differ between instances (out_channels, stride, inferred
in_channels...) become block parameters: ResNet-18's eight BasicBlocks become two
networks (with and without a downsample branch), each used with its own
``in_channels``/``out_channels``. A value whose generated code cannot take a parameter
(it computes with it) splits the group instead, and so do different input shapes of a
block without parameters (a plain block has one fixed input shape).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from graph_compiler.analysis import Analyzer, NetworkInfo
from graph_compiler.catalog import REGISTRY
from graph_compiler.catalog.spec import CodeRef
from graph_compiler.document import Document, Network, make_ref
from graph_compiler.interop.fx_convert import BlockCall, Converted

PLACEHOLDER = "\x00block"  # the node type of an instance until its class is grouped


@dataclass
class Instance:
    call: BlockCall
    result: Converted
    token: str  # its placeholder network name / node type


def placeholder(index: int) -> str:
    return f"{PLACEHOLDER}{index}"


def _json(value: Any) -> Any:
    return [_json(v) for v in value] if isinstance(value, (list, tuple)) else value


def _uses(net: Network) -> set[str]:
    return {n.type for n in net.nodes if n.type.startswith(PLACEHOLDER)}


def _rewrite(net: Network, done: dict[str, tuple[str, dict[str, Any]]]) -> None:
    for n in net.nodes:
        if n.type in done:
            n.type, values = done[n.type]
            n.params = dict(values)


def _referenceable(node_type: str, resolved: dict[str, Any], keys: set[str]) -> bool:
    """Whether the node's generated code can take these params as constructor arguments."""
    spec = REGISTRY.get(node_type)
    if spec is None:
        return True  # a block node: its params are constructor arguments already
    params = {**resolved, **{k: CodeRef(f"arg_{k}") for k in keys}}
    try:
        spec.constructor(params)
        spec.support_for(params)
        outs = [f"y{i}" for i in range(spec.output_count(resolved))]
        spec.forward_lines("self.m", ["x"] * max(1, len(spec.inputs)), outs, params)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return False
    return True


def _structure(net: Network, info: NetworkInfo) -> tuple[Any, ...]:
    nodes = tuple((n.id, n.type, tuple(sorted(info.nodes[n.id].params)) if n.id in info.nodes else ())
                  for n in net.nodes if n.type != "Input")
    ins = tuple((n.id, n.params.get("dtype", "float32"), len(n.params.get("shape", ())))
                for n in net.nodes if n.type == "Input")
    edges = tuple((e.src, e.src_port, e.dst, e.dst_port) for e in net.edges)
    ties = tuple((t.node, t.param, t.to_node, t.to_param) for t in net.ties)
    return (nodes, ins, edges, ties)


def _input_shapes(net: Network) -> tuple[Any, ...]:
    return tuple(repr(n.params) for n in net.nodes if n.type == "Input")


class BlockGrouper:
    """Turns the converted instances into block networks, innermost classes first."""

    def __init__(self, instances: list[Instance], reserved: set[str]) -> None:
        self.instances = instances
        self.reserved = set(reserved)
        self.done: dict[str, tuple[str, dict[str, Any]]] = {}  # placeholder -> (network, values)
        self.networks: dict[str, Converted] = {}  # block network name -> its representative
        self._analyzer = Analyzer()

    def run(self) -> None:
        by_class: dict[type, list[Instance]] = {}
        for inst in self.instances:
            by_class.setdefault(inst.call.cls, []).append(inst)
        pending = list(by_class)  # in order of first completed instance
        while pending:
            ready = next((c for c in pending
                          if all(_uses(i.result.network) <= set(self.done) for i in by_class[c])), pending[0])
            pending.remove(ready)
            self._group_class(ready, by_class[ready])

    def finish(self, net: Network) -> None:
        _rewrite(net, self.done)

    # ------------------------------------------------------------ one class

    def _group_class(self, cls: type, insts: list[Instance]) -> None:
        for inst in insts:
            _rewrite(inst.result.network, self.done)
        infos = self._analyse(insts)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, inst in enumerate(insts):
            groups.setdefault(_structure(inst.result.network, infos[i]), []).append(i)
        for members in groups.values():
            for part in self._split(insts, infos, members):
                self._make_network(cls, insts, infos, part)

    def _analyse(self, insts: list[Instance]) -> list[NetworkInfo]:
        made = [r.network for r in self.networks.values()]
        nets = [inst.result.network for inst in insts]
        analysis = self._analyzer.analyze(Document([*nets, *made]))
        return [analysis.networks[n.name] for n in nets]

    def _varying(self, insts: list[Instance], infos: list[NetworkInfo],
                 members: list[int]) -> dict[tuple[str, str], list[Any]]:
        first = insts[members[0]].result.network
        out: dict[tuple[str, str], list[Any]] = {}
        for n in first.nodes:
            if n.type == "Input":
                continue
            keys = list(infos[members[0]].nodes[n.id].params)
            spec = REGISTRY.get(n.type)
            if spec is not None:  # the catalog's order: in_channels before out_channels
                order = {p.name: i for i, p in enumerate(spec.params)}
                keys.sort(key=lambda k: order.get(k, len(order)))
            for key in keys:
                values = [infos[i].nodes[n.id].params.get(key) for i in members]
                if any(v != values[0] or type(v) is not type(values[0]) for v in values):
                    out[(n.id, key)] = values
        return out

    def _split(self, insts: list[Instance], infos: list[NetworkInfo], members: list[int]) -> list[list[int]]:
        """Members that can share one network: values that vary must be referenceable,
        and a network without parameters needs one input shape."""
        varying = self._varying(insts, infos, members)
        first = insts[members[0]].result.network
        types = {n.id: n.type for n in first.nodes}
        fixed: list[tuple[str, str]] = []
        by_node: dict[str, set[str]] = {}
        for nid, key in varying:
            by_node.setdefault(nid, set()).add(key)
        for nid, keys in by_node.items():
            resolved = infos[members[0]].nodes[nid].params
            if _referenceable(types[nid], resolved, keys):
                continue
            bad = [k for k in sorted(keys) if not _referenceable(types[nid], resolved, {k})]
            fixed.extend((nid, k) for k in (bad or sorted(keys)))
        if fixed:
            parts: dict[Any, list[int]] = {}
            for i in members:
                parts.setdefault(repr([infos[i].nodes[nid].params.get(k) for nid, k in fixed]), []).append(i)
            if len(parts) > 1:
                return [p for part in parts.values() for p in self._split(insts, infos, part)]
        if not varying:
            shapes: dict[Any, list[int]] = {}
            for i in members:
                shapes.setdefault(_input_shapes(insts[i].result.network), []).append(i)
            return list(shapes.values())
        return [members]

    def _make_network(self, cls: type, insts: list[Instance], infos: list[NetworkInfo], members: list[int]) -> None:
        rep = insts[members[0]]
        varying = self._varying(insts, infos, members)
        # Slots that vary together (conv1.out_channels, bn1.num_features, ...) share one parameter.
        params: dict[str, list[Any]] = {}
        slot_param: dict[tuple[str, str], str] = {}
        for (nid, key), values in varying.items():
            found = next((p for p, vs in params.items() if vs == values
                          and all(type(a) is type(b) for a, b in zip(vs, values))), None)
            if found is None:
                found = key if key.isidentifier() and key not in params else _slot_name(nid, key, params)
                params[found] = values
            slot_param[(nid, key)] = found
        net = copy.deepcopy(rep.result.network)
        net.name = self._name(cls, rep.call.qual)
        nodes = net.node_map()
        for (nid, key), pname in slot_param.items():
            nodes[nid].params[key] = make_ref(pname)
        net.params = {p: _json(vs[0]) for p, vs in params.items()}
        result = Converted(net, dict(rep.result.origins), list(rep.result.notes))
        self.networks[net.name] = result
        for j, i in enumerate(members):
            self.done[insts[i].token] = (net.name, {p: _json(vs[j]) for p, vs in params.items()})

    def _name(self, cls: type, qual: str) -> str:
        """The first network of a class takes its name; others are named after their
        first use (BasicBlock_layer2_0: the one with a downsample branch)."""
        base = re.sub(r"\W", "_", cls.__name__) or "Block"
        base = f"{base}Net" if base in REGISTRY else base
        if base in self.networks or base in self.reserved:
            base = base + "_" + re.sub(r"\W", "_", qual)
        name, i = base, 2
        while name in self.networks or name in self.reserved:
            name, i = f"{base}{i}", i + 1
        return name


def _slot_name(nid: str, key: str, taken: dict[str, Any]) -> str:
    base = re.sub(r"\W", "_", f"{nid}_{key}").strip("_") or "param"
    base = base if base[0].isalpha() or base[0] == "_" else f"p_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name
