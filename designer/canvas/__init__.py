"""The node canvas: CanvasView (a QGraphicsView) over a CanvasScene that mirrors one
network of the DocumentModel. See docs/designer-api.md for the contract."""
from __future__ import annotations

from designer.canvas.scene import CanvasScene
from designer.canvas.view import MIME, CanvasView

__all__ = ["MIME", "CanvasScene", "CanvasView"]
