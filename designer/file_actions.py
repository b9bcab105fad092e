"""File operations for the main window: new, open, save, export, import, recovery.

Every question to the user goes through ``Prompts`` so tests can answer them without a
modal dialog. A file that cannot be opened is reported in a dialog naming the problem;
the document already open is never touched by a failed open (DocumentModel.load only
swaps documents after the new one parsed and analysed).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from designer.files import RecoveryRecord, find_recoverable, load_recovery
from designer.import_job import ImportRunner
from graph_compiler.atomic import atomic_write
from graph_compiler.errors import NetwrightError

if TYPE_CHECKING:
    from designer.main_window import MainWindow

GRAPH_FILTER = "Netwright graphs (*.json);;All files (*)"


def parse_shapes(text: str) -> list[tuple[int, ...]] | None:
    """'3, 32, 32' -> [(3, 32, 32)]; '16; 4' (one shape per input) -> [(16,), (4,)]."""
    shapes = []
    for part in text.split(";"):
        inner = part.strip().strip("[]()").replace(",", " ").split()
        try:
            shape = tuple(int(s) for s in inner)
        except ValueError:
            return None
        if not shape or any(d < 1 for d in shape):
            return None
        shapes.append(shape)
    return shapes or None


class Prompts:
    """The questions the app asks. Replace attributes in tests (they are plain callables)."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.unsaved: Callable[[str], str] = self._unsaved
        self.restore: Callable[[RecoveryRecord], bool] = self._restore
        self.error: Callable[[str, str], None] = self._error
        self.info: Callable[[str, str], None] = self._info

    def _unsaved(self, name: str) -> str:
        """'save', 'discard' or 'cancel'."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {name} before continuing?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self.parent)
        box.setInformativeText("Your changes are lost if you don't save them.")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def _restore(self, rec: RecoveryRecord) -> bool:
        from datetime import datetime

        when = datetime.fromtimestamp(rec.saved_at).strftime("%Y-%m-%d %H:%M")
        answer = QMessageBox.question(
            self.parent, "Recover unsaved work?",
            f"Netwright did not close cleanly last time. Unsaved work on {rec.display_name} "
            f"(autosaved {when}) can be restored.\n\nRestore it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def _error(self, title: str, text: str) -> None:
        self._box(QMessageBox.Icon.Critical, title, text)

    def _info(self, title: str, text: str) -> None:
        self._box(QMessageBox.Icon.Information, title, text)

    def _box(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent)
        box.setTextFormat(Qt.TextFormat.PlainText)  # file names and messages quote user text
        box.exec()


class FileActions:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.prompts = Prompts(window)
        self._importer: ImportRunner | None = None

    @property
    def model(self) -> Any:
        # The window builds its model after the first paint; a command that comes
        # earlier (a click in the first half second) finishes that set-up first.
        self.w.finish_setup()
        return self.w.model

    # ------------------------------------------------------------ helpers

    def _dir(self) -> str:
        return os.path.dirname(self.model.path) if self.model.path else str(Path.home())

    def is_bundled(self, path: str | None) -> bool:
        """An example shipped with Netwright: saving goes to Save As, never over it."""
        if not path:
            return False
        from graph_compiler.examples import examples_dir

        try:
            return Path(path).resolve().parent == examples_dir().resolve()
        except OSError:
            return False

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or clean)."""
        if not self.model.is_dirty():
            return True
        answer = self.prompts.unsaved(self.w.document_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    # ------------------------------------------------------------ commands

    def new(self) -> None:
        if self.maybe_save():
            self.model.new()
            self.w.show_editor()

    def open(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.w, "Open graph", self._dir(), GRAPH_FILTER)
            if not path:
                return False
        if os.path.exists(path) and not os.path.isfile(path):
            # A FIFO or a device (/dev/zero) would block or never end: refuse before reading.
            self.prompts.error("Cannot open file", f"{Path(path).name} is not a regular file.")
            return False
        if not self.maybe_save():
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.model.load(path)
        except NetwrightError as exc:
            QGuiApplication.restoreOverrideCursor()
            self.prompts.error("Cannot open file", f"{Path(path).name} could not be opened.\n\n{exc}")
            if not os.path.exists(path):
                self.w.recent.remove(path)  # a recent entry that went away
            return False
        except Exception as exc:  # noqa: BLE001 - a hostile file must not take the app down
            QGuiApplication.restoreOverrideCursor()
            self.prompts.error("Cannot open file",
                               f"{Path(path).name} could not be opened.\n\n{type(exc).__name__}: {exc}")
            return False
        QGuiApplication.restoreOverrideCursor()
        if not self.is_bundled(path):
            self.w.recent.add(path)
        self.w.show_editor()
        self.w.statusBar().showMessage(f"Opened {path}", 4000)
        return True

    def save(self) -> bool:
        if not self.model.path or self.is_bundled(self.model.path):
            return self.save_as()
        return self._save_to(self.model.path)

    def save_as(self) -> bool:
        name = self.w.document_name()
        start = os.path.join(self._dir() if not self.is_bundled(self.model.path) else str(Path.home()),
                             name if name.endswith(".json") else f"{name}.json")
        path, _ = QFileDialog.getSaveFileName(self.w, "Save graph as", start, GRAPH_FILTER)
        if not path:
            return False
        if not os.path.splitext(path)[1]:
            path += ".json"
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            self.model.save(path)
        except NetwrightError as exc:
            self.prompts.error("Cannot save", str(exc))
            return False
        except OSError as exc:
            self.prompts.error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.w.recent.add(path)
        self.w.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export_python(self) -> bool:
        source, error = self.model.generated_code()
        if error is not None or not source:
            self.prompts.error("Cannot export", f"The graph cannot be turned into code yet.\n\n{error or ''}")
            return False
        path = self._export_path("Export PyTorch code", "")
        return path is not None and self._write_export(path, source)

    def export_script(self) -> bool:
        """The standalone training script (`netwright export --script`): torch, numpy and
        safetensors, runs alone and under torchrun."""
        from graph_compiler.interop.script_export import generate_script

        path = self._export_path("Export training script", "train_")
        if path is None:
            return False
        try:
            text = generate_script(self.model.doc, script=Path(path).name)
        except NetwrightError as exc:
            self.prompts.error("Cannot export", f"The design cannot be turned into a training script yet.\n\n{exc}")
            return False
        return self._write_export(path, text)

    def _export_path(self, title: str, prefix: str) -> str | None:
        stem = Path(self.model.path).stem if self.model.path else "model"
        start = os.path.join(self._dir() if not self.is_bundled(self.model.path) else str(Path.home()),
                             f"{prefix}{stem}.py")
        path, _ = QFileDialog.getSaveFileName(self.w, title, start, "Python (*.py)")
        return path or None

    def _write_export(self, path: str, text: str) -> bool:
        try:
            atomic_write(path, text.encode("utf-8"))
        except OSError as exc:
            self.prompts.error("Cannot export", f"{path}: {exc.strerror or exc}")
            return False
        self.w.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def import_pytorch(self) -> bool:
        """Ask for MODULE:ATTR and an input shape, then trace it on a worker thread (the
        window stays usable; a busy bar shows in the status bar). The result opens as a
        new, unsaved document when it arrives; a failure is shown in a dialog naming it.
        Returns whether an import was started."""
        if self.importer.is_running():
            self.prompts.info("Import from PyTorch", "An import is already running; wait for it to finish.")
            return False
        spec, ok = QInputDialog.getText(
            self.w, "Import from PyTorch",
            "Module to import, MODULE:ATTR (e.g. mymodels.py:Net or mypkg.models:build):")
        if not ok or not spec.strip():
            return False
        shape_text, ok = QInputDialog.getText(
            self.w, "Import from PyTorch",
            "Input shape without the batch dimension (e.g. 3, 32, 32; several inputs: 16; 4):",
            text="3, 32, 32")
        if not ok:
            return False
        shapes = parse_shapes(shape_text)
        if shapes is None:
            self.prompts.error("Import from PyTorch", f"'{shape_text}' is not a shape like 3, 32, 32")
            return False
        spec = spec.strip()
        shape = shapes[0] if len(shapes) == 1 else shapes
        self.w.acts.import_pytorch.setEnabled(False)
        return self.importer.start(spec, shape, lambda doc: self._imported(spec, doc),
                                   lambda message: self._import_failed(spec, message))

    @property
    def importer(self) -> ImportRunner:
        if self._importer is None:
            self._importer = ImportRunner(self.w)
        return self._importer

    def _imported(self, spec: str, doc: Any) -> None:
        self.w.acts.import_pytorch.setEnabled(True)
        # Asked now, not before: the user may have kept editing while it traced.
        if not self.maybe_save():
            self.w.statusBar().showMessage(f"Import of {spec} discarded", 4000)
            return
        self.model.load_document(doc, None)  # laid out by the importer as Auto-layout would
        self.w.show_editor()
        self.w.statusBar().showMessage(f"Imported {spec}", 4000)

    def _import_failed(self, spec: str, message: str) -> None:
        self.w.acts.import_pytorch.setEnabled(True)
        self.prompts.error("Import from PyTorch", f"Could not import {spec}:\n\n{message}")

    # ------------------------------------------------------------ recovery

    def offer_recovery(self, directory: Path | None = None) -> bool:
        """Offer the newest work left by a session that did not close cleanly.
        Declined files are deleted; True when something was restored."""
        self.w.finish_setup()
        for rec in find_recoverable(directory or self.w.autosaver.directory):
            if rec.file == self.w.autosaver.file:
                continue
            if not self.prompts.restore(rec):
                rec.discard()
                continue
            try:
                doc = load_recovery(rec)
            except (NetwrightError, RecursionError, ValueError, TypeError) as exc:
                self.prompts.error("Cannot restore", f"The recovery file {rec.file.name} is damaged.\n\n{exc}")
                rec.discard()
                continue
            path = rec.path if rec.path and os.path.exists(os.path.dirname(rec.path) or ".") else None
            self.model.load_document(doc, path, dirty=True)
            self.w.show_editor()
            rec.discard()
            self.w.autosaver.write_now()  # now this session owns the work
            return True
        return False
