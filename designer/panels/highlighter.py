"""A small Python syntax highlighter for the Code tab.

Generated code is plain, regular Python (no f-string nesting tricks), so a handful of
regular expressions plus a block state for triple-quoted strings covers it. Colours come
from the current theme and are rebuilt when the theme changes.
"""
from __future__ import annotations

import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from designer import theme

_BUILTINS = ("print", "sum", "len", "range", "super", "isinstance", "float", "int", "tuple",
             "list", "dict", "self", "None", "True", "False", "torch", "nn")
_IN_TRIPLE = 1  # block state: inside a """ string that continues on the next line


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._rules: list[tuple[re.Pattern[str], QTextCharFormat, int]] = []
        self._string = QTextCharFormat()
        self._comment = QTextCharFormat()
        self._build()
        theme.manager().changed.connect(self._on_theme)

    def _on_theme(self, _name: str) -> None:
        self._build()
        self.rehighlight()

    def _build(self) -> None:
        c = theme.colors()

        def fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.DemiBold)
            f.setFontItalic(italic)
            return f

        kw = [k for k in keyword.kwlist if k not in ("None", "True", "False")]
        self._rules = [
            (re.compile(r"\b(" + "|".join(kw) + r")\b"), fmt(c.keyword, bold=True), 0),
            (re.compile(r"\b(" + "|".join(_BUILTINS) + r")\b"), fmt(c.builtin), 0),
            (re.compile(r"\b(?:def|class)\s+([A-Za-z_]\w*)"), fmt(c.defname, bold=True), 1),
            (re.compile(r"\b\d+(?:\.\d*)?(?:e[-+]?\d+)?\b"), fmt(c.number), 0),
            (re.compile(r"@\w+"), fmt(c.builtin), 0),
        ]
        self._string = fmt(c.string)
        self._comment = fmt(c.comment, italic=True)

    def highlightBlock(self, text: str) -> None:
        for pattern, form, group in self._rules:
            for m in pattern.finditer(text):
                self.setFormat(m.start(group), m.end(group) - m.start(group), form)
        self._strings_and_comments(text)

    def _strings_and_comments(self, text: str) -> None:
        """Scan left to right so a '#' inside a string is not a comment and vice versa."""
        self.setCurrentBlockState(0)
        i = 0
        if self.previousBlockState() == _IN_TRIPLE:
            end = text.find('"""')
            if end < 0:
                self.setFormat(0, len(text), self._string)
                self.setCurrentBlockState(_IN_TRIPLE)
                return
            self.setFormat(0, end + 3, self._string)
            i = end + 3
        n = len(text)
        while i < n:
            ch = text[i]
            if ch == "#":
                self.setFormat(i, n - i, self._comment)
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                quote = text[i:i + 3]
                end = text.find(quote, i + 3)
                if end < 0:
                    self.setFormat(i, n - i, self._string)
                    self.setCurrentBlockState(_IN_TRIPLE)
                    return
                self.setFormat(i, end + 3 - i, self._string)
                i = end + 3
                continue
            if ch in "\"'":
                j = i + 1
                while j < n and text[j] != ch:
                    j += 2 if text[j] == "\\" else 1
                self.setFormat(i, min(j + 1, n) - i, self._string)
                i = j + 1
                continue
            i += 1
