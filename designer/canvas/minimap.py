"""Minimap: a small overview of the whole network in a corner of the canvas.

It shows every node as a dot-sized box (red when it has an error), and the part of the
graph the view shows as a rectangle; clicking or dragging on it moves the view there.
The boxes are drawn once into a pixmap whenever the graph or its analysis changes (a
short timer folds a burst of edits into one redraw), so scrolling only repaints the
rectangle: a 10,000-node graph costs one pixmap per edit, not per frame. While the
minimap is hidden (all in view, a small canvas) an edit only re-measures the graph's
extent; the picture is drawn when it shows.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QShowEvent
from PySide6.QtWidgets import QWidget

from designer.canvas import style
from designer.canvas.lazy import guess_height
from graph_compiler.layout import NODE_W

if TYPE_CHECKING:
    from designer.canvas.node_item import NodeItem
    from designer.canvas.view import CanvasView

SIZE = (200, 130)  # widget size in pixels, on a roomy canvas
# On a small canvas (a 1366x768 screen with the training dock open) the minimap shrinks to
# at most this share of the viewport's width and height, and hides below MIN_WIDTH: a
# 200x130 box over a 330-px canvas would hide the nodes it is meant to help find.
MAX_SHARE = (0.25, 0.3)
MIN_WIDTH = 96
MARGIN = 10  # from the view's corner
PAD = 6.0  # inside the frame
FRAME = "frame:"  # a box that is an expanded block's frame (see _frame_boxes)
CORNER_LIMIT = 3000  # more nodes: always the bottom-right corner (a big graph is read zoomed out)


class Minimap(QWidget):
    def __init__(self, view: CanvasView) -> None:
        # A child of the view, not of its viewport: QGraphicsView scrolls the viewport's
        # children along with the scene.
        super().__init__(view)
        self.view = view
        self.setFixedSize(*SIZE)
        self.wanted = True  # the user's View > Minimap; it still hides when the canvas is too small
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._pixmap: QPixmap | None = None
        self._world = QRectF()  # scene rect the pixmap shows
        self._bounds = QRectF()  # the nodes' own extent: no overview needed while it is all in view
        self._dragging = False
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(120)
        self._redraw.timeout.connect(self.rebuild)
        self._errors: frozenset[str] = frozenset()
        self.waiting = False  # hidden until the user moves: see place
        self._rects: list[QRectF] = []  # the nodes on screen, as last measured (see place)
        view.viewport().installEventFilter(self)  # follow the viewport's size
        model = view.model
        for sig in (model.documentReset, model.nodesChanged):
            sig.connect(self.schedule)
        model.analysisUpdated.connect(self._on_analysis)
        view.scene().foldChanged.connect(self.schedule)
        for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
            bar.valueChanged.connect(self._on_scrolled)
            bar.rangeChanged.connect(self._on_scrolled)  # a zoom changes the ranges
        self.schedule()

    # ------------------------------------------------------------ geometry

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def set_wanted(self, on: bool) -> None:
        self.wanted = on
        if on:
            self.rebuild()  # edits made while it was off went unmeasured
        else:
            self.place()

    def fitting_size(self) -> tuple[int, int] | None:
        """The minimap's size for the viewport's, None when it would be too small to use."""
        vp = self.view.viewport().size()
        aspect = SIZE[1] / SIZE[0]
        w = min(float(SIZE[0]), vp.width() * MAX_SHARE[0], vp.height() * MAX_SHARE[1] / aspect)
        return (int(w), round(int(w) * aspect)) if w >= MIN_WIDTH else None

    def place(self) -> None:
        """A corner of the view's viewport, sized to it (or hidden): the bottom-right one,
        unless another corner hides fewer nodes. While the view keeps the framing a file
        opened with (the user has not moved yet) and every corner would hide part of a
        node, it waits: a new user's first look at a graph too tall to show whole is not
        covered; the first scroll or zoom shows it. Scrolling does not move it."""
        size = self.fitting_size()
        if size is not None and size != (self.width(), self.height()):
            self.setFixedSize(*size)
            self.schedule()  # the picture is drawn at the widget's size
        show = self.wanted and size is not None and not self.all_in_view()
        vp = self.view.viewport().geometry()
        w, h = self.width(), self.height()
        left, right = vp.left() + MARGIN, vp.right() - w - MARGIN
        top, bottom = vp.top() + MARGIN, vp.bottom() - h - MARGIN
        corners = [QPoint(right, bottom), QPoint(left, bottom), QPoint(right, top), QPoint(left, top)]
        at, self.waiting = corners[0], False
        if show and self._rects:
            cover = [self._covered(c) for c in corners]
            best = min(range(4), key=cover.__getitem__)  # the first of equals
            at = corners[best]
            self.waiting = cover[best] > 0 and self.view.keeps_fit()
        self.setVisible(show and not self.waiting)
        self.move(at)

    def _covered(self, at: QPoint) -> float:
        """How much of the nodes (scene area) the minimap would hide with its top-left
        corner at ``at`` (view coordinates)."""
        vp_at = self.view.viewport().mapFrom(self.view, at)
        area = self.view.mapToScene(QRect(vp_at, self.size())).boundingRect()
        total = 0.0
        for r in self._rects:
            if r.intersects(area):
                cut = r.intersected(area)
                total += cut.width() * cut.height()
        return total

    def _scale(self) -> float:
        w, h = self.width() - 2 * PAD, self.height() - 2 * PAD
        if self._world.isEmpty():
            return 1.0
        return min(w / self._world.width(), h / self._world.height())

    def to_map(self, p: QPointF) -> QPointF:
        s = self._scale()
        return QPointF(PAD + (p.x() - self._world.left()) * s, PAD + (p.y() - self._world.top()) * s)

    def to_scene(self, p: QPointF) -> QPointF:
        s = self._scale()
        return QPointF(self._world.left() + (p.x() - PAD) / s, self._world.top() + (p.y() - PAD) / s)

    def all_in_view(self) -> bool:
        """The whole network is on screen: an overview would only cover part of it."""
        return self._bounds.isEmpty() or self.visible_rect().contains(self._bounds)

    def _on_scrolled(self, *_args: object) -> None:
        if self.wanted and (self.waiting or self.isVisible() == self.all_in_view()):
            self.place()
        self.update()

    def visible_rect(self) -> QRectF:
        """The scene rectangle the view shows now."""
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    # ------------------------------------------------------------ drawing

    def schedule(self, *_args: object) -> None:
        if self.wanted:  # hidden only because all is in view: the extent must stay current
            self._redraw.start()
        else:
            self._pixmap = None  # out of date; set_wanted measures and draws again

    def _on_analysis(self, *_args: object) -> None:
        errors = frozenset(self.view.scene().error_ids())
        if errors != self._errors:  # only the red boxes can change
            self._errors = errors
            self.schedule()

    def showEvent(self, event: QShowEvent) -> None:
        if self._pixmap is None:
            self._draw(self._boxes())

    def rebuild(self) -> None:
        """Measure the graph; draw its picture only while the minimap is on screen (hidden,
        because all is in view or the canvas is small, only the extent must stay current,
        and showing it draws the picture)."""
        self._pixmap = None
        if self.isVisible():
            boxes = self._boxes()
            self.place()  # the extent may have grown out of view, or back into it
            if self._pixmap is None and self.isVisible():
                self._draw(boxes)
        else:
            self._measure()
            self.place()  # shown: showEvent draws
        self.update()

    def _nodes(self) -> list[tuple[float, float, float, float, str, bool]]:
        """(x, y, width, height, category, broken) of every node, built or not."""
        scene = self.view.scene()
        net = self.view.model.doc.network(self.view.network)
        # Positions from the document (plain tuples): asking 10,000 items for pos() through
        # the Qt bindings costs more than all the drawing.
        # Where folding put them: expanded frames make room, folded ×N runs show one node.
        found: list[tuple[float, float, float, float, str, bool]] = []
        unbuilt = scene.lazy.nodes
        broken = scene.error_ids() if unbuilt else set()
        place = scene.folding.place
        hidden = {nid for run in scene.folding.runs.values() for nid in run[1:]}
        for node in net.nodes if net is not None else ():
            item = scene.nodes.get(node.id)
            if item is not None:
                if node.id in hidden:
                    continue
                x, y = place(node.id, node.pos)
                if item.frame is not None:
                    self._frame_boxes(item, x, y, found)
                else:
                    found.append((x, y, item.width, item.height, item.category, bool(item.errors)))
            elif node.id in unbuilt:
                found.append((node.pos[0], node.pos[1], NODE_W, guess_height(node), scene.category(node.type),
                              node.id in broken))
        self._rects = [QRectF(f[0], f[1], f[2], f[3]) for f in found] if len(found) <= CORNER_LIMIT else []
        return found

    @staticmethod
    def _frame_boxes(item: NodeItem, x: float, y: float,
                     found: list[tuple[float, float, float, float, str, bool]]) -> None:
        """An expanded block: its frame (tinted), then its inner nodes on top, nested."""
        assert item.frame is not None
        found.append((x, y, item.width, item.height, FRAME + item.category, bool(item.errors)))
        for child in item.frame.nodes.values():
            cx, cy = x + child.pos().x(), y + child.pos().y()
            if child.frame is not None:
                Minimap._frame_boxes(child, cx, cy, found)
            else:
                found.append((cx, cy, child.width, child.height, child.category, bool(child.errors)))

    def _measure(self) -> None:
        """The nodes' extent alone (what deciding to show the minimap needs)."""
        self._set_extent(_extent(self._nodes()))

    def _boxes(self) -> list[tuple[float, float, float, float, str]]:
        boxes: list[tuple[float, float, float, float, str]] = []
        colours: dict[str, str] = {}
        error = style.colors().error
        for x, y, w, h, category, broken in self._nodes():
            colour = colours.get(category)
            if colour is None:
                frame = category.startswith(FRAME)
                colour = colours[category] = (FRAME if frame else "") + style.category_hex(category.removeprefix(FRAME))
            if broken:  # a broken frame is outlined red; its inner nodes show where
                colour = FRAME + error if colour.startswith(FRAME) else error
            boxes.append((x, y, w, h, colour))
        self._set_extent(_extent(boxes))
        return boxes

    def _set_extent(self, rect: QRectF) -> None:
        self._bounds = QRectF(rect)
        rect = rect.adjusted(-40, -40, 40, 40)
        # Grow the shorter side so the graph sits centred at the widget's aspect ratio.
        aspect = (self.width() - 2 * PAD) / (self.height() - 2 * PAD)
        if rect.width() / max(rect.height(), 1.0) < aspect:
            grow = rect.height() * aspect - rect.width()
            rect.adjust(-grow / 2, 0, grow / 2, 0)
        else:
            grow = rect.width() / aspect - rect.height()
            rect.adjust(0, -grow / 2, 0, grow / 2)
        self._world = rect

    def _draw(self, boxes: list[tuple[float, float, float, float, str]]) -> None:
        ratio = self.devicePixelRatioF()
        pix = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
        pix.setDevicePixelRatio(ratio)
        c = style.colors()
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = QColor(style.qcolor(c.node))
        bg.setAlpha(230)
        p.setPen(QPen(style.qcolor(c.node_border), 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 6, 6)
        p.setPen(Qt.PenStyle.NoPen)
        s = self._scale()
        # One drawRects call per colour: a 10,000-node graph is a handful of C++ calls.
        left, top = self._world.left(), self._world.top()
        by_colour: dict[str, list[QRectF]] = {}
        for x, y, w, h, colour in boxes:
            by_colour.setdefault(colour, []).append(
                QRectF(PAD + (x - left) * s, PAD + (y - top) * s, max(2.0, w * s), max(2.0, h * s)))
        # Expanded blocks' frames first, tinted and outlined: their inner nodes go on top.
        for colour, rects in sorted(by_colour.items(), key=lambda kv: not kv[0].startswith(FRAME)):
            if colour.startswith(FRAME):
                hexc = colour.removeprefix(FRAME)
                p.setPen(QPen(style.qcolor(hexc), 1))
                p.setBrush(style.tint(hexc, 40))
            else:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(style.qcolor(colour))
            p.drawRects(rects)
        p.end()
        self._pixmap = pix
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        if self._pixmap is not None:
            p.drawPixmap(0, 0, self._pixmap)
        if self._world.isEmpty():
            return
        r = self.visible_rect()
        a, b = self.to_map(r.topLeft()), self.to_map(r.bottomRight())
        frame = QRectF(a, b).intersected(QRectF(1, 1, self.width() - 2, self.height() - 2))
        p.setPen(QPen(style.qcolor(style.colors().selection), 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(frame)

    # ------------------------------------------------------------ navigation

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._go(event.position())
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._go(event.position())
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False
        event.accept()

    def _go(self, at: QPointF) -> None:
        self.view.look_at(self.to_scene(at))
        self.update()


def _extent(boxes: Sequence[tuple[Any, ...]]) -> QRectF:
    """The rectangle around boxes given as (x, y, width, height, ...); empty for none."""
    rect = QRectF()
    if boxes:
        rect = QRectF(min(b[0] for b in boxes), min(b[1] for b in boxes), 0, 0)
        rect.setRight(max(b[0] + b[2] for b in boxes))
        rect.setBottom(max(b[1] + b[3] for b in boxes))
    return rect
