"""The start page: New / Open, recent files, and a gallery of the bundled examples.

The gallery is filled after the window's first paint (``populate`` is called from a
zero-delay timer by the main window), so reading the example files and drawing their
thumbnails never delays start-up.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QTextLayout, QTextLine, QTextOption
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from designer import theme

if TYPE_CHECKING:
    from graph_compiler.examples import ExampleInfo

THUMB = QSize(224, 116)
_PATH_ROLE = Qt.ItemDataRole.UserRole
_TITLE_ROLE = Qt.ItemDataRole.UserRole + 1
_BLURB_ROLE = Qt.ItemDataRole.UserRole + 2
_CARD_INSET = 14  # the card's margin + padding (base.qss: margin 6px, padding 8px)
_BLURB_LINES = 3


class _CardDelegate(QStyledItemDelegate):
    """An example card: the style sheet draws the card and the thumbnail; the title goes
    below in bold and the description under it, muted, wrapped to three lines."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(style.ControlElement.CE_ItemViewItem, opt, painter, widget)
        r = QRectF(option.rect).adjusted(_CARD_INSET, 0, -_CARD_INSET, -_CARD_INSET)
        r.setTop(option.rect.top() + _CARD_INSET + THUMB.height() + 10)
        painter.save()
        title_font = QFont(option.font)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        title = str(index.data(_TITLE_ROLE) or "")
        fm = painter.fontMetrics()
        painter.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         fm.elidedText(title, Qt.TextElideMode.ElideRight, int(r.width())))
        r.setTop(r.top() + fm.height() + 3)
        painter.setFont(option.font)
        painter.setPen(QColor(option.palette.color(QPalette.ColorRole.PlaceholderText)))
        _draw_wrapped(painter, r, str(index.data(_BLURB_ROLE) or ""), _BLURB_LINES)
        painter.restore()


def _draw_wrapped(painter: QPainter, rect: QRectF, text: str, max_lines: int) -> None:
    """Centred lines, at most ``max_lines``; the last one ends in an ellipsis if cut."""
    fm = painter.fontMetrics()
    layout = QTextLayout(text, painter.font())
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    lines: list[QTextLine] = []
    while len(lines) < max_lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(rect.width())
        lines.append(line)
    layout.endLayout()
    y = rect.top()
    for i, line in enumerate(lines):
        chunk = text[line.textStart():line.textStart() + line.textLength()].strip()
        if i == len(lines) - 1 and line.textStart() + line.textLength() < len(text):
            chunk = fm.elidedText(text[line.textStart():].strip(), Qt.TextElideMode.ElideRight, int(rect.width()))
        painter.drawText(QRectF(rect.left(), y, rect.width(), fm.height()), Qt.AlignmentFlag.AlignHCenter, chunk)
        y += fm.height()


def _examples() -> list[ExampleInfo]:
    """The bundled examples (imported here, not at the top: the window paints first)."""
    from graph_compiler.examples import list_examples

    return list_examples()


