"""Widgets laid over the canvas viewport: the inline rename editor and the hint bubble
that says why something was refused (so nothing is refused silently)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, Qt, QTimer
from PySide6.QtGui import QCursor, QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from designer.canvas import style
from designer.canvas.node_item import NodeItem
from graph_compiler.layout import HEADER_H, NODE_W

if TYPE_CHECKING:
    from designer.canvas.view import CanvasView


class Hint(QLabel):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # hints quote ids and names users typed
        self.setWordWrap(True)
        self.setMaximumWidth(420)
        self.hide()
        self._timer = QTimer(self, singleShot=True, interval=4000)
        self._timer.timeout.connect(self.hide)

    def show_text(self, text: str, at: QPoint | None = None) -> None:
        """Near ``at`` (viewport coordinates), else near the cursor, else bottom left."""
        c = style.colors()
        self.setStyleSheet(f"background:{c.hint_bg}; color:{c.hint_text}; border:1px solid "
                           f"{c.node_border}; border-radius:4px; padding:4px 8px;")
        self.setText(text)
        self.adjustSize()
        area = self.parentWidget()
        assert area is not None  # made with a parent (the canvas viewport)
        if at is None:
            at = area.mapFromGlobal(QCursor.pos())
            if not area.rect().contains(at):
                at = QPoint(12, area.height() - self.height() - 12)
        x = max(4, min(at.x() + 16, area.width() - self.width() - 4))
        y = max(4, min(at.y() + 16, area.height() - self.height() - 4))
        self.move(x, y)
        self.show()
        self.raise_()
        self._timer.start()


class _RenameEditor(QLineEdit):
    """Return or focus loss saves, Escape cancels; either way it goes away."""

    def __init__(self, view: CanvasView, item: NodeItem) -> None:
        super().__init__(view.viewport())
        self.view = view
        self.node_id = item.node_id
        node = view.model.index(view.network).nodes.get(item.node_id)
        self.setText((node.label or node.id) if node else item.title)
        self.selectAll()
        r = view.mapFromScene(QRectF(item.pos().x(), item.pos().y(), NODE_W, HEADER_H)).boundingRect()
        self.setGeometry(r.adjusted(2, 2, -2, -2))
        self._done = False
        self.editingFinished.connect(lambda: self.finish(True))
        self.installEventFilter(self)

    def finish(self, save: bool) -> None:
        if self._done:
            return
        self._done = True
        text = self.text().strip()
        view = self.view
        self.deleteLater()
        view._editor = None
        view.setFocus()
        if save:
            # Typing the id back clears the label (the node shows its id again).
            view.model.set_label(view.network, self.node_id, "" if text == self.node_id else text)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape):
            self.finish(False)
            return True
        return super().eventFilter(obj, event)


def rename_editor(view: CanvasView, item: NodeItem) -> QLineEdit:
    editor = _RenameEditor(view, item)
    editor.show()
    editor.setFocus()
    return editor
