"""The window-level commands of the Edit, View and Network menus (networks, snapping,
layout, renaming). What a command does to a canvas's selection (copy, delete, group...)
is in designer/canvas/edit_actions.py; designer/menus.py routes both to the actions."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QInputDialog

from designer.block_params_dialog import BlockParamsDialog

if TYPE_CHECKING:
    from designer.canvas.view import CanvasView
    from designer.main_window import MainWindow
    from designer.model import DocumentModel


class EditCommands:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.snap_to_grid = bool(QSettings().value("canvas/snap", True, type=bool))
        self.minimap = bool(QSettings().value("canvas/minimap", True, type=bool))

    @property
    def model(self) -> DocumentModel:
        self.w.finish_setup()  # a menu command in the first half second: build it now
        return self.w.model

    def _selection(self) -> tuple[str | None, list[str]]:
        view = self.w.current_view()
        return self.w.current_network(), (view.selected_ids() if view is not None else [])

    # ------------------------------------------------------------ nodes

    def add_node_at_center(self, type_name: str) -> None:
        net, view = self.w.current_network(), self.w.current_view()
        if net is None or view is None or self.w.on_start_page():
            return
        c = view.mapToScene(view.viewport().rect().center())
        nid = self.model.add_node(net, type_name, (c.x(), c.y()))
        if nid:
            view.select_ids([nid])

    def rename_selected(self) -> None:
        """F2: edit the selected node's label inline on the canvas; with no single node
        selected, rename the network."""
        net, ids = self._selection()
        view = self.w.current_view()
        if net and len(ids) == 1 and view is not None:
            view.rename(ids[0])
        elif net:
            self.rename_network()

    # ------------------------------------------------------------ view

    def set_snap(self, on: bool) -> None:
        self.snap_to_grid = on
        QSettings().setValue("canvas/snap", on)
        for view in self.w.views.values():
            self.apply_view_settings(view)

    def set_minimap(self, on: bool) -> None:
        self.minimap = on
        QSettings().setValue("canvas/minimap", on)
        for view in self.w.views.values():
            self.apply_view_settings(view)

    def apply_view_settings(self, view: CanvasView) -> None:
        view.set_snap(self.snap_to_grid)
        view.set_minimap_visible(self.minimap)

    # ------------------------------------------------------------ networks

    def add_network(self) -> None:
        name, ok = QInputDialog.getText(self.w, "Add network", "Name of the new network:",
                                        text=self.model.suggest_block_name())
        if ok and name.strip():
            created = self.model.add_network(name.strip())
            self.w.show_editor()
            if created in self.w.views:
                self.w.tabs.setCurrentWidget(self.w.views[created])

    def rename_network(self) -> None:
        net = self.w.current_network()
        if net is None:
            return
        name, ok = QInputDialog.getText(self.w, "Rename network", f"New name for {net}:", text=net)
        if ok and name.strip() and name.strip() != net:
            self.model.rename_network(net, name.strip())

    def block_params(self) -> BlockParamsDialog | None:
        """Opens the current network's Block Parameters dialog (window-modal; OK applies it)."""
        net = self.w.current_network()
        if net is None or self.model.doc.network(net) is None:
            return None
        dialog = BlockParamsDialog(self.model, net, self.w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def remove_network(self) -> None:
        net = self.w.current_network()
        if net is not None:
            self.model.remove_network(net)
