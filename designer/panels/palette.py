"""The palette: every node type by category, searchable, dragged onto the canvas.

A drag carries the mime type ``application/x-netwright-node`` whose data is the type
name (utf-8); CanvasView accepts it and asks the model to add the node. The "Blocks"
category lists the document's other networks, which can be used as nodes.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer import theme
from designer.canvas.style import category_color
from graph_compiler.catalog import CATEGORY_ORDER, REGISTRY, NodeSpec

MIME_TYPE = "application/x-netwright-node"
BLOCKS = "Blocks"
_TYPE_ROLE = Qt.ItemDataRole.UserRole
_SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


def node_mime_data(type_name: str) -> QMimeData:
    """What a palette drag carries (also used by tests to simulate a drop)."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


def tooltip_for(spec: NodeSpec) -> str:
    """Rich tooltip: the doc plus each parameter with its default or bounds."""
    rows = []
    for p in spec.params:
        extra = "inferred" if p.inferred else ("required" if p.required else f"default {p.default!r}")
        bounds = p.bounds_text()
        rows.append(f"<tr><td><code>{p.name}</code></td><td>{_esc(p.doc)}"
                    f"<span style='color:gray'> ({extra}{', ' + _esc(bounds) if bounds else ''})</span>"
                    f"</td></tr>")
    table = f"<table cellspacing=2>{''.join(rows)}</table>" if rows else ""
    return f"<b>{spec.type}</b> <i>{_esc(spec.category)}</i><p>{_esc(spec.doc)}</p>{table}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dot_icon(color: QColor, size: int = 12) -> QIcon:
    """A round category swatch, drawn at 1x and 2x so it is crisp on high-DPI screens."""
    icon = QIcon()
    for ratio in (1.0, 2.0):
        pm = QPixmap(round(size * ratio), round(size * ratio))
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        inset = 2 * ratio
        p.drawRoundedRect(QRectF(inset, inset, pm.width() - 2 * inset, pm.height() - 2 * inset),
                          3 * ratio, 3 * ratio)
        p.end()
        pm.setDevicePixelRatio(ratio)
        icon.addPixmap(pm)
    return icon



def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [c for c in (item.child(i) for i in range(item.childCount())) if c is not None]


class _PaletteTree(QTreeWidget):
    """A tree whose leaf items drag out as node types."""

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        for item in items:
            type_name = item.data(0, _TYPE_ROLE)
            if type_name:
                return node_mime_data(str(type_name))
        return QMimeData()


class PalettePanel(QWidget):
    """Search box + category tree. ``activated(type)`` on double-click / Enter."""

    activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.tree = _PaletteTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(12, 12))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(14)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._blocks: list[str] = []
        self._populate()
        self.search.textChanged.connect(self.apply_filter)
        self.search.returnPressed.connect(self._activate_first_visible)
        self.tree.itemActivated.connect(self._on_item_activated)
        theme.manager().changed.connect(self._on_theme)

    # ------------------------------------------------------------ content

    def _on_theme(self, _name: str) -> None:
        self._populate()  # category swatches follow the theme

    def _populate(self) -> None:
        self.tree.clear()
        self._categories.clear()
        by_cat = REGISTRY.categories()
        order = [c for c in CATEGORY_ORDER if c in by_cat or c == BLOCKS]
        order += sorted(c for c in by_cat if c not in order)
        for cat in order:
            top = QTreeWidgetItem(self.tree, [cat])
            top.setIcon(0, _dot_icon(category_color(cat)))
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not draggable, not selectable
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self._categories[cat] = top
            for spec in by_cat.get(cat, []):
                words = " ".join([spec.type, *spec.aliases, spec.doc, spec.category])
                self._add_leaf(top, spec.type, tooltip_for(spec), words)
        self._fill_blocks()
        self.tree.expandAll()
        self.apply_filter(self.search.text())

    def _add_leaf(self, parent: QTreeWidgetItem, type_name: str, tip: str, words: str) -> None:
        item = QTreeWidgetItem(parent, [type_name])
        item.setData(0, _TYPE_ROLE, type_name)
        item.setData(0, _SEARCH_ROLE, words.lower())
        item.setToolTip(0, tip)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDragEnabled)

    def set_blocks(self, names: Sequence[str]) -> None:
        """The document's networks that can be used as nodes in the current one."""
        names = list(names)
        if names == self._blocks:
            return
        self._blocks = names
        self._fill_blocks()
        self.apply_filter(self.search.text())

    def _fill_blocks(self) -> None:
        top = self._categories.get(BLOCKS)
        if top is None:
            return
        top.takeChildren()
        for name in self._blocks:
            tip = f"<b>{_esc(name)}</b> <i>Blocks</i><p>The network {_esc(name)!s} used as one node.</p>"
            self._add_leaf(top, name, tip, f"{name} block network subnetwork")
        top.setExpanded(True)

    # ------------------------------------------------------------ search

    def apply_filter(self, text: str) -> None:
        """Show node types whose name, aliases or doc contain every word typed."""
        words = text.lower().split()
        for top in self._categories.values():
            shown = 0
            for child in _children(top):
                hay = str(child.data(0, _SEARCH_ROLE) or "")
                match = all(w in hay for w in words)
                child.setHidden(not match)
                shown += match
            top.setHidden(shown == 0)
            if words and shown:
                top.setExpanded(True)

    def visible_types(self) -> list[str]:
        out = []
        for top in self._categories.values():
            if top.isHidden():
                continue
            for child in _children(top):
                if not child.isHidden():
                    out.append(str(child.data(0, _TYPE_ROLE)))
        return out

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        for top in self._categories.values():
            for child in _children(top):
                if child.data(0, _TYPE_ROLE) == type_name:
                    return child
        return None

    def _activate_first_visible(self) -> None:
        visible = self.visible_types()
        if visible:
            self.activated.emit(visible[0])

    def _on_item_activated(self, item: QTreeWidgetItem, _col: int) -> None:
        type_name = item.data(0, _TYPE_ROLE)
        if type_name:
            self.activated.emit(str(type_name))
