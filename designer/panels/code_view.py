"""The Code tab: the generated PyTorch source, highlighted, following every edit.

Regeneration is debounced (~200 ms after the last analysis), so dragging a node or
typing in the inspector does not regenerate on every event, and lazy: while the tab is
hidden nothing is generated; showing it catches up. Only the lines that changed are
replaced in the editor, so the highlighter re-colours those alone. While the graph has errors
the last good code stays visible, greyed, under a banner listing the errors: the user
keeps a reference while fixing things instead of staring at an empty pane.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QShowEvent, QTextCursor, QTextOption
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from designer import theme
from designer.panels.highlighter import PythonHighlighter

if TYPE_CHECKING:
    from designer.model import DocumentModel

DEBOUNCE_MS = 200
_MAX_BANNER_LINES = 6


class CodePanel(QWidget):
    def __init__(self, model: DocumentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.banner = QLabel(self)
        self.banner.setObjectName("codeBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.hide()
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("codeView")
        self.editor.setReadOnly(True)
        self.editor.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(font)
        self.editor.setTabStopDistance(4 * self.editor.fontMetrics().horizontalAdvance(" "))
        self.highlighter = PythonHighlighter(self.editor.document())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor)
        self.last_good = ""
        self.stale = False
        self.pending = True
        self.timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.timer.timeout.connect(self._refresh_if_visible)
        model.analysisUpdated.connect(self.schedule)
        model.documentReset.connect(self._on_reset)
        theme.manager().changed.connect(self._on_theme)

    def _on_theme(self, _name: str) -> None:
        self._apply_stale_look()

    def _on_reset(self) -> None:
        self.last_good = ""  # another document's code is not a useful reference
        self.schedule()

    def schedule(self) -> None:
        self.pending = True
        if self.on_screen():
            self.timer.start()

    def on_screen(self) -> bool:
        """Visible and not behind another tab of its dock group (a tabbed dock that is
        not the current tab still counts as visible to Qt)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.on_visibility(True)

    def on_visibility(self, visible: bool) -> None:
        """Shown, or its dock's tab brought forward: catch up with the edits it skipped."""
        if visible and self.pending:
            self.timer.start(0)

    def _refresh_if_visible(self) -> None:
        if self.on_screen():  # a tab shown for a moment while docks settle: not yet
            self.refresh()

    def refresh(self) -> None:
        """Regenerate now (the timer calls this; tests may call it directly)."""
        self.timer.stop()
        self.timer.setInterval(DEBOUNCE_MS)
        self.pending = False
        source, error = self.model.generated_code()
        if error is None and source:
            self.last_good = source
            self.stale = False
            self.banner.hide()
            self._set_text(source)
        else:
            self.stale = True
            self.banner.setText(self._banner_text(error))
            self.banner.show()
            self._set_text(self.last_good)
        self._apply_stale_look()

    def _banner_text(self, error: str | None) -> str:
        errors = [d.format() for d in self.model.analysis.errors]
        if not errors and error:
            errors = [line.strip() for line in error.splitlines() if line.strip()]
        shown = errors[:_MAX_BANNER_LINES]
        more = len(errors) - len(shown)
        head = "The graph has errors; showing the last code that compiled." if self.last_good \
            else "The graph has errors; no code can be generated yet."
        lines = [head, *(f"• {e}" for e in shown)]
        if more > 0:
            lines.append(f"… and {more} more (see Diagnostics)")
        return "\n".join(lines)

    def _set_text(self, text: str) -> None:
        old = self.editor.toPlainText()
        if old == text:
            return
        bar = self.editor.verticalScrollBar()
        keep = bar.value()  # keep the reader's place across regenerations
        if not old:
            self.editor.setPlainText(text)
        else:
            _replace_changed_lines(self.editor, old, text)
        bar.setValue(min(keep, bar.maximum()))

    def _apply_stale_look(self) -> None:
        # Greyed, not hidden: still readable and copyable.
        self.editor.setStyleSheet(f"color: {theme.colors().muted};" if self.stale else "")
        want = None if self.stale else self.editor.document()
        if self.highlighter.document() is not want:
            self.highlighter.setDocument(want)

    def text(self) -> str:
        return self.editor.toPlainText()


def _replace_changed_lines(editor: QPlainTextEdit, old: str, new: str) -> None:
    """Replace only the lines between the common head and tail of ``old`` and ``new``:
    an edit changes a few lines of a long file, and re-setting all of it would lay out
    and re-highlight every line (seconds for a 10,000-node graph)."""
    if old == new:
        return
    a, b = old.split("\n"), new.split("\n")
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    doc = editor.document()
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()
    first = doc.findBlockByNumber(head)
    if head < len(a) - tail:  # old lines to replace
        last = doc.findBlockByNumber(len(a) - 1 - tail)
        cursor.setPosition(first.position())
        cursor.setPosition(last.position() + last.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText("\n".join(b[head:len(b) - tail]))
        if head >= len(b) - tail:  # nothing new in their place: drop the empty line too
            cursor.deletePreviousChar() if head > 0 else cursor.deleteChar()
    else:  # pure insertion before line ``head``
        cursor.setPosition(first.position() if first.isValid() else doc.characterCount() - 1)
        text = "\n".join(b[head:len(b) - tail])
        cursor.insertText(text + "\n" if first.isValid() else "\n" + text)
    cursor.endEditBlock()
