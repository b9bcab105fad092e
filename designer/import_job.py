"""Import from PyTorch off the GUI thread.

Tracing a user's module imports torch (seconds, the first time), runs the user's code and
verifies the result: far too long to freeze the window for. ``ImportRunner`` runs
``graph_compiler.interop.fx_import.import_module`` on a QThreadPool thread and reports back
on the GUI thread through queued signals; meanwhile the status bar shows a busy bar and
the window stays usable. The worker never touches a widget or the document.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

Shape = tuple[int, ...] | list[tuple[int, ...]]


class _Signals(QObject):
    """Lives on the GUI thread; the worker emits, so slots run queued on the GUI thread."""

    imported = Signal(object)  # Document
    failed = Signal(str)


def describe(exc: BaseException) -> str:
    """The problem in a line: a Netwright error already names file, module and cause."""
    from graph_compiler.errors import NetwrightError

    return str(exc) if isinstance(exc, NetwrightError) else f"{type(exc).__name__}: {exc}"


def run_import(spec: str, shape: Shape) -> Any:
    """What the worker runs (tests may call it directly). The app opens imports with their
    structure: each repeated sub-module class becomes block networks (like --blocks), and
    inputs are token ids when the model embeds them (float ones do not run)."""
    from graph_compiler.interop.fx_import import import_module  # torch: loaded on first use

    return import_module(spec, shape, dtype="auto", blocks=True)


class ImportRunner(QObject):
    """One import at a time. ``start`` returns at once; ``on_done(doc)`` or
    ``on_error(message)`` is called later on the GUI thread."""

    def __init__(self, window: QMainWindow, pool: QThreadPool | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.pool = pool or QThreadPool.globalInstance()
        self._signals: _Signals | None = None
        self._keep: _Signals | None = None  # the last job's signals stay GUI-owned
        self._done: Callable[[Any], None] | None = None
        self._error: Callable[[str], None] | None = None
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate: tracing gives no progress to report
        self.bar.setFixedWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        window.statusBar().addWidget(self.label)
        window.statusBar().addWidget(self.bar)
        self.label.hide()
        self.bar.hide()

    def is_running(self) -> bool:
        return self._signals is not None

    def start(self, spec: str, shape: Shape, on_done: Callable[[Any], None],
              on_error: Callable[[str], None]) -> bool:
        if self.is_running():
            return False
        signals = _Signals()  # no parent: the worker may still hold it when the window goes
        signals.imported.connect(self._on_imported, Qt.ConnectionType.QueuedConnection)
        signals.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._signals, self._keep, self._done, self._error = signals, signals, on_done, on_error
        self.label.setText(f"Importing {spec}… (tracing with PyTorch)")
        self.label.show()
        self.bar.show()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)  # busy, not blocked

        def job() -> None:
            try:
                doc = run_import(spec, shape)
            except BaseException as exc:  # user code ran: anything can come back
                if isinstance(exc, KeyboardInterrupt):
                    raise
                signals.failed.emit(describe(exc))
            else:
                signals.imported.emit(doc)

        self.pool.start(job)
        return True

    def _finish(self) -> tuple[Callable[[Any], None] | None, Callable[[str], None] | None]:
        done, error = self._done, self._error
        self._signals = self._done = self._error = None
        self.label.hide()
        self.bar.hide()
        QGuiApplication.restoreOverrideCursor()
        return done, error

    @Slot(object)
    def _on_imported(self, doc: Any) -> None:
        done, _ = self._finish()
        if done is not None:
            done(doc)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        _, error = self._finish()
        if error is not None:
            error(message)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker is done (tests, and quitting)."""
        return self.pool.waitForDone(msecs)