class StartPage(QWidget):
    newRequested = Signal()
    browseRequested = Signal()  # "Open…": show a file dialog
    openRequested = Signal(str)  # a recent file or an example, by path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        title = QLabel("Netwright")
        title.setObjectName("startTitle")
        subtitle = QLabel("Design neural networks as graphs; take away PyTorch code.")
        subtitle.setObjectName("muted")
        subtitle.setWordWrap(True)
        new_btn = QPushButton(theme.icon("new"), "  New network")
        new_btn.setObjectName("primary")
        open_btn = QPushButton(theme.icon("open"), "  Open…")
        new_btn.clicked.connect(self.newRequested)
        open_btn.clicked.connect(self.browseRequested)
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.itemActivated.connect(self._open_item)
        self.recent.itemClicked.connect(self._open_item)
        self.no_recent = QLabel("Files you open or save appear here.")
        self.no_recent.setObjectName("muted")
        self.no_recent.setWordWrap(True)

        left = QVBoxLayout()
        left.setSpacing(8)
        left.addWidget(title)
        left.addWidget(subtitle)
        left.addSpacing(12)
        left.addWidget(new_btn)
        left.addWidget(open_btn)
        left.addSpacing(8)
        left.addWidget(self._heading("Recent"))
        left.addWidget(self.no_recent)
        left.addWidget(self.recent, 1)
        left.addStretch(0)  # takes the space while the recent list is hidden
        left_box = QWidget()
        left_box.setLayout(left)
        left_box.setFixedWidth(260)

        self.gallery = QListWidget()
        self.gallery.setObjectName("exampleGallery")
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(THUMB)
        self.gallery.setGridSize(QSize(THUMB.width() + 2 * _CARD_INSET + 8, THUMB.height() + 112))
        self.gallery.setItemDelegate(_CardDelegate(self.gallery))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setWordWrap(True)
        self.gallery.setSpacing(4)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.gallery.itemActivated.connect(self._open_item)
        self.gallery.itemClicked.connect(self._open_item)
        right = QVBoxLayout()
        right.addWidget(self._heading("Examples"))
        right.addWidget(self.gallery, 1)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 28, 24, 16)
        outer.setSpacing(28)
        outer.addWidget(left_box)
        outer.addLayout(right, 1)
        self._populated = False
        self._last_open: tuple[str, float] = ("", 0.0)
        theme.manager().changed.connect(self._on_theme)

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text.upper())
        label.setObjectName("startHeading")
        return label

    # ------------------------------------------------------------ content

    def populate(self) -> None:
        """Fill the examples gallery (idempotent; cheap after the first time)."""
        if self._populated:
            return
        self._populated = True
        # Imported here: the catalog and the file format are not needed for the first paint.
        from designer.panels.thumbnails import thumbnail_for_file

        ratio = self.devicePixelRatioF() or 1.0
        for ex in _examples():
            pm = thumbnail_for_file(str(ex.path), THUMB, ratio)
            first_sentence = ex.description.split(". ")[0].rstrip(".")
            item = QListWidgetItem(f"{ex.title}\n{first_sentence}" if first_sentence else ex.title)
            item.setData(_TITLE_ROLE, ex.title)
            item.setData(_BLURB_ROLE, first_sentence)
            if pm is not None:
                item.setIcon(pm)
            item.setToolTip(f"<b>{ex.title}</b><p>{ex.description}</p><p style='color:gray'>{ex.path.name}</p>")
            item.setData(_PATH_ROLE, str(ex.path))
            item.setSizeHint(self.gallery.gridSize() - QSize(8, 8))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.gallery.addItem(item)

    def example_paths(self) -> list[str]:
        return [str(self.gallery.item(i).data(_PATH_ROLE)) for i in range(self.gallery.count())]

    def set_recent(self, paths: Sequence[str]) -> None:
        self.recent.clear()
        for path in paths:
            p = Path(path)
            missing = not p.exists()
            item = QListWidgetItem(theme.icon("network"), p.name + ("  (missing)" if missing else ""))
            item.setToolTip(str(p))
            item.setData(_PATH_ROLE, str(p))
            if missing:
                item.setForeground(self.palette().placeholderText())
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.no_recent.setVisible(not paths)

    def recent_paths(self) -> list[str]:
        return [str(self.recent.item(i).data(_PATH_ROLE)) for i in range(self.recent.count())]

    def _open_item(self, item: QListWidgetItem) -> None:
        # Cards open on a single click; a double-click also emits itemActivated, which
        # must not open the same file a second time.
        path = item.data(_PATH_ROLE)
        now = time.monotonic()
        if not path or (path == self._last_open[0] and now - self._last_open[1] < 0.8):
            return
        self._last_open = (path, now)
        self.openRequested.emit(os.fspath(path))

    def _on_theme(self, _name: str) -> None:
        # Thumbnails use theme colours: redraw them (the cache is keyed by theme).
        if self._populated:
            self._populated = False
            self.gallery.clear()
            self.populate()
