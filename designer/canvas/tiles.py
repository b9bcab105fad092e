"""TiledScene: the scene machinery that keeps a 10,000-node canvas fast to paint.

- Tiles: items live in square tiles that clip to their bounds, so painting skips a whole
  tile outside the view instead of testing each of its items.
- The map: far out, the view draws one map of boxes and lines, gathered once, instead of
  asking every item to paint (see CanvasView.paintEvent).
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsScene

from designer.canvas import style
from designer.canvas.edge_item import EdgeItem
from designer.canvas.node_item import NodeItem

# Items live in square tiles that clip to their bounds: painting then skips a whole tile
# outside the view instead of testing each of its items (with 20,000 items, that test
# alone cost 20 ms a frame). A tile's bounds reach TILE_PAD beyond its square, so an
# item is homed by its top-left corner and still fits; bigger items stay top-level.
TILE = 2000.0
TILE_PAD = 800.0
_CLIPS = QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape
MAP_PIXELS = 8_000_000  # the largest map pixmap kept for panning (32 MB)
# The map is drawn into a pixmap once the view pans at one scale, or paints in place this
# often: an edit repaints once or twice, and would pay for the pixmap for nothing.
MAP_REPLAYS = 3




class TiledScene(QGraphicsScene):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._tiles: dict[tuple[int, int], QGraphicsRectItem] = {}
        self._map: MapDrawing | None = None  # the zoomed-out drawing, see draw_map
        self._map_pixmap: tuple[tuple[float, float], QPixmap] | None = None  # it, drawn at a scale
        self._map_scale = (0.0, 0.0)  # the scale of the last map drawn
        self._map_offset = (0.0, 0.0)
        self._map_replays = 0  # paints of this map at this scale so far
        # What a view fits to (CanvasView._graph_rect), kept until the map changes: a
        # view that follows its size while a big file opens fits itself several times.
        self.fit_rect: QRectF | None = None

    # ------------------------------------------------------------ tiles

    def _tile(self, x: float, y: float) -> QGraphicsRectItem:
        key = (int(x // TILE), int(y // TILE))
        tile = self._tiles.get(key)
        if tile is None:
            tile = QGraphicsRectItem(key[0] * TILE - TILE_PAD, key[1] * TILE - TILE_PAD,
                                     TILE + 2 * TILE_PAD, TILE + 2 * TILE_PAD)
            tile.setPen(Qt.PenStyle.NoPen)
            tile.setFlags(_CLIPS | QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)  # not hit by items()
            tile.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            # Above wires too long for a tile (top level, z 0): a wire passes under nodes.
            tile.setZValue(0.5)
            self.addItem(tile)
            self._tiles[key] = tile
        return tile

    def home(self, item: QGraphicsItem) -> None:
        """Put a top-level node or wire into the tile that holds it (tiles sit at 0, 0,
        so its coordinates do not change), or at the top level when none does."""
        rect = item.mapRectToScene(item.boundingRect())
        tile: QGraphicsItem | None = self._tile(rect.left(), rect.top())
        if tile is not None and not tile.rect().contains(rect):  # type: ignore[attr-defined]  # tiles are rect items
            tile = None
        if item.scene() is None:
            if tile is None:
                self.addItem(item)
            else:
                item.setParentItem(tile)
        elif item.parentItem() is not tile:
            item.setParentItem(tile)  # type: ignore[arg-type]  # None unparents; PySide6's stubs omit it

    def lift(self, items: list[NodeItem]) -> None:
        """Out of their tiles while dragged (a tile would clip them at its edge)."""
        for it in items:
            it.setParentItem(None)  # type: ignore[arg-type]  # None unparents; PySide6's stubs omit it
            for e in it.edges:
                e.setParentItem(None)  # type: ignore[arg-type]  # as above

    def rehome(self, items: list[NodeItem]) -> None:
        for it in items:
            self.home(it)
            for e in it.edges:
                self.home(e)

    # ------------------------------------------------------------ map (zoomed far out)

    def draw_map(self, painter: QPainter) -> None:
        """The whole graph as a map: coloured boxes and straight wires, gathered once and
        drawn per frame. Far out, nodes show no text anyway, and asking
        10,000 items to paint themselves cost ten times a frame's budget."""
        if self._map is None:
            self._map = self._record_map()
            self._map_pixmap = None
            self._map_replays = 0
        t = painter.worldTransform()
        scale, offset = (t.m11(), t.m22()), (t.dx(), t.dy())
        if scale != self._map_scale:
            self._map_replays = 0
        elif offset != self._map_offset:
            self._map_replays = MAP_REPLAYS  # panning at this scale: worth a pixmap now
        if self._map_replays >= MAP_REPLAYS and (self._map_pixmap is None or self._map_pixmap[0] != scale):
            self._map_pixmap = self._render_map(painter, scale)
        if self._map_pixmap is not None and self._map_pixmap[0] == scale:
            # Panning at one scale: the map as drawn at this scale, blitted (replaying
            # 20,000 boxes and lines cost a whole frame's budget).
            corner = t.map(self.sceneRect().topLeft())
            painter.save()
            painter.resetTransform()
            painter.drawPixmap(round(corner.x()), round(corner.y()), self._map_pixmap[1])
            painter.restore()
        else:  # zooming (a new scale each frame) or just edited: drawn afresh
            self._map.draw(painter)
            self._map_replays += 1
        self._map_scale, self._map_offset = scale, offset
        c = style.colors()
        selected = [it.mapRectToScene(QRectF(0, 0, it.width, it.height))
                    for it in self.selectedItems() if isinstance(it, NodeItem)]
        if selected:
            pen = QPen(style.qcolor(c.selection), 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRects(selected)

    def _render_map(self, painter: QPainter, scale: tuple[float, float]) -> tuple[tuple[float, float], QPixmap] | None:
        """The map over the whole scene rect at ``scale``, when that makes a pixmap of at
        most MAP_PIXELS."""
        assert self._map is not None
        rect = self.sceneRect()
        ratio = painter.device().devicePixelRatioF()
        w, h = math.ceil(rect.width() * scale[0] * ratio), math.ceil(rect.height() * scale[1] * ratio)
        if w * h > MAP_PIXELS or w <= 0 or h <= 0:
            return None
        pix = QPixmap(w, h)
        pix.setDevicePixelRatio(ratio)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.scale(scale[0], scale[1])
        p.translate(-rect.left(), -rect.top())
        self._map.draw(p)
        p.end()
        return scale, pix

    def map_extras(self) -> tuple[list[QLineF], list[tuple[str, QRectF]], list[QRectF]]:
        """What the map shows besides the items: (wires, (colour, box), broken boxes)."""
        return [], [], []

    def map_changed(self) -> None:
        """Anything moved, came, went or changed colour."""
        self._map = None
        self._map_pixmap = None
        self.fit_rect = None

    def _record_map(self) -> MapDrawing:
        lines: list[QLineF] = []
        boxes: dict[str, list[QRectF]] = {}
        frames: list[tuple[str, QRectF]] = []
        broken: list[QRectF] = []
        for it in self.items():
            if not it.isVisible():
                continue
            if isinstance(it, EdgeItem):
                lines.append(QLineF(it.mapToScene(it.p1), it.mapToScene(it.p2)))
            elif isinstance(it, NodeItem):
                rect = it.mapRectToScene(QRectF(0, 0, it.width, it.height))
                hexc = style.category_hex(it.category)
                (frames.append((hexc, rect)) if it.frame is not None else boxes.setdefault(hexc, []).append(rect))
                if it.errors:
                    broken.append(rect)
        more_lines, more_boxes, more_broken = self.map_extras()
        lines += more_lines
        broken += more_broken
        for hexc, rect in more_boxes:
            boxes.setdefault(hexc, []).append(rect)
        return MapDrawing(frames, lines, boxes, broken)


class MapDrawing:
    """The far-out map as lists of boxes and lines, drawn with one call per colour. Not a
    QPicture: replaying 10,000 recorded boxes took three times drawing them directly."""

    def __init__(self, frames: list[tuple[str, QRectF]], lines: list[QLineF], boxes: dict[str, list[QRectF]],
                 broken: list[QRectF]) -> None:
        self.frames, self.lines, self.boxes, self.broken = frames, lines, boxes, broken

    def draw(self, p: QPainter) -> None:
        c = style.colors()
        p.save()
        p.setPen(Qt.PenStyle.NoPen)
        for hexc, rect in self.frames:  # frames first: their inner nodes go on top
            p.setBrush(style.tint(hexc, 40))
            p.drawRect(rect)
        pen = QPen(style.qcolor(c.wire), 1.0)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawLines(self.lines)
        p.setPen(Qt.PenStyle.NoPen)
        for hexc, rects in self.boxes.items():
            p.setBrush(style.qcolor(hexc))
            p.drawRects(rects)
        if self.broken:
            pen = QPen(style.qcolor(c.error), 2.5)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRects(self.broken)
        p.restore()
