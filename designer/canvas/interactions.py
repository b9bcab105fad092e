"""Gestures that span several mouse events: dragging a wire from a port, and moving nodes
(one undo step pushed on release). They read items for geometry and hand the result to
the model; the scene then follows the model's signals like for any other edit."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF

from designer.canvas.edge_item import EdgeKey, WireItem
from designer.canvas.node_item import NodeItem, PortRef
from designer.ops import Refusal

if TYPE_CHECKING:
    from designer.canvas.scene import CanvasScene


def node_at(scene: CanvasScene, pos: QPointF) -> NodeItem | None:
    """The top-level node under ``pos``: the inside of an expanded block is read-only, so
    a click there is a click on the block."""
    item = inner_node_at(scene, pos)
    while item is not None:
        parent = item.parentItem()
        if not isinstance(parent, NodeItem):
            break
        item = parent
    return item


def inner_node_at(scene: CanvasScene, pos: QPointF) -> NodeItem | None:
    """The innermost node under ``pos``, inside expanded blocks too."""
    for item in scene.items(pos):
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        if item is not None:
            return item
    return None


def item_path(item: NodeItem) -> tuple[str, ...]:
    """Node ids from the top level down to ``item`` (its place among expanded blocks)."""
    path = [item.node_id]
    parent = item.parentItem()
    while isinstance(parent, NodeItem):
        path.append(parent.node_id)
        parent = parent.parentItem()
    return tuple(reversed(path))


def port_at(scene: CanvasScene, pos: QPointF) -> PortRef | None:
    item = node_at(scene, pos)
    return item.port_at(item.mapFromScene(pos)) if item is not None else None


class WireDrag:
    """A rubber wire from a port. Ports that can take it light up (checked with the
    model's connection rules); releasing on one connects through the model, which refuses
    with a reason where it must.

    ``moving`` is an existing wire picked up by its input end: it is hidden while its end
    follows the mouse from its source port; the view then reconnects or deletes it."""

    def __init__(self, scene: CanvasScene, start: PortRef, visible: QRectF,
                 moving: EdgeKey | None = None) -> None:
        self.scene = scene
        self.start = start
        self.moving = moving
        if moving is not None:
            scene.edges[moving].hide()
        item = scene.nodes[start.node]
        self.wire = WireItem(item.scene_port_pos(start.output, start.port), start.output)
        scene.addItem(self.wire)
        self.lit: list[NodeItem] = []
        self._light(visible)

    def origin(self) -> PortRef | None:
        """Where a picked-up wire's end was (None for a new wire)."""
        return None if self.moving is None else PortRef(self.moving[2], False, self.moving[3])

    def check(self, target: PortRef) -> Refusal | None:
        if target == self.origin():
            return None  # putting it back is always allowed
        if target.output == self.start.output:
            side = "output" if target.output else "input"
            return Refusal("same_direction", f"both ends are {side}s; wire an output to an input")
        src, dst = (self.start, target) if self.start.output else (target, self.start)
        return self.scene.model.check_connection(self.scene.network, src.node, src.port, dst.node, dst.port)

    def _light(self, visible: QRectF) -> None:
        # Only nodes in view: checking every port of a 10,000-node graph per drag is waste.
        for item in self.scene.items(visible):
            if not isinstance(item, NodeItem) or item.node_id == self.start.node:
                continue
            names = item.in_names if self.start.output else item.out_names
            ok = {PortRef(item.node_id, not self.start.output, i) for i in range(len(names))}
            ok = {r for r in ok if self.check(r) is None}
            if ok:
                item.accepting = ok
                item.update()
                self.lit.append(item)

    def move(self, pos: QPointF) -> Refusal | None:
        target = port_at(self.scene, pos)
        if target is None or target.node == self.start.node and target.output == self.start.output:
            self.wire.set_end(pos)
            return None
        why = self.check(target)
        end = self.scene.nodes[target.node].scene_port_pos(target.output, target.port)
        self.wire.set_end(end, refused=why is not None)
        return why

    def finish(self, pos: QPointF) -> PortRef | None:
        """Clean up; returns the port under the cursor (None over empty canvas)."""
        self.cancel()
        return port_at(self.scene, pos)

    def cancel(self) -> None:
        for item in self.lit:
            item.accepting = set()
            item.update()
        self.lit = []
        if self.wire.scene() is not None:
            self.scene.removeItem(self.wire)
        if self.moving is not None and self.moving in self.scene.edges:
            self.scene.edges[self.moving].show()  # the view removes it if it was dropped


class MoveTracker:
    """Remembers where the selected nodes were when the button went down, so the whole
    drag becomes one move command on release."""

    def __init__(self, scene: CanvasScene) -> None:
        self.scene = scene
        self.items = [it for it in scene.selectedItems() if isinstance(it, NodeItem)]
        self.start = {it.node_id: scene.doc_pos(it) for it in self.items}
        scene.lift(self.items)

    def finish(self) -> None:
        moved: dict[str, tuple[float, float]] = {}
        for nid, old in self.start.items():
            item = self.scene.nodes.get(nid)
            if item is not None and self.scene.doc_pos(item) != old:
                moved[nid] = self.scene.doc_pos(item)
        if moved:
            self.scene.model.move_nodes(self.scene.network, moved)
        self.scene.rehome([it for it in self.items if it.scene() is self.scene and it.parentItem() is None])
