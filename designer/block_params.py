"""Editing a network's block parameters (Network ▸ Block Parameters…): checking a new
declaration, and the networks that result from it, as one swap for the undo stack.

Renaming a parameter rewrites every ``{"param": OLD}`` inside the network and the key
``OLD`` in the params of every block node that uses the network, so the uses keep their
values. Removing a parameter that a node still refers to is refused, naming the nodes
(the references would have no value); removing an unreferenced one drops the values the
uses passed for it. Pure: nothing here touches the document.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import keyword
import math
from dataclasses import dataclass
from typing import Any

from graph_compiler.document import Document, Network, Node, make_ref, map_refs, refs_in

# Names a constructor argument must not take: Python's keywords, and ``self``.
RESERVED = frozenset(keyword.kwlist) | {"self"}
KINDS = ("int", "float", "bool", "string", "list", "none")


def kind_of(value: Any) -> str:
    """The kind a default is shown with in the dialog."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "none"


def format_default(value: Any) -> str:
    """A default as it reads in the dialog's text cell (parse_default reads it back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value) and value:
            return ", ".join(str(v) for v in value)
        return json.dumps(value)
    if value is None:
        return ""
    return str(value)


def parse_default(kind: str, text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, why ``text`` is not a ``kind``)."""
    t = text.strip()
    if kind == "int":
        try:
            return int(t), None
        except ValueError:
            return None, f"{t!r} is not a whole number"
    if kind == "float":
        try:
            value = float(t)
        except ValueError:
            return None, f"{t!r} is not a number"
        return (value, None) if math.isfinite(value) else (None, "use a finite number")
    if kind == "bool":
        low = t.lower()
        if low in ("true", "yes", "1", "on"):
            return True, None
        if low in ("false", "no", "0", "off"):
            return False, None
        return None, f"{t!r} is not true or false"
    if kind == "string":
        return text, None
    if kind == "list":
        if not t.startswith("["):
            t = f"[{t}]"
        try:
            value = json.loads(t)
        except ValueError:
            return None, f"{text.strip()!r} is not a list like 3, 3 or [1.5, \"a\"]"
        if not isinstance(value, list) or any(isinstance(v, dict) for v in value):
            return None, "a list holds numbers, strings, true/false or null (no objects)"
        return value, None
    if kind == "none":
        return None, None
    return None, f"unknown kind {kind!r} (one of {', '.join(KINDS)})"


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a block parameter, or None."""
    if not name:
        return "the name is empty"
    if not name.isidentifier() or not name.isascii():
        return f"{name!r} is not a Python identifier: use letters, digits and _, not starting with a digit"
    if name in RESERVED:
        return f"{name!r} is reserved in Python; pick another name"
    return None


@dataclass
class Row:
    """One row of the dialog: ``origin`` is the declared name it started as (None: new)."""

    origin: str | None
    name: str
    kind: str
    text: str


def check_rows(rows: list[Row]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(declaration, renames old -> new, problems); each problem names its row (1-based)."""
    problems: list[str] = []
    params: dict[str, Any] = {}
    renames: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, 1):
        name = row.name.strip()
        where = f"row {i}" + (f" ({name})" if name else "")
        why = check_name(name)
        if why:
            problems.append(f"{where}: {why}")
        elif name in seen:
            problems.append(f"{where}: the name {name!r} is already used in row {seen[name]}")
        else:
            seen[name] = i
        value, bad = parse_default(row.kind, row.text)
        if bad:
            problems.append(f"{where}: default {bad}")
        if not why and name not in params:
            params[name] = value
        if row.origin is not None and row.origin != name and not why:
            renames[row.origin] = name
    return params, renames, problems


def references(net: Network, names: set[str]) -> dict[str, list[str]]:
    """Block parameter name -> ["node.param", ...] inside ``net`` that refer to it."""
    out: dict[str, list[str]] = {}
    for n in net.nodes:
        for key, value in n.params.items():
            for ref in dict.fromkeys(refs_in(value)):
                if ref in names:
                    out.setdefault(ref, []).append(f"{n.id}.{key}")
    return out


def apply(doc: Document, net: Network, params: dict[str, Any],
          renames: dict[str, str]) -> tuple[list[Network], str | None]:
    """The document's networks after ``net`` declares ``params`` (``renames``: old name ->
    new name), or ([], why not). Networks and nodes that do not change are shared."""
    for old, new in renames.items():
        if old not in net.params:
            return [], f"there is no block parameter {old!r} to rename"
        if new not in params:
            return [], f"{old!r} is renamed to {new!r}, which is not declared"
    for name, default in params.items():
        why = check_name(name)
        if why:
            return [], why
        if isinstance(default, dict):
            return [], f"{name}: a default is a plain value (number, true/false, string, null or list)"
    # An old name is gone unless it was renamed, or kept without another taking it over.
    taken = set(renames.values())
    removed = {k for k in net.params if k not in renames and (k not in params or k in taken)}
    still = references(net, removed)
    if still:
        used = "; ".join(f"{k!r} by {', '.join(v)}" for k, v in sorted(still.items()))
        return [], (f"cannot remove a block parameter that is still used: {used}. Set those "
                    "parameters to values first")
    out: list[Network] = []
    for other in doc.networks:
        nodes = [_rewrite(n, renames, removed, net.name, inside=other is net) for n in other.nodes]
        changed = any(a is not b for a, b in zip(nodes, other.nodes))
        if other is net or changed:
            swapped = copy.copy(other)  # shares the wires and ties
            swapped.nodes = nodes
            if other is net:
                swapped.params = dict(params)
            out.append(swapped)
        else:
            out.append(other)
    return out, None


def _rewrite(node: Node, renames: dict[str, str], removed: set[str], block: str, inside: bool) -> Node:
    """The node with references renamed (inside the block) or its values for the block
    renamed and dropped (a use of it); the node itself when nothing changes."""
    params: dict[str, Any] = {}
    changed = False
    for key, value in node.params.items():
        if inside and any(ref in renames for ref in refs_in(value)):
            value = map_refs(value, lambda ref: make_ref(renames.get(ref, ref)))
            changed = True
        if node.type == block:
            if key in removed:
                changed = True
                continue
            if key in renames:
                key = renames[key]
                changed = True
        params[key] = value
    return dataclasses.replace(node, params=params) if changed else node
