"""Per-layer health: weight and gradient L2 norms of every node with parameters, over time.

Two log-scale plots with one line per layer. Vanishing gradients show as early layers'
grad lines sinking decades below the last layer's; exploding ones as lines shooting up.
A one-line verdict under the plots says which layer is out of line, in words.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from designer.training.buffers import History
from designer.training.pacing import Pacer, TimedGraphicsLayout
from designer.training.plots import PALETTE, configure_curve, make_plot

VANISHING = 1e-6  # grad norm below this: the layer has effectively stopped learning
EXPLODING = 1e3


def verdict(names: list[str], grads: np.ndarray) -> str:
    """A short human reading of the latest gradient norms."""
    if not len(names) or not np.isfinite(grads).any():
        return "No gradients yet."
    bad = [n for n, g in zip(names, grads) if np.isfinite(g) and g > EXPLODING]
    if bad:
        return f"Exploding gradients in {', '.join(bad)} (norm > {EXPLODING:g}): lower the learning rate or clip gradients."
    tiny = [n for n, g in zip(names, grads) if np.isfinite(g) and g < VANISHING]
    if tiny:
        return f"Vanishing gradients in {', '.join(tiny)} (norm < {VANISHING:g}): these layers barely learn."
    finite = grads[np.isfinite(grads) & (grads > 0)]
    ratio = finite.max() / finite.min() if len(finite) else 1.0
    return f"Gradients look healthy (largest / smallest layer norm: {ratio:.3g})."


class HealthView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = TimedGraphicsLayout()
        self.pacer = Pacer(max_hz=2.0, duty=0.05)  # norms arrive at 4 Hz at most
        self.weight_plot = self._plot(0, "weight norm")
        self.grad_plot = self._plot(1, "grad norm")
        self.grad_plot.setXLink(self.weight_plot)
        self.status = QLabel("Per-layer norms appear once training starts.")
        self.status.setWordWrap(True)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.legend)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        self.layers: list[str] = []
        self.weights: dict[str, History] = {}
        self.grads: dict[str, History] = {}
        self._items: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._legend_parts: list[str] = []
        self._dirty = False

    def _plot(self, row: int, label: str) -> pg.PlotItem:
        # The two share their x axis: only the lower one says "step", so the upper keeps
        # its height for the curves.
        plot = make_plot(self.view, row, label, x_label="step" if row == 1 else None)
        plot.setLogMode(y=True)
        return plot  # legend: a QLabel outside the scene (see plots.CurveBoard._make_plot)

    def reset(self) -> None:
        for hist in (*self.weights.values(), *self.grads.values()):
            hist.clear()
        for item in self._items.values():
            item.setData([], [])
        self.layers = []
        self.status.setText("Per-layer norms appear once training starts.")

    def add(self, x: float, names: list[str], weights: np.ndarray, grads: np.ndarray) -> None:
        for i, name in enumerate(names):
            if name not in self.weights:
                self._add_layer(name)
            if name not in self.layers:
                self.layers.append(name)
            xs = np.array([x], dtype=np.float64)
            self.weights[name].extend(xs, weights[i:i + 1])
            self.grads[name].extend(xs, grads[i:i + 1])
        self.status.setText(verdict(names, grads))
        self._dirty = True

    def _add_layer(self, name: str) -> None:
        color = PALETTE[len(self.weights) % len(PALETTE)]
        self._legend_parts.append(f"<span style='color:{color}'>━</span> {name}")
        self.legend.setText(" &nbsp; ".join(self._legend_parts))
        self.weights[name] = History(1 << 16)
        self.grads[name] = History(1 << 16)
        for kind, plot in (("w", self.weight_plot), ("g", self.grad_plot)):
            item = pg.PlotDataItem(pen=pg.mkPen(color, width=1))
            plot.addItem(item)
            self._items[(kind, name)] = configure_curve(item)

    def refresh(self, force: bool = False) -> None:
        if not self._dirty or not (force or self.pacer.ready()):
            return
        t = time.perf_counter()
        self._dirty = False
        for name in self.layers:
            w, g = self.weights[name], self.grads[name]
            self._items[("w", name)].setData(w.x, w.y)
            self._items[("g", name)].setData(g.x, g.y)
        self.pacer.record(time.perf_counter() - t + self.view.paint_s)


__all__ = ["EXPLODING", "VANISHING", "HealthView", "verdict"]
