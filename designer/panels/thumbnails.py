"""Small pictures of a network for the start page: node boxes and wires, from positions.

Drawn with QPainter (no scene, no items), so a gallery of examples costs a few
milliseconds. Results are cached in memory and on disk (keyed by file, mtime, size and
theme), so later starts do not even parse the example files.
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QStandardPaths, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap

from designer import theme
from graph_compiler import layout
from designer.canvas.style import category_color
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Document, Network
from graph_compiler.errors import NetwrightError

# Scene size of a node box, as graph_compiler/layout.py plans it (minus a margin, so wires show).
NODE_W, NODE_H = layout.NODE_W * 0.8, layout.node_height(1, 1) * 0.75
_memory: dict[str, QPixmap] = {}


def render_network(net: Network, size: QSize, ratio: float = 1.0, block_names: set[str] | None = None) -> QPixmap:
    c = theme.colors()
    pm = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(QColor(c.alt))
    if not net.nodes:
        return pm
    positions = fold_positions({n.id: n.pos for n in net.nodes}, size.width() / size.height())
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    bounds = QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H)
    margin = 10.0
    avail_w, avail_h = size.width() - 2 * margin, size.height() - 2 * margin
    scale = min(avail_w / bounds.width(), avail_h / bounds.height(), 0.6)
    off_x = margin + (avail_w - bounds.width() * scale) / 2 - bounds.left() * scale
    off_y = margin + (avail_h - bounds.height() * scale) / 2 - bounds.top() * scale

    def rect(pos: tuple[float, float]) -> QRectF:
        return QRectF(pos[0] * scale + off_x, pos[1] * scale + off_y, NODE_W * scale, NODE_H * scale)

    rects = {n.id: rect(positions[n.id]) for n in net.nodes}
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    wire = QColor(c.muted)
    wire.setAlpha(170)
    p.setPen(QPen(wire, max(1.0, 2.0 * scale)))
    p.setBrush(Qt.BrushStyle.NoBrush)
    for e in net.edges:
        a, b = rects.get(e.src), rects.get(e.dst)
        if a is None or b is None:
            continue
        p.drawPath(_wire(a, b))
    radius = 6 * scale
    for n in net.nodes:
        spec = REGISTRY.get(n.type)
        category = spec.category if spec else ("Blocks" if block_names and n.type in block_names else "")
        fill = category_color(category)
        r = rects[n.id]
        p.setPen(QPen(fill.darker(130), 1))
        body = QColor(fill)
        body.setAlpha(230)
        p.setBrush(body)
        p.drawRoundedRect(r, radius, radius)
    p.end()
    return pm


def fold_positions(pos: dict[str, tuple[float, float]], aspect: float) -> dict[str, tuple[float, float]]:
    """Fold a long left-to-right chain into rows (boustrophedon), so a 26-layer MobileNet
    is a readable picture rather than a hairline. Layers are the distinct x positions;
    the row count is chosen to bring the picture's aspect ratio closest to ``aspect``."""
    if not pos:
        return pos
    xs = sorted({round(p[0] / 40.0) for p in pos.values()})
    n_cols = len(xs)
    ys = [p[1] for p in pos.values()]
    band = max(ys) - min(ys) + NODE_H
    col_w = NODE_W * 1.25
    best_rows, best_err = 1, float("inf")
    for rows in range(1, max(1, n_cols // 2) + 1):
        per_row = -(-n_cols // rows)
        w, h = per_row * col_w, rows * band + (rows - 1) * NODE_H
        err = abs(math.log((w / h) / aspect))
        if err < best_err - 1e-9:
            best_rows, best_err = rows, err
    if best_rows == 1:
        return pos
    per_row = -(-n_cols // best_rows)
    column = {x: i for i, x in enumerate(xs)}
    top = min(ys)
    out = {}
    for nid, (x, y) in pos.items():
        c = column[round(x / 40.0)]
        row, k = divmod(c, per_row)
        if row % 2:
            k = per_row - 1 - k  # every other row runs right to left, like a snake
        out[nid] = (k * col_w, row * (band + NODE_H) + (y - top))
    return out


def _wire(a: QRectF, b: QRectF) -> QPainterPath:
    """A smooth wire from a's bottom/right to b's top/left, whichever way the layout flows."""
    horizontal = abs(b.center().x() - a.center().x()) > abs(b.center().y() - a.center().y())
    if horizontal:
        # A folded row runs right to left: leave by the left edge then, or the wire
        # would cross both boxes.
        sign = 1.0 if b.center().x() >= a.center().x() else -1.0
        start = QPointF(a.right() if sign > 0 else a.left(), a.center().y())
        end = QPointF(b.left() if sign > 0 else b.right(), b.center().y())
        dx = sign * max(10.0, abs(end.x() - start.x()) / 2)
        c1, c2 = QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y())
    else:
        start, end = QPointF(a.center().x(), a.bottom()), QPointF(b.center().x(), b.top())
        dy = max(10.0, abs(end.y() - start.y()) / 2)
        c1, c2 = QPointF(start.x(), start.y() + dy), QPointF(end.x(), end.y() - dy)
    path = QPainterPath(start)
    path.cubicTo(c1, c2, end)
    return path


def render_document(doc: Document, size: QSize, ratio: float = 1.0) -> QPixmap:
    """The main network (the first); a GAN's generator is a fine picture of it."""
    names = set(doc.network_names())
    return render_network(doc.main, size, ratio, names)


def thumbnail_for_file(path: str, size: QSize, ratio: float = 1.0) -> QPixmap | None:
    """Cached thumbnail of a graph file; None if the file cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key_text = f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}|{size.width()}x{size.height()}" \
               f"@{ratio}|{theme.current_name()}|v3"
    key = hashlib.sha1(key_text.encode("utf-8")).hexdigest()
    if key in _memory:
        return _memory[key]
    disk = _cache_dir()
    cached_file = disk / f"{key}.png" if disk else None
    if cached_file is not None and cached_file.exists():
        pm = QPixmap(str(cached_file))
        if not pm.isNull():
            pm.setDevicePixelRatio(ratio)
            _memory[key] = pm
            return pm
    from graph_compiler.document import load

    try:
        doc = load(path)
    except NetwrightError:
        return None
    pm = render_document(doc, size, ratio)
    _memory[key] = pm
    if cached_file is not None:
        try:
            cached_file.parent.mkdir(parents=True, exist_ok=True)
            pm.save(str(cached_file), "PNG")
        except OSError:
            pass  # a read-only cache only costs speed
    return pm


def _cache_dir() -> Path | None:
    if os.environ.get("NETWRIGHT_NO_THUMBNAIL_CACHE"):
        return None
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(base) / "thumbnails" if base else None
