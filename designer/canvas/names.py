"""How node names and block parameters are shortened to fit a node: so that nodes stay
told apart. Imported models name nodes by module path (``transformer.wte``,
``transformer.wpe``): cut at the right, both read ``transformer.…``. A path drops its
leading components instead (``…wte``), a plain name loses its middle (both ends tell
names apart more often than the start alone), and a folded run keeps its ``×N``."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF

ELLIPSIS = "\u2026"


def elide_name(text: str, fm: QFontMetricsF, width: float) -> str:
    """``text`` if it fits in ``width``; else its last path components that fit after an
    ellipsis; else the text cut in the middle."""
    if fm.horizontalAdvance(text) <= width:
        return text
    parts = text.split(".")
    for k in range(1, len(parts)):
        tail = ELLIPSIS + ".".join(parts[k:])
        if fm.horizontalAdvance(tail) <= width:
            return tail
    return fm.elidedText(text, Qt.TextElideMode.ElideMiddle, width)


def elide_title(title: str, suffix: str, fm: QFontMetricsF, width: float) -> str:
    """A title with a suffix that is never cut (a folded run's `` ×N``)."""
    if not suffix:
        return elide_name(title, fm, width)
    return elide_name(title, fm, width - fm.horizontalAdvance(suffix)) + suffix
