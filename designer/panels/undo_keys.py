"""The document's Undo / Redo keys in the inspector's fields.

A line edit or spin box with the focus claims Ctrl+Z and Ctrl+Shift+Z for its own text
undo (Qt's shortcut override), so after an edit committed with Enter those keys did
nothing to the document. This filter hands the keys on to the window's Undo / Redo
actions whenever the field holds no uncommitted text; while the user is still typing,
the field keeps them and undoes its own typing, as any text field does.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from designer.actions import BY_NAME


def _document_keys() -> list[QKeySequence]:
    return [s for name in ("undo", "redo") for s in BY_NAME[name].sequences()]


class DocumentUndoKeys(QObject):
    """Event filter for text fields whose edits are document commands. ``pending(field)``
    says whether the field shows text not yet committed to the document."""

    def __init__(self, pending: Callable[[QWidget], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = pending
        self._keys = _document_keys()

    def watch(self, field: QWidget) -> None:
        field.installEventFilter(self)
        if isinstance(field, QAbstractSpinBox):
            field.lineEdit().installEventFilter(self)  # the key may reach either

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        typed = QKeySequence(event.keyCombination())
        if not any(k.matches(typed) == QKeySequence.SequenceMatch.ExactMatch for k in self._keys):
            return False
        field = watched.parent() if isinstance(watched.parent(), QAbstractSpinBox) else watched
        if not isinstance(field, QWidget) or self._pending(field):
            return False  # still typing: the field undoes its own text
        event.ignore()  # not claimed: the shortcut goes to the window's action
        return True

