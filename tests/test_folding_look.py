"""What fold and expand look like on screen: colours, room made, nothing left behind."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from designer.canvas import style
from graph_compiler.layout import HEADER_H, NODE_W

from tests.test_folding import make_view, stacked_doc


def header_pixel(view, nid: str) -> QColor:
    """The colour drawn in the middle of a node's header, right of its title."""
    item = view.scene().nodes[nid]
    at = view.mapFromScene(item.mapToScene(QPointF(NODE_W * 0.6, HEADER_H * 0.2)))
    view.viewport().repaint()
    return view.viewport().grab().toImage().pixelColor(at)


@pytest.mark.parametrize("scale", [1.0, 0.3, 0.1])
def test_block_headers_keep_their_colour_after_expand_and_fold(qtbot, scale: float) -> None:
    # Painting a frame set the alpha of the shared, cached category colour: every block
    # header drawn after it was near-white (a new user could not read the titles).
    _model, view = make_view(qtbot, stacked_doc())
    want = QColor(style.category_hex("Blocks"))
    view.resetTransform()
    view.scale(scale, scale)
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want
    view.select_ids(["layer2"])
    assert view.expand_selected() == ["layer2"]
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want  # drawn after the frame
    view.fold_selected()
    view.centerOn(view.scene().nodes["layer3"].sceneBoundingRect().center())
    assert header_pixel(view, "layer3") == want
    assert style.qcolor(style.category_hex("Blocks")).alpha() == 255
