"""EdgeItem: a wire between two ports, drawn as a cubic curve labelled with the tensor
shape it carries; a straight line when zoomed out. WireItem: the rubber wire of a drag."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from designer.canvas import lod as LOD
from designer.canvas import style
from designer.canvas.node_item import PORT_R, NodeItem, font
from designer.canvas.routing import LEAD, curve, route
from designer.canvas.text import shape_text
from graph_compiler.analysis import TensorType

EdgeKey = tuple[str, int, str, int]
Obstacles = Callable[[QRectF, tuple[NodeItem, NodeItem]], list[QRectF]]
DTYPE_NAMES = {"float": "float32", "long": "int64"}  # the analysis's dtypes, as torch names them
_LABEL_PAD = 10.0  # label box width beyond its text
_metrics: list[QFontMetricsF] = []
_HIT_HALF = 5.0  # half the width of the band around the wire that a click hits
_FLAGS = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable


_widths: dict[str, float] = {}


def label_width(text: str) -> float:
    w = _widths.get(text)
    if w is None:  # a graph repeats a few shapes thousands of times
        if not _metrics:
            _metrics.append(QFontMetricsF(font("small")))
        if len(_widths) > 10_000:
            _widths.clear()
        w = _widths[text] = _metrics[0].horizontalAdvance(text) + _LABEL_PAD
    return w


def node_obstacles(items: Iterable[NodeItem], area: QRectF, ends: tuple[NodeItem, NodeItem]) -> list[QRectF]:
    """Rects of the nodes in ``area`` that a wire routes around (sibling items: the top
    level, or the inside of one expanded frame). A wire's own two nodes count by their
    bodies alone, inside the ports: a wire that wraps back to the next band must not
    cross the node it goes into. Hidden items are no obstacle: the members of a folded
    "×N" run stand hidden where the ×N node is, and wires into and out of it ran around
    them onto the next lane."""
    out = []
    for item in items:
        if not item.isVisible():
            continue
        x, y = item.pos().x(), item.pos().y()
        if item in ends:
            r = QRectF(x + PORT_R + 3, y, item.width - 2 * PORT_R - 6, item.height)
        else:
            r = QRectF(x - PORT_R, y, item.width + 2 * PORT_R, item.height)
        if r.intersects(area):
            out.append(r)
    return out


def _overlaps(left: float, top: float, w: float, node: NodeItem) -> bool:
    """Whether a label box (18 px high) overlaps a node's body, ports included."""
    pos = node.pos()
    nx, ny = pos.x() - PORT_R - 2, pos.y()
    return left < nx + node.width + 2 * PORT_R + 4 and nx < left + w and top < ny + node.height and ny < top + 18


