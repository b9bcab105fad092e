"""Renamed block parameters in a model diff.

Without this, renaming a block parameter (Network ▸ Block Parameters… rewrites its
references and the values its uses pass) reads as one parameter removed, another added,
every reference changed and every use's value moved to a new key. A removed and an added
parameter of one network are one rename when exactly the same node parameters refer to
them (through the node matching); the diff then reports the rename once, and drops the
reference and value changes that only follow from it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph_compiler.document import Document, Network, make_ref, map_refs, refs_in

if TYPE_CHECKING:
    from graph_compiler.diff import NetworkDiff, NodeChange


def _refs(net: Network, name: str, ids: dict[str, str] | None = None) -> set[tuple[str, str]]:
    """(node id, param) pairs of ``net`` that refer to block parameter ``name``; ids
    translated through ``ids`` (A's to B's) when given."""
    return {((ids or {}).get(n.id, n.id), key) for n in net.nodes for key, v in n.params.items()
            if name in refs_in(v)}


def fold_renames(nets: list[NetworkDiff], a: Document, b: Document) -> None:
    """Turn matching removed + added block parameters into renames, in place."""
    for nd in nets:
        na, nb = a.network(nd.name), b.network(nd.name)
        if nd.status != "changed" or na is None or nb is None or not nd.params_removed or not nd.params_added:
            continue
        added = {n: _refs(nb, n) for n in nd.params_added}
        for old in list(nd.params_removed):
            refs = _refs(na, old, nd.matched)
            fits = [n for n, r in added.items() if r and r == refs]
            if len(fits) != 1:
                continue
            new = fits[0]
            del added[new]
            old_default, new_default = nd.params_removed.pop(old), nd.params_added.pop(new)
            nd.params_renamed[old] = new
            if old_default != new_default or type(old_default) is not type(new_default):
                nd.params_changed[new] = (old_default, new_default)
            for c in nd.changed:
                for key in [k for k, (va, vb) in c.params.items() if old in refs_in(va) and _renamed(va, old, new) == vb]:
                    del c.params[key]
            for other in nets:  # the uses: the value under the old key is now under the new one
                for c in other.changed:
                    if other.types.get(c.id) == nd.name:
                        _move_value(c, old, new)
    for nd in nets:
        nd.changed = [c for c in nd.changed if c.type or c.label or c.params or c.renamed]
        if nd.status in ("changed", "unchanged"):
            nd.status = "changed" if nd.differs else "unchanged"


def _renamed(value: object, old: str, new: str) -> object:
    return map_refs(value, lambda r: make_ref(new if r == old else r))


def _move_value(c: NodeChange, old: str, new: str) -> None:
    before: Any = c.params.get(old, (None, None))
    after: Any = c.params.get(new, (None, None))
    if before[1] is None and after[0] is None and type(before[0]) is type(after[1]) and before[0] == after[1]:
        c.params.pop(old, None)
        c.params.pop(new, None)
