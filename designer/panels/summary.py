"""The Summary tab: per-node type, output shape, parameters and FLOPs, with totals.

One top-level row per network (the main network first) carrying its totals; a block
node counts its whole block, so the main network's total is the model's size. Rebuilt a
moment after analysis updates, and only while visible: a hidden table costs nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from graph_compiler.catalog import fmt_shape

if TYPE_CHECKING:
    from designer.model import DocumentModel

COLUMNS = ["Node", "Type", "Output shape", "Params", "FLOPs"]
_NET_ROLE = Qt.ItemDataRole.UserRole
_NODE_ROLE = Qt.ItemDataRole.UserRole + 1


def human(n: int) -> str:
    """1234 -> '1.23 K', 5_600_000 -> '5.6 M': FLOPs span too many magnitudes for digits."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


class SummaryPanel(QWidget):
    nodeActivated = Signal(str, str)  # network, node id

    def __init__(self, model: DocumentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(80)
        # Numbers stay next to their names instead of drifting to a far right edge.
        header.setStretchLastSection(False)
        for col in (3, 4):
            self.tree.headerItem().setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self._stale = True
        self.timer = QTimer(self, singleShot=True, interval=150)
        self.timer.timeout.connect(self._refresh_if_visible)
        model.analysisUpdated.connect(self._mark_stale)
        model.documentReset.connect(self._on_reset)
        self.tree.itemActivated.connect(self._on_activated)

    def _mark_stale(self) -> None:
        self._stale = True
        self.timer.start()

    def _on_reset(self) -> None:
        self.tree.clear()  # forget the old document's collapsed networks
        self._mark_stale()

    def _refresh_if_visible(self) -> None:
        # Not behind another tab of its dock group, which Qt still calls visible.
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.on_visibility(True)

    def on_visibility(self, visible: bool) -> None:
        """Shown, or its dock's tab brought forward. Through the timer: docks show every
        tab for a moment while they settle, and a 10,000-row table must not be built for a
        tab nobody ends up seeing."""
        if visible and self._stale:
            self.timer.start(0)

    def refresh(self) -> None:
        self._stale = False
        analysis = self.model.analysis
        doc = self.model.doc
        # Keep the user's collapsed networks collapsed across rebuilds; new ones open.
        tops = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        collapsed = {t.data(0, _NET_ROLE) for t in tops if t is not None and not t.isExpanded()}
        self.tree.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for index, net in enumerate(doc.networks):
            info = analysis.networks.get(net.name)
            known = info is not None and info.ok  # an invalid network's totals are unknown, not partial
            top = QTreeWidgetItem([net.name, "main network" if index == 0 else "network", "",
                                   f"{info.total_params:,}" if known and info else "?" if info else "",
                                   human(info.flops) if known and info else "?" if info else ""])
            if info is not None and not info.ok:
                for col in (3, 4):
                    top.setToolTip(col, "unknown: this network has errors (see Diagnostics)")
            top.setData(0, _NET_ROLE, net.name)
            for col in range(len(COLUMNS)):
                top.setFont(col, bold)
            self._align(top)
            self.tree.addTopLevelItem(top)
            if info is None:
                continue
            in_order = set(info.order)
            order = info.order + [n for n in info.nodes if n not in in_order]
            for node_id in order:
                node = info.nodes[node_id]
                shapes = node.output_shapes
                shape_text = "?" if shapes is None else ", ".join(fmt_shape(s) for s in shapes)
                inferred = node.outputs is not None
                row = QTreeWidgetItem([node_id, node.type, shape_text, f"{node.n_params:,}" if inferred else "?",
                                       human(node.flops) if inferred else "?"])
                row.setData(0, _NET_ROLE, net.name)
                row.setData(0, _NODE_ROLE, node_id)
                row.setToolTip(4, f"{node.flops:,} FLOPs (batch 1)")
                self._align(row)
                top.addChild(row)
            top.setExpanded(net.name not in collapsed)

    @staticmethod
    def _align(item: QTreeWidgetItem) -> None:
        for col in (3, 4):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def totals(self) -> dict[str, tuple[int | None, int | None]]:
        """{network: (params, flops)} from the current analysis (for tests and tooling);
        None for a network with errors."""
        analysis = self.model.analysis
        return {name: (info.total_params, info.flops) if info.ok else (None, None)
                for name, info in analysis.networks.items()}

    def _on_activated(self, item: QTreeWidgetItem, _col: int) -> None:
        node_id = item.data(0, _NODE_ROLE)
        if node_id:
            self.nodeActivated.emit(str(item.data(0, _NET_ROLE)), str(node_id))
