"""The training dock's "Data…" dialog: pick the dataset, download a standard one (with a
progress bar and Cancel, off the GUI thread), and see a grid of augmented samples before
training starts.

Choosing a dataset edits the document's ``training.dataset`` through one undoable
command; download and preview errors (offline, wrong checksum) show in the dialog with
the same message the command line prints.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QImage, QPixmap, QUndoCommand
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

PREVIEW_IMAGES = 4
PREVIEW_VARIANTS = 5


class Cancelled(Exception):
    """Raised inside a download when the user presses Cancel."""


class SetTrainingKeyCommand(QUndoCommand):
    """training[key] = value (None removes the key), undoable."""

    def __init__(self, model: Any, key: str, value: Any, text: str) -> None:
        super().__init__(text)
        self.model, self.key, self.value = model, key, value
        training = model.doc.training if isinstance(model.doc.training, dict) else {}
        self.old = copy.deepcopy(training.get(self.key))

    def _set(self, value: Any) -> None:
        doc = self.model.doc
        if not isinstance(doc.training, dict):
            doc.training = {}
        if value is None:
            doc.training.pop(self.key, None)
        else:
            doc.training[self.key] = copy.deepcopy(value)

    def redo(self) -> None:
        self._set(self.value)

    def undo(self) -> None:
        self._set(self.old)


class _Job(QObject):
    """One background task (a download or a preview), reporting through signals."""

    progress = Signal(int, int)  # done, total bytes (0 total: unknown)
    finished = Signal(object, str)  # result, error text ("" when it worked)

    def __init__(self, task: Any) -> None:
        super().__init__()
        self.task = task
        self.cancel = False

    # The shared data-progress hook, called from the download / cache-build loop.
    def _report(self, what: str, done: int, total: int, unit: str) -> None:
        self.progress.emit(done, total)

    def _check(self) -> None:
        if self.cancel:
            raise Cancelled()

    @Slot()
    def run(self) -> None:
        from graph_compiler.data import progress
        from graph_compiler.errors import NetwrightError

        try:
            with progress.reporting(progress.Hook(self._report, self._check)):
                result = self.task()
            self.finished.emit(result, "")
        except Cancelled:
            self.finished.emit(None, "Cancelled; nothing was kept.")
        except NetwrightError as exc:
            self.finished.emit(None, str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a crash
            self.finished.emit(None, f"{type(exc).__name__}: {exc}")


class DataDialog(QDialog):
    """Datasets (built in and downloadable), a download with progress, and the preview."""

    def __init__(self, model: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Training data")
        self.model = model
        self._thread: QThread | None = None
        self._job: _Job | None = None
        self._done: Any = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["dataset", "task", "download", "cached", "description"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_a: self.use_selected())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.use_button = QPushButton("Use for training")
        self.use_button.clicked.connect(self.use_selected)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.preview_button = QPushButton("Show augmented samples")
        self.preview_button.setToolTip("The document's dataset with its training.augment list applied")
        self.preview_button.clicked.connect(self.show_preview)
        self.preview = QLabel("The first column is each image as it is; the others are augmented.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(120)
        buttons = QHBoxLayout()
        for b in (self.use_button, self.download_button, self.cancel_button, self.preview_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.preview)
        lay.addWidget(close)
        self.resize(760, 520)
        self.populate()

    # ------------------------------------------------------------ list
    def populate(self) -> None:
        from graph_compiler.data.standard import STANDARD
        from graph_compiler.training.datasets import list_datasets

        current = self._current_name()
        self.tree.clear()
        for info in list_datasets():
            std = STANDARD.get(info.name)
            size = f"{std.size / 1e6:,.1f} MB" if std else "built in"
            cached = ("yes" if std.cached() else "no") if std else ""
            item = QTreeWidgetItem([info.name, info.task, size, cached, info.description])
            item.setData(0, Qt.ItemDataRole.UserRole, info.name)
            if std:
                item.setToolTip(4, f"Licence: {std.licence}\n{std.homepage}")
            self.tree.addTopLevelItem(item)
            if info.name == current:
                self.tree.setCurrentItem(item)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self._update_buttons()

    def _current_name(self) -> str | None:
        training = self.model.doc.training if isinstance(self.model.doc.training, dict) else {}
        spec = training.get("dataset")
        return spec if isinstance(spec, str) else spec.get("name") if isinstance(spec, dict) else None

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        from graph_compiler.data.standard import STANDARD

        name, busy = self.selected(), self._job is not None
        self.use_button.setEnabled(name is not None and not busy)
        self.download_button.setEnabled(name in STANDARD and not busy)
        self.preview_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    # ------------------------------------------------------------ actions
    def use_selected(self) -> None:
        """training.dataset = the selected name (keeping a dict spec's other options when
        it names the same dataset)."""
        name = self.selected()
        if name is None:
            return
        training = self.model.doc.training if isinstance(self.model.doc.training, dict) else {}
        old = training.get("dataset")
        if old == name or (isinstance(old, dict) and old.get("name") == name):
            return
        self.model.undo_stack.push(SetTrainingKeyCommand(self.model, "dataset", name, f"Use dataset {name}"))
        self.message.setText(f"Training will use {name!r}.")

    def download_selected(self) -> None:
        from graph_compiler.data.standard import STANDARD

        name = self.selected()
        if name not in STANDARD:
            return
        std = STANDARD[name]
        self.message.setText(f"Downloading {name} ({std.size / 1e6:,.1f} MB, {std.licence})…")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._start(std.fetch_all, self._downloaded)

    def show_preview(self) -> None:
        doc = copy.deepcopy(self.model.doc.training) if isinstance(self.model.doc.training, dict) else {}
        source = self.model.doc.source
        self.message.setText("Preparing the preview…")
        self._start(lambda: _preview(doc, source), self._previewed)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel = True
            self.message.setText("Cancelling…")

    def is_busy(self) -> bool:
        return self._job is not None

    # ------------------------------------------------------------ background work
    def _start(self, task: Any, done: Any) -> None:
        thread, job = QThread(self), _Job(task)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        # Bound methods of this dialog: queued into the GUI thread (a lambda would run in
        # the worker's thread).
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        self._thread, self._job, self._done = thread, job, done
        self._update_buttons()
        thread.start()

    @Slot(object, str)
    def _on_finished(self, result: Any, error: str) -> None:
        done = self._done
        self._finish_job()
        done(result, error)

    def _finish_job(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread.deleteLater()
        self._thread, self._job = None, None
        self.progress.setVisible(False)
        self._update_buttons()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))

    def _downloaded(self, result: Any, error: str) -> None:
        self.message.setText(error or "Downloaded and verified.")
        self.populate()

    def _previewed(self, result: Any, error: str) -> None:
        if error:
            self.message.setText(error)
            return
        grid, text = result
        height, width, _ = grid.shape
        image = QImage(grid.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        scale = max(1, min(8, 480 // max(1, width), 240 // max(1, height)))
        self.preview.setPixmap(QPixmap.fromImage(image).scaled(
            width * scale, height * scale, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation))
        self.message.setText(text)

    def done(self, result: int) -> None:  # noqa: D401 - QDialog.done
        if self._job is not None:  # a download in flight: stop it before closing
            self._job.cancel = True
            if self._thread is not None:
                self._thread.quit()
                self._thread.wait()
        super().done(result)


def _preview(training: dict[str, Any], source: str | None) -> tuple[Any, str]:
    """(grid picture, caption) for a training section: its dataset's first images with
    its augment list applied (runs in the background thread)."""
    from pathlib import Path

    from graph_compiler.errors import NetwrightError
    from graph_compiler.training.augment import parse_augment, preview_grid
    from graph_compiler.training.datasets import resolve_dataset

    spec = training.get("dataset")
    if spec is None:
        raise NetwrightError("choose a dataset first (training.dataset is not set)")
    augmentations = parse_augment(training.get("augment"))
    base = Path(source).parent if source else None
    data = resolve_dataset(spec, base_dir=base, seed=int(training.get("seed") or 0))
    x = data.x[:PREVIEW_IMAGES]
    if x.ndim != 4:
        raise NetwrightError(f"dataset {data.name!r} holds samples {list(data.x.shape[1:])}, not images; "
                             "augmentation previews are for image data")
    y = data.y[:PREVIEW_IMAGES] if data.y is not None and data.y.ndim == 1 else None
    grid = preview_grid(x.float(), augmentations, y=y, num_classes=data.num_classes,
                        variants=PREVIEW_VARIANTS, seed=int(training.get("seed") or 0))
    names = ", ".join(a.type for a in augmentations) or "no augmentation (training.augment is empty)"
    return grid, f"{data.name}: {names}"


__all__ = ["DataDialog", "SetTrainingKeyCommand"]
