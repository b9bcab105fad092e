"""Items made when first needed, so a 10,000-node network opens at the cost of its view.

Building a node's item and its wires costs about 0.12 ms in Python; a big flat network
would spend more than a second on items nobody looks at yet. A network of at least
LAZY_MIN_NODES nodes therefore starts with no items: its nodes and wires are filed by
the 500-unit cell where they lie (a wire in every cell its curve's box crosses), and
the view builds the cells it is about to paint (CanvasView.paintEvent). Anything asking
for a node by id gets its item built on the spot (CanvasScene.item); the few commands
that need every item (select all, auto-layout, expand a block, compare) build the rest
first (CanvasScene.ensure_all). What draws the whole network without items, the
far-out map, the minimap and "fit", reads the unbuilt part from here.

Imported models open folded (a few hundred items) and small networks build at once, as
before.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QRectF

from designer.canvas import style
from designer.canvas.node_item import HIT_R
from designer.canvas.routing import LEAD
from graph_compiler.layout import NODE_W, node_height, port_y
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Node

if TYPE_CHECKING:
    from designer.canvas.edge_item import EdgeKey
    from designer.canvas.scene import CanvasScene

LAZY_MIN_NODES = 3000
# Small cells: panning builds a thin strip at a time (a few ms), not a 2,000-unit column
# of a hundred nodes or more in one frame.
CELL = 500.0

REACH = 600.0  # a node or label reaches this far beyond its cell's corner at most

Cell = tuple[int, int]


def cells(rect: QRectF) -> list[Cell]:
    """The cells a scene rectangle touches."""
    x0, x1 = int(rect.left() // CELL), int(rect.right() // CELL)
    y0, y1 = int(rect.top() // CELL), int(rect.bottom() // CELL)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


_heights: dict[str, float] = {}


def curve_span(x1: float, x2: float) -> tuple[float, float]:
    """How far a wire's curve (routing.curve, from x1 to x2) reaches left and right: a
    cubic's extremes, where its derivative is zero (its control points reach further)."""
    dx = max(LEAD, abs(x2 - x1) * 0.5)
    p0, p1, p2, p3 = x1, x1 + dx, x2 - dx, x2
    a, b, c = (p1 - p0) - 2 * (p2 - p1) + (p3 - p2), 2 * ((p2 - p1) - (p1 - p0)), p1 - p0
    ts = [-c / b] if a == 0 and b != 0 else []
    if a != 0 and b * b - 4 * a * c >= 0:
        root = math.sqrt(b * b - 4 * a * c)
        ts = [(-b + root) / (2 * a), (-b - root) / (2 * a)]
    xs = [x1, x2] + [(1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3
                     for t in ts if 0 < t < 1]
    return min(xs), max(xs)


def guess_height(node: Node) -> float:
    """A node's height before its item exists (its ports as its type declares them; a
    variadic node's spare input counted): what the map, minimap and fit need."""
    h = _heights.get(node.type)
    if h is None:
        spec = REGISTRY.get(node.type)
        h = node_height(1, 1) if spec is None else node_height(len(spec.inputs) + int(spec.variadic),
                                                                len(spec.outputs))
        _heights[node.type] = h
    return h


def graph_extent(scene: CanvasScene) -> tuple[QRectF, QRectF]:
    """(the nodes' bounds, the wires' bounds) of a scene's network, built or not. Top-level
    nodes and wires sit in tiles at the origin or in the scene itself, so their own bounds
    are scene bounds: sceneBoundingRect() would make Qt work out 20,000 scene transforms
    as a big file opens (a tenth of opening it)."""
    unbuilt_nodes, unbuilt_wires = scene.lazy.extent()
    nodes = _union([it.rect().translated(it.pos()) for it in scene.nodes.values()]
                   + ([unbuilt_nodes] if unbuilt_nodes.isValid() else []))
    wires = _union([edge.boundingRect() for edge in scene.edges.values()]
                   + ([unbuilt_wires] if unbuilt_wires.isValid() else []))
    return nodes, wires


def _union(rects: list[QRectF]) -> QRectF:
    """The rectangle around ``rects`` (a null one for none), in one pass of arithmetic."""
    if not rects:
        return QRectF()
    left = min(r.left() for r in rects)
    top = min(r.top() for r in rects)
    return QRectF(left, top, max(r.right() for r in rects) - left, max(r.bottom() for r in rects) - top)


class LazyItems:
    """The nodes and wires of a scene's network that have no items yet."""

    def __init__(self, scene: CanvasScene) -> None:
        self.scene = scene
        self.nodes: dict[str, Node] = {}
        self.edges: set[EdgeKey] = set()
        self._node_cells: dict[Cell, set[str]] = {}
        self._edge_cells: dict[Cell, set[EdgeKey]] = {}
        self._cell_of: dict[str, Cell] = {}
        self._cells_of_edge: dict[EdgeKey, list[Cell]] = {}

    def __bool__(self) -> bool:
        return bool(self.nodes) or bool(self.edges)

    def clear(self) -> None:
        self.nodes.clear()
        self.edges.clear()
        self._node_cells.clear()
        self._edge_cells.clear()
        self._cell_of.clear()
        self._cells_of_edge.clear()

    # ------------------------------------------------------------ geometry

    def position(self, node: Node) -> tuple[float, float]:
        return self.scene.folding.place(node.id, node.pos)

    def _port(self, nid: str, output: bool, port: int) -> tuple[float, float] | None:
        item = self.scene.nodes.get(nid)
        if item is not None:
            p = item.scene_port_pos(output, port)
            return p.x(), p.y()
        node = self.nodes.get(nid)
        if node is None:
            return None
        x, y = self.position(node)
        return (x + NODE_W if output else x), y + port_y(port)

    def wire_box(self, key: EdgeKey) -> QRectF | None:
        """The box of a wire's curve (see routing.curve), with room for its label."""
        a, b = self._port(key[0], True, key[1]), self._port(key[2], False, key[3])
        if a is None or b is None:
            return None
        left, right = curve_span(a[0], b[0])
        top, bottom = min(a[1], b[1]), max(a[1], b[1])
        return QRectF(left, top - 10, right - left, bottom - top + 20)

    def node_box(self, node: Node) -> QRectF:
        x, y = self.position(node)
        return QRectF(x, y, NODE_W, guess_height(node))

    def extent(self) -> tuple[QRectF, QRectF]:
        """(the unbuilt nodes' bounds as items would have them, their wires' bounds), in
        plain arithmetic: fitting a 10,000-node view reads every one."""
        place = self.scene.folding.place
        xs, ys, bottoms = [], [], []
        pos: dict[str, tuple[float, float]] = {}
        for nid, node in self.nodes.items():
            x, y = pos[nid] = place(nid, node.pos)
            xs.append(x)
            ys.append(y)
            bottoms.append(y + guess_height(node))
        nodes = QRectF()
        if xs:
            left, top = min(xs) - HIT_R, min(ys) - 2
            nodes = QRectF(left, top, max(xs) + NODE_W + HIT_R - left, max(bottoms) + 2 - top)
        wl, wt, wr, wb = [], [], [], []
        for key in self.edges:
            a = pos.get(key[0])
            b = pos.get(key[2])
            if a is None or b is None:  # an end that is built: ask it
                box = self.wire_box(key)
                if box is not None:
                    wl.append(box.left())
                    wt.append(box.top())
                    wr.append(box.right())
                    wb.append(box.bottom())
                continue
            ax, ay = a[0] + NODE_W, a[1] + port_y(key[1])
            bx, by = b[0], b[1] + port_y(key[3])
            lo, hi = curve_span(ax, bx)
            wl.append(lo)
            wr.append(hi)
            wt.append(min(ay, by) - 10)
            wb.append(max(ay, by) + 10)
        wires = QRectF()
        if wl:
            wires = QRectF(min(wl), min(wt), max(wr) - min(wl), max(wb) - min(wt))
        return nodes, wires

    # ------------------------------------------------------------ filing

    def add_node(self, node: Node) -> None:
        self.drop_node(node.id)
        x, y = self.position(node)
        cell = (int(x // CELL), int(y // CELL))
        self.nodes[node.id] = node
        self._cell_of[node.id] = cell
        self._node_cells.setdefault(cell, set()).add(node.id)

    def drop_node(self, nid: str) -> None:
        if self.nodes.pop(nid, None) is not None:
            cell = self._cell_of.pop(nid)
            ids = self._node_cells[cell]
            ids.discard(nid)
            if not ids:
                del self._node_cells[cell]

    def add_edge(self, key: EdgeKey) -> None:
        self.drop_edge(key)
        box = self.wire_box(key)
        if box is None:
            return  # a wire to a missing node: never drawn
        self.edges.add(key)
        where = cells(box)
        self._cells_of_edge[key] = where
        for cell in where:
            self._edge_cells.setdefault(cell, set()).add(key)

    def drop_edge(self, key: EdgeKey) -> None:
        if key in self.edges:
            self.edges.discard(key)
            for cell in self._cells_of_edge.pop(key):
                keys = self._edge_cells[cell]
                keys.discard(key)
                if not keys:
                    del self._edge_cells[cell]

    # ------------------------------------------------------------ building

    def due(self, rect: QRectF) -> set[str]:
        """Unbuilt nodes that lie in ``rect`` or end a wire crossing it."""
        found: set[str] = set()
        for cell in cells(rect.adjusted(-REACH, -REACH, 0, 0)):
            found.update(self._node_cells.get(cell, ()))
        for cell in cells(rect):
            for key in self._edge_cells.get(cell, ()):
                found.update(n for n in (key[0], key[2]) if n in self.nodes)
        return found

    def build(self, ids: set[str]) -> list[str]:
        """Items for the unbuilt nodes among ``ids``, and their wires to built nodes."""
        scene = self.scene
        made: list[str] = []
        scene._syncing += 1
        try:
            for nid in ids:
                node = self.nodes.get(nid)
                if node is not None:
                    self.drop_node(nid)
                    scene._create(node)
                    made.append(nid)
            index = scene.model.index(scene.network)
            keys = []
            for nid in made:
                for e in [*index.ins.get(nid, ()), *index.outs.get(nid, ())]:
                    if e.key in self.edges and e.src in scene.nodes and e.dst in scene.nodes:
                        self.drop_edge(e.key)
                        keys.append(e.key)
            scene.wire_up(keys)
        finally:
            scene._syncing -= 1
        return made

    def refile(self, node: Node) -> None:
        """A node moved (or changed) before it was built: filed again, with its wires."""
        self.add_node(node)
        index = self.scene.model.index(self.scene.network)
        for e in [*index.ins.get(node.id, ()), *index.outs.get(node.id, ())]:
            if e.key in self.edges:
                self.add_edge(e.key)

    def map_parts(self) -> tuple[list[QLineF], list[tuple[str, QRectF]], list[QRectF]]:
        """The unbuilt part for the far-out map: wires, (colour, box) of nodes, broken boxes."""
        if not self:
            return [], [], []
        lines = []
        for key in self.edges:
            a, b = self._port(key[0], True, key[1]), self._port(key[2], False, key[3])
            if a is not None and b is not None:
                lines.append(QLineF(a[0], a[1], b[0], b[1]))
        broken_ids = self.scene.error_ids()
        boxes, broken = [], []
        for nid, node in self.nodes.items():
            box = self.node_box(node)
            boxes.append((style.category_hex(self.scene.category(node.type)), box))
            if nid in broken_ids:
                broken.append(box)
        return lines, boxes, broken
