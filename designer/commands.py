"""Undo commands. Each changes only the Document held by the model and then calls one of
the model's ``notify_*`` methods; views update from the signals that follow. Commands look
networks up by name and nodes by id at run time, and never touch a graphics item."""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from graph_compiler.document import Edge, Network, Node, Tie

if TYPE_CHECKING:
    from designer.model import DocumentModel

EdgeKey = tuple[str, int, str, int]
_MISSING = object()


class ModelCommand(QUndoCommand):
    def __init__(self, model: DocumentModel, network: str, text: str) -> None:
        super().__init__(text)
        self.model = model
        self.network = network

    def net(self) -> Network:
        net = self.model.doc.network(self.network)
        assert net is not None, f"network {self.network!r} vanished under the undo stack"
        return net


class AddItemsCommand(ModelCommand):
    """Adds nodes, edges and ties among them (add node, paste, duplicate, connect); undo
    removes exactly them."""

    def __init__(self, model: DocumentModel, network: str, nodes: list[Node], edges: list[Edge],
                 text: str, ties: list[Tie] | None = None) -> None:
        super().__init__(model, network, text)
        self.nodes = nodes
        self.edges = edges
        self.ties = ties or []

    def redo(self) -> None:
        net = self.net()
        net.nodes.extend(self.nodes)
        net.edges.extend(self.edges)
        net.ties.extend(self.ties)
        self.model.notify_changed(self.network, [n.id for n in self.nodes], bool(self.edges), structure=True)

    def undo(self) -> None:
        net = self.net()
        drop_n = {id(n) for n in self.nodes}
        drop_e = {id(e) for e in self.edges}
        drop_t = {id(t) for t in self.ties}
        net.nodes[:] = [n for n in net.nodes if id(n) not in drop_n]
        net.edges[:] = [e for e in net.edges if id(e) not in drop_e]
        net.ties[:] = [t for t in net.ties if id(t) not in drop_t]
        self.model.notify_changed(self.network, [n.id for n in self.nodes], bool(self.edges), structure=True)


class RemoveItemsCommand(ModelCommand):
    """Removes nodes (with every edge attached to them) and/or single edges. Undo puts them
    back at their old list positions, so a saved file is byte-identical after undo."""

    def __init__(self, model: DocumentModel, network: str, node_ids: list[str],
                 edge_keys: list[EdgeKey], text: str) -> None:
        super().__init__(model, network, text)
        self.node_ids = list(node_ids)
        self.edge_keys = set(edge_keys)
        self._nodes: list[tuple[int, Node]] = []
        self._edges: list[tuple[int, Edge]] = []
        self._ties: list[tuple[int, Tie]] = []

    def redo(self) -> None:
        net = self.net()
        gone = set(self.node_ids)
        self._nodes = [(i, n) for i, n in enumerate(net.nodes) if n.id in gone]
        self._edges = [(i, e) for i, e in enumerate(net.edges)
                       if e.src in gone or e.dst in gone or e.key in self.edge_keys]
        # A tie naming a deleted node would be an error the user has no way to edit away.
        self._ties = [(i, t) for i, t in enumerate(net.ties) if t.node in gone or t.to_node in gone]
        drop_e = {id(e) for _, e in self._edges}
        drop_t = {id(t) for _, t in self._ties}
        net.nodes[:] = [n for n in net.nodes if n.id not in gone]
        net.edges[:] = [e for e in net.edges if id(e) not in drop_e]
        net.ties[:] = [t for t in net.ties if id(t) not in drop_t]
        self.model.notify_changed(self.network, self.node_ids, bool(self._edges), structure=True)

    def undo(self) -> None:
        net = self.net()
        for i, n in self._nodes:
            net.nodes.insert(i, n)
        for i, e in self._edges:
            net.edges.insert(i, e)
        for i, t in self._ties:
            net.ties.insert(i, t)
        self.model.notify_changed(self.network, self.node_ids, bool(self._edges), structure=True)

    @property
    def removed_edge_count(self) -> int:
        return len(self._edges)


