"""Quick-add box (Tab or double-click on empty canvas, as in Blender and Nuke): a search
line over every node type (name, aliases, category, docs) and the file's blocks."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from designer.canvas import style
from graph_compiler.catalog import CATEGORY_ORDER, REGISTRY


@dataclass(frozen=True)
class Entry:
    type: str
    category: str
    aliases: tuple[str, ...] = ()
    doc: str = ""


def catalog_entries(blocks: list[str] = ()) -> list[Entry]:  # type: ignore[assignment]
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
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(300, 340)
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self.accept())

    def open_at(self, global_pos: QPoint, entries: list[Entry]) -> None:
        self.entries = entries
        self.edit.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.edit.setFocus()

    def _filter(self, text: str) -> None:
        self.list.clear()
        for e in search(self.entries, text)[:200]:
            item = QListWidgetItem(f"{e.type}    {e.category}")
            item.setData(Qt.ItemDataRole.UserRole, e.type)
            item.setToolTip(e.doc)
            item.setForeground(style.category_color(e.category))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

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
