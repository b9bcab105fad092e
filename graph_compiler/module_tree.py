"""Nested submodules in generated code: the module hierarchy that dotted node ids name.

An imported model's node ids are its module paths (``layer1.0.conv1``), and the generated
class rebuilds that hierarchy the way torch.fx's GraphModule does (``_assign_attr``):
containers first, then each layer in its place, so ``state_dict()`` gives the original
keys. Containers whose children are exactly 0..n-1 become ``nn.ModuleList`` (indexed as
``self.layer1[0]``); the others plain ``nn.Module()`` holders with attributes
(``self.transformer.wte``). A part that cannot be an attribute (a keyword, a number
outside a list, odd characters) is set and read with setattr / getattr and a string
literal, so no id reaches the code unescaped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from graph_compiler.naming import attribute_name, string


@dataclass
class _Entry:
    ctor: str | None = None  # a leaf: its constructor expression
    children: dict[str, _Entry] = field(default_factory=dict)

    @property
    def is_list(self) -> bool:
        """Children 0..n-1, all modules: an nn.ModuleList."""
        keys = list(self.children)
        return bool(keys) and keys == [str(i) for i in range(len(keys))] and not any(
            c.ctor is not None and c.ctor.startswith(("nn.Parameter(", "nn.Buffer(")) for c in self.children.values())


class ModuleTree:
    """The nested part of one generated class: paths in, ``__init__`` lines and access
    expressions out."""

    def __init__(self) -> None:
        self.root = _Entry()

    def add(self, path: list[str], ctor: str) -> bool:
        """Place a leaf; False when the path clashes with one already placed (a leaf
        cannot also hold children), and the caller names the node the flat way."""
        entry = self.root
        for part in path[:-1]:
            child = entry.children.get(part)
            if child is None:
                child = entry.children[part] = _Entry()
            elif child.ctor is not None:
                return False
            entry = child
        if path[-1] in entry.children:
            return False
        entry.children[path[-1]] = _Entry(ctor)
        return True

    def roots(self) -> list[str]:
        return list(self.root.children)

    def access(self, path: list[str]) -> str:
        """The expression for the module at ``path``: self.layer1[0].conv1."""
        expr, entry = "self", self.root
        for part in path:
            expr = _child(expr, entry is not self.root and entry.is_list, part)
            entry = entry.children[part]
        return expr

    def init_lines(self, root: str) -> list[str]:
        """Statements that build the subtree under one top-level name, parents first."""
        out: list[str] = []
        self._build("self", self.root, root, out)
        return out

    def _build(self, parent: str, holder: _Entry, part: str, out: list[str]) -> None:
        entry = holder.children[part]
        value = entry.ctor if entry.ctor is not None else ("nn.ModuleList()" if entry.is_list else "nn.Module()")
        in_list = holder is not self.root and holder.is_list
        if in_list:
            out.append(f"{parent}.append({value})")
        elif attribute_name(part):
            out.append(f"{parent}.{part} = {value}")
        else:
            out.append(f"setattr({parent}, {string(part)}, {value})")
        expr = _child(parent, in_list, part)
        for child in entry.children:
            self._build(expr, entry, child, out)


def _child(expr: str, in_list: bool, part: str) -> str:
    if in_list:
        return f"{expr}[{int(part)}]"
    if attribute_name(part):
        return f"{expr}.{part}"
    return f"getattr({expr}, {string(part)})"


__all__ = ["ModuleTree"]
