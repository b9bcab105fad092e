"""NodeItem: one node on the canvas. Ports are painted by the node and hit-tested
geometrically rather than being child items: a 10,000-node graph then costs 10,000 items,
not 40,000. The item only displays; it never changes the document (the scene and view
turn gestures into model calls)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from designer.canvas import lod as LOD
from designer.canvas import style
from designer.canvas.names import elide_title
from designer.canvas.text import block_key, fmt_count, key_params, shape_text
from graph_compiler.layout import HEADER_H, NODE_W, PORT_STEP, PORT_Y0, node_height, port_y

if TYPE_CHECKING:
    from designer.canvas.edge_item import EdgeItem
    from designer.canvas.folding import Frame
    from designer.canvas.scene import CanvasScene

PORT_R = 5.0
HIT_R = 9.0
# PySide's enums are Python objects: combining them per item cost more than the item.
_FLAGS = (QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
_NO_PEN = QPen(Qt.PenStyle.NoPen)
BADGE_R = 8.0
_fonts: dict[str, QFont] = {}


def font(kind: str) -> QFont:
    f = _fonts.get(kind)
    if f is None:
        f = QFont()
        f.setPointSizeF({"title": 9.0, "body": 8.5, "small": 7.5}[kind])
        f.setBold(kind == "title")
        _fonts[kind] = f
    return f


_overview_fonts: dict[int, tuple[QFont, QFontMetricsF]] = {}


def _overview_font(px: int) -> tuple[QFont, QFontMetricsF]:
    """The body font at ``px`` pixels, and its metrics (zoomed-out titles)."""
    hit = _overview_fonts.get(px)
    if hit is None:
        f = QFont(font("body"))
        f.setPixelSize(px)
        hit = _overview_fonts[px] = (f, QFontMetricsF(f))
    return hit


class _Body(NamedTuple):
    left: float  # of the key line
    width: float
    key: str
    top: str  # the shape, over the count, when there is no key line and they do not fit in one
    bottom: str  # "shape   count"
    bottom_left: float
    bottom_width: float


class _Texts(NamedTuple):
    header: tuple[str, float, str, float]
    body: _Body
    port_labels: list[tuple[QRectF, Qt.AlignmentFlag, str]]


class PortRef(NamedTuple):
    node: str
    output: bool
    port: int


class BadgeItem(QGraphicsItem):
    """The red '!' on an invalid node; its tooltip lists the diagnostics."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setAcceptHoverEvents(True)
        self.setZValue(2)

    def boundingRect(self) -> QRectF:
        return QRectF(-BADGE_R - 1, -BADGE_R - 1, 2 * BADGE_R + 2, 2 * BADGE_R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        c = style.colors()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(style.qcolor(c.node), 1.5))
        painter.setBrush(style.qcolor(c.error))
        painter.drawEllipse(QPointF(0, 0), BADGE_R, BADGE_R)
        if LOD.lod(painter, option) >= LOD.NODE_DETAIL:
            painter.setPen(style.qcolor("#ffffff"))
            painter.setFont(font("title"))
            painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


