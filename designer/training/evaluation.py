"""Classification results after each epoch: the confusion matrix and a few predictions.

The matrix is an ImageItem coloured by row-normalised rate (so rare classes are as
readable as common ones) with the raw counts written in each cell when there are few
enough classes to read them. Predictions show the validation sample itself (an image
for digits) under "pred / true" in green or red.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSimpleTextItem,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from designer.training.imaging import ImagePane, as_images, tile

MAX_CELL_TEXT = 15  # classes; beyond this the numbers would overlap
COUNT_PX = (7.0, 12.0)  # the counts' pixel size: shrunk to fit the cells, hidden below the first


class ConfusionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.caption = QLabel("The confusion matrix appears after the first epoch of a classification run.")
        self.caption.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.caption)
        self._texts: list[_CellText] = []  # pooled: reused every epoch
        self._cells = 0  # how many of them show a count
        # The counts keep their pixel size whatever the zoom, so the cells' size on screen
        # decides how large they may be: recomputed when the plot is resized or zoomed.
        self.plot.vb.sigResized.connect(lambda *_a: self._fit_counts())
        self.plot.vb.sigRangeChanged.connect(lambda *_a: self._fit_counts())
        self.matrix: np.ndarray | None = None
        self._classes: list[str] = []

    def set_matrix(self, matrix: Sequence[Sequence[int]] | np.ndarray, classes: Sequence[str] | None = None,
                   epoch: int | None = None) -> None:
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
            return
        n = m.shape[0]
        self.matrix = m
        names = [str(c) for c in (classes or range(n))][:n]
        rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        self.image.setImage(rates, levels=(0.0, 1.0))
        if names != self._classes:
            self._classes = names
            ticks = [list(enumerate(names))]
            self.plot.getAxis("bottom").setTicks([[(i + 0.5, s) for i, s in ticks[0]]])
            self.plot.getAxis("left").setTicks([[(i + 0.5, s) for i, s in ticks[0]]])
            self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self._write_counts(m, rates)
        acc = np.trace(m) / max(m.sum(), 1)
        where = f"epoch {epoch}: " if epoch is not None else ""
        self.caption.setText(f"{where}accuracy {acc * 100:.1f}% on {int(m.sum())} validation samples "
                             "(colour: share of each true class)")

    def _write_counts(self, m: np.ndarray, rates: np.ndarray) -> None:
        n = m.shape[0]
        cells = n * n if n <= MAX_CELL_TEXT else 0
        while len(self._texts) < cells:
            t = _CellText()
            self.plot.addItem(t)
            self._texts.append(t)
        self._cells = cells
        for i, t in enumerate(self._texts):
            if i >= cells:
                t.setVisible(False)
                continue
            r, c = divmod(i, n)
            t.show_count(int(m[r, c]), dark=rates[r, c] > 0.6)
            t.setPos(c + 0.5, r + 0.5)
        self._fit_counts()

    def count_pixel_size(self) -> float | None:
        """The counts' font pixel size that fits the widest count in a cell as drawn now;
        None when even the smallest readable size would overflow."""
        if self.matrix is None or not self._cells:
            return None
        px_w, px_h = self.plot.vb.viewPixelSize()
        if px_w <= 0 or px_h <= 0:
            return None
        font = QFont(self.font())
        font.setPixelSize(100)
        fm = QFontMetricsF(font)
        digits = len(str(int(self.matrix.max())))
        fit = min(100 * 0.85 / px_w / fm.horizontalAdvance("8" * digits), 100 * 0.8 / px_h / fm.height())
        size = min(COUNT_PX[1], fit)
        return size if size >= COUNT_PX[0] else None

    def _fit_counts(self) -> None:
        size = self.count_pixel_size()
        for i, t in enumerate(self._texts):
            if i < self._cells and size is not None:
                t.set_pixel_size(size)
            t.setVisible(i < self._cells and size is not None)


class _CellText(QGraphicsSimpleTextItem):
    """A count centred in a matrix cell, at a fixed pixel size whatever the zoom.

    A plain QGraphicsSimpleTextItem: pyqtgraph's TextItem re-lays out HTML and tracks the
    view transform, which made a 10 x 10 matrix cost ~70 ms per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(10)
        self._state: tuple[int, bool] | None = None

    def show_count(self, count: int, dark: bool) -> None:
        if self._state == (count, dark):
            return
        self._state = (count, dark)
        self.setText(str(count))
        self.setBrush(QColor("black" if dark else "white"))
        self._centre()

    def set_pixel_size(self, size: float) -> None:
        px = max(1, round(size))
        if self.font().pixelSize() == px:
            return
        font = QFont(self.font())
        font.setPixelSize(px)
        self.setFont(font)
        self._centre()

    def _centre(self) -> None:
        br = self.boundingRect()
        self.setTransform(QTransform.fromTranslate(-br.width() / 2, -br.height() / 2))


class PredictionsView(QWidget):
    """A few validation samples with predicted and true class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images = ImagePane("", colormap="CET-L1")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.images, 1)
        lay.addWidget(self.text)
        self.images.setVisible(False)
        self.count = 0

    def set_predictions(self, preds: Sequence[dict[str, Any]], classes: Sequence[str] | None = None,
                        images: np.ndarray | None = None) -> None:
        self.count = len(preds)
        names = list(classes or [])

        def name(v: Any) -> str:
            return names[v] if isinstance(v, int) and 0 <= v < len(names) else str(v)

        cells = []
        for p in preds:
            ok = p.get("pred") == p.get("true")
            color = "#3bb273" if ok else "#e15759"
            conf = p.get("confidence")
            conf_txt = f" ({conf * 100:.0f}%)" if isinstance(conf, (int, float)) else ""
            cells.append(f"<span style='color:{color}'>#{p.get('index', '?')}: "
                         f"{name(p.get('pred'))}{conf_txt} / {name(p.get('true'))}</span>")
        self.text.setText("<b>predicted (confidence) / true</b><br>" + "<br>".join(cells))
        if images is not None and len(images):
            imgs = as_images(images)
            self.images.set_title("validation samples, in the order listed below")
            self.images.set_image(tile(imgs, cols=min(len(imgs), 4), normalize="global"))
            self.images.setVisible(True)
        else:
            self.images.setVisible(False)


class EvaluationView(QSplitter):
    """The matrix (square) on the left, the sample predictions in the room beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.confusion = ConfusionView()
        self.predictions = PredictionsView()
        self.addWidget(self.confusion)
        self.addWidget(self.predictions)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setSizes([600, 400])  # proportions: the plots' size hints would squeeze the list


__all__ = ["ConfusionView", "EvaluationView", "PredictionsView"]
