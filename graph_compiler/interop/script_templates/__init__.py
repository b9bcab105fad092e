"""Readable templates for exported training scripts.

Each module here is ordinary, linted Python whose top-level definitions are copied into
a script as text. The data templates are imported by tests too; the others are only
parsed, since they use names that exist in a generated script (CONFIG, MAIN, ...). ``Templates.require(name)`` pulls in a
definition and, transitively, every other template definition it refers to, so a
script carries only what it uses, in the templates' own order.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

_HERE = Path(__file__).parent


@dataclass
class _Definition:
    name: str
    module: str
    order: int  # position in the module
    source: str
    uses: set[str]


@dataclass
class Templates:
    """Definitions looked up in ``modules`` (first match wins: a recipe module can
    replace a common helper of the same name)."""

    modules: list[str]
    chosen: dict[str, _Definition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._table: dict[str, _Definition] = {}
        for module in reversed(self.modules):
            self._table.update(_definitions(module))

    def defines(self, name: str) -> bool:
        return name in self._table

    def require(self, *names: str) -> None:
        for name in names:
            definition = self._table.get(name)
            if definition is None:
                raise KeyError(f"no template defines {name!r}")
            if name in self.chosen:
                continue
            self.chosen[name] = definition
            self.require(*sorted(n for n in definition.uses if n in self._table))

    def text(self, module: str) -> str:
        """The chosen definitions of one module, in source order, two blank lines apart."""
        parts = sorted(
            (d for d in self.chosen.values() if d.module == module),
            key=lambda d: d.order,
        )
        return "\n\n\n".join(d.source for d in parts)


# Modules whose source scripts copy but which live with the code that runs them too.
_ELSEWHERE = {"augment_ops": _HERE.parent.parent / "training" / "augment_ops.py"}


def _definitions(module: str) -> dict[str, _Definition]:
    source = _ELSEWHERE.get(module, _HERE / f"{module}.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    out: dict[str, _Definition] = {}
    for order, node in enumerate(ast.parse(source).body):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) for t in node.targets
        ):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue  # imports, the docstring, `if __name__` blocks
        start = min(
            [node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]
        )
        start = _leading_comments(lines, start - 1)
        text = "\n".join(lines[start : node.end_lineno])
        uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - set(names)
        for name in names:
            out[name] = _Definition(name, module, order, text, uses)
    return out


def _leading_comments(lines: list[str], index: int) -> int:
    """Comment lines directly above a definition travel with it."""
    while (
        index > 0
        and lines[index - 1].startswith("#")
        and "noqa" not in lines[index - 1]
    ):
        index -= 1
    return index


__all__ = ["Templates"]
