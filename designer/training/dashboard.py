"""The training dashboard: controls, progress, and the live views of a run.

Flow: Run snapshots the document (``Trainer`` copies it), a TrainingWorker
runs the engine on a QThread and writes into TrainingBuffers, and this widget's timer
(30 Hz, only while a run is live) drains them and feeds long-lived plot items. Views on
hidden tabs are fed but not redrawn until they are shown.

Editing during a run is allowed: the run goes on with its snapshot, and a "stale" badge
says the curves and weights belong to an earlier version of the graph.
"""
from __future__ import annotations

import os
import time
import html
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from designer import theme
from designer.training.actions import TrainingActions
from designer.training.activations import ActivationView
from designer.training.buffers import Drained, TrainingBuffers
from designer.training.controls import ControlsArea, RunControls, RunStatus
from designer.training.evaluation import EvaluationView
from designer.training.health import HealthView
from designer.training.insight import InsightView
from designer.training.pacing import Pacer
from designer.training.plot_theme import apply_plot_theme
from designer.training.plots import CurveBoard
from designer.training.results import TrainedResult
from designer.training.run_start import default_trainer_factory, refusal, semantic_key
from designer.training.run_history import RunHistory, RunRecord, make_label, thin
from designer.training.samples_view import SamplesView
from graph_compiler.errors import NetwrightError
from graph_compiler.training.config import TrainingConfigError, parse_config

if TYPE_CHECKING:
    from designer.model import DocumentModel
    from graph_compiler.document import Document
    from graph_compiler.training.engine import Trainer
    from designer.training.worker import TrainingThread, TrainingWorker

# torch is imported only when a run starts (worker, probe, engine): the window paints first.

TICK_MS = 33  # drain at <= 30 Hz; each view redraws as its Pacer allows (<= 10 Hz)
PAGE_CURVES, PAGE_ACTIVATIONS, PAGE_HEALTH, PAGE_EVALUATION, PAGE_SAMPLES, PAGE_INSIGHT = range(6)
PAYLOAD_PAGE = {"activation": PAGE_ACTIVATIONS, "confusion": PAGE_EVALUATION,
                "predictions": PAGE_EVALUATION, "sample": PAGE_SAMPLES}
OVERLAYS = (("No earlier runs", 0), ("Previous run", 1), ("Last 3 runs", 3), ("All kept runs", 99))


