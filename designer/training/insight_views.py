"""The pages of the Insight tab, one per section of an evaluation report (see insight.py).

Each page draws the JSON-ready section it is given with long-lived pyqtgraph items, or
says why the section does not apply.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.training.plots import CompactAxis


LEVEL_COLORS = {"green": "#3bb273", "amber": "#e8a33d", "red": "#e15759"}
BLUE, RED = "#4c78a8", "#e45756"


def _caption(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _compact(combo: QComboBox, chars: int = 10) -> QComboBox:
    """A combo that may shrink to ``chars`` characters: the dock must stay narrow enough
    to leave the side panels their room."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def _na(section: dict[str, Any] | None) -> str | None:
    if section is None:
        return "Not evaluated."
    return None if section.get("applies") else f"Does not apply: {section['reason']}"


class CalibrationView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.view = pg.GraphicsLayoutWidget()
        self.plots = [self.view.addPlot(row=0, col=i, axisItems={"left": CompactAxis("left"),
                                                                 "bottom": CompactAxis("bottom")})
                      for i in range(2)]
        self.bars: list[tuple[pg.BarGraphItem, pg.BarGraphItem]] = []
        for plot in self.plots:
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
            plot.setLabel("bottom", "confidence")
            plot.setLabel("left", "accuracy")
            plot.addItem(pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine)))
            acc = pg.BarGraphItem(x=[], height=[], width=1 / 15, brush=BLUE)
            gap = pg.BarGraphItem(x=[], height=[], y0=[], width=1 / 15, brush=QColor(228, 87, 86, 90))
            plot.addItem(acc)
            plot.addItem(gap)
            self.bars.append((acc, gap))
        self.caption = _caption("Evaluate a trained classifier to see its reliability diagram.")
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.caption)

    def set_section(self, cal: dict[str, Any] | None) -> None:
        why = _na(cal)
        if why is not None or cal is None:
            self.caption.setText(why or "")
            for acc, gap in self.bars:
                acc.setOpts(x=[], height=[])
                gap.setOpts(x=[], height=[], y0=[])
            return
        for plot, (acc, gap), key in zip(self.plots, self.bars, ("before", "after")):
            bins = cal[key]["bins"]
            mids = np.array([(b["lower"] + b["upper"]) / 2 for b in bins])
            a = np.array([b["accuracy"] or 0.0 for b in bins])
            c = np.array([b["confidence"] if b["count"] else 0.0 for b in bins])
            acc.setOpts(x=mids, height=a)
            gap.setOpts(x=mids, y0=a, height=c - a)
            t = f" (T = {cal['temperature']:.3f})" if key == "after" else ""
            plot.setTitle(f"{key}{t}: ECE {cal[key]['ece'] * 100:.2f}%")
        self.caption.setText(
            f"Accuracy {cal['accuracy'] * 100:.1f}% on {cal['n']} samples. Blue: accuracy per confidence bin; red: the gap "
            f"to the confidence claimed. Temperature scaling (T = {cal['temperature']:.3f}) takes ECE from "
            f"{cal['before']['ece'] * 100:.2f}% to {cal['after']['ece'] * 100:.2f}% and NLL from "
            f"{cal['before']['nll']:.4f} to {cal['after']['nll']:.4f}.")


class RobustnessView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setLabel("bottom", "eps (normalised input units)")
        self.plot.setLabel("left", "accuracy")
        self.plot.setYRange(0, 1.02)
        self.fgsm = self.plot.plot([], [], pen=pg.mkPen("#f58518", width=1), symbol="o", symbolSize=6, name="FGSM")
        self.pgd = self.plot.plot([], [], pen=pg.mkPen(RED, width=1), symbol="s", symbolSize=6, name="PGD")
        self.caption = _caption()
        lay = QVBoxLayout(self)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.caption)

    def set_section(self, rob: dict[str, Any] | None) -> None:
        why = _na(rob)
        if why is not None or rob is None:
            self.fgsm.setData([], [])
            self.pgd.setData([], [])
            self.caption.setText(why or "")
            return
        eps = np.array([r["eps"] for r in rob["curve"]], dtype=np.float64)
        self.fgsm.setData(eps, np.array([r["fgsm_accuracy"] for r in rob["curve"]]))
        self.pgd.setData(eps, np.array([r["pgd_accuracy"] for r in rob["curve"]]))
        at = rob["at_default"]
        self.caption.setText(
            f"Clean accuracy {rob['clean_accuracy'] * 100:.1f}%; at eps {at['eps']:g}: FGSM "
            f"{at['fgsm_accuracy'] * 100:.1f}%, PGD ({rob['pgd_steps']} steps of {rob['pgd_step_size']}) "
            f"{at['pgd_accuracy'] * 100:.1f}%. Eps is in the network's normalised input units.")


