"""What the canvas's keyboard shortcuts and menu entries do to the selection. Each is one
model call (or one undo macro) and then selects the result; none touches the document."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

from designer.canvas.edge_item import EdgeItem
from designer.canvas.node_item import NodeItem

if TYPE_CHECKING:
    from designer.canvas.view import CanvasView


def selected_edges(view: CanvasView) -> list[tuple[str, int, str, int]]:
    return [it.key for it in view.scene().selectedItems() if isinstance(it, EdgeItem)]


def delete_selection(view: CanvasView) -> None:
    """Selected nodes (with their wires) and selected wires, as one undo step."""
    model, net = view.model, view.network
    ids = view.selected_ids()
    gone = set(ids)
    edges = [k for k in selected_edges(view) if k[0] not in gone and k[2] not in gone]
    if not ids and not edges:
        return
    model.undo_stack.beginMacro("Delete")
    try:
        if ids:
            model.remove_nodes(net, ids)
        if edges:
            model.disconnect(net, edges)
    finally:
        model.undo_stack.endMacro()


def select_all(view: CanvasView) -> None:
    view.scene().ensure_all()
    view.select_ids(list(view.scene().nodes))


def copy_selection(view: CanvasView) -> str:
    ids = view.selected_ids()
    if not ids:
        return ""
    text = view.model.copy_json(view.network, ids)
    QGuiApplication.clipboard().setText(text)
    view.paste_count = 0
    view.show_hint(f"copied {len(ids)} node{'s' if len(ids) > 1 else ''}")
    return text


def cut_selection(view: CanvasView) -> None:
    if copy_selection(view):
        delete_selection(view)


def paste(view: CanvasView) -> list[str]:
    text = QGuiApplication.clipboard().text()
    view.paste_count += 1
    step = 30.0 * view.paste_count
    ids = view.model.paste_json(view.network, text, offset=(step, step))
    if ids:
        view.select_ids(ids)
    return ids


def duplicate_selection(view: CanvasView) -> list[str]:
    ids = view.model.duplicate(view.network, view.selected_ids())
    if ids:
        view.select_ids(ids)
    return ids


def group_selection(view: CanvasView, name: str | None = None) -> str | None:
    bid = view.model.group_into_block(view.network, view.selected_ids(), name)
    if bid:
        view.select_ids([bid])
    return bid


def ungroup_selection(view: CanvasView) -> bool:
    blocks = [i for i in view.selected_ids() if view.scene().nodes[i].category == "Blocks"]
    if not blocks:
        view.model.message.emit("select a block node to ungroup")
        return False
    before = set(view.scene().nodes)
    view.model.undo_stack.beginMacro("Ungroup")
    try:
        results = [view.model.ungroup(view.network, b) for b in blocks]  # every one, no short cut
        ok = all(results)
    finally:
        view.model.undo_stack.endMacro()
    view.select_ids([i for i in view.scene().nodes if i not in before])
    return ok


def nudge(view: CanvasView, dx: float, dy: float) -> None:
    items = [it for it in view.scene().selectedItems() if isinstance(it, NodeItem)]
    if items:
        scene = view.scene()
        view.model.move_nodes(view.network, {it.node_id: (scene.doc_pos(it)[0] + dx, scene.doc_pos(it)[1] + dy)
                                             for it in items}, text="Nudge")
