"""Edit, View and Network menu commands: they read the current tab's selection and call
the model's edit methods (one undo step each). No widget edits the document itself."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog

if TYPE_CHECKING:
    from designer.main_window import MainWindow


class EditCommands:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.snap_to_grid = bool(QSettings().value("canvas/snap", True, type=bool))

    @property
    def model(self) -> Any:
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

    def copy(self) -> None:
        net, ids = self._selection()
        if net and ids:
            QGuiApplication.clipboard().setText(self.model.copy_json(net, ids))

    def cut(self) -> None:
        net, ids = self._selection()
        if net and ids:
            self.copy()
            self.model.remove_nodes(net, ids)

    def paste(self) -> None:
        net, view = self.w.current_network(), self.w.current_view()
        if net and view is not None:
            new = self.model.paste_json(net, QGuiApplication.clipboard().text())
            if new:
                view.select_ids(new)

    def duplicate(self) -> None:
        net, ids = self._selection()
        view = self.w.current_view()
        if net and ids and view is not None:
            new = self.model.duplicate(net, ids)
            if new:
                view.select_ids(new)

    def delete_selected(self) -> None:
        net, ids = self._selection()
        if net and ids:
            self.model.remove_nodes(net, ids)

    def select_all(self) -> None:
        net, view = self.w.current_network(), self.w.current_view()
        if net and view is not None:
            view.select_ids([n.id for n in self.model.doc.network(net).nodes])

    def rename_selected(self) -> None:
        """F2: edit the selected node's label (inline on the canvas when it offers that,
        else in the inspector); with no single node selected, rename the network."""
        net, ids = self._selection()
        view = self.w.current_view()
        if net and len(ids) == 1 and view is not None and callable(getattr(view, "rename", None)):
            view.rename(ids[0])
        elif net and len(ids) == 1:
            dock = self.w.docks["inspector"]
            dock.show()
            dock.raise_()
            self.w.inspector.label_edit.setFocus()
            self.w.inspector.label_edit.selectAll()
        elif net:
            self.rename_network()

    # ------------------------------------------------------------ view

    def auto_layout(self) -> None:
        net, view = self.w.current_network(), self.w.current_view()
        if net is None or view is None or self.w.on_start_page():
            return
        if callable(getattr(view, "auto_layout", None)):
            view.auto_layout()  # the canvas knows its real node sizes
        else:
            self.model.auto_layout(net)
        from designer.main_window import call_soon

        call_soon(view, view.fit_all)

    def set_snap(self, on: bool) -> None:
        self.snap_to_grid = on
        QSettings().setValue("canvas/snap", on)
        for view in self.w.views.values():
            self.apply_snap(view)

    def apply_snap(self, view: Any) -> None:
        # Not in the CanvasView contract (docs/designer-api.md); used when the canvas has it.
        setter = getattr(view, "set_snap_to_grid", None) or getattr(view, "set_snap", None)
        if callable(setter):
            setter(self.snap_to_grid)

    # ------------------------------------------------------------ networks

    def add_network(self) -> None:
        suggest = getattr(self.model, "suggest_block_name", None)
        name, ok = QInputDialog.getText(self.w, "Add network", "Name of the new network:",
                                        text=suggest() if callable(suggest) else "Network")
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

    def remove_network(self) -> None:
        net = self.w.current_network()
        if net is not None:
            self.model.remove_network(net)

    def group_selected(self) -> None:
        net, ids = self._selection()
        view = self.w.current_view()
        if net and ids and view is not None:
            bid = self.model.group_into_block(net, ids)
            if bid:
                view.select_ids([bid])

    def ungroup_selected(self) -> None:
        net, ids = self._selection()
        if net and len(ids) == 1:
            self.model.ungroup(net, ids[0])
        elif net:
            self.model.message.emit("select one block node to ungroup")
