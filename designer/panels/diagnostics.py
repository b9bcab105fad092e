"""The Diagnostics panel: every problem in the document, all networks at once.

Clicking a row emits ``locate(network, node_id)``; the main window switches to that
network's tab, selects the node and centres it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer import theme

if TYPE_CHECKING:
    from designer.model import DocumentModel

_NET_ROLE = Qt.ItemDataRole.UserRole
_NODE_ROLE = Qt.ItemDataRole.UserRole + 1


class DiagnosticsPanel(QWidget):
    locate = Signal(str, str)  # network, node id ("" when the problem is the network's)
    countChanged = Signal(int, int)  # errors, warnings

    def __init__(self, model: DocumentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["", "Where", "Problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 28)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.empty = QLabel("No problems: the graph is valid.", self)
        self.empty.setObjectName("muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.empty)
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.itemActivated.connect(self._on_clicked)
        model.analysisUpdated.connect(self.refresh)
        model.documentReset.connect(self.refresh)
        theme.manager().changed.connect(self._on_theme)
        self.refresh()

    def _on_theme(self, _name: str) -> None:
        self.refresh()  # severity icons are themed

    def refresh(self) -> None:
        diags = list(self.model.analysis.diagnostics)
        # Errors first, then by network and node, so the list reads top-down like a compiler's.
        diags.sort(key=lambda d: (d.severity != "error", d.network, d.node or ""))
        self.tree.clear()
        icons = {"error": theme.icon("error"), "warning": theme.icon("warning")}
        items = []
        for d in diags:
            where = d.network + (f" / {d.node}" if d.node else "")
            if d.param:
                where += f" · {d.param}"
            item = QTreeWidgetItem(["", where, d.message])
            item.setIcon(0, icons.get(d.severity, icons["warning"]))
            item.setToolTip(0, d.severity)
            item.setToolTip(2, d.message)
            item.setData(0, _NET_ROLE, d.network)
            item.setData(0, _NODE_ROLE, d.node or "")
            items.append(item)
        self.tree.addTopLevelItems(items)
        errors = sum(1 for d in diags if d.severity == "error")
        self.tree.setVisible(bool(diags))
        self.empty.setVisible(not diags)
        self.countChanged.emit(errors, len(diags) - errors)

    def count(self) -> int:
        return self.tree.topLevelItemCount()

    def entries(self) -> list[tuple[str, str, str]]:
        """(network, node, message) per row, in display order (for tests and tooling)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            assert item is not None  # i < topLevelItemCount()
            out.append((str(item.data(0, _NET_ROLE)), str(item.data(0, _NODE_ROLE)), item.text(2)))
        return out

    def activate_row(self, row: int) -> None:
        item = self.tree.topLevelItem(row)
        if item is not None:
            self.tree.setCurrentItem(item)
            self._on_clicked(item, 0)

    def _on_clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        self.locate.emit(str(item.data(0, _NET_ROLE)), str(item.data(0, _NODE_ROLE)))
