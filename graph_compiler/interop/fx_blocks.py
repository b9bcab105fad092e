"""``import --blocks``: instances of one sub-module class become one block network.

Each instance is converted on its own (its network named by a placeholder); once all are
known, the instances of a class are grouped by structure (node ids, types, wires) and,
within a group, the values that differ between instances (out_channels, stride, inferred
in_channels...) become block parameters: ResNet-18's eight BasicBlocks become two
networks (with and without a downsample branch), each used with its own
``in_channels``/``out_channels``. In a list value (a layer scale's ``shape``
[dim, 1, 1], a channel shuffle's view sizes) only the elements that differ become
parameters. A value whose generated code cannot take a parameter (it computes with it)
splits the group instead, and so do different input shapes of a block without
parameters (a plain block has one fixed input shape).
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

# A value that varies between instances: (node id, param, element index or None for the whole value).
Slot = tuple[str, str, int | None]


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


def _value_at(params: dict[str, Any], key: str, index: int | None) -> Any:
    value: Any = params.get(key)
    return value if index is None else value[index]


def _columns(values: list[Any], written: list[Any]) -> list[list[Any]] | None:
    """Lists of one length (each as the node writes it, or inferred) as their columns;
    None for anything else, which varies as a whole."""
    if not all(isinstance(v, (list, tuple)) and (w is None or w == list(v)) for v, w in zip(values, written)):
        return None
    if len({len(v) for v in values}) != 1:
        return None
    return [list(column) for column in zip(*values)]


def _referenceable(node_type: str, resolved: dict[str, Any], slots: set[Slot]) -> bool:
    """Whether the node's generated code can take these values as constructor arguments."""
    spec = REGISTRY.get(node_type)
    if spec is None:
        return True  # a block node: its params are constructor arguments already
    params = dict(resolved)
    for _nid, key, index in sorted(slots, key=lambda s: (s[1], -1 if s[2] is None else s[2])):
        if index is None:
            params[key] = CodeRef(f"arg_{key}")
        else:
            params[key] = [*params[key]]
            params[key][index] = CodeRef(f"arg_{key}_{index}")
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
                 members: list[int]) -> dict[Slot, list[Any]]:
        first = insts[members[0]].result.network
        out: dict[Slot, list[Any]] = {}
        maps = {i: insts[i].result.network.node_map() for i in members}
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
                if not any(_differ(v, values[0]) for v in values):
                    continue
                columns = _columns(values, [maps[i][n.id].params.get(key) for i in members])
                if columns is None:
                    out[(n.id, key, None)] = values
                    continue
                for j, column in enumerate(columns):  # a list (written or inferred): its differing elements
                    if any(_differ(c, column[0]) for c in column):
                        out[(n.id, key, j)] = column
        return out

    def _split(self, insts: list[Instance], infos: list[NetworkInfo], members: list[int]) -> list[list[int]]:
        """Members that can share one network: values that vary must be referenceable,
        and a network without parameters needs one input shape."""
        varying = self._varying(insts, infos, members)
        first = insts[members[0]].result.network
        types = {n.id: n.type for n in first.nodes}
        fixed: list[Slot] = []
        by_node: dict[str, set[Slot]] = {}
        for slot in varying:
            by_node.setdefault(slot[0], set()).add(slot)
        for nid, slots in by_node.items():
            resolved = infos[members[0]].nodes[nid].params
            if _referenceable(types[nid], resolved, slots):
                continue
            bad = [s for s in sorted(slots, key=repr) if not _referenceable(types[nid], resolved, {s})]
            fixed.extend(bad or sorted(slots, key=repr))
        if fixed:
            parts: dict[Any, list[int]] = {}
            for i in members:
                key = repr([_value_at(infos[i].nodes[nid].params, k, j) for nid, k, j in fixed])
                parts.setdefault(key, []).append(i)
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
        slot_param: dict[Slot, str] = {}
        # Whole values first: a list element equal to one in every instance (a layer
        # scale's [dim, 1, 1] and its conv's channels) reuses its name.
        for slot, values in sorted(varying.items(), key=lambda item: item[0][2] is not None):
            nid, key, index = slot
            found = next((p for p, vs in params.items() if not any(_differ(a, b) for a, b in zip(vs, values))), None)
            if found is None:
                found = (key if index is None and key.isidentifier() and key not in params
                         else _slot_name(nid, key if index is None else f"{key}_{index}", params))
                params[found] = values
            slot_param[slot] = found
        net = copy.deepcopy(rep.result.network)
        net.name = self._name(cls, rep.call.qual)
        nodes = net.node_map()
        for (nid, key, index), pname in slot_param.items():
            if index is None:
                nodes[nid].params[key] = make_ref(pname)
            else:  # an inferred list is written out to hold the reference
                value = nodes[nid].params[key] = list(nodes[nid].params.get(key, infos[members[0]].nodes[nid].params[key]))
                value[index] = make_ref(pname)
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


def _differ(a: Any, b: Any) -> bool:
    return a != b or type(a) is not type(b)


def _slot_name(nid: str, key: str, taken: dict[str, Any]) -> str:
    base = re.sub(r"\W", "_", f"{nid}_{key}").strip("_") or "param"
    base = base if base[0].isalpha() or base[0] == "_" else f"p_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name
