"""Quick-add box (Tab or double-click on empty canvas, as in Blender and Nuke): a search
line over every node type (name, aliases, category, docs) and the file's blocks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from designer.canvas import style
from graph_compiler.catalog import CATEGORY_ORDER, REGISTRY


@dataclass(frozen=True)
class Entry:
    type: str
    category: str
    aliases: tuple[str, ...] = ()
    doc: str = ""


def catalog_entries(blocks: Sequence[str] = ()) -> list[Entry]:
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    out = [Entry(s.type, s.category, s.aliases, s.doc) for s in REGISTRY]
    out.sort(key=lambda e: order.get(e.category, len(order)))
    out += [Entry(b, "Blocks", ("block", "network"), f"the {b} network as one node") for b in blocks]
    return out


def search(entries: list[Entry], text: str) -> list[Entry]:
    """Entries matching every word of ``text``, best first: exact name, name prefix,
    name substring, alias, category, docs."""
    words = text.lower().split()
    if not words:
        return list(entries)
    scored: list[tuple[int, int, Entry]] = []
    for i, e in enumerate(entries):
        name = e.type.lower()
        aliases = " ".join(e.aliases).lower()
        total = 0
        for w in words:
            if name == w:
                s = 0
            elif name.startswith(w):
                s = 1
            elif w in name:
                s = 2
            elif w in aliases:
                s = 3
            elif w in e.category.lower():
                s = 4
            elif w in e.doc.lower():
                s = 5
            else:
                break
            total += s
        else:
            scored.append((total, i, e))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [e for _, _, e in scored]


_CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1
_MAX_ROWS = 12


class _EntryDelegate(QStyledItemDelegate):
    """The type name in the normal text colour after a category swatch, and the category
    muted at the right: coloured names were hard to read (amber on white)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        category = str(index.data(_CATEGORY_ROLE) or "")
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        r = option.rect
        group = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        painter.setPen(QColor(option.palette.color(group)))
        painter.drawText(r.adjusted(0, 0, -8, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, category)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), 22))


_swatches: dict[str, QIcon] = {}


def swatch(category: str) -> QIcon:
    """A small rounded square in the category's colour (the canvas's node colour)."""
    key = f"{category}|{style.is_dark()}"
    icon = _swatches.get(key)
    if icon is None:
        pm = QPixmap(20, 20)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(style.category_color(category))
        p.drawRoundedRect(3, 3, 14, 14, 3, 3)
        p.end()
        pm.setDevicePixelRatio(2.0)
        icon = _swatches[key] = QIcon(pm)
    return icon


class QuickAdd(QFrame):
    chosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entries: list[Entry] = []
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add node: type to search…")
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(_EntryDelegate(self.list))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.setFixedWidth(300)
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self.accept())

    def open_at(self, global_pos: QPoint, entries: list[Entry]) -> None:
        self.entries = entries
        self.edit.clear()
        self._filter("")
        self._fit_size()
        screen = QGuiApplication.screenAt(global_pos) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(global_pos, self.size())
        # The whole box on screen: near the bottom or right edge it opens up or to the left.
        x = min(global_pos.x(), area.right() - self.width())
        y = global_pos.y() if global_pos.y() + self.height() <= area.bottom() else global_pos.y() - self.height()
        self.move(max(area.left(), x), max(area.top(), y))
        self.show()
        self.raise_()
        self.activateWindow()
        self.edit.setFocus()

    def _filter(self, text: str) -> None:
        self.list.clear()
        for e in search(self.entries, text)[:200]:
            item = QListWidgetItem(e.type)
            item.setData(Qt.ItemDataRole.UserRole, e.type)
            item.setData(_CATEGORY_ROLE, e.category)
            item.setIcon(swatch(e.category))
            item.setToolTip(e.doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        if self.isVisible():
            self._fit_size()

    def _fit_size(self) -> None:
        """As tall as its rows (up to a dozen), so two matches are not lost in a tall box;
        the top edge stays put while typing."""
        rows = max(1, min(self.list.count(), _MAX_ROWS))
        row_h = self.list.sizeHintForRow(0) if self.list.count() else 22
        list_h = rows * row_h + 2 * self.list.frameWidth() + 2
        self.list.setFixedHeight(list_h)
        self.adjustSize()

    def current_type(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def accept(self) -> None:
        t = self.current_type()
        self.hide()
        if t:
            self.chosen.emit(t)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.accept()
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)
