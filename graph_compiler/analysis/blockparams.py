"""Block parameters: a network that declares ``params`` is a block with constructor-like
arguments. Inside it, a node param value ``{"param": NAME}`` stands for one of them; each
block node using the network sets their values.

A parameterised block is analysed per use, with that use's values and its actual input
types (its Input nodes' shapes are only the example its own tab shows), and each distinct
(block, values, input types) once. Its class in generated code is built from its own
network, so every use must agree with it except where a block parameter says otherwise:
``inconsistent`` finds the values that would be silently baked in.
"""
from __future__ import annotations

from typing import Any

from graph_compiler.analysis.results import NetworkInfo, TensorType
from graph_compiler.catalog.spec import Param, short_repr
from graph_compiler.document import Network, Node, param_ref, refs_in

Problem = tuple[str, str | None]  # (message, param)


# Node params whose 0 entries mean "keep the input's size here": generated code reads
# that size off the input, which it cannot do for a value that arrives as an argument.
ZERO_KEEPS = {("Reshape", "shape")}


def has_refs(params: dict[str, Any]) -> bool:
    return any(type(v) is dict or (type(v) is list and any(type(e) is dict for e in v)) for v in params.values())


def _lookup(label: str, value: Any, values: dict[str, Any] | None, network: str) -> tuple[Any, str | None]:
    name = param_ref(value)
    if name is None:
        return None, (f"{label}={short_repr(value)}: an object is not a parameter value "
                      '(a block parameter reference is {"param": NAME})')
    if values is None or not values:
        return None, (f"{label} refers to block parameter {name!r}, but network {network!r} declares "
                      "no block parameters")
    if name not in values:
        known = ", ".join(sorted(values))
        return None, (f"{label} refers to unknown block parameter {short_repr(name)} "
                      f"(network {network!r} declares: {known})")
    return values[name], None


