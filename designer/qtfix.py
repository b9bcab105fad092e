"""Work around a PySide6 6.12 reference-count bug in ``SignalInstance.emit``.

Measured here (PySide6 6.12.0, CPython 3.11): every ``signal.emit(...)`` made from Python
returns ``True`` without taking a reference to it, so each emit steals one reference of
the ``True`` singleton. After a few thousand emits (any signal: ours, pyqtgraph's) CPython
aborts with "Fatal Python error: bool_dealloc". ``install()`` probes for the bug once and,
only when present, wraps ``emit`` to give the reference back. Idempotent and cheap;
safe on fixed PySide versions (the probe finds nothing and nothing is patched).

The same build also returns ``None`` from every void method (``painter.drawLine``,
``item.setPos``, ...) without a reference, which no wrapper here can fix: the canvas
aborts ("none_dealloc") within seconds of painting. PySide6 6.11.3 has neither bug, so
6.12.0 must be excluded in pyproject/constraints; ``install()`` warns when it sees it.
(CPython 3.12+ makes None/True/False immortal, which hides both bugs there.)

Imported by designer.model and designer.canvas, so any designer code that uses them is
covered; app start-up should call ``install()`` first thing as well.
"""
from __future__ import annotations

import ctypes
import sys
import warnings
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_installed = False
patched = False  # True when the bug was found and emit is wrapped


class _Probe(QObject):
    ping = Signal()


def _incref(obj: Any, times: int = 1) -> None:
    for _ in range(times):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def install() -> bool:
    """Patch emit if this PySide steals bool references; returns whether it did."""
    global _installed, patched
    if _installed:
        return patched
    _installed = True
    probe = _Probe()
    before_none = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    lost_none = before_none - sys.getrefcount(None)
    if lost_none >= 8:
        _incref(None, lost_none)
        warnings.warn("this PySide6 build drops a reference to None on every void call and "
                      "will crash the designer; install PySide6-Essentials 6.11.x (not 6.12.0)",
                      RuntimeWarning, stacklevel=2)
    n = 16
    before = (sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(n):
        probe.ping.emit()
    lost = (before[0] - sys.getrefcount(True), before[1] - sys.getrefcount(False))
    if lost[0] < n // 2 and lost[1] < n // 2:
        return False
    _incref(True, max(lost[0], 0))  # give back what the probe itself took
    _incref(False, max(lost[1], 0))
    original = SignalInstance.emit

    def emit(self: SignalInstance, *args: Any) -> Any:
        result = original(self, *args)
        if result is True or result is False:
            _incref(result)
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]
    patched = True
    return True


install()
