"""Level of detail: below these scales, text and ports are unreadable, so items draw
plain shapes instead (and skip the work of laying out text)."""
from __future__ import annotations

from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

NODE_DETAIL = 0.5  # below: nodes are plain coloured boxes, no ports, only their titles
NODE_TITLES = 0.2  # below: not even titles (a few letters no longer fit a box)
EDGE_CURVES = 0.5  # below: edges are straight lines
EDGE_LABELS = 0.7  # below: no shape labels on edges
GRID = 0.35  # below: no background grid


def lod(painter: QPainter, option: QStyleOptionGraphicsItem) -> float:
    return option.levelOfDetailFromTransform(painter.worldTransform())