def bind(params: dict[str, Any], values: dict[str, Any] | None, network: str,
         node_type: str = "") -> tuple[dict[str, Any], list[Problem]]:
    """``params`` with every reference (a whole value or a list element) replaced by its
    value; a problem per bad reference (that param is left out)."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in params.items():
        if type(value) is dict:
            bound, msg = _lookup(key, value, values, network)
        elif type(value) is list and any(type(e) is dict for e in value):
            items: list[Any] = []
            msg = None
            for i, e in enumerate(value):
                got, bad = (e, None) if type(e) is not dict else _lookup(f"{key}[{i}]", e, values, network)
                if bad is None and type(e) is dict and got == 0 and (node_type, key) in ZERO_KEEPS:
                    bad = (f"{key}[{i}] refers to block parameter {param_ref(e)!r}, whose value here is 0; "
                           f"0 keeps the input's size, which a block parameter cannot stand for: write 0 "
                           "in the list itself")
                msg = msg or bad
                items.append(got)
            bound = items
        else:
            out[key] = value
            continue
        if msg is None:
            out[key] = bound
        else:
            problems.append((msg, key))
    return out, problems


def block_params(declared: dict[str, Any]) -> tuple[Param, ...]:
    """A block's parameters as catalog Params, typed by their defaults: what a block node
    accepts (checked like any node's params) and what the inspector edits."""
    out: list[Param] = []
    for name, default in declared.items():
        doc = f"block parameter (default {short_repr(default, 30)})"
        if isinstance(default, bool):
            out.append(Param(name, "bool", default, doc))
        elif isinstance(default, int):
            out.append(Param(name, "int", default, doc))
        elif isinstance(default, float):
            out.append(Param(name, "float", default, doc))
        elif isinstance(default, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in default):
            out.append(Param(name, "ints", default, doc))
        else:  # a string, null or another list: any string (or null) goes
            out.append(Param(name, "str", default, doc, nullable=True))
    return tuple(out)


def check_declarations(net: Network) -> list[Problem]:
    """A network's own block parameter declarations."""
    problems: list[Problem] = []
    for name, default in net.params.items():
        if not name.isidentifier():
            problems.append((f"block parameter {short_repr(name)} must be a Python identifier "
                             "(letters, digits and _), as it becomes a constructor argument", None))
        if isinstance(default, dict):
            problems.append((f"block parameter {name!r} has an object as its default; give a plain value", None))
    return problems


def unused(net: Network) -> list[Problem]:
    """Declared parameters that no node of the network refers to: every use's value for
    them is ignored, which is rarely what was meant (a warning, not an error)."""
    used = {r for n in net.nodes for v in n.params.values() for r in refs_in(v)}
    return [(f"block parameter {name!r} is declared but no node uses it; set a node parameter to "
             f'{{"param": "{name}"}} or remove it', name) for name in net.params if name not in used]


def check_values(block: str, declared: dict[str, Any], given: dict[str, Any]) -> list[Problem]:
    """A block node's params: known names, each of the kind of its default."""
    problems: list[Problem] = []
    params = {p.name: p for p in block_params(declared)}
    for key, value in given.items():
        p = params.get(key)
        if p is None:
            known = ", ".join(declared) if declared else "none: this block takes no parameters"
            problems.append((f"unknown parameter {short_repr(key)} for block {block!r} (known: {known})", str(key)))
            continue
        if p.kind == "str" and isinstance(value, list):
            continue  # a default other than an int list takes any list
        msg = p.check(value)[1]
        if msg:
            problems.append((f"block {block!r}: {msg}", key))
    return problems


def use_nodes(net: Network, values: dict[str, Any],
              in_types: list[TensorType | None]) -> tuple[list[Node], list[str]]:
    """The block's nodes for one use: references bound, Input shapes set to what is fed;
    and what this use's values make impossible (node: message). Bad references are
    reported on the block's own tab, where they are errors whatever the values."""
    out: list[Node] = []
    problems: list[str] = []
    feeds = iter(in_types)
    for n in net.nodes:
        params = n.params
        if n.type == "Input":
            t = next(feeds, None)
            if t is not None:
                params = {**params, "shape": list(t.shape[1:]), "dtype": "int64" if t.dtype == "long" else "float32"}
        elif has_refs(params):
            params, bad = bind(params, values, net.name, n.type)
            problems.extend(f"{n.id}: {msg}" for msg, _key in bad)
        out.append(Node(n.id, n.type, params, n.pos, n.label))
    return out, problems


def inconsistent(net: Network, own: NetworkInfo, use: NetworkInfo, values: dict[str, Any]) -> list[Problem]:
    """Resolved values (inferred sizes included) of this use that differ from the block's
    own network where no block parameter covers them: the generated class would bake the
    own network's value in, so the use would not be what analysis reports."""
    problems: list[Problem] = []
    for n in net.nodes:
        if n.type == "Input":
            continue
        mine, theirs = own.nodes.get(n.id), use.nodes.get(n.id)
        if mine is None or theirs is None or mine.outputs is None or theirs.outputs is None:
            continue
        for key, value in theirs.params.items():
            if key not in mine.params or mine.params[key] == value or _covered(n.params.get(key), mine.params[key], value):
                continue
            fits = [k for k, v in values.items() if v == value and net.params.get(k) == mine.params[key]]
            hint = (f' (it follows {fits[0]}: {{"param": "{fits[0]}"}})' if fits else "")
            problems.append((f"{n.id}.{key} is {short_repr(value)} in this use but {short_repr(mine.params[key])} "
                             f"in the block's own network {net.name!r}, from which its code is generated; "
                             f"set {n.id}.{key} to a block parameter{hint}", None))
            if len(problems) >= 5:
                return problems
    return problems


def _covered(raw: Any, mine: Any, theirs: Any) -> bool:
    """Whether every difference between two resolved values is where ``raw`` refers to a
    block parameter: the whole value, or the differing elements of a list."""
    if param_ref(raw) is not None:
        return True
    if not (isinstance(raw, list) and isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple))):
        return False
    return len(raw) == len(mine) == len(theirs) and all(
        a == b or param_ref(r) is not None for r, a, b in zip(raw, mine, theirs))


def describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={short_repr(v, 20)}" for k, v in values.items())