class NodeItem(QGraphicsRectItem):
    """A QGraphicsRectItem so that boundingRect() and shape() stay in C++: with NoIndex
    the view asks every item for its bounds on every frame, and a Python override made
    that the largest cost of panning a 2,000-node graph."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.setPen(_NO_PEN)  # bounds = rect exactly; we paint ourselves
        self.node_id = node_id
        self.edges: list[EdgeItem] = []
        self.type_name = ""
        self.category = ""
        self.title = node_id
        self.in_names: tuple[str, ...] = ()
        self.out_names: tuple[str, ...] = ()
        self.in_shapes: list[str] = []
        self.out_shapes: list[str] = []
        self.key_text = ""
        self.shape_text = ""
        self.count_text = ""
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.doc = ""
        self._params: dict[str, Any] = {}
        self._shown_params: dict[str, Any] = {}  # the values the body shows (a use's, resolved)
        self.key_floor = 0  # the least name shortening of its network's blocks (share_key_level)
        self.height = node_height(1, 1)
        self.base_height = self.height  # folded height (the height of its ports)
        self.width = NODE_W
        # Folding (view state, see designer/canvas/folding.py): an expanded block node is
        # drawn as a frame around its inner network; a run of repeated blocks shows as its
        # first node, "×N".
        self.frame: Frame | None = None
        self.repeat: list[str] = []  # the run this node stands for while it is folded
        self.network = ""  # the network the node belongs to (inner nodes: their block's)
        self.badge: BadgeItem | None = None
        self._set_bounds()
        self.accepting: set[PortRef] = set()  # ports lit while a wire is dragged
        self.hover_port: PortRef | None = None
        self._sig: Any = None
        self._laid_out: tuple[tuple[Any, ...], _Texts] | None = None  # see _texts
        self._overview_texts: dict[tuple[int, float, str], str] = {}  # see _overview_title
        # No ItemSendsGeometryChanges and no itemChange override: Qt would call into
        # Python about ten times per item while building the scene. Drags snap and drag
        # their wires in mouseMoveEvent; model-driven moves go through the scene.
        self.setFlags(_FLAGS)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        # Panning then blits a pixmap instead of laying out text for every frame.
        self.setCacheMode(_CACHE)

    # ------------------------------------------------------------ content

    def set_node(self, node: Any, in_names: tuple[str, ...], out_names: tuple[str, ...],
                 category: str, doc: str) -> None:
        """Type, label, params and ports from the document."""
        h = node_height(len(in_names), len(out_names))
        self.base_height = h
        if h != self.height and self.frame is None:
            self.height = h
            self._set_bounds()
        self.type_name, self.category, self.doc = node.type, category, doc
        self.title = node.label or node.id
        self.in_names, self.out_names = in_names, out_names
        self._params = node.params
        self.key_text = key_params(node.type, node.params)  # refined by set_analysis
        self._shown_params = dict(node.params)
        self._sig = None
        self.update()

    def set_analysis(self, info: Any, errors: list[str]) -> bool:
        """Shapes, counts and diagnostics; returns whether anything visible changed."""
        params = info.params if info is not None else self._params
        ins = [shape_text(t) if t is not None else "?" for t in info.inputs] if info is not None else []
        outs = [shape_text(t) for t in info.outputs] if info is not None and info.outputs else []
        n_params = info.n_params if info is not None else 0
        notes = tuple(info.notes) if info is not None else ()
        sig = (key_params(self.type_name, params), tuple(ins), tuple(outs), n_params, tuple(errors), notes)
        if sig == self._sig:
            return False
        self._sig = sig
        self.key_text, self.in_shapes, self.out_shapes = sig[0], ins, outs
        self._shown_params = dict(params)
        shown = outs if outs or self.out_names else ins  # an Output node shows what it returns
        self.shape_text = "  ".join(shown) if shown else ("?" if errors else "")
        self.count_text = f"{fmt_count(n_params)} params" if n_params else ""
        self.notes = list(notes)  # e.g. a tied weight: shown after the count, listed in the tooltip
        if any("tied to" in n for n in notes):
            self.count_text = " · ".join(x for x in (self.count_text, "tied") if x)
        self.errors = list(errors)
        self._sync_badge()
        self.update()
        return True

    def _sync_badge(self) -> None:
        if self.errors and self.badge is None:
            self.badge = BadgeItem(self)
            self.badge.setPos(self.width - 2, 0)
        if self.badge is not None:
            self.badge.setVisible(bool(self.errors))
            self.badge.setToolTip("\n".join(f"• {m}" for m in self.errors))

    # ------------------------------------------------------------ geometry

    def _set_bounds(self) -> None:
        # Wider than the body by the port hit radius, so a port's outer half is hit too,
        # and 2 px taller for the selection outline.
        self.setRect(QRectF(-HIT_R, -2, self.width + 2 * HIT_R, self.height + 4))
        if self.badge is not None:
            self.badge.setPos(self.width - 2, 0)

    def set_size(self, width: float, height: float) -> None:
        """The frame of an expanded block is as big as what it holds (folding.py)."""
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self._set_bounds()
            self.update()

    def display_title(self) -> str:
        """The title as drawn: a folded run of N blocks reads "Type ×N"."""
        return f"{self.type_name} \u00d7{len(self.repeat)}" if self.repeat else self.title

    def port_pos(self, output: bool, index: int) -> QPointF:
        """Item coordinates of a port; an out-of-range index clamps (a stale wire still shows)."""
        n = len(self.out_names if output else self.in_names)
        index = max(0, min(index, n - 1)) if n else 0
        return QPointF(self.width if output else 0.0, port_y(index))

    def scene_port_pos(self, output: bool, index: int) -> QPointF:
        return self.pos() + self.port_pos(output, index)

    def port_at(self, pos: QPointF) -> PortRef | None:
        """The port under item-coordinate ``pos``, if any."""
        for output, names in ((False, self.in_names), (True, self.out_names)):
            x = self.width if output else 0.0
            if abs(pos.x() - x) > HIT_R:
                continue
            i = round((pos.y() - PORT_Y0) / PORT_STEP)
            if 0 <= i < len(names) and abs(pos.y() - port_y(i)) <= HIT_R:
                return PortRef(self.node_id, output, i)
        return None

    def in_title(self, pos: QPointF) -> bool:
        return 0 <= pos.y() <= HEADER_H and 0 <= pos.x() <= self.width

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseMoveEvent(event)  # Qt moves every selected item by the mouse's delta
        scene = cast("CanvasScene | None", self.scene())  # nodes live only in a CanvasScene
        if scene is not None:
            scene.dragged()

    # ------------------------------------------------------------ hover

    def port_tooltip(self, ref: PortRef) -> str:
        names, shapes = (self.out_names, self.out_shapes) if ref.output else (self.in_names, self.in_shapes)
        name = names[ref.port] if ref.port < len(names) else str(ref.port)
        shape = shapes[ref.port] if ref.port < len(shapes) else "not known yet"
        return f"{'output' if ref.output else 'input'} '{name}': {shape}"

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        ref = self.port_at(event.pos())
        if ref != self.hover_port:
            self.hover_port = ref
            self.update()
        if ref is not None:
            self.setToolTip(self.port_tooltip(ref))
        else:
            lines = [f"{self.title} ({self.type_name})", self.doc, self.key_text]
            if self.repeat:
                lines.append(f"{len(self.repeat)} uses folded: {', '.join(self.repeat)}")
            lines += [f"• {m}" for m in self.errors]
            lines += [f"◦ {m}" for m in self.notes]
            self.setToolTip("\n".join(x for x in lines if x))
        super().hoverMoveEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self.hover_port is not None:
            self.hover_port = None
            self.update()
        super().hoverLeaveEvent(event)

    # ------------------------------------------------------------ painting

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        c = style.colors()
        cat, on_cat = style.header_colors(self.category)
        rect = QRectF(0, 0, NODE_W, self.height)
        selected = self.isSelected()
        level = LOD.lod(painter, option)
        if self.frame is not None:
            self._paint_frame(painter, c, cat, level)
            return
        if level < LOD.NODE_DETAIL:
            self._paint_overview(painter, c, cat, on_cat, level)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = c.selection if selected else (c.error if self.errors else c.node_border)
        painter.setPen(QPen(style.qcolor(border), 2.0 if selected or self.errors else 1.0))
        painter.setBrush(style.qcolor(c.node))
        painter.drawRoundedRect(rect, 6, 6)
        body = QPainterPath()
        body.addRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 5.5, 5.5)
        painter.save()
        painter.setClipRect(QRectF(0, 0, NODE_W, HEADER_H))  # the top of the rounded body
        painter.fillPath(body, cat)
        painter.restore()

        painter.setPen(on_cat)
        title, title_w, type_text, type_w = self._header_texts()
        if type_text:
            painter.setFont(font("small"))
            painter.drawText(QRectF(NODE_W - 8 - type_w, 0, type_w, HEADER_H),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, type_text)
        painter.setFont(font("title"))
        painter.drawText(QRectF(8, 0, title_w, HEADER_H), Qt.AlignmentFlag.AlignVCenter, title)

        self._paint_body(painter, c)
        self._paint_ports(painter, c)

    def _texts(self) -> _Texts:
        """What the detailed paint draws, laid out: measuring and eliding text took a
        third of painting a node, on every frame of a zoom. Kept until what it reads
        changes (set_node, set_analysis, folding and run counts assign these directly)."""
        key = (self.title, self.type_name, len(self.repeat), self.in_names, self.out_names,
               self.key_text, self.shape_text, self.count_text, self.key_floor, self.height)
        if self._laid_out is None or self._laid_out[0] != key:
            labels = self._measure_port_labels()
            self._laid_out = (key, _Texts(self._measure_header(), self._measure_body(labels), labels))
        return self._laid_out[1]

    def _header_texts(self) -> tuple[str, float, str, float]:
        """(title as drawn, its width, type name as drawn or '', its width)."""
        return self._texts().header

    def _body_texts(self) -> _Body:
        """The body's two lines as drawn (key params; 'shape   count') and where."""
        return self._texts().body

    def _measure_header(self) -> tuple[str, float, str, float]:
        fm_small = QFontMetricsF(font("small"))
        fm_title = QFontMetricsF(font("title"))
        title = self.display_title()
        show_type = self.type_name != self.title and not self.repeat
        avail = NODE_W - 16 - (6 if show_type else 0)
        title_nat = fm_title.horizontalAdvance(title) + 2
        type_nat = fm_small.horizontalAdvance(self.type_name) + 2 if show_type else 0.0
        # The title keeps what it needs (at least 55% when both are long); the type name
        # ("TransformerEncoderLayer") gets the rest of the header, not a fixed 45%.
        title_w = min(title_nat, max(avail - type_nat, avail * 0.55)) if show_type else avail
        type_w = avail - title_w
        type_text = fm_small.elidedText(self.type_name, Qt.TextElideMode.ElideRight, type_w) if show_type else ""
        return elide_title(*self._title_parts(), fm_title, title_w), title_w, type_text, type_w

    def _title_parts(self) -> tuple[str, str]:
        """(name, suffix never cut): a folded run is "Type" and " ×N"."""
        return (self.type_name, f" \u00d7{len(self.repeat)}") if self.repeat else (self.title, "")

    def _shown_shape(self) -> str:
        # Several outputs: their shapes are on the wires and the port tooltips; the body
        # has room for the count only.
        return self.shape_text if len(self.out_names) <= 1 or self.shape_text == "?" else ""

    def _line_boxes(self, labels: list[tuple[QRectF, Qt.AlignmentFlag, str]], lines: int) -> list[tuple[float, float]]:
        """(left, width) of the body's first and second line, each narrowed only by the
        port names beside it: a two-input node's shape line is not cut for "out", which
        sits on the line above."""
        top = HEADER_H + max(4.0, (self.height - HEADER_H - 16.0 * lines) / 2)  # as _paint_body
        boxes = []
        for y in (top, top + 16.0 if lines > 1 else top):
            left = right = 10.0
            for r, align, _ in labels:
                if r.top() < y + 16.0 and y < r.bottom():  # 6 px between a name and the text
                    if align & Qt.AlignmentFlag.AlignRight:
                        right = max(right, NODE_W - r.left() + 6.0)
                    else:
                        left = max(left, r.right() + 6.0)
            boxes.append((left, NODE_W - left - right))
        return boxes

    def key_level(self, text_w: float | None = None) -> int:
        """How far a block's parameter names must be shortened (0: whole, 1: ``in_ch``,
        2: ``ic``, see short_param_name) for every value to show; 0 for other nodes."""
        if self.category != "Blocks" or not self._shown_params:
            return 0
        if text_w is None:
            lines = 1 + bool(self._shown_shape() or self.count_text)
            text_w = self._line_boxes(self._measure_port_labels(), lines)[0][1]
        fm = QFontMetricsF(font("body"))
        return next((lv for lv in (0, 1) if fm.horizontalAdvance(block_key(self._shown_params, lv)) <= text_w), 2)

    def _measure_body(self, labels: list[tuple[QRectF, Qt.AlignmentFlag, str]]) -> _Body:
        fms, fm_body = QFontMetricsF(font("small")), QFontMetricsF(font("body"))
        shape, count = self._shown_shape(), self.count_text
        bottom = "   ".join(x for x in (shape, count) if x)
        (left, text_w), (bottom_left, bottom_w) = self._line_boxes(labels, bool(self.key_text) + bool(bottom))
        if not self.key_text and shape and count and fms.horizontalAdvance(bottom) > bottom_w:
            # No parameter line, and the shape and count do not fit side by side (between
            # a two-input node's port names): one above the other, both whole.
            (left, text_w), (bottom_left, bottom_w) = self._line_boxes(labels, 2)
            return _Body(left, text_w, "", fms.elidedText(shape, Qt.TextElideMode.ElideMiddle, text_w),
                         fms.elidedText(count, Qt.TextElideMode.ElideRight, bottom_w), bottom_left, bottom_w)
        key = fm_body.elidedText(self.key_text, Qt.TextElideMode.ElideRight, text_w)
        level = max(self.key_level(text_w), self.key_floor) if self.category == "Blocks" and self._shown_params else 0
        if level:
            # A block's parameter line, too long here or on another block of the network:
            # the names shortened, then cut to their initials, so that every value shows,
            # with the same names on every block (the tooltip has them whole).
            key = fm_body.elidedText(block_key(self._shown_params, level), Qt.TextElideMode.ElideRight, text_w)
        bottom = fms.elidedText(bottom, Qt.TextElideMode.ElideMiddle, bottom_w)
        return _Body(left, text_w, key, "", bottom, bottom_left, bottom_w)

    def drawn_texts(self, level: float) -> dict[str, str]:
        """What paint() draws at level of detail ``level`` (the view's scale): 'title',
        'type', 'params', 'body' ('' where nothing is drawn). Readability tests check these."""
        if level < LOD.NODE_TITLES:
            return {"title": "", "type": "", "params": "", "body": ""}
        if level < LOD.NODE_DETAIL:
            return {"title": self._overview_title(level)[1], "type": "", "params": "", "body": ""}
        title, _, type_text, _ = self._header_texts()
        body = self._body_texts()
        return {"title": title, "type": type_text, "params": body.key,
                "body": "\n".join(t for t in (body.top, body.bottom) if t)}

    def _overview_title(self, level: float) -> tuple[QFont, str]:
        """Zoomed out, the title in a font of a constant size on screen, cut to the box.
        Remembered per font size: a zoom passes the same few sizes again and again."""
        px = max(1, round(10.0 / level))
        title = self.display_title()
        avail = self.width - 4.0 / level
        key = (px, avail, title)
        hit = self._overview_texts.get(key)
        f, fm = _overview_font(px)
        if hit is None:
            if len(self._overview_texts) > 16:
                self._overview_texts.clear()
            hit = self._overview_texts[key] = elide_title(*self._title_parts(), fm, avail)
        return f, hit

    def _paint_overview(self, painter: QPainter, c: style.CanvasColors, cat: Any, on_cat: Any,
                        level: float) -> None:
        """Zoomed out: a coloured box, and its title while a few letters still fit, in a
        font that stays the same size on screen (a map's labels, not the node's text)."""
        rect = QRectF(0, 0, NODE_W, self.height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.isSelected():
            pen = QPen(style.qcolor(c.selection), 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
        if self.errors and not self.isSelected():
            pen = QPen(style.qcolor(c.error), 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
        painter.setBrush(cat)
        r = 3.0 / level  # about 3 px on screen
        painter.drawRoundedRect(rect, r, r)
        if level < LOD.NODE_TITLES:
            return
        f, text = self._overview_title(level)
        painter.setFont(f)
        painter.setPen(on_cat)
        painter.drawText(rect.adjusted(2.0 / level, 0, -2.0 / level, 0), Qt.AlignmentFlag.AlignCenter, text)

    def _paint_frame(self, painter: QPainter, c: style.CanvasColors, cat: Any, level: float) -> None:
        """An expanded block: a header with its name, a tinted body behind its inner
        network (child items draw themselves on top), and its ports on the sides."""
        rect = QRectF(0, 0, self.width, self.height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = self.isSelected()
        border = c.selection if selected else (c.error if self.errors else style.category_hex(self.category))
        pen = QPen(style.qcolor(border), 2.0)
        pen.setCosmetic(level < LOD.NODE_DETAIL)
        painter.setPen(pen)
        painter.setBrush(style.tint(style.category_hex(self.category), 28))
        painter.drawRoundedRect(rect, 8, 8)
        head = QPainterPath()
        head.addRoundedRect(rect.adjusted(1, 1, -1, -1), 7, 7)
        painter.save()
        painter.setClipRect(QRectF(0, 0, self.width, HEADER_H))
        painter.fillPath(head, cat)
        painter.restore()
        if level >= LOD.NODE_TITLES:
            painter.setPen(style.qcolor(style.text_on(style.category_hex(self.category))))
            painter.setFont(font("title"))
            text = f"\u25be {self.title}: {self.type_name}"
            if self.count_text:
                text += f"   {self.count_text}"
            painter.drawText(QRectF(10, 0, self.width - 20, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                             QFontMetricsF(font("title")).elidedText(text, Qt.TextElideMode.ElideRight,
                                                                     self.width - 20))
        if level >= LOD.NODE_DETAIL:
            self._paint_ports(painter, c)

    def _paint_body(self, painter: QPainter, c: style.CanvasColors) -> None:
        left, text_w, key, top, bottom, bottom_left, bottom_w = self._body_texts()
        painter.setFont(font("body"))
        painter.setPen(style.qcolor(c.text))
        lines = int(bool(key or top)) + int(bool(bottom))
        # The text block sits in the middle of the body, not stuck under the header.
        y = HEADER_H + max(4.0, (self.height - HEADER_H - 16.0 * lines) / 2)
        if key:
            painter.drawText(QRectF(left, y, text_w, 16), Qt.AlignmentFlag.AlignHCenter, key)
        painter.setPen(style.qcolor(c.error if self.shape_text == "?" else c.muted))
        painter.setFont(font("small"))
        if top:
            painter.drawText(QRectF(left, y, text_w, 16), Qt.AlignmentFlag.AlignHCenter, top)
        if key or top:
            y += 16
        if bottom:
            painter.drawText(QRectF(bottom_left, y, bottom_w, 16), Qt.AlignmentFlag.AlignHCenter, bottom)
        labels = self._texts().port_labels
        if labels:
            painter.setFont(font("small"))
            painter.setPen(style.qcolor(c.muted))
            for r, align, text in labels:
                painter.drawText(r, align, text)

    def _measure_port_labels(self) -> list[tuple[QRectF, Qt.AlignmentFlag, str]]:
        """Port names beside the ports, for a node with several inputs or outputs."""
        if not (len(self.in_names) > 1 or len(self.out_names) > 1):
            return []
        fms = QFontMetricsF(font("small"))
        max_label = NODE_W * 0.3
        out = []
        for output, names in ((False, self.in_names), (True, self.out_names)):
            for i, name in enumerate(names):
                p = self.port_pos(output, i)
                w = min(max_label, fms.horizontalAdvance(name))
                r = QRectF(p.x() - 8 - w if output else 8, p.y() - 8, w, 16)
                align = Qt.AlignmentFlag.AlignRight if output else Qt.AlignmentFlag.AlignLeft
                out.append((r, align | Qt.AlignmentFlag.AlignVCenter,
                            fms.elidedText(name, Qt.TextElideMode.ElideRight, max_label)))
        return out

    def _paint_ports(self, painter: QPainter, c: style.CanvasColors) -> None:
        cat = style.qcolor(style.category_hex(self.category))
        for output, names in ((False, self.in_names), (True, self.out_names)):
            for i in range(len(names)):
                ref = PortRef(self.node_id, output, i)
                p = self.port_pos(output, i)
                r = PORT_R + (1.5 if ref == self.hover_port else 0.0)
                if ref in self.accepting:
                    painter.setPen(QPen(style.qcolor(c.accept), 3.0))
                    r += 1.5
                else:
                    painter.setPen(QPen(style.qcolor(c.node_border), 1.0))
                painter.setBrush(QBrush(cat if output else style.qcolor(c.node)))
                painter.drawEllipse(p, r, r)
