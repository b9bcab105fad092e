"""CanvasView: the node editor widget for one network (contract: docs/designer-api.md).

Mouse: click / rubber band select, drag nodes (snapped, one undo step), drag from a port
to wire (ports that accept light up), wheel zooms about the cursor, middle button or
space+drag pans, double-click a title renames, double-click empty canvas quick-adds.
Keys: Space+drag pans, Escape cancels a wire or clears the selection, arrows nudge. The
command keys (Tab, Delete, Ctrl+C...) are the window's actions (designer/actions.py).
"""
from __future__ import annotations

import math


from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmapCache,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsView,
    QLineEdit,
    QMenu,
    QRubberBand,
    QStyle,
    QStyleOptionGraphicsItem,
    QStyleOptionRubberBand,
    QWidget,
)

from designer import theme
from designer.canvas import edit_actions as act
from designer.canvas import lod as LOD
from designer.canvas import overlays
from designer.canvas.interactions import MoveTracker, WireDrag, inner_node_at, item_path, node_at, port_at
from designer.canvas.fitting import MAX_SCALE, MIN_SCALE, FittedView
from designer.canvas.minimap import Minimap
from designer.canvas.node_item import NodeItem, PortRef
from designer.canvas.quick_add import QuickAdd, catalog_entries
from designer.canvas.scene import CanvasScene
from graph_compiler.layout import BODY_H, HEADER_H, NODE_W, PORT_STEP
from designer.model import DocumentModel

MIME = "application/x-netwright-node"
QUICK_GAP = 80.0  # scene px between a node and the one Tab adds after it: room for the wire
_K = Qt.Key
_M = Qt.KeyboardModifier
# Keys the canvas handles itself while it has focus. Every command key (Delete, Ctrl+C,
# F, Tab...) is a QAction of the window's registry (designer/actions.py) instead.
_OWN_KEYS = {
    (_K.Key_Escape, _M.NoModifier), (_K.Key_Space, _M.NoModifier),
    (_K.Key_Left, _M.NoModifier), (_K.Key_Right, _M.NoModifier),
    (_K.Key_Up, _M.NoModifier), (_K.Key_Down, _M.NoModifier),
}