class AttributionView(QWidget):
    """Pick a sample and a class; the attribution is recomputed off the GUI thread."""

    requested = Signal(int, int)  # sample, class (-1: the predicted class)

    def __init__(self) -> None:
        super().__init__()
        self.sample = QSpinBox()
        self.sample.setPrefix("sample ")
        self.cls = _compact(QComboBox(), 15)
        self.method = _compact(QComboBox(), 20)
        self.method.addItems(["Integrated Gradients", "Saliency"])
        bar = QHBoxLayout()
        self.cls.setToolTip("the class to explain")
        for w in (self.sample, self.cls):
            bar.addWidget(w)
        bar.addStretch(1)
        bar2 = QHBoxLayout()  # two short rows: the dock must stay narrow (side panels)
        bar2.addWidget(self.method)
        bar2.addStretch(1)
        self.view = pg.GraphicsLayoutWidget()
        # Left the sample itself; right the heat map laid over a faint copy of it.
        self.box = self.view.addViewBox(row=0, col=0, lockAspect=True, invertY=True)
        self.box_heat = self.view.addViewBox(row=0, col=1, lockAspect=True, invertY=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.under = pg.ImageItem(axisOrder="row-major")
        self.under.setOpacity(0.35)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setOpacity(0.75)
        self.box.addItem(self.image)
        self.box_heat.addItem(self.under)
        self.box_heat.addItem(self.heat)
        self.bar_plot = self.view.addPlot(row=1, col=0, colspan=2)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BLUE)
        self.bar_plot.addItem(self.bars)
        self.caption = _caption()
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(bar2)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.caption)
        self.row: dict[str, Any] | None = None
        self.kind = "image"
        self._syncing = False
        self.sample.valueChanged.connect(self._ask)
        self.cls.currentIndexChanged.connect(self._ask)
        self.method.currentIndexChanged.connect(lambda _i: self._draw())

    def configure(self, n: int, classes: list[str]) -> None:
        self._syncing = True
        self.sample.setRange(0, max(0, n - 1))
        self.cls.clear()
        self.cls.addItem("predicted class", -1)
        for i, c in enumerate(classes):
            self.cls.addItem(str(c), i)
        self._syncing = False

    def _ask(self, *_a: Any) -> None:
        if not self._syncing:
            self.caption.setText("Computing attributions…")
            self.requested.emit(self.sample.value(), int(self.cls.currentData() if self.cls.count() else -1))

    def set_section(self, att: dict[str, Any] | None) -> None:
        why = _na(att)
        if why is not None or att is None or not att["samples"]:
            self.row = None
            self.caption.setText(why or "No samples.")
            self.image.clear()
            self.under.clear()
            self.heat.clear()
            self.bars.setOpts(x=[], height=[])
            return
        self.kind = att["input_kind"]
        self.row = att["samples"][0]
        self._draw()

    def _draw(self) -> None:
        r = self.row
        if r is None:
            return
        key = "integrated_gradients" if self.method.currentIndex() == 0 else "saliency"
        values = np.asarray(r[key], dtype=np.float64)
        image = self.kind == "image"
        self.box.setVisible(image)
        self.box_heat.setVisible(image)
        self.bar_plot.setVisible(not image)
        if image:
            picture = np.asarray(r["image"], dtype=np.float64)
            for item in (self.image, self.under):
                item.setImage(picture)
                item.setColorMap(pg.colormap.get("CET-L1"))
            m = float(np.abs(values).max()) or 1.0
            self.heat.setImage(values, levels=(-m, m) if key == "integrated_gradients" else (0, m))
            self.heat.setColorMap(pg.colormap.get("CET-D1" if key == "integrated_gradients" else "CET-L3"))
        else:
            flat = values.reshape(-1)
            self.bars.setOpts(x=np.arange(len(flat)), height=flat,
                              brushes=[pg.mkBrush(BLUE if v >= 0 else RED) for v in flat])
            self.bar_plot.setLabel("bottom", "token" if self.kind == "tokens" else "feature / step")
        true = f", true {r['true']}" if "true" in r else ""
        self.caption.setText(
            f"Sample #{r['index']}: predicted {r['prediction']}{true}; explaining {r['target_name']}. f(x) = "
            f"{r['f_x']:.3f}, f(baseline) = {r['f_baseline']:.3f}, IG sums to {r['ig_sum']:.3f} "
            f"(completeness gap {r['completeness_gap_relative'] * 100:.2f}%, {r['steps']} steps).")


