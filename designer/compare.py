"""File ▸ Compare with…: the model diff (graph_compiler/diff.py) drawn over the canvases.

The file picked is the old side, the open document the new one. Nodes added since that
file get a green outline, nodes whose type, parameters, label or id changed (or whose input
was rewired) an amber one, nodes whose output shape or parameter count changed only as a
consequence a dashed amber one, and nodes that the file has and the document does not
appear as red dashed ghosts, placed next to a neighbour they had there. Tooltips say what
changed. The overlay follows edits (it is recomputed after each analysis) until File ▸
Clear Comparison; it never changes the document.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.canvas import style
from graph_compiler.layout import HEADER_H, NODE_W, node_height
from graph_compiler.analysis import Analysis, Analyzer
from graph_compiler.diff import (
    DocumentDiff,
    NetworkDiff,
    diff_documents,
)
from graph_compiler.diff_text import change_phrases, default_phrase, fmt_count, tie_phrase
from graph_compiler.document import Document, Network, load, refs_in
from graph_compiler.errors import NetwrightError

if TYPE_CHECKING:
    from designer.canvas.node_item import NodeItem
    from designer.main_window import MainWindow

# (light, dark) outline colours per state.
COLORS = {"added": ("#1a7f37", "#3fb950"), "changed": ("#bf8700", "#e3b341"),
          "affected": ("#bf8700", "#e3b341"), "removed": ("#cf222e", "#ff6b6b")}


def state_color(state: str) -> QColor:
    light, dark = COLORS[state]
    return QColor(dark if style.is_dark() else light)


class DiffMark(QGraphicsItem):
    """An outline around a node (a child item, so it moves with the node)."""

    def __init__(self, node: NodeItem, state: str, tip: str) -> None:
        super().__init__(node)
        self.state = state
        self.setToolTip(tip)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)  # behind the node's own painting, in front of wires

    def boundingRect(self) -> QRectF:
        node = self.parentItem()
        h = node.height if node is not None else 72.0  # type: ignore[attr-defined]  # the parent is a NodeItem
        return QRectF(-6, -6, NODE_W + 12, h + 12)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pen = QPen(state_color(self.state), 3.0)
        pen.setCosmetic(True)
        if self.state == "affected":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self.boundingRect().adjusted(2, 2, -2, -2), 9, 9)


class GhostItem(QGraphicsItem):
    """A node the compared file has and the document does not: a red dashed outline."""

    state = "removed"

    def __init__(self, node_id: str, type_name: str, height: float, tip: str) -> None:
        super().__init__()
        self.node_id, self.type_name, self.height = node_id, type_name, height
        self.setToolTip(tip)
        self.setZValue(0.5)

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, NODE_W + 4, self.height + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        red = state_color("removed")
        fill = QColor(red)
        fill.setAlpha(28)
        pen = QPen(red, 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(0, 0, NODE_W, self.height), 6, 6)
        f = QFont()
        f.setPointSizeF(9.0)
        f.setStrikeOut(True)
        painter.setFont(f)
        painter.setPen(red)
        painter.drawText(QRectF(8, 0, NODE_W - 16, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                         f"{self.node_id}  ({self.type_name})")
        f.setStrikeOut(False)
        painter.setFont(f)
        painter.drawText(QRectF(8, HEADER_H, NODE_W - 16, self.height - HEADER_H),
                         Qt.AlignmentFlag.AlignCenter, "removed")


class Comparison(QObject):
    """The overlay's state for one window: ``path`` compared with, the last ``diff``,
    ``marks`` and ``ghosts`` per (network, node id)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.path: str | None = None
        self.old: Document | None = None
        self._old_analysis: Analysis | None = None
        self.diff: DocumentDiff | None = None
        self.marks: dict[tuple[str, str], DiffMark] = {}
        self.ghosts: dict[tuple[str, str], GhostItem] = {}
        self._connected = False

    @property
    def active(self) -> bool:
        return self.old is not None

    def compare_with(self, path: str | None = None) -> bool:
        """Overlay the diff from ``path`` (asked for when None) to the open document."""
        self.w.finish_setup()
        if self.w.on_start_page():
            return False
        if path is None:
            start = str(Path(self.w.model.path).parent) if self.w.model.path else str(Path.home())
            path, _ = QFileDialog.getOpenFileName(self.w, "Compare with", start,
                                                  "Netwright graphs (*.json);;All files (*)")
            if not path:
                return False
        if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would never end
            self.w.prompts.error("Cannot compare", f"{path}: not a regular file")
            return False
        try:
            old = load(path)
        except NetwrightError as exc:  # names the file
            self.w.prompts.error("Cannot compare", str(exc))
            return False
        self.path, self.old = path, old
        self._old_analysis = Analyzer().analyze(old)
        if not self._connected:  # bound methods: dropped with this object
            self.w.model.analysisUpdated.connect(self._on_analysis)
            self.w.model.documentReset.connect(self.clear)
            self._connected = True
        self.refresh()
        self.w.acts.clear_comparison.setEnabled(True)
        return True

    def clear(self) -> None:
        self._remove_items()
        self.path = self.old = self.diff = None
        self._old_analysis = None
        self.w.acts.clear_comparison.setEnabled(False)
        self.w.statusBar().clearMessage()

    def _on_analysis(self) -> None:
        if self.active:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the diff against the document as it is now and redraw the overlay."""
        if self.old is None:
            return
        model = self.w.model
        self.diff = d = diff_documents(self.old, model.doc, self._old_analysis, model.analysis)
        self._remove_items()
        for nd in d.networks:
            view = self.w.views.get(nd.name)
            if view is not None and nd.status != "removed":
                view.scene().ensure_all()  # marks go on items
                self._mark(nd.name, nd, view.scene().nodes, model.doc.network(nd.name))
        name = Path(self.path or "").name
        n = sum(len(x.added) + len(x.removed) + len(x.changed) for x in d.networks)
        delta = d.params.delta
        if delta is not None:
            params = f"params {delta:+,}"
        else:  # a side with errors has no total: say which, rather than count it as 0
            sides = " and ".join("the compared file" if s == "a" else "the document"
                                 for s in d.params.invalid)
            params = f"params unknown: {sides} {'are' if len(d.params.invalid) > 1 else 'is'} invalid"
        declared = [x.name for x in d.networks
                    if x.params_added or x.params_removed or x.params_changed or x.params_renamed]
        ties = sum(len(x.ties_added) + len(x.ties_removed) for x in d.networks)
        extra = "".join([f"; block parameters of {', '.join(declared)} changed" if declared else "",
                         f"; {ties} tie{'s' * (ties != 1)} added or removed" if ties else ""])
        text = (f"Compared with {name}: no differences" if d.identical else
                f"Compared with {name}: {n} node{'s' * (n != 1)} differ{extra}; {params}")
        self.w.statusBar().showMessage(text)

    def state(self, network: str, node_id: str) -> str | None:
        """'added', 'changed', 'affected', 'removed' (a ghost) or None."""
        item = self.marks.get((network, node_id)) or self.ghosts.get((network, node_id))
        return item.state if item is not None else None

    # ------------------------------------------------------------ items

    def _remove_items(self) -> None:
        for item in [*self.marks.values(), *self.ghosts.values()]:
            if not shiboken6.isValid(item):  # went with its node or scene (a new document)
                continue
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)
        self.marks.clear()
        self.ghosts.clear()

    def _mark(self, network: str, nd: NetworkDiff, items: dict[str, NodeItem], net: Network | None) -> None:
        tips: dict[str, list[str]] = {}
        states: dict[str, str] = {}
        for nid in nd.added:
            states[nid] = "added"
            tips.setdefault(nid, []).append("added since the compared file")
        for c in nd.changed:
            states[c.id] = "changed"
            tips.setdefault(c.id, []).extend(change_phrases(c, "→"))
        for r in nd.rewired:
            states[r.dst] = "changed" if states.get(r.dst) != "added" else "added"
            tips.setdefault(r.dst, []).append(
                f"input {r.dst_port} now from {r.src[0]} (was {r.old_src[0]})")
        for k, what in [*((k, "added") for k in nd.ties_added), *((k, "removed") for k in nd.ties_removed)]:
            ends = (k[0], k[2]) if what == "added" else (nd.matched.get(k[0]), nd.matched.get(k[2]))
            for end in ends:
                if end is not None:
                    states.setdefault(end, "changed")
                    tips.setdefault(end, []).append(f"{tie_phrase(k, '→')} {what}")
        if net is not None and nd.params_changed:
            # The nodes that take a default that changed: their values changed with it.
            for n in net.nodes:
                for ref in dict.fromkeys(r for value in n.params.values() for r in refs_in(value)):
                    if ref in nd.params_changed:
                        states.setdefault(n.id, "affected")
                        tips.setdefault(n.id, []).append(default_phrase(ref, *nd.params_changed[ref], "→"))
        for nid, (old_shape, new_shape) in nd.shapes.items():
            states.setdefault(nid, "affected")
            tips.setdefault(nid, []).append(f"output {old_shape or '?'} → {new_shape or '?'}")
        for nid, (old_count, new_count) in nd.counts.items():
            states.setdefault(nid, "affected")
            tips.setdefault(nid, []).append(f"params {fmt_count(old_count)} → {fmt_count(new_count)}")
        for nid, state in states.items():
            node = items.get(nid)
            if node is not None:
                self.marks[(network, nid)] = DiffMark(node, state, "\n".join(tips[nid]))
        old_net = self.old.network(network) if self.old is not None else None
        if old_net is None or not nd.removed:
            return
        scene = next(iter(items.values())).scene() if items else None
        if scene is None:
            return
        old_pos = {n.id: n.pos for n in old_net.nodes}
        for nid, stats in nd.removed.items():
            ghost = GhostItem(nid, nd.types.get(nid, ""), node_height(1, 1),
                              f"removed since the compared file\n{nid} ({nd.types.get(nid, '')}), "
                              f"{stats.shape or '?'}, {fmt_count(stats.params)} params")
            ghost.setPos(self._ghost_pos(nid, old_net, old_pos, nd.matched, items))
            scene.addItem(ghost)
            self.ghosts[(network, nid)] = ghost

    @staticmethod
    def _ghost_pos(nid: str, old_net: Network, old_pos: dict[str, tuple[float, float]],
                   matched: dict[str, str], items: dict[str, NodeItem]) -> QPointF:
        """Where the old file had it, relative to a neighbour that is still there (the
        layouts of the two files may differ), else the old position itself; moved down
        until it covers no node of the document."""
        x, y = old_pos[nid]
        at = QPointF(x, y)
        for e in old_net.edges:
            other = e.src if e.dst == nid else (e.dst if e.src == nid else None)
            if other is not None and matched.get(other) in items:
                anchor = items[matched[other]].pos()
                ox, oy = old_pos[other]
                at = QPointF(anchor.x() + x - ox, anchor.y() + y - oy)
                break
        h = node_height(1, 1)
        for _ in range(20):
            box = QRectF(at.x(), at.y(), NODE_W, h)
            hit = [it for it in items.values()
                   if box.intersects(QRectF(it.pos().x(), it.pos().y(), NODE_W, it.height))]
            if not hit:
                break
            at = QPointF(at.x(), max(it.pos().y() + it.height for it in hit) + 20)
        return at
