"""Wire routing: a wire is a smooth curve from an output (leaving to the right) to an
input (entering from the left); when that curve would pass under another node, it
detours above or below the nodes in its way, so no wire hides under a node's title.

Routing looks at the nodes near each wire, so it is done for graphs of up to
ROUTE_LIMIT nodes; bigger graphs are read zoomed out, where wires are straight lines.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath, QPainterPathStroker

ROUTE_LIMIT = 400
CLEARANCE = 24.0  # between a detour and the nodes it avoids
LEAD = 40.0  # horizontal run out of an output and into an input


def curve(p1: QPointF, p2: QPointF) -> QPainterPath:
    """Leaves the output to the right and enters the input from the left, even backwards."""
    dx = max(LEAD, abs(p2.x() - p1.x()) * 0.5)
    path = QPainterPath(p1)
    path.cubicTo(QPointF(p1.x() + dx, p1.y()), QPointF(p2.x() - dx, p2.y()), p2)
    return path


def detour(p1: QPointF, p2: QPointF, y: float) -> QPainterPath:
    """Out of p1, along the horizontal line at ``y``, into p2, with rounded turns."""
    a, b = QPointF(p1.x() + LEAD, y), QPointF(p2.x() - LEAD, y)
    path = QPainterPath(p1)
    path.cubicTo(QPointF(p1.x() + LEAD, p1.y()), QPointF(p1.x(), y), a)
    path.lineTo(b)
    path.cubicTo(QPointF(p2.x(), y), QPointF(p2.x() - LEAD, p2.y()), p2)
    return path


def hits(path: QPainterPath, rects: Sequence[QRectF]) -> list[QRectF]:
    if not rects:
        return []
    stroker = QPainterPathStroker()
    stroker.setWidth(2.0)
    band = stroker.createStroke(path)
    return [r for r in rects if band.intersects(r)]


def free_rows(rects: Sequence[QRectF]) -> list[float]:
    """The middles of the horizontal lanes between the rects' rows that are wide enough
    for a wire with its clearance on both sides."""
    spans = sorted((r.top(), r.bottom()) for r in rects)
    out: list[float] = []
    if not spans:
        return out
    end = spans[0][1]
    for top, bottom in spans[1:]:
        if top - end >= 2 * CLEARANCE:
            out.append((end + top) / 2)
        end = max(end, bottom)
    return out


def route(p1: QPointF, p2: QPointF, obstacles: Sequence[QRectF]) -> QPainterPath:
    """The wire's path: the plain curve unless it crosses one of ``obstacles`` (the rects
    of other nodes), then the nearest clear detour above or below them."""
    path = curve(p1, p2)
    blocked = hits(path, obstacles)
    if not blocked:
        return path
    mid = (p1.y() + p2.y()) / 2
    gaps = free_rows(obstacles)  # e.g. the lane between two bands of a wrapped layout
    for _ in range(3):  # a detour can run into more nodes; widen it past those too
        top = min(r.top() for r in blocked) - CLEARANCE
        bottom = max(r.bottom() for r in blocked) + CLEARANCE
        candidates = sorted((top, bottom, *gaps), key=lambda y: abs(y - mid))
        for y in candidates:
            option = detour(p1, p2, y)
            more = hits(option, obstacles)
            if not more:
                return option
        blocked = blocked + hits(detour(p1, p2, candidates[0]), obstacles)
    return detour(p1, p2, candidates[0])