class UnitsView(QWidget):
    COLUMNS = ("node", "type", "units", "dead", "saturated", "grad norm", "health")

    def __init__(self) -> None:
        super().__init__()
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.caption = _caption()
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption)
        lay.addWidget(self.table, 1)

    def set_section(self, un: dict[str, Any] | None) -> None:
        why = _na(un)
        rows = [] if why is not None or un is None else un["nodes"]
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            pct = lambda v: "–" if v is None else f"{v * 100:.1f}%"  # noqa: E731
            cells = (r["node"], r["type"], str(r["units"]), pct(r["dead_fraction"]), pct(r["saturated_fraction"]),
                     "–" if r["grad_norm"] is None else f"{r['grad_norm']:.3g}", r["level"])
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == len(cells) - 1:
                    item.setForeground(QColor(LEVEL_COLORS[r["level"]]))
                self.table.setItem(i, j, item)
        if why is not None or un is None:
            self.caption.setText(why or "")
        else:
            self.caption.setText(f"On a probe batch of {un['probe_samples']} samples. " + " ".join(un["findings"]))


class OodView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.shift = _compact(QComboBox(), 14)
        self.score = _compact(QComboBox(), 12)
        self.score.addItem("max softmax", "msp")
        self.score.addItem("energy", "energy")
        self.score.setToolTip("max softmax: the largest class probability; energy: logsumexp of the logits")
        bar = QHBoxLayout()
        bar.addWidget(self.shift)
        bar.addWidget(self.score)
        bar.addStretch(1)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.addLegend(offset=(10, 10))
        self.familiar = pg.BarGraphItem(x=[], height=[], width=1, brush=QColor(76, 120, 168, 150), name="evaluated data")
        self.unfamiliar = pg.BarGraphItem(x=[], height=[], width=1, brush=QColor(228, 87, 86, 150), name="shifted")
        self.plot.addItem(self.familiar)
        self.plot.addItem(self.unfamiliar)
        self.plot.setLabel("left", "samples")
        self.caption = _caption()
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.caption)
        self.section: dict[str, Any] | None = None
        self.shift.currentIndexChanged.connect(lambda _i: self._draw())
        self.score.currentIndexChanged.connect(lambda _i: self._draw())

    def set_section(self, od: dict[str, Any] | None) -> None:
        why = _na(od)
        self.section = None if why is not None else od
        self.shift.blockSignals(True)
        self.shift.clear()
        for r in (od or {}).get("shifts", []) if why is None else []:
            self.shift.addItem(r["shift"])
        self.shift.blockSignals(False)
        if why is not None:
            self.familiar.setOpts(x=[], height=[])
            self.unfamiliar.setOpts(x=[], height=[])
            self.caption.setText(why)
        self._draw()

    def _draw(self) -> None:
        if self.section is None or self.shift.currentIndex() < 0:
            return
        r = self.section["shifts"][self.shift.currentIndex()]
        key = self.score.currentData()
        h = r["histogram"][key]
        edges = np.asarray(h["edges"])
        mids, w = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
        self.familiar.setOpts(x=mids, height=np.asarray(h["familiar"]), width=w)
        self.unfamiliar.setOpts(x=mids, height=np.asarray(h["unfamiliar"]), width=w)
        self.plot.setLabel("bottom", self.score.currentText())
        self.caption.setText(
            f"AUROC {r['auroc'][key]:.3f} for telling the evaluated data from '{r['shift']}' ({r['n']} samples) "
            "by this score: 0.5 is chance, 1.0 a perfect separation.")


__all__ = ["AttributionView", "CalibrationView", "LEVEL_COLORS", "OodView", "RobustnessView", "UnitsView"]
