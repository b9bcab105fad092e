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

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from designer.actions import create_actions
from designer.training.insight_job import InsightTask, evaluate_run_dir, evaluate_trainer
from designer.training.insight_views import (
    LEVEL_COLORS,
    AttributionView,
    CalibrationView,
    OodView,
    RobustnessView,
    UnitsView,
)

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
