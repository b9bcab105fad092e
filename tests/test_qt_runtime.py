"""The PySide6 the designer runs on: the supported releases need no reference-count patch,
and the one known-broken release is refused at start with a message naming it."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import PySide6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from designer import app


class _Pinger(QObject):
    ping = Signal()
    value = Signal(int)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True are immortal on 3.12+")
def test_qt_calls_and_emits_keep_their_references(qtbot) -> None:
    """PySide6 6.12.0 stole a reference to None on every void call and to True on every
    emit (CPython then aborts with none_dealloc / bool_dealloc). The installed release must
    not: the designer no longer patches it."""
    label = QLabel()
    qtbot.addWidget(label)
    pinger = _Pinger()
    received: list[int] = []
    pinger.value.connect(received.append)
    n = 4000
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(n):
        label.setText("x")  # a void method: returns None
        label.setHidden(False)
        pinger.ping.emit()
        pinger.value.emit(i)
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    assert len(received) == n
    for b, a in zip(before, after):
        assert b - a < n // 10, (PySide6.__version__, before, after)


def test_the_broken_release_is_refused_by_name(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    built: list[object] = []
    monkeypatch.setattr(app, "build", lambda argv: built.append(argv))
    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    assert app.main(["netwright"]) == 2
    assert built == []  # no window, no event loop
    err = capsys.readouterr().err
    assert "PySide6 6.12.0 is not supported" in err and "!=6.12.0" in err


def test_the_pin_and_the_refusal_agree() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    for version in app.BROKEN_PYSIDE:
        assert f"!={version}" in pyproject
    assert app.unsupported_pyside(PySide6.__version__) is None
    assert app.unsupported_pyside("6.11.3") is None