class EdgeItem(QGraphicsPathItem):
    """A QGraphicsPathItem so its bounds are computed in C++ (see NodeItem). Its path is
    not the curve (self._path, painted by paint()) but the curve's box grown by half the
    hit band, plus the label's box: so the bounds hold the hit shape (a 10 px band around
    the wire, see shape()) without a pen (with one, Qt derives the bounds from shape(), a
    Python stroke per wire, a tenth of building a 10,000-node scene), and without the
    curve's control points, which lie far outside a wire that wraps back across a row."""

    def __init__(self, key: EdgeKey, src: NodeItem, dst: NodeItem, label: str = "",
                 obstacles: Obstacles | None = None) -> None:
        super().__init__()
        self._obstacles = obstacles  # the scene's: rects of other nodes in an area
        self._type: TensorType | None = None
        self._routed = False  # a detour around nodes, not the plain curve
        self.setPen(Qt.PenStyle.NoPen)
        self.key = key
        self.src = src
        self.dst = dst
        self.label = label
        self.valid = True  # False when a port it names no longer exists
        self._path = QPainterPath()
        self._label_rect = QRectF()
        self._shape: QPainterPath | None = None
        self.setFlags(_FLAGS)
        self.setZValue(0)
        src.edges.append(self)
        dst.edges.append(self)
        self.adjust()

    def detach(self) -> None:
        for node in (self.src, self.dst):
            if self in node.edges:
                node.edges.remove(self)

    def set_type(self, t: TensorType | None) -> None:
        """The tensor the wire carries: its label, and a tooltip with shape and dtype."""
        if t == self._type and self.toolTip():
            return
        self._type = t
        src, _sp, dst, dp = self.key
        where = f"{src} → {dst}" + (f" (input {dp})" if dp else "")
        if t is None:
            self.setToolTip(f"{where}\nshape not known yet")
            self.set_label("")
        else:
            self.setToolTip(f"{where}\n{t}  ·  {DTYPE_NAMES.get(t.dtype, t.dtype)}")
            self.set_label(shape_text(t))

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.label = text
            self._apply_bounds()  # the curve itself has not moved

    def adjust(self) -> None:
        """Recompute the curve after either end moved."""
        _, sp, _, dp = self.key
        self.valid = sp < len(self.src.out_names) and dp < len(self.dst.in_names)
        p1 = self.src.scene_port_pos(True, sp)
        p2 = self.dst.scene_port_pos(False, dp)
        self._p1, self._p2 = p1, p2
        others: list[QRectF] = []
        if self._obstacles is not None:
            others = self._obstacles(QRectF(p1, p2).normalized().adjusted(-LEAD, -LEAD, LEAD, LEAD),
                                     (self.src, self.dst))
        self._path = route(p1, p2, others) if others else curve(p1, p2)
        self._routed = bool(others) and self._path.elementCount() != 4
        self._apply_bounds()

    def _apply_bounds(self) -> None:
        bounds = QPainterPath()
        bounds.addRect(self._path.boundingRect().adjusted(-_HIT_HALF, -_HIT_HALF, _HIT_HALF, _HIT_HALF))
        self._label_rect = QRectF()
        if self.label:
            if self._routed:
                mid = self._path.pointAtPercent(0.5)
                mx, my = mid.x(), mid.y()
            else:  # the curve's control points mirror each other: its middle is the chord's
                mx = (self._p1.x() + self._p2.x()) / 2
                my = (self._p1.y() + self._p2.y()) / 2
            w = label_width(self.label)
            left, top = mx - w / 2, my - 9
            # Only where it fits between the two nodes: a label over a node's ports or
            # text hides both (the node shows its output shape anyway).
            if not (_overlaps(left, top, w, self.src) or _overlaps(left, top, w, self.dst)):
                self._label_rect = QRectF(left, top, w, 18)
                bounds.addRect(self._label_rect)
        self._shape = None
        self.setPath(bounds)

    @property
    def p1(self) -> QPointF:
        """Where the wire leaves its source port (parent coordinates)."""
        return self._p1

    @property
    def p2(self) -> QPointF:
        return self._p2

    def label_shown(self) -> bool:
        """Whether the shape label has room to be drawn (at a readable zoom)."""
        return not self._label_rect.isNull()

    def shape(self) -> QPainterPath:
        # Python, unlike boundingRect: only hit tests under the cursor ask for it, and the
        # C++ version would also fill the curve's belly, grabbing clicks on empty canvas.
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(2 * _HIT_HALF)
            self._shape = stroker.createStroke(self._path)
            if self.label_shown():
                self._shape.addRect(self._label_rect)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        c = style.colors()
        level = LOD.lod(painter, option)
        colour = c.selection if self.isSelected() else (c.wire if self.valid else c.error)
        pen = QPen(style.qcolor(colour), 2.5 if self.isSelected() else 1.5)
        if level < LOD.EDGE_CURVES:
            pen.setCosmetic(True)
            painter.setPen(pen)
            if self._routed:  # a detour around nodes (and expanded frames) stays one
                painter.drawPath(self._path)
            else:
                painter.drawLine(self._p1, self._p2)
            return
        if not self.valid:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawPath(self._path)
        if self.label_shown() and level >= LOD.EDGE_LABELS:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.qcolor(c.wire_label_bg))
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setPen(style.qcolor(c.muted))
            painter.setFont(font("small"))
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)


class WireItem(QGraphicsItem):
    """The wire that follows the mouse while connecting; red over a port that refuses."""

    def __init__(self, start: QPointF, from_output: bool) -> None:
        super().__init__()
        self.start = start
        self.end = start
        self.from_output = from_output
        self.refused = False
        self._path = QPainterPath(start)
        self.setZValue(3)

    def set_end(self, end: QPointF, refused: bool = False) -> None:
        self.prepareGeometryChange()
        self.end = end
        self.refused = refused
        a, b = (self.start, end) if self.from_output else (end, self.start)
        self._path = curve(a, b)

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        c = style.colors()
        pen = QPen(style.qcolor(c.refuse if self.refused else c.selection), 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.drawPath(self._path)
