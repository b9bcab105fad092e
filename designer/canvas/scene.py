"""CanvasScene: mirrors one network of the model as items, updated only from the model's
signals (never the other way round). Only the items named in a signal are touched, and
analysis results refresh the existing items' text and badges without recreating them."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene

from designer.canvas import lod as LOD
from designer.canvas import style
from designer.canvas.edge_item import EdgeItem, EdgeKey
from designer.canvas.node_item import PORT_R, NodeItem
from designer.canvas.routing import ROUTE_LIMIT
from designer.layout import NODE_W
from designer.model import DocumentModel
from graph_compiler.analysis import ERROR
from graph_compiler.catalog import REGISTRY

MARGIN = 1500.0  # free space around the graph, so there is room to add nodes


class CanvasScene(QGraphicsScene):
    def __init__(self, model: DocumentModel, network: str, parent: Any = None) -> None:
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
        self.overview = False
        model.documentReset.connect(self.rebuild)
        model.nodesChanged.connect(self._on_nodes)
        model.edgesChanged.connect(self._on_edges)
        model.analysisUpdated.connect(self.refresh_analysis)
        model.networkRenamed.connect(self._on_renamed)
        model.networksChanged.connect(self._on_networks)
        self.rebuild()

    # ------------------------------------------------------------ helpers for items

    def snap_point(self, value: QPointF) -> QPointF:
        """Called by NodeItem.itemChange: snap user drags, never model-driven moves."""
        if self._syncing or not self.snap_enabled:
            return value
        g = self.grid
        return QPointF(round(value.x() / g) * g, round(value.y() / g) * g)

    def _meta(self, type_name: str) -> tuple[str, str]:
        spec = REGISTRY.get(type_name)
        if spec is not None:
            return spec.category, spec.doc
        if self.model.doc.network(type_name) is not None:
            return "Blocks", f"Block: the network {type_name!r} used as one layer"
        return "", f"unknown node type {type_name!r}"

    def route_obstacles(self, area: QRectF, ends: tuple[NodeItem, NodeItem]) -> list[QRectF]:
        """Rects of the nodes in ``area`` other than a wire's own ends (wires route around
        them), for graphs small enough to route."""
        if len(self.nodes) > ROUTE_LIMIT:
            return []
        out = []
        for item in self.nodes.values():
            if item in ends:
                continue
            r = QRectF(item.pos().x() - PORT_R, item.pos().y(), NODE_W + 2 * PORT_R, item.height)
            if r.intersects(area):
                out.append(r)
        return out

    def _reroute_near(self, items: list[NodeItem]) -> None:
        """Wires that pass where moved or new nodes now are take a new route."""
        if not items or len(self.nodes) > ROUTE_LIMIT:
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
        self._syncing += 1
        try:
            for e in self.edges.values():
                e.detach()
            self.clear()
            self.nodes.clear()
            self.edges.clear()
            self._item_sig.clear()
            net = self.model.doc.network(self.network)
            if net is None:
                return
            for node in net.nodes:
                if node.id not in self.nodes:
                    self._create(node)
            for e in net.edges:
                self._add_edge(e.key)
        finally:
            self._syncing -= 1
        self.setSceneRect(self._nodes_rect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        if self.model.analysis_if_ready() is not None:
            self.refresh_analysis()

    def _nodes_rect(self) -> QRectF:
        if not self.nodes:
            return QRectF(0, 0, NODE_W, 100)
        xs = [it.pos().x() for it in self.nodes.values()]
        ys = [it.pos().y() for it in self.nodes.values()]
        hs = max(it.height for it in self.nodes.values())
        return QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + hs)

    def _grow(self, items: list[NodeItem]) -> None:
        if not items:
            return
        rect = self.sceneRect()
        for it in items:
            r = QRectF(it.pos().x(), it.pos().y(), NODE_W, it.height)
            if not rect.contains(r):
                rect = rect.united(r.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        if rect != self.sceneRect():
            self.setSceneRect(rect)

    def _create(self, node: Any) -> NodeItem:
        item = NodeItem(node.id)
        self.nodes[node.id] = item
        self._sync(item, node)
        item.setPos(node.pos[0], node.pos[1])
        self.addItem(item)
        return item

    def _sync(self, item: NodeItem, node: Any) -> None:
        ports = self.model.ports(self.network, node.id)
        sig = (node.type, node.label, repr(node.params), ports.inputs, ports.outputs)
        if self._item_sig.get(node.id) == sig:
            return
        self._item_sig[node.id] = sig
        category, doc = self._meta(node.type)
        old_h = item.height
        item.set_node(node, ports.inputs, ports.outputs, category, doc)
        if item.height != old_h or item.edges:
            for e in item.edges:
                e.adjust()

    def _remove_node(self, nid: str) -> None:
        item = self.nodes.pop(nid)
        self._item_sig.pop(nid, None)
        for e in list(item.edges):
            self._remove_edge(e.key)
        self.removeItem(item)

    def _add_edge(self, key: EdgeKey) -> None:
        src, dst = self.nodes.get(key[0]), self.nodes.get(key[2])
        if src is None or dst is None or key in self.edges:
            return
        item = EdgeItem(key, src, dst, self.route_obstacles)
        if self.overview:
            item.setCacheMode(EdgeItem.CacheMode.DeviceCoordinateCache)
        self.edges[key] = item
        self.addItem(item)

    def _remove_edge(self, key: EdgeKey) -> None:
        item = self.edges.pop(key, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def set_overview(self, on: bool) -> None:
        """Zoomed out, wires are straight lines a few pixels long: cache them as pixmaps
        so that panning a whole 10,000-node graph blits instead of calling paint() for
        every wire. Zoomed in they stay uncached (long curves make big pixmaps)."""
        if on == self.overview:
            return
        self.overview = on
        mode = EdgeItem.CacheMode.DeviceCoordinateCache if on else EdgeItem.CacheMode.NoCache
        for e in self.edges.values():
            e.setCacheMode(mode)

    # ------------------------------------------------------------ model signals

    def _on_nodes(self, network: str, ids: list) -> None:
        if network != self.network:
            # A block's Inputs / Outputs are the ports of the nodes that use it.
            self._resync(lambda it: it.type_name == network)
            return
        nodes = self.model.index(network).nodes
        touched: list[NodeItem] = []
        self._syncing += 1
        try:
            for nid in ids:
                node, item = nodes.get(nid), self.nodes.get(nid)
                if node is None:
                    if item is not None:
                        self._remove_node(nid)
                    continue
                if item is None:
                    item = self._create(node)
                else:
                    self._sync(item, node)
                    if (item.pos().x(), item.pos().y()) != node.pos:
                        item.setPos(node.pos[0], node.pos[1])
                touched.append(item)
        finally:
            self._syncing -= 1
        self._grow(touched)
        self._reroute_near(touched)

    def _on_edges(self, network: str) -> None:
        if network != self.network:
            return
        net = self.model.doc.network(network)
        keys = {e.key for e in net.edges} if net is not None else set()
        changed: set[str] = set()
        for key in [k for k in self.edges if k not in keys]:
            self._remove_edge(key)
            changed.update((key[0], key[2]))
        for key in keys - self.edges.keys():
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
        if self.model.doc.network(self.network) is None:
            self.rebuild()  # the network is gone: show nothing (its tab will close)
            return
        self._resync(lambda it: it.type_name not in REGISTRY)

    def refresh_analysis(self) -> None:
        analysis = self.model.analysis
        info = analysis.networks.get(self.network)
        errors: dict[str, list[str]] = {}
        for d in analysis.diagnostics:
            if d.network == self.network and d.node and d.severity == ERROR:
                errors.setdefault(d.node, []).append(d.message)
        infos = info.nodes if info is not None else {}
        for nid, item in self.nodes.items():
            item.set_analysis(infos.get(nid), errors.get(nid, []))
        for (src, sp, dst, dp), edge in self.edges.items():
            si = infos.get(src)
            outs = si.outputs if si is not None else None
            t = outs[sp] if outs and sp < len(outs) else None
            edge.set_label(str(t) if t is not None else "")
            edge.set_type(t)

    # ------------------------------------------------------------ background

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
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
