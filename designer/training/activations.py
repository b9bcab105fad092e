"""What one node outputs on the fixed probe batch: a histogram, plus a picture.

- [N, C, H, W] (convolutions): the first sample's C feature maps as tiles, each scaled
  on its own (channels have unrelated ranges).
- [N, T, D] (sequences): the first sample as a T x D heatmap.
- [N, D] (dense layers): samples x units heatmap; a dead ReLU unit is a dark column.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from designer.training.imaging import ImagePane, tile
from graph_compiler.catalog import fmt_shape

if TYPE_CHECKING:  # torch-free at import
    from graph_compiler.training.probe import Activation

BINS = 60
MAX_TILES = 64


def picture_kind(shape: tuple[int, ...]) -> str:
    """"tiles", "heatmap" or "none" for an activation of ``shape`` (batch first)."""
    if len(shape) == 4:
        return "tiles"
    if len(shape) in (2, 3):
        return "heatmap"
    return "none"


def activation_picture(values: np.ndarray) -> tuple[str, np.ndarray | None]:
    kind = picture_kind(values.shape)
    if kind == "tiles":
        maps = values[0][:MAX_TILES]
        return kind, tile(maps, normalize="each")
    if kind == "heatmap":
        img = values[0] if values.ndim == 3 else values
        return kind, np.asarray(img, dtype=np.float32)
    return kind, None


class ActivationView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = QLabel("Select a node on the canvas to see its activations on a fixed probe batch.")
        self.info.setWordWrap(True)
        self.hist_widget = pg.PlotWidget()
        self.hist_plot = self.hist_widget.getPlotItem()
        self.hist_plot.setLabel("bottom", "activation value")
        self.hist_plot.setLabel("left", "count")
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(76, 139, 245, 120),
                                    pen=pg.mkPen("#4c8bf5", width=1))
        self.hist_plot.addItem(self.hist)
        self.picture = ImagePane("", colormap="viridis")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.hist_widget)
        split.addWidget(self.picture)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.info)
        lay.addWidget(split, 1)
        self.node_id: str | None = None
        self.kind = "none"  # what the picture shows: tiles / heatmap / none
        self.hist_counts: np.ndarray = np.zeros(0)

    def show_message(self, text: str) -> None:
        self.info.setText(text)

    def set_activation(self, act: Activation, when: str = "") -> None:
        v = act.values
        self.node_id = act.node_id
        finite = v[np.isfinite(v)]
        if finite.size:
            counts, edges = np.histogram(finite, bins=BINS)
            self.hist.setData(edges, counts.astype(np.float64))
            self.hist_counts = counts
            stats = (f"mean {finite.mean():.3g}, std {finite.std():.3g}, "
                     f"zero {np.mean(finite == 0) * 100:.0f}%")
        else:
            self.hist.setData([], [])
            self.hist_counts = np.zeros(0)
            stats = "no finite values"
        bad = v.size - finite.size
        shape = fmt_shape((1, *v.shape[1:])) if v.ndim > 1 else str(list(v.shape))  # batch prints as B
        where = "" if act.source == "output" else f" ({act.source})"
        self.kind, pic = activation_picture(v)
        caption = {"tiles": "feature maps of sample 1", "heatmap":
                   "sample 1: positions x features" if v.ndim == 3 else "samples x units"}.get(self.kind, "")
        self.picture.setVisible(pic is not None)
        if pic is not None:
            self.picture.set_title(caption)
            self.picture.set_image(pic, levels=(0.0, 1.0) if self.kind == "tiles" else None)
        note = f", {bad} non-finite" if bad else ""
        self.info.setText(f"<b>{act.node_id}</b>{where}: {shape} on {len(v)} probe samples{when} "
                          f"- {stats}{note}")


__all__ = ["ActivationView", "activation_picture", "picture_kind"]
