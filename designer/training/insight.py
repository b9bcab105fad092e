"""The Insight tab: what the trained network gets wrong, from graph_compiler.insight.

After a run (when "after each run" is ticked) or on demand (Evaluate, or Open run… for a
saved run folder), an InsightTask evaluates the model off the GUI thread; this widget only
draws the JSON-ready report it gets back:

- Calibration: the reliability diagram before and after temperature scaling;
- Robustness: accuracy against eps for FGSM and PGD;
- Attributions: pick a sample and a class, see saliency or Integrated Gradients over the
  image (bars for tabular, sequence and token inputs), recomputed off the GUI thread;
- Units: the dead / saturated table, worst first, with the advice in words;
- Unfamiliar: histograms of the familiar and shifted data's scores, with the AUROC.

Export report… writes the same HTML page as ``netwright evaluate --report``. Plots follow
the theme through designer.training.plot_theme (the dashboard recolours its children).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from designer.actions import create_actions
from designer.training.plots import CompactAxis
from designer.training.insight_job import InsightTask, evaluate_run_dir, evaluate_trainer

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
        self.cls = _compact(QComboBox(), 8)
        self.method = _compact(QComboBox(), 8)
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
        self.shift = _compact(QComboBox())
        self.score = _compact(QComboBox())
        self.score.addItem("max softmax probability", "msp")
        self.score.addItem("energy (logsumexp)", "energy")
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


def short_summary(report: dict[str, Any]) -> str:
    """One line for the tab's status: the headline numbers of each section."""
    parts = [f"{report['n']} {report['split']} samples"]
    if "accuracy" in report:
        parts.append(f"accuracy {report['accuracy'] * 100:.1f}%")
    cal = report.get("calibration") or {}
    if cal.get("applies"):
        parts.append(f"ECE {cal['before']['ece'] * 100:.1f}% → {cal['after']['ece'] * 100:.1f}% (T = "
                     f"{cal['temperature']:.2f})")
    rob = report.get("robustness") or {}
    if rob.get("applies"):
        at = rob["at_default"]
        parts.append(f"PGD at eps {at['eps']:g}: {at['pgd_accuracy'] * 100:.1f}%")
    un = report.get("units") or {}
    if un.get("worst_dead"):
        w = un["worst_dead"]
        parts.append(f"most dead: {w['node']} {w['dead_fraction'] * 100:.0f}%")
    od = report.get("ood") or {}
    if od.get("applies") and od["shifts"]:
        best = max(od["shifts"], key=lambda r: r["auroc"]["msp"])
        parts.append(f"OOD AUROC {best['auroc']['msp']:.2f} ({best['shift']})")
    return " · ".join(parts)


