"""CanvasScene: mirrors one network of the model as items, updated only from the model's
signals (never the other way round). Only the items named in a signal are touched, and
analysis results refresh the existing items' text and badges without recreating them."""
from __future__ import annotations

import gc
import time
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene

from designer.canvas import lod as LOD
from designer.canvas import style
from designer.canvas.text import shape_text
from designer.canvas.edge_item import EdgeItem, EdgeKey, node_obstacles
from designer.canvas.folding import Folding, Path
from designer.canvas.lazy import LAZY_MIN_NODES, LazyItems
from designer.canvas.node_item import NodeItem
from designer.canvas.routing import ROUTE_LIMIT
from designer.canvas.scene_analysis import AnalysedScene
from graph_compiler.layout import NODE_W
from designer.model import DocumentModel
from graph_compiler.catalog import REGISTRY

MARGIN = 1500.0  # free space around the graph, so there is room to add nodes


OVERVIEW_DELAY_MS = 200  # the zoom has settled when no paint asked otherwise for this long


class CanvasScene(AnalysedScene):
    """``build=False`` leaves the scene empty until ``ensure_built`` (the view calls it when
    first shown): a model with a hundred block tabs opens at the cost of the tab in view.
    ``foldChanged``: a block was expanded or folded, or a ×N run: the layout on screen
    changed while the document did not (the minimap follows it)."""

    foldChanged = Signal()

    def __init__(self, model: DocumentModel, network: str, parent: Any = None, build: bool = True) -> None:
        super().__init__(parent)
        # Nodes move a lot and the BSP index rebuilds on every move; a linear scan of the
        # items is cheaper for a node editor (measured in bench/bench_canvas.py).
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.model = model
        self.network = network
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[EdgeKey, EdgeItem] = {}
        self.snap_enabled = True
        self.grid = 20.0
        self._syncing = 0
        self._item_sig: dict[str, Any] = {}
        self.overview = False  # wires cached as pixmaps (see set_overview)
        self._overview_wanted = False
        self._overview_at = 0.0  # when the wanted mode last changed (time.monotonic)
        self._overview_timer = QTimer(self)
        self._overview_timer.setSingleShot(True)
        self._overview_timer.setInterval(OVERVIEW_DELAY_MS)
        self._overview_timer.timeout.connect(self._apply_overview)
        self.refreshed = 0  # items the last analysis refresh touched
        self.folding = Folding(self)
        self.lazy = LazyItems(self)  # nodes and wires of a big network not built yet
        model.documentReset.connect(self.rebuild)
        model.nodesChanged.connect(self._on_nodes)
        model.edgesChanged.connect(self._on_edges)
        model.analysisUpdated.connect(self.refresh_analysis)
        model.networkRenamed.connect(self._on_renamed)
        model.networksChanged.connect(self._on_networks)
        self.built = False
        if build:
            self.rebuild()

    def ensure_built(self) -> None:
        if not self.built:
            self.rebuild()

    def detach(self) -> None:
        """Stop following the model: a scene about to be deleted (its tab closed, or the
        document replaced) must not rebuild itself for the new document first."""
        m = self.model
        for signal, slot in ((m.documentReset, self.rebuild), (m.nodesChanged, self._on_nodes),
                             (m.edgesChanged, self._on_edges), (m.analysisUpdated, self.refresh_analysis),
                             (m.networkRenamed, self._on_renamed), (m.networksChanged, self._on_networks)):
            signal.disconnect(slot)

    # ------------------------------------------------------------ helpers for items

    def snap_point(self, value: QPointF) -> QPointF:
        """Snap a point the user placed (drags, drops); model-driven moves never snap."""
        if self._syncing or not self.snap_enabled:
            return value
        g = self.grid
        return QPointF(round(value.x() / g) * g, round(value.y() / g) * g)

    def dragged(self) -> None:
        """After Qt moved the selected nodes for a mouse drag: snap them, drag their wires."""
        self.map_changed()
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                pos = self.snap_point(item.pos())
                if pos != item.pos():
                    item.setPos(pos)
                for e in item.edges:
                    e.adjust()

    def category(self, type_name: str) -> str:
        return self._meta(type_name)[0]

    def _meta(self, type_name: str) -> tuple[str, str]:
        spec = REGISTRY.get(type_name)
        if spec is not None:
            return spec.category, spec.doc
        if self.model.doc.network(type_name) is not None:
            return "Blocks", f"Block: the network {type_name!r} used as one layer"
        return "", f"unknown node type {type_name!r}"

    def route_obstacles(self, area: QRectF, ends: tuple[NodeItem, NodeItem]) -> list[QRectF]:
        """Rects of the nodes in ``area`` (wires route around them, expanded frames
        included), for graphs small enough to route."""
        if len(self.nodes) + len(self.lazy.nodes) > ROUTE_LIMIT:
            return []
        return node_obstacles(self.nodes.values(), area, ends)

    def _reroute_near(self, items: list[NodeItem]) -> None:
        """Wires that pass where moved or new nodes now are take a new route."""
        if not items or len(self.nodes) + len(self.lazy.nodes) > ROUTE_LIMIT:
            return
        rects = [it.sceneBoundingRect() for it in items]
        for edge in self.edges.values():
            box = edge.sceneBoundingRect()
            if any(box.intersects(r) for r in rects):
                edge.adjust()

    def edge_into(self, node: str, port: int) -> EdgeKey | None:
        """The wire that feeds an input port, if any."""
        item = self.nodes.get(node)
        if item is None:
            return None
        return next((e.key for e in item.edges if e.key[2] == node and e.key[3] == port), None)

    # ------------------------------------------------------------ building

    def rebuild(self) -> None:
        self.built = True
        self.map_changed()
        self._syncing += 1
        try:
            for e in self.edges.values():
                e.detach()
            self.clear()
            self._tiles.clear()
            self.nodes.clear()
            self.edges.clear()
            self.lazy.clear()
            self._item_sig.clear()
            self.folding = Folding(self)  # a new document opens folded
            net = self.model.doc.network(self.network)
            if net is None:
                return
            if len(net.nodes) >= LAZY_MIN_NODES and "import" not in self.model.doc.meta:
                for node in net.nodes:  # built as the view comes to them (lazy.py)
                    if node.id not in self.lazy.nodes:
                        self.lazy.add_node(node)
                for edge in net.edges:
                    self.lazy.add_edge(edge.key)
            else:
                for node in net.nodes:
                    if node.id not in self.nodes:
                        self._create(node)
                self.wire_up([edge.key for edge in net.edges])
        finally:
            self._syncing -= 1
        self.setSceneRect(self._nodes_rect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        if self.model.analysis_if_ready() is not None:
            self.apply_analysis(None)
        if "import" in self.model.doc.meta:
            self.folding.fold_runs()  # imported models open folded: blocks, and ×N runs
        # Like the document (see load_document), the items live as long as it is open: out
        # of the collector's sight, a full collection inside a structural edit on 10,000
        # nodes costs a few ms instead of about 45.
        gc.freeze()

    def wire_up(self, keys: list[EdgeKey]) -> None:
        """Wires between built nodes, with their shape labels now rather than in a second
        pass over every curve."""
        ready = self.model.analysis_if_ready()
        info = ready.networks.get(self.network) if ready is not None else None
        infos = info.nodes if info is not None else {}
        for key in keys:
            src = infos.get(key[0])
            outs = src.outputs if src is not None else None
            t = outs[key[1]] if outs and key[1] < len(outs) else None
            self._add_edge(key, shape_text(t) if t is not None else "")
            if t is not None and key in self.edges:
                self.edges[key].set_type(t)  # the tooltip; the label is already right

    def _nodes_rect(self) -> QRectF:
        if not self.nodes and not self.lazy.nodes:
            return QRectF(0, 0, NODE_W, 100)
        boxes = [QRectF(it.pos().x(), it.pos().y(), it.width, it.height) for it in self.nodes.values()]
        boxes += [self.lazy.node_box(node) for node in self.lazy.nodes.values()]
        left, top = min(b.left() for b in boxes), min(b.top() for b in boxes)
        return QRectF(left, top, max(b.right() for b in boxes) - left, max(b.bottom() for b in boxes) - top)

    # ------------------------------------------------------------ items made when needed

    def item(self, nid: str) -> NodeItem | None:
        """The item of node ``nid``, built now if the view has not come to it yet."""
        item = self.nodes.get(nid)
        if item is None and nid in self.lazy.nodes:
            self.realize_ids({nid})
            item = self.nodes.get(nid)
        return item

    def realize(self, rect: QRectF) -> None:
        """Build the items that lie in (or whose wires cross) a scene rectangle."""
        if self.lazy:
            ids = self.lazy.due(rect)
            if ids:
                self.realize_ids(ids)

    def ensure_all(self) -> None:
        """Every item built: for commands that work on the whole network."""
        if self.lazy:
            self.realize_ids(set(self.lazy.nodes))

    def realize_ids(self, ids: set[str]) -> None:
        made = self.lazy.build(ids)
        if made and self.model.analysis_if_ready() is not None:
            self.apply_analysis(set(made))
        gc.freeze()  # as rebuild: items live as long as the document

    def map_extras(self) -> tuple[list[QLineF], list[tuple[str, QRectF]], list[QRectF]]:
        return self.lazy.map_parts()

    def _grow(self, items: list[NodeItem]) -> None:
        if not items:
            return
        rect = self.sceneRect()
        for it in items:
            r = QRectF(it.pos().x(), it.pos().y(), it.width, it.height)
            if not rect.contains(r):
                rect = rect.united(r.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        if rect != self.sceneRect():
            self.setSceneRect(rect)

    def _create(self, node: Any) -> NodeItem:
        item = NodeItem(node.id)
        item.network = self.network
        self.nodes[node.id] = item
        self._sync(item, node)
        x, y = self.folding.place(node.id, node.pos)
        item.setPos(x, y)
        self.home(item)
        return item

    def make_item(self, network: str, node: Any) -> NodeItem:
        """An item for a node of another network (the inside of an expanded block)."""
        item = NodeItem(node.id)
        item.network = network
        ports = self.model.ports(network, node.id)
        category, doc = self._meta(node.type)
        item.set_node(node, ports.inputs, ports.outputs, category, doc)
        return item

    def doc_pos(self, item: NodeItem) -> tuple[float, float]:
        """Where an item's node is in the file: its place on screen less the room made
        for expanded blocks."""
        dx, dy = self.folding.shift.get(item.node_id, (0.0, 0.0))
        return (item.pos().x() - dx, item.pos().y() - dy)

    def place_all(self) -> None:
        """Put every top-level item where its node is, plus the room made for frames."""
        self.map_changed()
        net = self.model.doc.network(self.network)
        if net is None:
            return
        self._syncing += 1
        try:
            for node in net.nodes:
                item = self.nodes.get(node.id)
                if item is not None:
                    x, y = self.folding.place(node.id, node.pos)
                    if (item.pos().x(), item.pos().y()) != (x, y):
                        item.setPos(x, y)
            for e in self.edges.values():
                e.adjust()
            self.rehome(list(self.nodes.values()))
        finally:
            self._syncing -= 1
        # Anew, not grown: once a block folds, its frame's room goes and the scroll range
        # shrinks back, or the view scrolls and fits over an empty sheet.
        self.setSceneRect(self._nodes_rect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))

    def expand(self, ids: list[str]) -> list[str]:
        """Expand block nodes in place (or a folded ×N run back into its N nodes)."""
        return [p[0] for p in self.folding.expand([(i,) for i in ids])]

    def fold(self, ids: list[str]) -> list[str]:
        """Fold expanded blocks; a node of a repeated run folds the run into "×N"."""
        done = [p[0] for p in self.folding.fold([(i,) for i in ids])]
        rest = set(ids) - set(done)
        if rest:
            done += self.folding.fold_runs(rest)
        return done

    def toggle_path(self, path: Path) -> bool:
        """Expand or fold the block at ``path`` (inner blocks: double-click)."""
        if path in self.folding.expanded:
            return bool(self.folding.fold([path]))
        return bool(self.folding.expand([path]))

    def _sync(self, item: NodeItem, node: Any) -> None:
        ports = self.model.ports(self.network, node.id)
        sig = (node.type, node.label, repr(node.params), ports.inputs, ports.outputs)
        if self._item_sig.get(node.id) == sig:
            return
        old = self._item_sig.get(node.id)
        self._item_sig[node.id] = sig
        category, doc = self._meta(node.type)
        old_h = item.height
        item.set_node(node, ports.inputs, ports.outputs, category, doc)
        if item.frame is not None and old is not None and old[0] != node.type:
            self.folding.fold([(node.id,)])  # no longer the same block
        if item.height != old_h or item.edges:
            for e in item.edges:
                e.adjust()

    def _remove_node(self, nid: str) -> None:
        item = self.nodes.pop(nid)
        self._item_sig.pop(nid, None)
        for e in list(item.edges):
            self._remove_edge(e.key)
        self.removeItem(item)

    def _add_edge(self, key: EdgeKey, label: str = "") -> None:
        src, dst = self.nodes.get(key[0]), self.nodes.get(key[2])
        if src is None or dst is None or key in self.edges:
            return
        item = EdgeItem(key, src, dst, label, self.route_obstacles)
        if self.overview:
            item.setCacheMode(EdgeItem.CacheMode.DeviceCoordinateCache)
        self.edges[key] = item
        self.home(item)

    def _remove_edge(self, key: EdgeKey) -> None:
        item = self.edges.pop(key, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def set_overview(self, on: bool) -> None:
        """Zoomed out, wires are straight lines a few pixels long: cache them as pixmaps
        so that panning a whole 10,000-node graph blits instead of calling paint() for
        every wire. Zoomed in they stay uncached (long curves make big pixmaps).
        Switching 10,000 wires costs about 18 ms: the first crossing of the threshold
        switches at once, further ones within OVERVIEW_DELAY_MS wait until the zoom
        settles (a wheel going back and forth would pay it on every notch)."""
        if on == self._overview_wanted:
            return
        self._overview_wanted = on
        now = time.monotonic()
        if self._overview_timer.isActive() or now - self._overview_at < OVERVIEW_DELAY_MS / 1000:
            self._overview_timer.start()
        else:
            self._apply_overview()
        self._overview_at = now

    def _apply_overview(self) -> None:
        on = self._overview_wanted
        if on == self.overview:
            return
        self.overview = on
        mode = EdgeItem.CacheMode.DeviceCoordinateCache if on else EdgeItem.CacheMode.NoCache
        for e in self.edges.values():
            e.setCacheMode(mode)

    # ------------------------------------------------------------ model signals

    def _on_nodes(self, network: str, ids: list) -> None:
        if not self.built:
            return  # built from the document when first shown
        if network != self.network:
            # A block's Inputs / Outputs are the ports of the nodes that use it.
            self._resync(lambda it: it.type_name == network)
            if any(item.frame is not None and item.frame.network == network for _p, item in self.folding.frames()):
                self.folding.forget_layouts(network)
                self.folding.refresh()  # an expanded block changed inside
            return
        nodes = self.model.index(network).nodes
        if self.folding.runs and any((nid in nodes) != (nid in self.nodes) for nid in ids):
            self.folding.unfold_all_runs()  # nodes came or went: a run may be broken
        touched: list[NodeItem] = []
        self._syncing += 1
        try:
            for nid in ids:
                node, item = nodes.get(nid), self.nodes.get(nid)
                if node is None:
                    if item is not None:
                        self._remove_node(nid)
                        self.map_changed()
                    elif nid in self.lazy.nodes:
                        self.lazy.drop_node(nid)
                        self.map_changed()
                    continue
                if item is None and nid in self.lazy.nodes:
                    self.lazy.refile(node)  # not built yet: filed again where it now is
                    self.map_changed()
                    continue
                if item is None:
                    item = self._create(node)
                    self.map_changed()
                else:
                    if item.type_name != node.type:
                        self.map_changed()  # another colour on the map
                    self._sync(item, node)
                    x, y = self.folding.place(nid, node.pos)
                    if (item.pos().x(), item.pos().y()) != (x, y) or item.parentItem() is None:
                        item.setPos(x, y)
                        for e in item.edges:
                            e.adjust()
                        self.rehome([item])
                        self.map_changed()
                touched.append(item)
        finally:
            self._syncing -= 1
        if self.folding.expanded and any(item.frame is not None for item in touched) \
                or any((nid,) in self.folding.expanded for nid in ids if nid not in self.nodes):
            self.folding.refresh()  # a frame moved or went: make room again
        self._grow(touched)
        self._reroute_near(touched)

    def _on_edges(self, network: str) -> None:
        if network != self.network or not self.built:
            return
        self.folding.unfold_all_runs()  # rewired: a folded run may no longer be one
        self.map_changed()
        net = self.model.doc.network(network)
        keys = {e.key for e in net.edges} if net is not None else set()
        changed: set[str] = set()
        for key in [k for k in self.edges if k not in keys]:
            self._remove_edge(key)
            changed.update((key[0], key[2]))
        for key in [k for k in self.lazy.edges if k not in keys]:
            self.lazy.drop_edge(key)
        for key in keys - self.edges.keys() - self.lazy.edges:
            if key[0] in self.lazy.nodes or key[2] in self.lazy.nodes:
                self.lazy.add_edge(key)  # built with the node that is not yet
            else:
                self._add_edge(key)
            changed.update((key[0], key[2]))
        # A variadic node (Add, Concat) shows one spare input, so its ports follow its wires.
        nodes = self.model.index(network).nodes
        for nid in changed:
            if nid in self.nodes and nid in nodes:
                self._sync(self.nodes[nid], nodes[nid])

    def _resync(self, pred: Any) -> None:
        nodes = self.model.index(self.network).nodes
        for nid, item in self.nodes.items():
            if pred(item) and nid in nodes:
                self._sync(item, nodes[nid])

    def _on_renamed(self, old: str, new: str) -> None:
        if old == self.network:
            self.network = new

    def _on_networks(self) -> None:
        if not self.built:
            return
        if self.model.doc.network(self.network) is None:
            self.rebuild()  # the network is gone: show nothing (its tab will close)
            return
        self._resync(lambda it: it.type_name not in REGISTRY)

    # ------------------------------------------------------------ background

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        c = style.colors()
        painter.fillRect(rect, style.qcolor(c.background))
        scale = painter.worldTransform().m11()
        if scale < LOD.GRID:
            return
        g = self.grid * (1 if scale >= 0.7 else 5)
        left, top = int(rect.left() // g) * g, int(rect.top() // g) * g
        minor: list[QLineF] = []
        major: list[QLineF] = []
        x = left
        while x < rect.right():
            (major if round(x / g) % 5 == 0 else minor).append(QLineF(x, rect.top(), x, rect.bottom()))
            x += g
        y = top
        while y < rect.bottom():
            (major if round(y / g) % 5 == 0 else minor).append(QLineF(rect.left(), y, rect.right(), y))
            y += g
        # Hairlines without antialiasing: antialiased, the grid cost more than the nodes.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(style.qcolor(c.grid), 0)
        painter.setPen(pen)
        painter.drawLines(minor)
        pen.setColor(style.qcolor(c.grid_major))
        painter.setPen(pen)
        painter.drawLines(major)
