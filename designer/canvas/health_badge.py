"""Health badges on the canvas: where the trained network is sick, on the graph the user drew.

Each node with activations gets a small pill beside its header, to its right, coloured by the
level graph_compiler.insight.units gives it (green < 10%, amber < 50%, red otherwise, of
the worse of its dead and saturated fractions). Its text is the telling number (dead % for
the ReLU family, saturated % for sigmoid / tanh, else the gradient norm); hovering shows
all of them; clicking asks for the node's activations.

A badge is a child item of its NodeItem, found through the scene's own lookup
(``scene.nodes``), so the canvas code needs no change: moving the node moves the badge,
and a node rebuilt by the scene simply loses its badge until the next update
(``HealthBadges.refresh`` puts them back from the last numbers).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget
from shiboken6 import isValid

COLORS = {"green": QColor("#3bb273"), "amber": QColor("#e8a33d"), "red": QColor("#e15759")}
WIDTH, HEIGHT = 66.0, 16.0


def badge_text(row: Mapping[str, Any]) -> str:
    if row.get("dead_fraction") is not None:
        return f"dead {row['dead_fraction'] * 100:.0f}%"
    if row.get("saturated_fraction") is not None:
        return f"sat {row['saturated_fraction'] * 100:.0f}%"
    g = row.get("grad_norm")
    return "ok" if g is None else f"∇ {g:.2g}"


def badge_tooltip(row: Mapping[str, Any]) -> str:
    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{v * 100:.1f}%"

    g = row.get("grad_norm")
    lines = [f"<b>{row['node']}</b> ({row.get('type', '')}): {row.get('level', 'green')}",
             f"dead units: {pct(row.get('dead_fraction'))}",
             f"saturated values: {pct(row.get('saturated_fraction'))}",
             f"{row.get('grad_label', 'gradient norm of the loss w.r.t. the output')}: "
             + ("n/a" if g is None else f"{g:.3g}"),
             f"output mean {row.get('mean', 0.0):.3g}, std {row.get('std', 0.0):.3g}",
             "Click to see its activations."]
    return "<br>".join(lines)


class HealthBadge(QGraphicsItem):
    """One node's badge (a child of its NodeItem)."""

    def __init__(self, node_item: QGraphicsItem, node_id: str, on_click: Callable[[str], None]) -> None:
        super().__init__(node_item)
        self.node_id = node_id
        self.on_click = on_click
        self.row: dict[str, Any] = {}
        self.text = ""
        self.color = COLORS["green"]
        self.setAcceptHoverEvents(True)
        # Same size on screen at every zoom: readable on a fitted graph, small when close.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(5)
        self.place()

    def place(self) -> None:
        # Beside the header, right of the node and clear of its output port: above the
        # node, the pill covered the title of whatever sat there (the node above in its
        # column, or its own title when zoomed out); the wires' shape labels run lower,
        # at the ports' height.
        rect = self.parentItem().boundingRect()
        self.setPos(rect.right() + 2, 3.0)  # the pill hangs right and down from here

    def set_row(self, row: Mapping[str, Any]) -> None:
        self.row = dict(row)
        self.text = badge_text(row)
        self.color = COLORS.get(str(row.get("level")), COLORS["green"])
        self.setToolTip(badge_tooltip(row))
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, WIDTH, HEIGHT)

    def paint(self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.color.darker(130), 1))
        painter.setBrush(self.color)
        painter.drawRoundedRect(self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5), HEIGHT / 2, HEIGHT / 2)
        font = QFont(painter.font())
        font.setPixelSize(10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, self.text)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            self.on_click(self.node_id)
        else:
            super().mousePressEvent(event)


class HealthBadges:
    """Keeps one badge per measured node on a canvas scene (``scene.nodes``: id -> item)."""

    def __init__(self, on_click: Callable[[str], None]) -> None:
        self.on_click = on_click
        self.rows: dict[str, dict[str, Any]] = {}
        self.badges: dict[str, HealthBadge] = {}
        self.scene: Any = None

    def update(self, scene: Any, rows: Mapping[str, Mapping[str, Any]]) -> None:
        """Show ``rows`` (node id -> units row) on ``scene``; nodes without a row lose
        their badge."""
        if scene is not self.scene:
            self.clear()  # after clear(): rows are set below
            self.scene = scene
        self.rows = {k: dict(v) for k, v in rows.items()}
        self.refresh()

    def refresh(self) -> None:
        if self.scene is None:
            return
        items = self.scene.nodes
        for nid in list(self.badges):
            badge = self.badges[nid]
            # A node the scene rebuilt took its old badge with it (deleted in C++).
            if not isValid(badge) or nid not in self.rows or items.get(nid) is not badge.parentItem():
                self._drop(nid)
        for nid, row in self.rows.items():
            item = self.scene.item(nid)  # built now if the view has not come to it
            if item is None:
                continue
            existing = self.badges.get(nid)
            badge = existing if existing is not None else HealthBadge(item, nid, self.on_click)
            self.badges[nid] = badge
            badge.place()
            badge.set_row(row)

    def _drop(self, nid: str) -> None:
        badge = self.badges.pop(nid)
        if isValid(badge) and badge.scene() is not None:
            badge.scene().removeItem(badge)

    def clear(self) -> None:
        for nid in list(self.badges):
            self._drop(nid)
        self.rows = {}


__all__ = ["HealthBadge", "HealthBadges", "badge_text", "badge_tooltip"]