class InsightView(QWidget):
    """The Insight tab (see the module doc)."""

    evaluated = Signal(object)  # the report dict, on the GUI thread
    unitsReady = Signal(object)  # {node: row of the units section}: the canvas badges

    def __init__(self, evaluate_action: QAction | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Train > Evaluate (Ctrl+F5) and this button are one action; on its own (tests,
        # tools) the view makes its private one from the same command registry.
        self.evaluate_action = evaluate_action or create_actions(self, {}, self, names=("evaluate",)).evaluate
        self.evaluate_action.triggered.connect(lambda _c=False: self.evaluate())
        # A push button like its neighbours, standing for the action: it triggers it and
        # follows its enabled state and tooltip.
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.evaluate_action.trigger)
        self.evaluate_action.changed.connect(self._follow_action)
        self._follow_action()
        self.open_button = QPushButton("Open run…")
        self.open_button.setToolTip("Evaluate a run folder saved by Save Weights or `netwright train --save`")
        self.export_button = QPushButton("Export report…")
        self.export_button.setEnabled(False)
        self.auto = QCheckBox("after each run")
        self.auto.setToolTip("Evaluate every finished run in the background")
        self.auto.setChecked(True)
        self.status = QLabel("Train a model, then Evaluate: calibration, attacks, attributions, dead units, "
                             "unfamiliar inputs.")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        for w in (self.evaluate_button, self.open_button, self.export_button):
            top.addWidget(w)
        top.addStretch(1)
        second = QHBoxLayout()  # the status on a row of its own: a narrow dock stays narrow
        second.addWidget(self.auto)
        second.addWidget(self.status, 1)
        self.calibration = CalibrationView()
        self.robustness = RobustnessView()
        self.attribution = AttributionView()
        self.units = UnitsView()
        self.ood = OodView()
        self.tabs = QTabWidget()
        views: tuple[tuple[QWidget, str], ...] = (
            (self.calibration, "Calibration"), (self.robustness, "Robustness"),
            (self.attribution, "Attributions"), (self.units, "Units"), (self.ood, "Unfamiliar"))
        for view, name in views:
            self.tabs.addTab(view, name)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(second)
        lay.addWidget(self.tabs, 1)
        self.trainer: Any = None  # the trainer whose model "Evaluate" evaluates
        self.target: Any = None  # the EvalTarget of the shown report (attribution requests)
        self.report: dict[str, Any] | None = None
        self.task: InsightTask | None = None
        self._attr_task: InsightTask | None = None
        self._pending_attr: tuple[int, int] | None = None
        self.open_button.clicked.connect(self._open_dialog)
        self.export_button.clicked.connect(self._export_dialog)
        self.attribution.requested.connect(self._attribute)
        self._update_buttons()

    # ------------------------------------------------------------ running
    def busy(self) -> bool:
        return self.task is not None

    def set_trainer(self, trainer: Any) -> None:
        """A finished run's trainer: what Evaluate evaluates (and, if ticked, now)."""
        self.trainer = trainer
        self._update_buttons()
        if trainer is not None and self.auto.isChecked():
            self.evaluate()

    def evaluate(self, trainer: Any = None) -> bool:
        trainer = trainer if trainer is not None else self.trainer
        if trainer is None or self.task is not None:
            return False
        return self._start(evaluate_trainer(trainer), "Evaluating the trained model…")

    def evaluate_run(self, path: str) -> bool:
        if self.task is not None:
            return False
        return self._start(evaluate_run_dir(path), f"Evaluating {path}…")

    def _start(self, body: Any, text: str) -> bool:
        self.status.setText(text)
        task = InsightTask(body, self)
        task.progressed.connect(lambda name: self.status.setText(f"Evaluating: {name}…"))
        task.succeeded.connect(self._on_result)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_task_end)
        self.task = task
        self._update_buttons()
        task.start()
        return True

    def _on_task_end(self) -> None:
        if self.task is not None:
            self.task.wait()
            self.task.deleteLater()
        self.task = None
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"<span style='color:{LEVEL_COLORS['red']}'>{message}</span>")

    def _on_result(self, result: Any) -> None:
        target, evaluation = result
        self.target = target
        self.set_report(evaluation.report)

    def set_report(self, report: dict[str, Any]) -> None:
        self.report = report
        self.calibration.set_section(report.get("calibration"))
        self.robustness.set_section(report.get("robustness"))
        att = report.get("attribution")
        self.attribution.configure(report["n"], report.get("classes") or [])
        self.attribution.set_section(att)
        self.units.set_section(report.get("units"))
        self.ood.set_section(report.get("ood"))
        self.status.setText(short_summary(report))
        self._update_buttons()
        self.evaluated.emit(report)
        un = report.get("units")
        if un and un.get("applies"):
            self.unitsReady.emit({r["node"]: r for r in un["nodes"]})

    def _attribute(self, sample: int, cls: int) -> None:
        if self.target is None:
            return
        if self._attr_task is not None:
            self._pending_attr = (sample, cls)  # the latest request wins
            return
        target = self.target

        def body(_task: InsightTask) -> Any:
            from graph_compiler.insight.attribution import attributions

            return attributions(target, [sample], None if cls < 0 else cls)

        task = InsightTask(body, self)
        task.succeeded.connect(self.attribution.set_section)
        task.failed.connect(self.attribution.caption.setText)
        task.finished.connect(self._on_attr_end)
        self._attr_task = task
        task.start()

    def _on_attr_end(self) -> None:
        if self._attr_task is not None:
            self._attr_task.wait()
            self._attr_task.deleteLater()
        self._attr_task = None
        if self._pending_attr is not None:
            pending, self._pending_attr = self._pending_attr, None
            self._attribute(*pending)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        ok = True
        for task in (self.task, self._attr_task):
            if task is not None:
                ok = task.wait(timeout_ms) and ok
        return ok

    def _follow_action(self) -> None:
        self.evaluate_button.setEnabled(self.evaluate_action.isEnabled())
        self.evaluate_button.setToolTip(self.evaluate_action.toolTip())

    def _update_buttons(self) -> None:
        idle = self.task is None
        self.evaluate_action.setEnabled(idle and self.trainer is not None)
        self.open_button.setEnabled(idle)
        self.export_button.setEnabled(self.report is not None)

    # ------------------------------------------------------------ files
    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Evaluate a saved run folder")
        if path:
            self.evaluate_run(path)

    def export_report(self, path: str) -> str:
        """Write the shown report as the same HTML page `netwright evaluate --report` writes."""
        from graph_compiler.atomic import atomic_write
        from graph_compiler.insight.evaluate import summary
        from graph_compiler.insight.report import render_html

        if self.report is None:
            raise ValueError("nothing evaluated yet")
        atomic_write(path, render_html(self.report, summary(self.report)).encode("utf-8"))
        return path

    def _export_dialog(self) -> None:
        if self.report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the Insight report", "insight-report.html",
                                              "HTML pages (*.html)")
        if not path:
            return
        try:
            self.export_report(path)
        except OSError as exc:
            self._on_failed(f"{path}: cannot write ({exc.strerror or exc})")
            return
        self.status.setText(f"Report written to {path}")


__all__ = ["InsightView"]