class MoveNodesCommand(ModelCommand):
    """One command for a whole drag (pushed on release) or an auto-layout."""

    def __init__(self, model: DocumentModel, network: str, old: dict[str, tuple[float, float]],
                 new: dict[str, tuple[float, float]], text: str = "Move") -> None:
        super().__init__(model, network, text)
        self.old = old
        self.new = new

    def _apply(self, positions: dict[str, tuple[float, float]]) -> None:
        nodes = self.net().node_map()
        for nid, pos in positions.items():
            if nid in nodes:
                nodes[nid].pos = (float(pos[0]), float(pos[1]))
        # Positions do not affect shapes, so no re-analysis.
        self.model.notify_changed(self.network, list(positions), False, analyze=False)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class SetParamCommand(ModelCommand):
    """Sets (or, with None, removes) one param. Numeric steps of the same param of the
    same node within MERGE_WINDOW_S of each other merge into one undo step, so a spin box
    held down or scrolled is undone at once; stepping back to the start leaves no step.
    Other values (text, lists, choices) stay one step per edit."""

    MERGE_ID = 0x5E7  # QUndoStack only tries to merge commands with the same id
    MERGE_WINDOW_S = 2.0

    def __init__(self, model: DocumentModel, network: str, node_id: str, name: str, value: Any) -> None:
        super().__init__(model, network, f"Set {node_id}.{name}")
        self.node_id = node_id
        self.name = name
        self.value = value
        node = self.net().node(node_id)
        self.old = node.params.get(name, _MISSING) if node else _MISSING
        self.last_at = time.monotonic()

    def _set(self, value: Any) -> None:
        node = self.net().node(self.node_id)
        if node is None:
            return
        before = self.model.ports(self.network, self.node_id)
        if value is _MISSING or value is None:
            node.params.pop(self.name, None)
        else:
            node.params[self.name] = value
        # A param can change a node's port count (Chunk.chunks); only then do wires redraw
        # and the network's structure get re-checked.
        ports_changed = self.model.ports(self.network, self.node_id) != before
        self.model.notify_changed(self.network, [self.node_id], ports_changed)

    def redo(self) -> None:
        self._set(self.value)

    def undo(self) -> None:
        self._set(self.old)

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other.network, other.node_id, other.name) != (
                self.network, self.node_id, self.name):
            return False
        if other.last_at - self.last_at > self.MERGE_WINDOW_S or not (_number(self.value) and _number(other.value)):
            return False
        self.value = other.value
        self.last_at = other.last_at
        self.setObsolete(_same(self.value, self.old))
        return True


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(value: Any, old: Any) -> bool:
    if old is _MISSING:
        return value is None or value is _MISSING
    return value is not None and value is not _MISSING and json.dumps(value) == json.dumps(old)


class SetLabelCommand(ModelCommand):
    def __init__(self, model: DocumentModel, network: str, node_id: str, label: str) -> None:
        super().__init__(model, network, f"Rename {node_id}")
        self.node_id = node_id
        self.label = label
        node = self.net().node(node_id)
        self.old = node.label if node else ""

    def _set(self, label: str) -> None:
        node = self.net().node(self.node_id)
        if node is not None:
            node.label = label
            self.model.notify_changed(self.network, [self.node_id], False, analyze=False)

    def redo(self) -> None:
        self._set(self.label)

    def undo(self) -> None:
        self._set(self.old)


class SwapNetworksCommand(QUndoCommand):
    """Replaces the document's list of networks with another list (add / remove a network,
    group into a block, ungroup). The lists share the untouched Network objects, so this
    costs nothing for big files, and the undo stack being linear keeps both lists valid."""

    def __init__(self, model: DocumentModel, after: list[Network], text: str) -> None:
        super().__init__(text)
        self.model = model
        self.before = list(model.doc.networks)
        self.after = list(after)

    def _swap(self, old: list[Network], new: list[Network]) -> None:
        self.model.doc.networks[:] = new
        self.model.notify_networks_swapped(old, new)

    def redo(self) -> None:
        self._swap(self.before, self.after)

    def undo(self) -> None:
        self._swap(self.after, self.before)


class RenameNetworkCommand(QUndoCommand):
    """Renames a network and every block node that uses it (their type is its name)."""

    def __init__(self, model: DocumentModel, old: str, new: str) -> None:
        super().__init__(f"Rename network {old} to {new}")
        self.model = model
        self.old = old
        self.new = new

    def _rename(self, a: str, b: str) -> None:
        doc = self.model.doc
        net = doc.network(a)
        assert net is not None
        net.name = b
        touched: dict[str, list[str]] = {}
        for other in doc.networks:
            for n in other.nodes:
                if n.type == a:
                    n.type = b
                    touched.setdefault(other.name, []).append(n.id)
        self.model.notify_network_renamed(a, b, touched)

    def redo(self) -> None:
        self._rename(self.old, self.new)

    def undo(self) -> None:
        self._rename(self.new, self.old)


class MacroCommand(QUndoCommand):
    """Several commands as one undo step. Kept in a Python list rather than as Qt child
    commands so PySide never drops the Python side of a child."""

    def __init__(self, parts: list[QUndoCommand], text: str) -> None:
        super().__init__(text)
        self.parts = parts

    def redo(self) -> None:
        for c in self.parts:
            c.redo()

    def undo(self) -> None:
        for c in reversed(self.parts):
            c.undo()