class CanvasView(FittedView):
    selectionChangedIds = Signal(list)
    nodeActivated = Signal(str)

    def __init__(self, model: DocumentModel, network: str, parent: QWidget | None = None,
                 lazy: bool = False) -> None:
        """``lazy``: build the scene's items when the view is first shown (a window with a
        tab per block network pays only for the tabs the user opens)."""
        super().__init__(parent)
        # Item caches (DeviceCoordinateCache) live in QPixmapCache; Qt's 10 MB default
        # thrashes once a big graph is zoomed out and every item has a small pixmap.
        if QPixmapCache.cacheLimit() < 128 * 1024:
            QPixmapCache.setCacheLimit(128 * 1024)
        self.model = model
        self.setScene(CanvasScene(model, network, self, build=not lazy))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.paste_count = 0
        self._wire: WireDrag | None = None
        self._move: MoveTracker | None = None
        self._pan_from: QPoint | None = None
        self._space = False
        self._quick: QuickAdd | None = None
        self._quick_at = QPointF()
        self._quick_from: tuple[str, int] | None = None
        self._editor: QLineEdit | None = None
        self._hint = overlays.Hint(self.viewport())
        self._context_actions: list[QAction | None] = []
        self.minimap = Minimap(self)
        self._quick_at_menu: QPointF | None = None  # where a context menu was opened
        # Until the user zooms, pans or clicks, the view keeps the graph fitted ("readable":
        # as opening a file shows it; "all": as Fit shows it) while the window and its docks
        # settle into their sizes; None once the user has moved.
        self._auto_fit: str | None = "readable"
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.actionTriggered.connect(self._user_moved)
        self.scene().selectionChanged.connect(self._on_selection)
        self.scene().foldChanged.connect(self.after_fold)
        model.message.connect(self._on_message)
        theme.manager().changed.connect(self._on_theme)  # bound: dropped with the view

    # ------------------------------------------------------------ contract

    def selected_ids(self) -> list[str]:
        return [it.node_id for it in self.scene().selectedItems() if isinstance(it, NodeItem)]

    def select_ids(self, ids: list[str]) -> None:
        scene = self.scene()
        scene.ensure_built()
        scene.blockSignals(True)  # one selectionChangedIds, not one per item
        try:
            scene.clearSelection()
            for nid in ids:
                item = scene.item(nid)
                if item is not None:
                    item.setSelected(True)
        finally:
            scene.blockSignals(False)
        self._on_selection()

    def center_on(self, node_id: str) -> None:
        self.scene().ensure_built()
        item = self.scene().item(node_id)
        if item is not None:
            self._auto_fit = None
            self.centerOn(item.sceneBoundingRect().center())

    def look_at(self, scene_pos: QPointF) -> None:
        """Centre the view on a scene point (the minimap's click)."""
        self._auto_fit = None
        self.centerOn(scene_pos)

    def set_minimap_visible(self, on: bool) -> None:
        self.minimap.set_wanted(on)

    def zoom_by(self, factor: float) -> None:
        self._auto_fit = None
        s = self.transform().m11()
        factor = max(MIN_SCALE / s, min(MAX_SCALE / s, factor))
        self.scale(factor, factor)

    def paintEvent(self, event: QPaintEvent) -> None:
        scale = self.transform().m11()
        self.scene().set_overview(scale < LOD.EDGE_CURVES)
        if scale < LOD.NODE_TITLES and self.scene().built:
            self._paint_map(event)  # too far out for any text: one picture, not N items
            return
        self.scene().realize(self.mapToScene(self.viewport().rect()).boundingRect())
        super().paintEvent(event)

    def _paint_map(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        painter.setTransform(self.viewportTransform())
        scene = self.scene()
        scene.drawBackground(painter, self.mapToScene(event.rect()).boundingRect())
        scene.draw_map(painter)
        if self._wire is not None:
            self._wire.wire.paint(painter, QStyleOptionGraphicsItem())
        band = self.rubberBandRect()
        if not band.isNull():
            painter.resetTransform()
            option = QStyleOptionRubberBand()
            option.initFrom(self.viewport())
            option.rect = band
            option.shape = QRubberBand.Shape.Rectangle
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, option, painter, self.viewport())
        painter.end()

    # ------------------------------------------------------------ additions

    def set_snap(self, on: bool, grid: float | None = None) -> None:
        """Snap dragged nodes to a grid (10 or 20 px)."""
        self.scene().snap_enabled = on
        if grid:
            self.scene().grid = float(grid)
        self.scene().update()

    # ------------------------------------------------------------ folding (view state)

    def expand_selected(self) -> list[str]:
        """Expand the selected block nodes in place (a folded ×N run: back into N nodes).
        The document does not change; see designer/canvas/folding.py."""
        return self.scene().expand(self.selected_ids())

    def fold_selected(self) -> list[str]:
        """Fold the selected expanded blocks; a selected node of a run of repeated blocks
        folds the run into one "×N" node."""
        return self.scene().fold(self.selected_ids())

    def fold_repeats(self) -> list[str]:
        """Fold every run of repeated blocks in this network."""
        return self.scene().folding.fold_runs()

    def auto_layout(self) -> None:
        """Laid out for this view's size (long chains wrap into bands), then shown readably."""
        self.scene().ensure_all()  # the layout needs every node's size
        sizes = {nid: (NODE_W, it.height) for nid, it in self.scene().nodes.items()}
        vp = self.viewport().rect()
        self.model.auto_layout(self.network, sizes, view=(float(vp.width()), float(vp.height())))
        self.fit_readable()

    def _on_theme(self, _name: str) -> None:
        self.refresh_theme()

    def refresh_theme(self) -> None:
        self.scene().map_changed()
        for item in self.scene().items():
            item.update()
        self.scene().update()
        self.minimap.schedule()  # its picture is cached: draw it again in the new colours

    def show_hint(self, text: str, at: QPoint | None = None) -> None:
        """A short on-canvas note near the cursor (why a wire was refused, ...)."""
        self._hint.show_text(text, at)

    def hint_text(self) -> str:
        return self._hint.text() if self._hint.isVisible() else ""

    def open_quick_add(self, scene_pos: QPointF | None = None, connect_from: tuple[str, int] | None = None) -> QuickAdd:
        if scene_pos is None and self._quick_at_menu is not None:
            scene_pos = self._quick_at_menu  # "Add node…" from the right-click menu
        if scene_pos is None:
            vp = self.viewport().mapFromGlobal(QCursor.pos())
            if not self.viewport().rect().contains(vp):
                vp = self.viewport().rect().center()
            scene_pos = self.mapToScene(vp)
        if connect_from is None:
            sel = self.selected_ids()
            if len(sel) == 1 and self.scene().nodes[sel[0]].out_names:
                connect_from = (sel[0], 0)
                if self._quick_at_menu is None:  # Tab: beside the source, not where the mouse is
                    scene_pos = self.free_spot_right_of(sel[0])
        self._quick_at, self._quick_from = scene_pos, connect_from
        if self._quick is None:
            self._quick = QuickAdd(self)
            self._quick.chosen.connect(self._quick_chosen)
        blocks = [n for n in self.model.doc.network_names() if n != self.network]
        self._quick.open_at(self.viewport().mapToGlobal(self.mapFromScene(scene_pos)), catalog_entries(blocks))
        return self._quick

    def free_spot_right_of(self, node_id: str) -> QPointF:
        """Where a node wired from ``node_id`` goes: to its right, level with it, or lower
        down that column until it overlaps no node (a new node's usual size assumed)."""
        scene = self.scene()
        scene.item(node_id)  # built, if the view had not come to it
        src = scene.nodes[node_id].sceneBoundingRect()
        step = scene.grid
        x = math.ceil((src.right() + QUICK_GAP) / step) * step
        y = round(src.top() / step) * step
        scene.realize(QRectF(x, y, NODE_W, 200 * step))  # the column searched below
        others = [it.sceneBoundingRect().adjusted(-step / 2, -step / 2, step / 2, step / 2)
                  for it in scene.nodes.values()]
        for _ in range(200):
            spot = QRectF(x, y, NODE_W, HEADER_H + BODY_H + PORT_STEP)
            blocker = next((r for r in others if r.intersects(spot)), None)
            if blocker is None:
                break
            y = math.ceil((blocker.bottom() + 1) / step) * step
        return QPointF(x, y)

    def _quick_chosen(self, type_name: str) -> None:
        pos = self.scene().snap_point(self._quick_at)
        nid = self.model.add_node(self.network, type_name, (pos.x(), pos.y()), connect_from=self._quick_from)
        if nid:
            self.select_ids([nid])
            self.ensureVisible(self.scene().nodes[nid].sceneBoundingRect(), 20, 20)
        self.setFocus()

    def rename(self, node_id: str | None = None) -> QLineEdit | None:
        """Inline label editor over the node's title (F2 / double-click the title)."""
        ids = [node_id] if node_id else self.selected_ids()
        if len(ids) != 1 or ids[0] not in self.scene().nodes:
            return None
        self._editor = overlays.rename_editor(self, self.scene().nodes[ids[0]])
        return self._editor

    # ------------------------------------------------------------ signals

    def _on_selection(self) -> None:
        self.selectionChangedIds.emit(self.selected_ids())

    def _on_message(self, text: str) -> None:
        if self.isVisible():
            self.show_hint(text)

    # ------------------------------------------------------------ mouse

    def _pan_start(self, event: QMouseEvent) -> bool:
        b = event.button()
        return b == Qt.MouseButton.MiddleButton or (b == Qt.MouseButton.LeftButton and self._space)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._auto_fit = None
        if self._pan_start(event):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        pos = self.mapToScene(event.position().toPoint())
        self.scene().realize(QRectF(pos, pos).adjusted(-1, -1, 1, 1))  # far out, what is clicked
        if event.button() == Qt.MouseButton.LeftButton:
            ref = port_at(self.scene(), pos)
            if ref is not None:
                visible = self.mapToScene(self.viewport().rect()).boundingRect()
                fed = None if ref.output else self.scene().edge_into(ref.node, ref.port)
                if fed is not None:  # pick the wire up by its end, to move or drop it
                    src = PortRef(fed[0], True, fed[1])
                    self._wire = WireDrag(self.scene(), src, visible, moving=fed)
                else:
                    self._wire = WireDrag(self.scene(), ref, visible)
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and node_at(self.scene(), pos) is not None:
            self._move = MoveTracker(self.scene())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            d = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
            return
        if self._wire is not None:
            self._wire.move(self.mapToScene(event.position().toPoint()))
            return
        band = self.rubberBandRect()
        if not band.isNull():  # what the band will hold is built before Qt selects it
            at = event.position().toPoint()
            self.scene().realize(self.mapToScene(band.united(QRect(at, at))).boundingRect())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        if self._wire is not None:
            wire, self._wire = self._wire, None
            self._finish_wire(wire, self.mapToScene(event.position().toPoint()), event.position().toPoint())
            return
        super().mouseReleaseEvent(event)
        if self._move is not None:
            move, self._move = self._move, None
            move.finish()

    def _finish_wire(self, wire: WireDrag, pos: QPointF, at: QPoint) -> None:
        target = wire.finish(pos)
        if wire.moving is not None:
            self._finish_moved_wire(wire, target, pos, at)
            return
        start = wire.start
        if target is None:
            if node_at(self.scene(), pos) is None and start.output:
                self.open_quick_add(pos, (start.node, start.port))
            return
        if target == start:
            return
        why = wire.check(target)
        if why is not None:
            # The model reports its own refusals through ``message``; say it here for
            # gesture-only ones (two outputs) too, so nothing is refused silently.
            self.model.message.emit(f"cannot connect: {why.message}")
            self.show_hint(f"cannot connect: {why.message}", at)
            return
        src, dst = (start, target) if start.output else (target, start)
        self.model.connect(self.network, src.node, src.port, dst.node, dst.port)

    def _finish_moved_wire(self, wire: WireDrag, target: PortRef | None, pos: QPointF, at: QPoint) -> None:
        """A wire picked up by its input end: dropped on empty canvas it is deleted, on
        another input it is reconnected there (one undo step), elsewhere it stays."""
        key = wire.moving
        assert key is not None
        if target is None:
            if node_at(self.scene(), pos) is None:
                self.model.disconnect(self.network, [key])
            return
        if target == wire.origin():
            return
        why = wire.check(target)
        if why is not None:
            self.model.message.emit(f"cannot connect: {why.message}")
            self.show_hint(f"cannot connect: {why.message}", at)
            return
        self.model.undo_stack.beginMacro("Reconnect")
        try:
            self.model.disconnect(self.network, [key])
            self.model.connect(self.network, key[0], key[1], target.node, target.port)
        finally:
            self.model.undo_stack.endMacro()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pos = self.mapToScene(event.position().toPoint())
        item = node_at(self.scene(), pos)
        if item is None:
            if event.button() == Qt.MouseButton.LeftButton:
                self.open_quick_add(pos)
            return
        inner = inner_node_at(self.scene(), pos)
        if inner is not None and inner is not item:
            # Inside an expanded block: a block expands or folds, any other node is
            # edited in the block's own tab.
            target = inner if inner.frame is not None or self.scene().folding.is_block(inner.type_name) \
                else inner.parentItem()
            if isinstance(target, NodeItem) and target is not item:
                self.scene().toggle_path(item_path(target))
            return
        if item.frame is not None and item.in_title(item.mapFromScene(pos)):
            self.scene().fold([item.node_id])
        elif item.in_title(item.mapFromScene(pos)):
            self.rename(item.node_id)
        else:
            self.nodeActivated.emit(item.node_id)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta)  # about 1.2x per wheel notch, about the cursor
        event.accept()

    def set_context_actions(self, actions: list[QAction | None]) -> None:
        """The right-click menu: the window's own actions (None: a separator)."""
        self._context_actions = list(actions)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if not self._context_actions:
            return
        at = self.mapToScene(event.pos())
        item = node_at(self.scene(), at)
        if item is not None and not item.isSelected():
            self.select_ids([item.node_id])  # right-click acts on what is under the cursor
        self._quick_at_menu = at
        menu = QMenu(self)
        for action in self._context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(event.globalPos())
        self._quick_at_menu = None

    # ------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(MIME):
            super().dropEvent(event)
            return
        type_name = bytes(event.mimeData().data(MIME).data()).decode("utf-8", "replace").strip()
        pos = self.scene().snap_point(self.mapToScene(event.position().toPoint()))
        nid = self.model.add_node(self.network, type_name, (pos.x(), pos.y()))
        event.acceptProposedAction()
        if nid:
            self.select_ids([nid])
            self.setFocus()

    # ------------------------------------------------------------ keyboard

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            assert isinstance(event, QKeyEvent)
            if (event.key(), event.modifiers()) in _OWN_KEYS:
                event.accept()
                return True
        return super().event(event)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002 - Qt's name
        # Tab is the quick-add command's key (an action), not focus navigation.
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        g = self.scene().grid
        if key == _K.Key_Space and not event.isAutoRepeat():
            self._space = True
        elif key == _K.Key_Escape:
            if self._wire is not None:
                self._wire.cancel()
                self._wire = None
            else:
                self.scene().clearSelection()
        elif key in (_K.Key_Left, _K.Key_Right, _K.Key_Up, _K.Key_Down) and mods == _M.NoModifier:
            dx = {_K.Key_Left: -g, _K.Key_Right: g}.get(_K(key), 0.0)
            dy = {_K.Key_Up: -g, _K.Key_Down: g}.get(_K(key), 0.0)
            act.nudge(self, dx, dy)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == _K.Key_Space and not event.isAutoRepeat():
            self._space = False
        super().keyReleaseEvent(event)
