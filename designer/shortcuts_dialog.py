"""Help > Keyboard Shortcuts: a table generated from the command registry."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.actions import shortcut_rows


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows()
        self.table = QTableWidget(len(rows), 4, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Keys", "Works"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        # As wide as the columns need (nothing clipped), on any font; the rows scroll.
        m = lay.contentsMargins()
        self.table.resizeColumnsToContents()
        columns = header.length()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = (columns + max(bar, self.table.verticalScrollBar().sizeHint().width())
                 + 2 * self.table.frameWidth() + m.left() + m.right())
        self.table.setMinimumWidth(width - m.left() - m.right())
        self.resize(width, 560)
