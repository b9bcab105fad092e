"""Guard against PySide6 6.12's stolen references to ``None`` (and ``True``/``False``).

Measured here (PySide6 6.12.0, CPython 3.11): every call of a void Qt method from Python
(``item.setHidden(True)``, ``label.setText(...)``, ``widget.update()``...) returns ``None``
without taking a reference to it, so each call steals one reference of ``None``. ``None``
starts with a few thousand references, so after a few thousand such calls CPython aborts
with "Fatal Python error: none_dealloc". (designer/qtfix.py covers the same bug for the
``True`` returned by ``Signal.emit``.)

The fix is the one CPython 3.12 made for everybody: the singletons are immortal. Here we
give them a refcount so large (2**40) that no program can steal it down to zero. They are
never freed anyway, so this changes nothing else. On 3.12+ they are immortal already and
this is a no-op.
"""
from __future__ import annotations

import ctypes
import sys

_PINNED = False
_HUGE = 1 << 40


def pin_singletons() -> None:
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    if hasattr(sys, "gettotalrefcount"):  # a debug build: PyObject's layout differs
        return
    _PINNED = True
    for obj in (None, True, False):
        # ob_refcnt is the first field of every PyObject (a Py_ssize_t) in release builds.
        cell = ctypes.c_ssize_t.from_address(id(obj))
        if cell.value < _HUGE:
            cell.value += _HUGE


pin_singletons()
