"""Fixtures shared by the test modules.

Qt and torch are imported inside the fixtures, not here, so modules that need neither
(and the checks that a command never imports Qt or torch) stay free of them.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Qt tests run without a display; set before any test module imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if TYPE_CHECKING:
    from designer.main_window import MainWindow
    from designer.model import DocumentModel


def cnn_path() -> str:
    from graph_compiler.examples import example_path

    return str(example_path("cnn_digits"))


def dispose(w: MainWindow) -> None:
    """Close and really delete a window: closed-but-alive windows from earlier tests would
    make every later style-sheet change re-polish all of their widgets."""
    import shiboken6

    if shiboken6.isValid(w):
        w.prompts.unsaved = lambda _name: "discard"
        w.close()
        shiboken6.delete(w)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models train fastest, and least noisily on a shared CI machine, on one thread.
    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: object) -> Path:
    """An application with its settings, recovery folder and thumbnail cache in ``tmp_path``."""
    from PySide6.QtCore import QSettings

    from designer.app import create_app

    monkeypatch.setenv("NETWRIGHT_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setenv("NETWRIGHT_NO_THUMBNAIL_CACHE", "1")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    create_app()
    return tmp_path


@pytest.fixture
def window(env: Path) -> Iterator[MainWindow]:
    """A shown main window on its start page; unsaved changes are discarded and any error
    dialog fails the test."""
    from designer.main_window import MainWindow

    w = MainWindow()
    w.prompts.unsaved = lambda _name: "discard"
    w.prompts.error = lambda title, text: pytest.fail(f"unexpected error dialog: {title}: {text}")
    w.show()
    yield w
    dispose(w)


@pytest.fixture
def cnn_window(window: MainWindow) -> MainWindow:
    """``window`` with the CNN example open and analysed."""
    assert window.file_actions.open(cnn_path())
    window.model.analyze_now()
    return window


@pytest.fixture
def model(env: Path) -> DocumentModel:
    """A DocumentModel holding the CNN example, analysed."""
    from designer.model import DocumentModel

    m = DocumentModel()
    m.load(cnn_path())
    m.analyze_now()
    return m
