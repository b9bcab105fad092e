"""FittedView: how a canvas frames its graph. Opening shows the whole graph when it reads
at MIN_READABLE_SCALE or more, else its start at that scale; Fit shows all of it; until
the user moves, the view keeps that framing while the window and docks settle."""
from __future__ import annotations

from typing import cast

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QGraphicsView

from designer.canvas.lazy import graph_extent
from designer.canvas.node_item import NodeItem
from designer.canvas.scene import CanvasScene
from designer.model import DocumentModel
from graph_compiler.layout import MIN_READABLE_SCALE, VIEW_MARGIN

MIN_SCALE, MAX_SCALE = 0.02, 4.0
FIT_MAX_SCALE = 1.0  # fitting a small graph never blows it up past its real size
FIT_MARGIN = VIEW_MARGIN
WIRE_MARGIN = 6.0  # scene px a fitted view leaves around a wire


class FittedView(QGraphicsView):
    """The framing half of CanvasView (which sets ``model`` and ``_auto_fit``)."""

    model: DocumentModel
    # Until the user zooms, pans or clicks, the view keeps the graph fitted ("readable":
    # as opening a file shows it; "all": as Fit shows it); None once the user has moved.
    _auto_fit: str | None

    def scene(self) -> CanvasScene:  # a view always shows its CanvasScene
        return cast(CanvasScene, super().scene())

    @property
    def network(self) -> str:
        return self.scene().network

    def keeps_fit(self) -> bool:
        """Whether the view still keeps the framing it opened with (or Fit gave it): the
        user has not zoomed, scrolled or clicked since."""
        return self._auto_fit is not None

    def _graph_rect(self) -> QRectF:
        # The wires too: one that wraps from the end of a band back to the start of the
        # next bulges past the nodes on both sides, and was cut at the view's edges.
        # The margin is for the nodes; a wire needs only to be whole.
        scene = self.scene()
        if scene.fit_rect is not None:
            return QRectF(scene.fit_rect)
        nodes, wires = graph_extent(scene)
        nodes.adjust(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        if wires.isValid():
            nodes = nodes.united(wires.adjusted(-WIRE_MARGIN, -WIRE_MARGIN, WIRE_MARGIN, WIRE_MARGIN))
        scene.fit_rect = QRectF(nodes)
        return nodes

    def fit(self) -> None:
        """The Fit command: the graph framed readably (the whole of it when it reads
        whole, else its start, to scroll from); again, when that is already the framing
        and the graph does not fit readably, the whole graph at whatever scale it takes."""
        if self._auto_fit == "readable" and self._readable_scale() > self._whole_scale():
            self.fit_all()
        else:
            self.fit_readable()

    def _whole_scale(self) -> float:
        """The scale that shows the whole graph (at most its real size)."""
        vp, rect = self.viewport().rect(), self._graph_rect()
        return min(vp.width() / rect.width(), vp.height() / rect.height(), FIT_MAX_SCALE)

    def _readable_scale(self) -> float:
        return max(MIN_READABLE_SCALE, self._whole_scale())

    def after_fold(self) -> None:
        """A block was expanded or folded: the graph's extent changed. An overview stays
        an overview of the new extent; a view zoomed out past reading (an overview of the
        expanded graph, say) comes back to a readable scale where it looks."""
        if not self.scene().built or self.viewport().width() < 2 or self.viewport().height() < 2:
            return
        if self._auto_fit == "all":
            self.fit_all()
            return
        target = self._readable_scale()
        s = self.transform().m11()
        if s < target * 0.999:
            selected = self.scene().selectedItems()
            at = selected[0].sceneBoundingRect().center() if selected else \
                self.mapToScene(self.viewport().rect().center())
            self.resetTransform()
            self.scale(target, target)
            self.centerOn(at)

    def fit_all(self) -> None:
        """The whole graph in view, centred, at most at its real size (scale 1.0)."""
        if not self.scene().built:
            return  # fitted when first shown
        vp = self.viewport().rect()
        if not self.scene().nodes and not self.scene().lazy or vp.width() < 2 or vp.height() < 2:
            return
        rect = self._graph_rect()
        s = min(vp.width() / rect.width(), vp.height() / rect.height(), FIT_MAX_SCALE)
        s = max(MIN_SCALE, s)
        self.resetTransform()
        self.scale(s, s)
        self.centerOn(rect.center())
        self._auto_fit = "all"

    def fit_readable(self) -> None:
        """As a file opens: the whole graph if it can be read that way, else as much as
        the view holds at the smallest readable scale, starting where the graph starts
        (its left edge, and its first node, the input, at mid-height), to be scrolled."""
        vp = self.viewport().rect()
        if not self.scene().nodes and not self.scene().lazy or vp.width() < 2 or vp.height() < 2:
            return
        rect = self._graph_rect()
        s = min(vp.width() / rect.width(), vp.height() / rect.height(), FIT_MAX_SCALE)
        s = max(MIN_READABLE_SCALE, s)
        self.resetTransform()
        self.scale(s, s)
        w, h = vp.width() / s, vp.height() / s
        first = self._first_node().sceneBoundingRect().center()
        x = rect.center().x() if rect.width() <= w else rect.left() + w / 2
        y = rect.center().y() if rect.height() <= h else min(max(first.y(), rect.top() + h / 2),
                                                            rect.bottom() - h / 2)
        self.centerOn(QPointF(x, y))
        self._auto_fit = "readable"

    def _first_node(self) -> NodeItem:
        """The document's first node (usually the input), not the first item made."""
        scene = self.scene()
        net = self.model.doc.network(self.network)
        item = next((it for it in map(scene.item, [n.id for n in net.nodes]) if it is not None), None) \
            if net is not None else None  # map is lazy: only the first is built
        return item if item is not None else next(iter(scene.nodes.values()))

    def _user_moved(self, *_args: object) -> None:
        self._auto_fit = None

    def showEvent(self, event: QShowEvent) -> None:
        if not self.scene().built:
            self.scene().ensure_built()
            if self._auto_fit == "all":
                self.fit_all()
            elif self._auto_fit == "readable":
                self.fit_readable()
        super().showEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_fit == "all":
            self.fit_all()
        elif self._auto_fit == "readable":
            self.fit_readable()
