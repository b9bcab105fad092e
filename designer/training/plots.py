"""Loss and metric curves: train / val, per step and per epoch, plus earlier runs.

One long-lived PlotDataItem per series, fed with ``setData`` from the dashboard timer
(never from the worker). Each item uses peak downsampling and clip-to-view with float64 x,
and pen width 1: the settings that keep a million points smooth in pyqtgraph. Items are
created once per series name and reused for later runs (PySide6 leaks plot items).

x is the global training step for every series, so epoch means sit under the step curve
they summarise and runs of different lengths line up.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from designer.training.buffers import History
from designer.training.pacing import Pacer, TimedGraphicsLayout

# Colour per metric family; the split is told by style (faint step line, solid epoch
# line, dashed validation line), so train and val of one metric share a colour.
PALETTE = ["#4c8bf5", "#f28b30", "#3bb273", "#e15759", "#9c6ade", "#17becf", "#bcbd22", "#8c564b"]
OVERLAY_COLOR = (150, 150, 150)
AXIS_WIDTH = 56  # px: room for "1e-05" and a label
# Step / epoch keys that are bookkeeping, not curves.
NOT_CURVES = frozenset({
    "epoch", "epochs", "step", "epoch_step", "steps_per_epoch", "progress", "lr",
    "samples_per_s", "elapsed_s", "epoch_time_s", "best", "monitor",
})


TICK_ROOM_PX = 26  # px of axis per labelled tick: fewer ticks, but each one readable
TICK_FONT_PT = 8.0
LOG_MANTISSAS = ((1,), (1, 2, 5), tuple(range(1, 10)))  # per decade, sparsest first


class CompactAxis(pg.AxisItem):
    """An axis that stays readable when the plot is ~120 px high.

    pyqtgraph always labels an axis's top tick level, and on a log axis spanning less
    than a few decades that level is every 1..9 x 10^k: "10 8 6 4 2" piled on top of each
    other. Here the log ticks are the densest of 1 / 1-2-5 / 1..9 per decade that leaves
    ``TICK_ROOM_PX`` per label, the finer levels are drawn only while they leave room
    (``textFillLimits``), and the labels use a small font."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        font = QFont()
        font.setPointSizeF(TICK_FONT_PT)
        self.setStyle(tickFont=font, maxTickLevel=1, maxTextLevel=1,
                      textFillLimits=[(0, 0.6), (2, 0.4), (3, 0.3)])
        self.enableAutoSIPrefix(False)  # accuracy 0.9, not "900 (x0.001)"

    def logTickValues(self, minVal: float, maxVal: float, size: float,
                      stdTicks: list[tuple[float, list[float]]]) -> list[tuple[float | None, list[float]]]:
        room = max(2, int(size // TICK_ROOM_PX))
        decades = [t for spacing, t in stdTicks if spacing >= 1.0]
        if decades and len(decades[0]) >= 2:  # a wide range: whole decades, thinned to fit
            vals = list(decades[0])
            return [(1.0, vals[:: math.ceil(len(vals) / room)])]
        for mantissas in LOG_MANTISSAS:
            vals = [v + math.log10(m) for v in range(math.floor(minVal), math.ceil(maxVal) + 1)
                    for m in mantissas]
            vals = [x for x in vals if minVal <= x <= maxVal]
            if len(vals) >= 2:  # the sparsest set that marks the range, thinned to fit
                return [(None, vals[:: math.ceil(len(vals) / room)])]
        # Within one step of 1..9 (e.g. 2.1 to 2.9): pyqtgraph's plain ticks, thinned.
        plain = [x for spacing, t in stdTicks[:1] for x in t]
        return [(None, plain[:: max(1, math.ceil(len(plain) / room))])]


def make_plot(layout: pg.GraphicsLayout, row: int, label: str, x_label: str | None = "step") -> pg.PlotItem:
    """A plot of ``layout`` with compact axes (see CompactAxis) and fast curves."""
    plot = configure_plot(layout.addPlot(row=row, col=0, axisItems={
        "left": CompactAxis("left"), "bottom": CompactAxis("bottom")}))
    plot.setLabel("left", label, **{"font-size": f"{TICK_FONT_PT}pt"})
    if x_label:
        plot.setLabel("bottom", x_label, **{"font-size": f"{TICK_FONT_PT}pt"})
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    # A fixed width: otherwise every new tick label width re-lays out the whole scene.
    plot.getAxis("left").setWidth(AXIS_WIDTH)
    return plot


@dataclass(frozen=True)
class SeriesKey:
    metric: str  # "loss", "accuracy", "loss_d", ...
    split: str  # "train" or "val"
    per: str  # "step" or "epoch"

    @property
    def name(self) -> str:
        """Stable text id, also used in run-history files."""
        return f"{self.split}/{self.metric}/{self.per}"

    @property
    def label(self) -> str:
        return f"{self.split} {self.metric}" + (" (step)" if self.per == "step" else "")

    @classmethod
    def parse(cls, name: str) -> SeriesKey:
        split, metric, per = name.split("/")
        return cls(metric, split, per)


def is_loss(metric: str) -> bool:
    return "loss" in metric or metric in ("kl", "recon", "nll", "perplexity")


def step_series(values: dict[str, Any]) -> dict[str, float]:
    """Numeric curve values of a step event, keyed by series name."""
    return {SeriesKey(k, "train", "step").name: float(v) for k, v in values.items()
            if k not in NOT_CURVES and _is_number(v)}


def epoch_series(values: dict[str, Any]) -> dict[str, float]:
    """Numeric curve values of an epoch event (train_X / val_X), keyed by series name."""
    out: dict[str, float] = {}
    for k, v in values.items():
        if k in NOT_CURVES or not _is_number(v):
            continue
        for split in ("train", "val"):
            if k.startswith(split + "_"):
                out[SeriesKey(k[len(split) + 1:], split, "epoch").name] = float(v)
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def configure_plot(plot: pg.PlotItem) -> pg.PlotItem:
    """Peak downsampling and clip-to-view for every curve of ``plot``. Set on the
    PlotItem, not only on the curves: PlotItem.addItem overwrites a curve's own settings
    with the plot's (whose default is no downsampling)."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    return plot


def configure_curve(item: pg.PlotDataItem) -> pg.PlotDataItem:
    """The settings every long curve needs to stay fast (pyqtgraph's own advice); call
    after adding it to a plot made by ``configure_plot`` (or to a bare ViewBox)."""
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


class CurveBoard(QWidget):
    """Two stacked plots: losses (log-scale toggle) and other metrics (hidden until one
    arrives). Feed with ``add_points`` / ``add_epoch``; draw with ``refresh``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = TimedGraphicsLayout()
        self.pacer = Pacer(max_hz=6.0, duty=0.05)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.legend)
        lay.addWidget(self.view, 1)
        self._y_auto: dict[pg.PlotItem, bool] = {}  # False once the user zooms or pans
        self._y_range: dict[pg.PlotItem, tuple[float, float]] = {}
        self._overlay_range: dict[pg.PlotItem, tuple[float, float, float]] = {}  # lo, hi, lo_pos
        self.loss_plot = self._make_plot(0, "loss")
        self.metric_plot = self._make_plot(1, "metric")
        self.metric_plot.setXLink(self.loss_plot)
        self.metric_plot.setVisible(False)
        self.history: dict[str, History] = {}
        self.items: dict[str, pg.PlotDataItem] = {}
        self._dirty: set[str] = set()
        self._colors: dict[str, str] = {}
        self._overlay_items: list[pg.PlotDataItem] = []
        self._overlay_plot: dict[int, pg.PlotItem] = {}  # overlay item index -> plot holding it
        self.log_y = False

    def _make_plot(self, row: int, label: str) -> pg.PlotItem:
        # Every Python-drawn item in the scene costs a GIL hand-over per repaint (~5 ms each
        # while training holds the GIL), so the plots stay bare: no grid (alpha-blended
        # lines over the whole plot were ~3/4 of a repaint), no in-scene legend (a QLabel
        # above instead), no markers, and axes cached as pixmaps between range changes.
        plot = make_plot(self.view, row, label)
        # The y range is set by _settle_y (with hysteresis) instead of pyqtgraph's
        # autorange, which re-renders the axis on every update as the loss falls.
        plot.enableAutoRange(y=False)
        plot.getViewBox().sigRangeChangedManually.connect(lambda *_a, p=plot: self._y_auto.__setitem__(p, False))
        return plot

    # ---- data in
    def add_points(self, name: str, xs: np.ndarray, ys: np.ndarray) -> None:
        hist = self.history.get(name)
        if hist is None:
            hist = self.history[name] = History()
            self._ensure_item(name)
        hist.extend(xs, ys)
        self._dirty.add(name)

    def add_epoch(self, step: float, values: dict[str, float]) -> None:
        for name, v in values.items():
            self.add_points(name, np.array([step], dtype=np.float64), np.array([v]))

    def clear(self) -> None:
        """Forget the current run's points; items stay (empty) for the next run."""
        for name, hist in self.history.items():
            hist.clear()
            self.items[name].setData([], [])
        self._dirty.clear()
        self.pacer.reset()
        for plot in (self.loss_plot, self.metric_plot):
            plot.enableAutoRange(x=True)
            self._y_auto[plot] = True
        self._y_range.clear()

    # ---- drawing
    def refresh(self, force: bool = False) -> int:
        """setData on every curve that changed since the last redraw, when the pacer
        allows (always with ``force``); returns how many curves were updated."""
        if not self._dirty or not (force or self.pacer.ready()):
            return 0
        t = time.perf_counter()
        for name in self._dirty:
            hist = self.history[name]
            self.items[name].setData(hist.x, hist.y)
        n = len(self._dirty)
        self._dirty.clear()
        for plot in (self.loss_plot, self.metric_plot):
            self._settle_y(plot)
        self.pacer.record(time.perf_counter() - t + self.view.paint_s)
        return n

    def _settle_y(self, plot: pg.PlotItem) -> None:
        """Fit y to the data, but only move when the data leave the range or fill less
        than half of it: the axis (the costliest thing to redraw) then changes a handful
        of times per run instead of on every update."""
        vb = plot.getViewBox()
        if vb.state["autoRange"][1]:  # the user pressed the plot's "A" button: ours again
            vb.enableAutoRange(y=False)
            self._y_auto[plot] = True
            self._y_range.pop(plot, None)
        if not self._y_auto.get(plot, True):
            return
        log = plot is self.loss_plot and self.log_y
        los, his = [], []
        for name, hist in self.history.items():
            if len(hist) and (plot is self.loss_plot) == is_loss(SeriesKey.parse(name).metric):
                los.append(hist.lo_pos if log else hist.lo)
                his.append(hist.hi)
        if plot in self._overlay_range:  # earlier runs drawn behind count too
            o_lo, o_hi, o_pos = self._overlay_range[plot]
            los.append(o_pos if log else o_lo)
            his.append(o_hi)
        los, his = [v for v in los if np.isfinite(v)], [v for v in his if np.isfinite(v)]
        if not los or not his:
            return
        lo, hi = min(los), max(his)
        if log:
            if lo <= 0 or hi <= 0:
                return
            lo, hi = float(np.log10(lo)), float(np.log10(hi))
        cur = self._y_range.get(plot)
        span = (hi - lo) or (abs(hi) or 1.0)
        if cur is None or lo < cur[0] or hi > cur[1] or span < 0.5 * (cur[1] - cur[0]):
            pad = 0.08 * span
            self._y_range[plot] = (lo - pad, hi + pad)
            plot.setYRange(lo - pad, hi + pad, padding=0)

    def set_x_extent(self, total_steps: int) -> None:
        """Fix the step axis to the planned run: while the curves grow, the axis (whose
        relabelling is the costliest part of a repaint) then stays still. The plot's
        auto-range button restores automatic ranging."""
        if total_steps > 0:
            for plot in (self.loss_plot, self.metric_plot):
                plot.enableAutoRange(x=False)
                plot.setXRange(0, total_steps, padding=0.01)

    def set_log(self, on: bool) -> None:
        self.log_y = on
        self.loss_plot.setLogMode(x=False, y=on)
        self._y_range.pop(self.loss_plot, None)
        self._settle_y(self.loss_plot)

    def curve_names(self) -> list[str]:
        return [n for n, h in self.history.items() if len(h)]

    def data_length(self, name: str) -> int:
        """Points the plot item holds (tests check that curves really receive data)."""
        item = self.items.get(name)
        if item is None or item.xData is None:
            return 0
        return len(item.xData)

    def _ensure_item(self, name: str) -> pg.PlotDataItem:
        item = self.items.get(name)
        if item is not None:
            return item
        key = SeriesKey.parse(name)
        color = self._color(key.metric)
        qcolor = pg.mkColor(color)
        if key.per == "step":
            qcolor.setAlpha(110)
            pen = pg.mkPen(qcolor, width=1)
        elif key.split == "val":
            pen = pg.mkPen(qcolor, width=1, style=Qt.PenStyle.DashLine)
        else:
            pen = pg.mkPen(qcolor, width=1)
        plot = self.loss_plot if is_loss(key.metric) else self.metric_plot
        if plot is self.metric_plot:
            plot.setVisible(True)
        item = pg.PlotDataItem(pen=pen)
        plot.addItem(item)
        configure_curve(item)
        self.items[name] = item
        self._update_legend()
        return item

    def _update_legend(self) -> None:
        parts = []
        for name in self.items:
            key = SeriesKey.parse(name)
            mark = {"step": "┄", "epoch": "━"}[key.per] if key.split == "train" else "╍"
            parts.append(f"<span style='color:{self._color(key.metric)}'>{mark}</span> {key.label}")
        self.legend.setText(" &nbsp; ".join(parts))

    def _color(self, metric: str) -> str:
        if metric not in self._colors:
            self._colors[metric] = PALETTE[len(self._colors) % len(PALETTE)]
        return self._colors[metric]

    # ---- earlier runs
    def set_overlays(self, runs: Iterable[tuple[str, dict[str, tuple[list[float], list[float]]]]]) -> None:
        """Draw earlier runs' curves in grey behind the current run: an iterable of
        (run label, {series name: (x, y)}). Step series are left out: their epoch means
        say the same with far less clutter."""
        wanted: list[tuple[str, str, tuple[list[float], list[float]]]] = []
        self._overlay_range.clear()
        for label, curves in runs:
            for name, xy in curves.items():
                if name.endswith("/epoch"):
                    wanted.append((label, name, xy))
        while len(self._overlay_items) < len(wanted):
            item = pg.PlotDataItem()
            item.setZValue(-10)
            self._overlay_items.append(item)
        for i, item in enumerate(self._overlay_items):
            if i >= len(wanted):
                item.setData([], [])
                item.setVisible(False)
                continue
            label, name, (x, y) = wanted[i]
            key = SeriesKey.parse(name)
            plot = self.loss_plot if is_loss(key.metric) else self.metric_plot
            old = self._overlay_plot.get(i)
            if old is not plot:
                if old is not None:
                    old.removeItem(item)
                plot.addItem(item)
                self._overlay_plot[i] = plot
                configure_curve(item)
                if plot is self.metric_plot:
                    plot.setVisible(True)
            style = Qt.PenStyle.DashLine if key.split == "val" else Qt.PenStyle.SolidLine
            item.setPen(pg.mkPen(OVERLAY_COLOR, width=1, style=style))
            ys = np.asarray(y, dtype=np.float64)
            item.setData(np.asarray(x, dtype=np.float64), ys)
            item.setToolTip(f"{label}: {key.label}")
            item.setVisible(True)
            self._note_overlay_range(plot, ys)
        for plot in (self.loss_plot, self.metric_plot):
            self._y_range.pop(plot, None)
            self._settle_y(plot)

    def _note_overlay_range(self, plot: pg.PlotItem, ys: np.ndarray) -> None:
        finite = ys[np.isfinite(ys)]
        if not len(finite):
            return
        pos = finite[finite > 0]
        lo, hi, lo_pos = self._overlay_range.get(plot, (np.inf, -np.inf, np.inf))
        self._overlay_range[plot] = (min(lo, float(finite.min())), max(hi, float(finite.max())),
                                     min(lo_pos, float(pos.min())) if len(pos) else lo_pos)

    def overlay_count(self) -> int:
        return sum(1 for item in self._overlay_items if item.isVisible())


__all__ = ["CurveBoard", "SeriesKey", "configure_curve", "configure_plot", "epoch_series", "is_loss", "step_series"]
