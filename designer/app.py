"""QApplication set-up and the designer's entry point: ``main(argv)``.

Start-up budget: the window must paint within ~1.5 s on a 2-core machine, so nothing here
imports torch. A FILE given on the command line is opened right after the first paint
(its analysis may need torch's meta device for some layers), and crash recovery is
offered then too, over a window the user can already see.
"""
from __future__ import annotations

import os

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import PySide6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from designer.main_window import MainWindow

from designer import theme

APP_NAME = "Netwright"

# PySide6 releases the designer cannot run on (pyproject excludes them; an environment that
# ignored the pin gets a clear refusal instead of a crash). 6.12.0 returns None and True
# from Qt calls and emits without a reference, so CPython < 3.12 aborts within seconds
# ("Fatal Python error: none_dealloc").
BROKEN_PYSIDE = frozenset({"6.12.0"})


def unsupported_pyside(version: str) -> str | None:
    """The message refusing to start on a broken PySide6, or None for a good one."""
    if version not in BROKEN_PYSIDE:
        return None
    return (f"netwright: PySide6 {version} is not supported: it loses a reference to None on "
            "every Qt call and crashes the designer. Install another version, e.g. "
            "pip install 'PySide6-Essentials!=6.12.0'")


def create_app(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (created once; reused if it exists, as under pytest-qt)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        # Fractional scale factors (150 %) stay fractional: vector icons and painter-drawn
        # nodes are crisp at any ratio, and rounding would make everything too big or small.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv or [APP_NAME]))
    app.setOrganizationName(APP_NAME)
    app.setOrganizationDomain("netwright.dev")
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName("netwright")
    if not app.property("netwrightThemed"):
        # Once per application: a style sheet re-polishes every widget that exists.
        theme.apply_theme(app, theme.saved_theme(), remember=False)
        app.setWindowIcon(theme.icon("app"))
        app.setProperty("netwrightThemed", True)
    return app


def parse_args(args: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="netwright", description="Open the Netwright designer.")
    parser.add_argument("file", nargs="?", help="a graph file to open")
    parser.add_argument("--theme", choices=sorted(theme.THEMES), help="light or dark")
    parser.add_argument("--no-recovery", action="store_true", help="do not offer to restore unsaved work")
    known, _unknown = parser.parse_known_args(list(args))  # Qt's own flags (-platform ...) pass through
    return known


class _FirstPaint(QObject):
    """Calls back once, after the first paint of a widget (then removes itself)."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self.callback = callback
        self.widget = widget
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and obj is self.widget:
            self.widget.removeEventFilter(self)
            # Let this paint finish and reach the screen before doing the slow work.
            QTimer.singleShot(0, self.callback)
        return False


def after_first_paint(widget: QWidget, callback: Callable[[], None]) -> None:
    _FirstPaint(widget, callback)


def build(argv: Sequence[str] | None = None) -> tuple[QApplication, MainWindow]:
    """Create the application and the main window (shown), without entering the event loop.
    Returns (app, window). bench/bench_startup.py times exactly this."""
    argv = list(sys.argv if argv is None else argv)
    app = create_app(argv)
    args = parse_args(app.arguments()[1:] if len(app.arguments()) > 1 else argv[1:])
    if args.theme:
        theme.apply_theme(app, args.theme)
    from designer.main_window import MainWindow  # after the app exists: widgets need it

    window = MainWindow(deferred=True)  # the shell only: menus, toolbar, start page
    window.show()

    def after_paint() -> None:
        if not args.file:
            window.start_page.populate()  # the example gallery: what the user sees first
            window.start_page.repaint()
        window.finish_setup()  # model, analysis, canvas, panels
        # The file asked for opens first, so the recovery question (a modal dialog) comes
        # over the editor rather than an empty start page. Restoring then replaces it: it
        # was just opened, so nothing of it is lost.
        if args.file:
            window.file_actions.open(args.file)
        if not args.no_recovery and window.file_actions.offer_recovery() and args.file:
            # One document per window: say where the file asked for went.
            window.statusBar().showMessage(
                f"Restored your unsaved work; {os.path.basename(args.file)} was closed to make room: "
                "File > Open opens it again")

    after_first_paint(window.stack, after_paint)
    return app, window


def main(argv: Sequence[str] | None = None) -> int:
    refusal = unsupported_pyside(PySide6.__version__)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    app, _window = build(argv)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