class TrainingDashboard(QWidget):
    """One per main window. ``model`` is the DocumentModel (``doc``, ``path`` and its
    change signals); ``history`` keeps earlier runs for the overlays."""

    nodeHealth = Signal(object)  # {node: units row} for canvas badges: worker, then Insight
    runStarted = Signal()
    runFinished = Signal(str)  # done reason

    def __init__(self, model: DocumentModel, history: RunHistory | None = None,
                 trainer_factory: Callable[[Document, dict[str, Any]], Trainer] | None = None,
                 actions: TrainingActions | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._data_dialog: QDialog | None = None
        self.history = history or RunHistory(None)
        self.trainer_factory = trainer_factory or default_trainer_factory
        self.buffers: TrainingBuffers | None = None
        self.worker: TrainingWorker | None = None
        self.run_thread: TrainingThread | None = None
        self.state = "idle"  # idle | running | paused | stopping | finished | error
        self.stale = False
        self.last_error: str | None = None
        self.last_traceback: str | None = None
        self.watched: tuple[str, str | None] | None = None
        self.device_text = ""
        self._run_key = ""
        self._run_started = 0.0
        self._run_settings: dict[str, Any] = {}
        self._run_info: dict[str, Any] = {}
        self._epoch_rows: list[dict[str, Any]] = []
        self._snapshot_key = ""  # semantic_key of the document the run trained
        self._run_doc: weakref.ref[Any] | None = None
        self._pending: dict[str, Any] = {}
        self._payload_pacer = Pacer(max_hz=4.0)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

        self.training_actions = actions or TrainingActions.standalone(self)
        self._connect_actions(own=actions is None)
        apply_plot_theme(self)  # before the plots exist: they take the theme's colours
        self._build_ui()
        self.insight.unitsReady.connect(self.nodeHealth)
        apply_plot_theme(self)
        self._follow_theme()
        self._connect_model()
        self._show_file_settings()
        self._update_controls()
        self._update_overlays()

    # ------------------------------------------------------------ UI
    def _connect_actions(self, own: bool) -> None:
        a = self.training_actions
        self.run_action, self.pause_action, self.resume_action = a.run, a.pause, a.resume
        self.stop_action, self.save_action = a.stop, a.save
        if own:  # actions made by install.py are routed there (they exist before we do)
            a.run.triggered.connect(lambda _c=False: self.start_run())
            a.pause.triggered.connect(lambda _c=False: self.pause())
            a.resume.triggered.connect(lambda _c=False: self.resume())
            a.stop.triggered.connect(lambda _c=False: self.stop())
            a.save.triggered.connect(lambda _c=False: self.save_weights_dialog())

    def _build_ui(self) -> None:
        self.controls = RunControls(self.training_actions)
        self.controls.data_button.clicked.connect(lambda _c=False: self.data_dialog())
        self.status = RunStatus()
        # Short names for what callers and tests use most.
        c, st = self.controls, self.status
        self.run_button, self.pause_button, self.resume_button = c.run_button, c.pause_button, c.resume_button
        self.stop_button, self.save_button = c.stop_button, c.save_button
        self.device_combo, self.epochs_spin, self.batch_spin, self.lr_edit = (
            c.device_combo, c.epochs_spin, c.batch_spin, c.lr_edit)
        self.state_label, self.stale_badge, self.progress, self.stats_label = (
            st.state_label, st.stale_badge, st.progress, st.stats_label)

        # -- errors: a banner that stays until dismissed or the next run
        self.error_label = QLabel()
        self.error_label.setObjectName("trainingError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("QLabel { background: #5c1f1f; color: #ffd7d7; padding: 6px;"
                                       " border-radius: 3px; }")
        self.error_label.setVisible(False)

        # -- views
        self.curves = CurveBoard()
        self.log_check = QCheckBox("Log scale")
        self.log_check.toggled.connect(self.curves.set_log)
        self.overlay_combo = QComboBox()
        for text, _n in OVERLAYS:
            self.overlay_combo.addItem(text)
        self.overlay_combo.setToolTip("Draw earlier runs of this file in grey behind the current one")
        self.overlay_combo.currentIndexChanged.connect(lambda _i: self._update_overlays())
        curve_bar = QHBoxLayout()
        curve_bar.addWidget(self.log_check)
        curve_bar.addWidget(QLabel("Compare with"))
        curve_bar.addWidget(self.overlay_combo)
        curve_bar.addStretch(1)
        curves_page = QWidget()
        cl = QVBoxLayout(curves_page)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(curve_bar)
        cl.addWidget(self.curves, 1)
        self.activations = ActivationView()
        self.health = HealthView()
        self.evaluation = EvaluationView()
        self.samples = SamplesView()
        self.insight = InsightView(self.training_actions.evaluate)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(curves_page, "Curves")
        self.tabs.addTab(self.activations, "Activations")
        self.tabs.addTab(self.health, "Layer health")
        self.tabs.addTab(self.evaluation, "Evaluation")
        self.tabs.addTab(self.samples, "Samples")
        self.tabs.addTab(self.insight, "Insight")
        self.tabs.currentChanged.connect(lambda _i: self._refresh_visible(force=True))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.controls_area = ControlsArea(self.controls)
        lay.addWidget(self.controls_area)
        lay.addWidget(self.status)
        lay.addWidget(self.error_label)
        lay.addWidget(self.tabs, 1)

    def data_dialog(self) -> QDialog:
        """Open (or raise) the dataset picker with its download and augmentation preview."""
        from designer.training.data_dialog import DataDialog

        if self._data_dialog is None:
            self._data_dialog = DataDialog(self.model, self)
        self._data_dialog.show()
        self._data_dialog.raise_()
        return self._data_dialog

    def _follow_theme(self) -> None:
        theme.manager().changed.connect(self._on_theme)  # held weakly by the manager

    def _on_theme(self, _name: str) -> None:
        apply_plot_theme(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.controls.mark_cuda_availability()

    def _connect_model(self) -> None:
        m = self.model
        for signal in (m.nodesChanged, m.edgesChanged, m.networksChanged):
            signal.connect(self._on_document_edited)
        m.documentReset.connect(self._on_document_reset)
        m.pathChanged.connect(lambda _p: self._update_overlays())

    # ------------------------------------------------------------ the trained result
    @property
    def result(self) -> TrainedResult | None:
        """The last run of the open document: owned by the document model, so it goes
        when another document is loaded or the model is gone."""
        trained = self.model.trained
        return trained if isinstance(trained, TrainedResult) else None

    @result.setter
    def result(self, value: TrainedResult | None) -> None:
        self.model.trained = value

    # ------------------------------------------------------------ run control
    def overrides(self) -> dict[str, Any]:
        """The controls' overrides of the document's training section (None = keep)."""
        return self.controls.overrides()

    def is_running(self) -> bool:
        return self.run_thread is not None and self.run_thread.is_running()

    def start_run(self) -> bool:
        """Snapshot the document and start training it; False (with a message) if it
        cannot start."""
        if self.run_thread is not None:
            return False
        from designer.training.worker import TrainingThread, TrainingWorker, configure_torch_threads

        configure_torch_threads()  # main thread, before the first run; a no-op afterwards
        doc = self.model.doc
        overrides = self.overrides()
        why = refusal(self.model)
        if why is not None:  # before anything is reset: the last run stays, weights and all
            self._show_error(why)
            return False
        self.error_label.setVisible(False)
        try:
            trainer = self.trainer_factory(doc, overrides)
        except NetwrightError as exc:
            self._show_error(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a bad document must not take the app down
            self.last_traceback = traceback.format_exc()
            self._show_error(f"cannot start training: {type(exc).__name__}: {exc}")
            return False
        self._reset_views()
        self.buffers = TrainingBuffers()
        self.worker = TrainingWorker(trainer, self.buffers)
        self.worker.finished.connect(self._on_finished)  # queued: see _on_finished
        self.run_thread = TrainingThread(self.worker)
        self.result = None
        self.stale = False
        self.stale_badge.setVisible(False)
        self._run_key = self._history_key()
        self._run_doc = weakref.ref(doc)  # the weights belong to this document, even if another opens
        self._snapshot_key = semantic_key(doc)
        self._run_started = time.time()
        self._run_settings = {k: v for k, v in overrides.items() if v is not None and k != "device"}
        if self.watched:
            self.worker.watch(*self.watched)
        self.state = "running"
        self.state_label.setText("Starting…")
        self.status.show_notes([])
        self.run_thread.start()
        self.timer.start()
        self._update_controls()
        self.runStarted.emit()
        return True

    def pause(self) -> None:
        if self.worker is not None and self.state == "running":
            self.worker.pause()
            self.state = "paused"
            self.state_label.setText("Paused")
            self._update_controls()

    def resume(self) -> None:
        if self.worker is not None and self.state == "paused":
            self.worker.resume()
            self.state = "running"
            self.state_label.setText("Training")
            self._update_controls()

    def stop(self) -> None:
        """Ask the engine to stop after the current step; the thread ends by itself."""
        if self.worker is not None and self.state in ("running", "paused"):
            self.state = "stopping"
            self.state_label.setText("Stopping…")
            self.worker.stop()
            self._update_controls()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop a live run and wait for its thread (main window close)."""
        self.timer.stop()
        self.insight.shutdown()
        if self.run_thread is None:
            return True
        ok = self.run_thread.stop_and_wait(timeout_ms)
        if ok:
            QApplication.processEvents()  # deliver the worker's finished signal
        return ok

    def _update_controls(self) -> None:
        live = self.state in ("running", "paused", "stopping")
        self.run_action.setEnabled(not live)
        self.pause_action.setEnabled(self.state == "running")
        self.resume_action.setEnabled(self.state == "paused")
        self.stop_action.setEnabled(self.state in ("running", "paused"))
        self.pause_action.setVisible(self.state != "paused")
        self.resume_action.setVisible(self.state == "paused")
        self.save_action.setEnabled(not live and self.result is not None)
        self.controls.set_editable(not live)

    # ------------------------------------------------------------ the timer
    def tick(self) -> None:
        """Drain the buffers into the views (GUI thread, <= 30 Hz)."""
        if self.buffers is None:
            return
        drained = self.buffers.drain()
        if not drained.empty():
            self._apply(drained)
        self._refresh_visible()

    def _apply(self, d: Drained) -> None:
        for name, (xs, ys) in d.steps.items():
            self.curves.add_points(name, xs, ys)
        for row in d.epochs:
            self.curves.add_epoch(row["step"], row["values"])
            self._epoch_rows.append(row)
        for x, names, w, g in d.health:
            self.health.add(x, names, w, g)
        latest = d.latest
        if "start" in latest:
            s = latest["start"]
            self.device_text = str(s.get("device", ""))
            self._run_info = {"recipe": s.get("recipe", ""), "dataset": s.get("dataset", "")}
            self.curves.set_x_extent(int(s.get("epochs", 0)) * int(s.get("steps_per_epoch", 0)))
            self.status.show_notes([str(n) for n in s.get("notes") or []])
            if self.state == "running":
                self.state_label.setText("Training")
        if "progress" in latest:
            self.status.show_progress(latest["progress"], self.device_text)
        for key in PAYLOAD_PAGE:  # big payloads wait until their tab is shown (latest wins)
            if key in latest:
                self._pending[key] = latest[key]
        if "traceback" in latest:
            self.last_traceback = latest["traceback"]
        if "badges" in latest:  # cheap, and the canvas shows them whatever tab is open
            self.nodeHealth.emit(latest["badges"])
        for level, text in d.messages:
            if level == "error":
                self._show_error(text)
            else:
                self.stats_label.setToolTip(text)

    def _refresh_visible(self, force: bool = False) -> None:
        """Redraw the tab on screen (hidden tabs cost nothing), as often as pacing allows."""
        page = self.tabs.currentIndex()
        if page == PAGE_CURVES:
            self.curves.refresh(force)
        elif page == PAGE_HEALTH:
            self.health.refresh(force)
        keys = [k for k, p in PAYLOAD_PAGE.items() if p == page and k in self._pending]
        if keys and (force or self._payload_pacer.ready()):
            t = time.perf_counter()
            for key in keys:
                self._show_payload(key, self._pending.pop(key))
            self._payload_pacer.record(time.perf_counter() - t)

    def _show_payload(self, key: str, value: Any) -> None:
        if key == "confusion":
            self.evaluation.confusion.set_matrix(value["matrix"], value.get("classes"), value.get("epoch"))
        elif key == "predictions":
            self.evaluation.predictions.set_predictions(value["items"], None, value.get("images"))
        elif key == "sample":
            self.samples.set_payload(value, f" - epoch {value.get('epoch')}" if value.get("epoch") else "")
        elif key == "activation":
            self._show_activation_payload(value)

    # ------------------------------------------------------------ run end
    @Slot(str)
    def _on_finished(self, reason: str) -> None:
        # A declared slot of this QObject, so the worker's finished signal is queued into
        # the GUI thread. (PySide calls a plain callable in the emitting thread.)
        thread, worker = self.run_thread, self.worker
        if thread is not None:
            thread.thread.wait(5000)
        self.tick()  # whatever the worker wrote last
        self.timer.stop()
        self.status.flush()
        self._refresh_visible(force=True)
        self.curves.refresh(force=True)
        self.health.refresh(force=True)
        self.run_thread = None
        self.worker = None
        trainer = worker.trainer if worker is not None else None
        # A failed run's weights are unusable (NaN, half-built); a stopped run's are fine.
        if trainer is not None and reason != "error" and trainer.recipe is not None:
            from designer.training.worker import make_probe

            probe = worker.probe if worker is not None and worker.probe is not None else make_probe(trainer)
            result = TrainedResult(trainer, reason, probe, self._run_started, stale=self.stale,
                                   info=dict(self._run_info))
            run_doc = self._run_doc() if self._run_doc is not None else None
            # Another file opened meanwhile: its model must not get these weights.
            self.result = result if run_doc is self.model.doc else None
        self._record_history(reason)
        self.state = "error" if reason == "error" else "finished"
        words = {"completed": "Finished", "stopped": "Stopped", "early_stopping": "Stopped early (no improvement)",
                 "error": "Failed"}
        self.state_label.setText(words.get(reason, reason))
        if reason == "completed":
            self.progress.setValue(self.progress.maximum())
        self._update_controls()
        self._update_overlays()
        self.controls.mark_cuda_availability()
        self._pending.pop("activation", None)  # superseded by the capture on the final weights
        if self.watched and self.result is not None:
            self.show_activations(*self.watched)
        self.runFinished.emit(reason)
        if self.result is not None:
            self.insight.set_trainer(self.result.trainer)

    def _record_history(self, reason: str) -> None:
        curves: dict[str, tuple[list[float], list[float]]] = {}
        for name in self.curves.curve_names():
            h = self.curves.history[name]
            curves[name] = thin(h.x, h.y) if name.endswith("/step") else (h.x.tolist(), h.y.tolist())
        if not curves:
            return
        key = self._run_key
        number = self.history.next_number(key)
        final = {k: float(v) for k, v in (self._epoch_rows[-1]["values"].items() if self._epoch_rows else [])}
        record = RunRecord(f"run-{number}", self._run_started, make_label(number, self._run_started, self._run_settings),
                           str(self._run_info.get("recipe", "")), str(self._run_info.get("dataset", "")),
                           self._run_settings, reason, final, curves)
        self.history.add(key, record)

    # ------------------------------------------------------------ earlier runs
    def _history_key(self) -> str:
        path = self.model.path
        return os.path.abspath(path) if path else f"unsaved:{id(self.model.doc)}"

    def _update_overlays(self) -> None:
        n = OVERLAYS[self.overlay_combo.currentIndex()][1]
        runs = self.history.runs(self._history_key()) if n else []
        if self.state in ("running", "paused", "stopping"):
            shown = runs[-n:] if n else []
        else:  # after a run, the latest record IS the run on screen: compare with those before
            shown = runs[:-1][-n:] if n else []
        self.curves.set_overlays([(r.label, r.curves) for r in shown])

    # ------------------------------------------------------------ activations
    def show_activations(self, node_id: str | None, network: str | None = None) -> None:
        """The canvas selection changed: show this node's activations on the probe batch
        (now if the run is over, at the worker's next event if it is training)."""
        self.watched = (node_id, network) if node_id else None
        if not node_id:
            return
        if self.worker is not None:
            self.worker.watch(node_id, network)
            self.activations.show_message(f"Capturing {node_id}…")
            return
        result = self.result
        if result is None or result.probe is None:
            self.activations.show_message(f"Train the network to see what {node_id} outputs.")
            return
        from graph_compiler.training.probe import ProbeError

        try:
            act = result.probe.activation(node_id, network)
        except ProbeError as exc:
            self.activations.show_message(str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.activations.show_message(f"could not capture {node_id!r}: {exc}")
            return
        note = " (trained weights of an earlier version of the graph)" if self.stale else ""
        self.activations.set_activation(act, f", after training{note}")

    def _show_activation_payload(self, payload: dict[str, Any]) -> None:
        if "error" in payload:
            self.activations.show_message(payload["error"])
        else:
            self.activations.set_activation(payload["activation"], f", step {payload.get('step', 0):,}")

    # ------------------------------------------------------------ document changes
    def _on_document_edited(self, *_args: Any) -> None:
        if self.run_thread is None and self.result is None:
            return
        try:
            stale = semantic_key(self.model.doc) != self._snapshot_key
        except Exception:  # noqa: BLE001 - an odd document is at worst "stale"
            stale = True
        self.stale = stale  # an undo back to the trained graph clears it again
        self.stale_badge.setVisible(stale)
        if self.result is not None:
            self.result.stale = stale

    def _show_file_settings(self) -> None:
        try:
            cfg = parse_config(self.model.doc.training)
        except TrainingConfigError:  # the Run explains; the fields just say "file"
            self.controls.set_file_settings(None, None, None)
            return
        self.controls.set_file_settings(cfg.epochs, cfg.batch_size, cfg.lr)

    def _on_document_reset(self) -> None:
        self._show_file_settings()
        self._on_document_edited()
        if self.run_thread is None:
            self.result = None  # the weights stay attached to the old document only
            self.insight.set_trainer(None)  # nothing of this document to evaluate yet
            self._update_controls()
        self._update_overlays()

    # ------------------------------------------------------------ saving
    def save_weights(self, directory: str) -> str | None:
        if self.result is None:
            return None
        try:
            path = self.result.save(directory)
        except NetwrightError as exc:
            self._show_error(str(exc))
            return None
        except OSError as exc:
            self._show_error(f"{directory}: cannot save the weights ({exc})")
            return None
        self.stats_label.setToolTip(f"saved to {path}")
        self.state_label.setText(f"Saved to {Path(path).name}")
        return path

    def save_weights_dialog(self) -> None:
        if self.result is None:
            return
        path = self.model.path
        base = Path(path).with_suffix("") if path else Path.home() / "untitled"
        number = max(1, self.history.next_number(self._history_key()) - 1)
        suggestion = f"{base}-run{number}"
        # A save dialog, not a folder picker: the run folder is new, and users name it.
        target, _ = QFileDialog.getSaveFileName(
            self, "Save trained weights (a run folder)", suggestion, "Run folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if target:
            self.save_weights(target)

    # ------------------------------------------------------------ helpers
    def _reset_views(self) -> None:
        self._pending.clear()
        self.curves.clear()
        self.health.reset()
        self._epoch_rows = []
        self.device_text = ""
        self.progress.setValue(0)
        self.stats_label.setText("")
        self.last_error = None
        self.last_traceback = None
        self._update_overlays()

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.error_label.setText(text)
        # The traceback (the command line's --debug) for whoever wants it:
        self.error_label.setToolTip(f"<pre>{html.escape(self.last_traceback)}</pre>" if self.last_traceback else "")
        self.error_label.setVisible(True)


__all__ = ["TrainingDashboard", "default_trainer_factory", "semantic_key"]
