"""The dashboard's top rows: run controls with per-run overrides, and the status line.

Kept out of dashboard.py so that file is only the run's life cycle and the timer.
"""
from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDoubleValidator, QResizeEvent, QStandardItemModel, QValidator
from PySide6.QtWidgets import (
    QScrollArea,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.training.actions import TrainingActions

DEVICES = ("auto", "cpu", "cuda", "mps")
PROGRESS_STEPS = 200
STATUS_INTERVAL_S = 0.25


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _tool(action: QAction) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return b


class OverrideSpin(QSpinBox):
    """A per-run override: empty (0) means "the file's setting", whose value shows greyed
    as the placeholder, so the field reads as the number the run will use."""

    def __init__(self, what: str, hi: int) -> None:
        super().__init__()
        self.what = what
        self.setRange(0, hi)
        self.setMaximumWidth(self.fontMetrics().horizontalAdvance("0" * 7) + 40)
        self.set_file_value(None)

    def set_file_value(self, value: int | None) -> None:
        shown = "" if value is None else str(value)
        self.lineEdit().setPlaceholderText(shown or "file")
        self.setToolTip(f"Override the {self.what} for the next run; empty = the file's "
                        f"{self.what}{f' ({shown})' if shown else ''}")

    def textFromValue(self, value: int) -> str:
        return "" if value == self.minimum() else super().textFromValue(value)

    def valueFromText(self, text: str) -> int:
        return self.minimum() if not text.strip() else super().valueFromText(text)

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if not text.strip():
            return QValidator.State.Acceptable, text, pos
        return super().validate(text, pos)


def _row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        lay.addWidget(w)
    return box


class RunControls(QWidget):
    """Run / Pause / Resume / Stop, device, epochs / batch size / lr, Save Weights.

    One row when the dock is wide enough, else the run settings wrap onto a second row
    under the buttons (``fit_width``), so a 1366-px screen still reaches every field."""

    def __init__(self, actions: TrainingActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = _tool(actions.run)
        self.pause_button = _tool(actions.pause)
        self.resume_button = _tool(actions.resume)
        self.stop_button = _tool(actions.stop)
        self.save_button = _tool(actions.save)
        self.data_button = QToolButton()
        self.data_button.setText("Data…")
        self.data_button.setToolTip("Choose or download the dataset, and preview the augmentation")
        self.device_combo = QComboBox()
        self.device_combo.addItems(DEVICES)
        self.device_combo.setToolTip("Where to train: auto picks a CUDA GPU when there is one")
        self.epochs_spin = OverrideSpin("epochs", 1_000_000)
        self.batch_spin = OverrideSpin("batch size", 1 << 20)
        self.lr_edit = QLineEdit()
        self.lr_edit.setValidator(QDoubleValidator(0.0, 10.0, 10))
        self.lr_edit.setMaximumWidth(90)
        self.set_file_settings(None, None, None)
        self.buttons = _row(self.run_button, self.pause_button, self.resume_button, self.stop_button)
        fields: list[QWidget] = []
        for label, field in (("Device", self.device_combo), ("Epochs", self.epochs_spin),
                             ("Batch", self.batch_spin), ("LR", self.lr_edit)):
            fields += [QLabel(label), field]
        self.settings = _row(*fields, self.data_button)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(2, 1)
        self.wrapped = True
        self.set_wrapped(False)
        self.mark_cuda_availability()

    def set_file_settings(self, epochs: int | None, batch_size: int | None, lr: float | None) -> None:
        """Show the file's epochs / batch size / learning rate greyed in the empty fields
        (None: unknown, e.g. the file's training section is invalid)."""
        self.epochs_spin.set_file_value(epochs)
        self.batch_spin.set_file_value(batch_size)
        self.lr_edit.setPlaceholderText("file" if lr is None else f"{lr:g}")
        self.lr_edit.setToolTip("Learning rate override for the next run; empty = the file's"
                                + ("" if lr is None else f" ({lr:g})"))

    def one_row_width(self) -> int:
        sp = self.grid.horizontalSpacing()
        return (self.buttons.sizeHint().width() + self.settings.sizeHint().width()
                + self.save_button.sizeHint().width() + 3 * sp)

    def set_wrapped(self, on: bool) -> None:
        """Settings under the buttons (``on``) or beside them."""
        if on == self.wrapped:
            return
        self.wrapped = on
        for w in (self.buttons, self.settings, self.save_button):
            self.grid.removeWidget(w)
        self.grid.addWidget(self.buttons, 0, 0)
        self.grid.addWidget(self.save_button, 0, 3)
        if on:
            self.grid.addWidget(self.settings, 1, 0, 1, 4, Qt.AlignmentFlag.AlignLeft)
        else:
            self.grid.addWidget(self.settings, 0, 1)

    def fit_width(self, width: int) -> None:
        self.set_wrapped(width < self.one_row_width())

    def overrides(self) -> dict[str, Any]:
        """Overrides of the document's training section (None = keep the file's)."""
        text = self.lr_edit.text().strip().replace(",", ".")
        try:
            lr = float(text) if text else None
        except ValueError:
            lr = None
        return {
            "epochs": self.epochs_spin.value() or None,
            "batch_size": self.batch_spin.value() or None,
            "lr": lr if lr and lr > 0 else None,
            "device": self.device_combo.currentText(),
        }

    def set_editable(self, on: bool) -> None:
        for w in (self.device_combo, self.epochs_spin, self.batch_spin, self.lr_edit):
            w.setEnabled(on)

    def mark_cuda_availability(self) -> None:
        # Only once torch is loaded anyway: importing it here would freeze the window for
        # seconds. Until then "cuda" stays offered, and the engine explains if it is missing.
        torch = sys.modules.get("torch")
        if torch is None:
            return
        try:
            ok = bool(torch.cuda.is_available())
        except Exception:  # noqa: BLE001
            ok = False
        model = self.device_combo.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        item = model.item(DEVICES.index("cuda"))
        item.setEnabled(ok)
        item.setToolTip("" if ok else "No CUDA GPU is available to this PyTorch")


class ControlsArea(QScrollArea):
    """The run controls: one row, or two when the dock is narrower than that row; narrower
    still, they scroll sideways instead of forcing their width on the window (which
    squeezed the palette to 90 px)."""

    def __init__(self, controls: RunControls) -> None:
        super().__init__()
        self.controls = controls
        self.setWidget(controls)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMinimumWidth(200)
        self._fit()

    def _fit(self) -> None:
        self.controls.fit_width(self.width())
        scrolls = self.width() < self.controls.minimumSizeHint().width()
        bar = self.horizontalScrollBar().sizeHint().height() if scrolls else 0
        self.setFixedHeight(self.controls.sizeHint().height() + bar)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()


class RunStatus(QWidget):
    """State, the "stale" badge, a progress bar and epoch / step / time / speed / device."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = QLabel("Idle")
        self.state_label.setObjectName("trainingState")
        self.stale_badge = QLabel("stale")
        self.stale_badge.setObjectName("staleBadge")
        self.stale_badge.setStyleSheet("QLabel { background: #d9822b; color: white; border-radius: 3px;"
                                       " padding: 0 6px; font-weight: bold; }")
        self.stale_badge.setToolTip("The graph was edited after this run started: the curves and trained "
                                    "weights belong to the earlier version. Run again to train the current graph.")
        self.stale_badge.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("muted")
        self._shown_at = 0.0
        self._last: tuple[dict[str, Any], str] | None = None
        # What the run chose to do (the start event's notes: an imported GPT trained on its
        # last position only, channels_last, torch.compile, streamed data), one line each.
        self.notes_label = QLabel("")
        self.notes_label.setObjectName("muted")
        self.notes_label.setWordWrap(True)
        self.notes_label.setVisible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.state_label)
        row.addWidget(self.stale_badge)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stats_label)
        outer.addLayout(row)
        outer.addWidget(self.notes_label)

    def show_notes(self, notes: list[str]) -> None:
        self.notes_label.setText("\n".join(notes))
        self.notes_label.setVisible(bool(notes))

    def show_progress(self, p: dict[str, Any], device: str, force: bool = False) -> None:
        # A label and a progress bar cost ~1-2 ms a change in the GUI thread: 4 Hz is
        # plenty for numbers people read.
        now = time.perf_counter()
        if not force and now - self._shown_at < STATUS_INTERVAL_S:
            self._last = (p, device)
            return
        self._shown_at = now
        self._last = None
        value = int(PROGRESS_STEPS * min(1.0, p.get("progress") or 0.0))
        if value != self.progress.value():
            self.progress.setValue(value)
        if p.get("preparing"):  # "downloading mnist: 3.1 / 11.6 MB" before the first step
            self.stats_label.setText(str(p["preparing"]))
            return
        parts = []
        if p.get("epochs"):
            parts.append(f"epoch {p.get('epoch') or 0}/{p['epochs']}")
        total = (p.get("steps_per_epoch") or 1) * (p.get("epochs") or 0)
        parts.append(f"step {p.get('step', 0):,}" + (f"/{total:,}" if total else ""))
        parts.append(f"{fmt_duration(p.get('elapsed_s'))} elapsed")
        parts.append(f"ETA {fmt_duration(p.get('eta_s'))}")
        if p.get("samples_per_s"):
            parts.append(f"{p['samples_per_s']:,.0f} samples/s")
        if device:
            parts.append(device)
        self.stats_label.setText(" · ".join(parts))

    def flush(self) -> None:
        """Show a progress update that was held back by the 4 Hz limit."""
        if self._last is not None:
            self.show_progress(*self._last, force=True)


__all__ = ["DEVICES", "ControlsArea", "OverrideSpin", "RunControls", "RunStatus", "fmt_duration"]
