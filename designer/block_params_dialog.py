"""Network ▸ Block Parameters…: a table of a network's block parameters (name, kind,
default), like a module's constructor arguments.

Rows are added and removed freely; problems (an empty, duplicate, non-identifier or
reserved name, a default that is not of its kind) are listed under the table naming
their row, and OK stays disabled until there are none. OK applies the whole table as one
undo step: a renamed row renames the parameter's references and the values its uses
pass (designer/block_params.py). Cancel changes nothing. A row whose parameter a node
still refers to cannot be removed; the "Used by" column says which nodes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.block_params import KINDS, Row, check_rows, format_default, kind_of, parse_default, references

if TYPE_CHECKING:
    from designer.model import DocumentModel

NAME, KIND, DEFAULT, USED = range(4)
ORIGIN = Qt.ItemDataRole.UserRole  # on the name cell: the declared name the row started as


class BlockParamsDialog(QDialog):
    def __init__(self, model: DocumentModel, network: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.network = model, network
        self.setWindowTitle(f"Block parameters of {network}")
        net = model.doc.network(network)
        assert net is not None  # the caller opens the dialog for an existing network
        self._refs = references(net, set(net.params))
        uses = [f"{o.name}/{n.id}" for o in model.doc.networks for n in o.nodes if n.type == network]
        intro = QLabel(
            f"Like a module's constructor arguments: inside {network}, a node parameter set to "
            '{"param": NAME} takes the value each block node passes (or the default). '
            + (f"Used by {len(uses)} block node{'s' * (len(uses) != 1)} ({', '.join(uses[:4])}"
               f"{', …' if len(uses) > 4 else ''}); renaming a parameter keeps their values."
               if uses else f"No block node uses {network} yet."))
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Name", "Type", "Default", "Used by"])
        self.table.verticalHeader().setVisible(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(USED, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(NAME, 140)
        header.resizeSection(KIND, 90)
        header.resizeSection(DEFAULT, 140)
        for name, default in net.params.items():
            self._append(name, name, kind_of(default), format_default(default))
        self.table.itemChanged.connect(lambda _item: self.validate())
        self.add_button = QPushButton("&Add")
        self.add_button.setToolTip("Add a parameter")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setToolTip("Remove the selected parameters (not one that a node still uses)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.problems = QLabel()
        self.problems.setObjectName("fieldError")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.table, 1)
        lay.addLayout(row_buttons)
        lay.addWidget(self.problems)
        lay.addWidget(self.buttons)
        self.resize(640, 420)
        self._note = ""
        self.validate()

    # ------------------------------------------------------------ rows

    def _append(self, origin: str | None, name: str, kind: str, text: str) -> int:
        r = self.table.rowCount()
        blocker = self.table.blockSignals(True)
        self.table.insertRow(r)
        name_item = QTableWidgetItem(name)
        name_item.setData(ORIGIN, origin)
        self.table.setItem(r, NAME, name_item)
        self.table.setItem(r, DEFAULT, QTableWidgetItem(text))
        used = self._refs.get(origin or "", [])
        used_item = QTableWidgetItem(", ".join(used) if used else "—")
        used_item.setFlags(used_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        used_item.setToolTip("\n".join(used) if used else "no node refers to it")
        self.table.setItem(r, USED, used_item)
        combo = QComboBox()
        combo.addItems(list(KINDS))
        combo.setCurrentText(kind)
        combo.currentTextChanged.connect(lambda k, c=combo: self._kind_changed(c, k))
        self.table.setCellWidget(r, KIND, combo)
        self.table.blockSignals(blocker)
        self._lock_default(r, kind)
        return r

    def cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        assert item is not None  # every row has its name, default and "used by" items
        return item

    def kind_combo(self, row: int) -> QComboBox:
        combo = self.table.cellWidget(row, KIND)
        assert isinstance(combo, QComboBox)
        return combo

    def add_row(self) -> int:
        taken = {self.rows()[i].name.strip() for i in range(self.table.rowCount())}
        i = 1
        while f"param{i}" in taken:
            i += 1
        r = self._append(None, f"param{i}", "int", "0")
        self.table.setCurrentCell(r, NAME)
        self.table.editItem(self.cell(r, NAME))
        self._note = ""
        self.validate()
        return r

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()} or
                      ({self.table.currentRow()} if self.table.currentRow() >= 0 else set()), reverse=True)
        kept: list[str] = []
        for r in rows:
            origin = self.cell(r, NAME).data(ORIGIN)
            if origin in self._refs:
                kept.append(f"{origin!r} is used by {', '.join(self._refs[origin])}")
            else:
                self.table.removeRow(r)
        self._note = ("Not removed: " + "; ".join(reversed(kept)) + ". Set those parameters to values "
                      "first (in the inspector).") if kept else ""
        self.validate()

    def _kind_changed(self, combo: QComboBox, kind: str) -> None:
        r = next(i for i in range(self.table.rowCount()) if self.table.cellWidget(i, KIND) is combo)
        item = self.cell(r, DEFAULT)
        blocker = self.table.blockSignals(True)
        if kind == "bool" and parse_default("bool", item.text())[1]:
            item.setText("false")
        elif kind == "float" and not parse_default("int", item.text())[1]:
            item.setText(format_default(float(item.text())))
        elif kind == "int":
            value, bad = parse_default("float", item.text())
            if not bad and float(value).is_integer():
                item.setText(str(int(value)))
        self.table.blockSignals(blocker)
        self._lock_default(r, kind)
        self.validate()

    def _lock_default(self, r: int, kind: str) -> None:
        """A "none" default has no text to edit."""
        item = self.cell(r, DEFAULT)
        blocker = self.table.blockSignals(True)
        if kind == "none":
            item.setText("")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setToolTip("null: the parameter has no default value")
        else:
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip({"list": "numbers like 3, 3, or JSON like [1.5, \"a\"]",
                             "bool": "true or false"}.get(kind, ""))
        self.table.blockSignals(blocker)

    # ------------------------------------------------------------ result

    def rows(self) -> list[Row]:
        out = []
        for r in range(self.table.rowCount()):
            name = self.cell(r, NAME)
            out.append(Row(name.data(ORIGIN), name.text(), self.kind_combo(r).currentText(),
                           self.cell(r, DEFAULT).text()))
        return out

    def declaration(self) -> tuple[dict[str, Any], dict[str, str], list[str]]:
        """(declaration, renames old -> new, problems naming their rows)."""
        return check_rows(self.rows())

    def validate(self) -> list[str]:
        problems = self.declaration()[2]
        lines = [*problems, *([self._note] if self._note else [])]
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        return problems

    def apply(self) -> None:
        """OK: the table as one undo step (nothing when it is unchanged)."""
        params, renames, problems = self.declaration()
        if problems:
            return
        refused: list[str] = []
        self.model.message.connect(refused.append)
        try:
            done = self.model.set_block_params(self.network, params, renames)
        finally:
            self.model.message.disconnect(refused.append)
        if not done:
            self._note = "\n".join(refused)
            self.validate()
            return
        self.accept()
