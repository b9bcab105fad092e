"""The Inspector: the selected node's id, type, label, parameters, shapes and problems.

Editors are generated from the catalog's Params (designer/panels/param_editors.py). Every
edit goes through the model (``set_param`` / ``set_label``), so it is one undo step, and
the panel redraws from the model's signals, never from what it just typed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from designer import theme
from designer.canvas.style import category_color
from designer.panels.param_editors import MISSING, ParamEditor
from designer.panels.summary import human
from designer.panels.undo_keys import DocumentUndoKeys
from graph_compiler.analysis.blockparams import block_params
from graph_compiler.catalog import REGISTRY, fmt_shape

if TYPE_CHECKING:
    from designer.model import DocumentModel
    from graph_compiler.document import Node


def _section(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("sectionTitle")
    return label


class InspectorPanel(QWidget):
    openNetwork = Signal(str)  # a block node's network, to open in its tab

    def __init__(self, model: DocumentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.network: str | None = None
        self.node_id: str | None = None
        self.run: list[str] = []  # see set_target
        self.editors: dict[str, ParamEditor] = {}
        self._built_for: tuple[str, str, str, str] | None = None  # (network, id, type, block params)

        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.placeholder = QLabel("Select a node to see and edit its parameters.", self)
        self.placeholder.setObjectName("muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.scroll_area)
        self.scroll_area.hide()
        self.body: QWidget | None = None
        self.id_edit = QLineEdit()
        self.label_edit = QLineEdit()
        self._label_shown = ""  # the document's label the field last showed
        self.type_label = QLabel()
        self.doc_label = QLabel()
        self.stats: dict[str, QLabel] = {}
        self.problems = QLabel()
        self.undo_keys = DocumentUndoKeys(self._field_pending, self)

        model.nodesChanged.connect(self._on_nodes_changed)
        model.analysisUpdated.connect(self.refresh_values)
        model.documentReset.connect(self._on_reset)
        model.networksChanged.connect(self._on_networks_changed)

    # ------------------------------------------------------------ target

    def set_target(self, network: str | None, node_id: str | None, selected: int = 1,
                   run: list[str] | None = None) -> None:
        """Inspect one node (``selected``: how many are selected, for the placeholder text).
        ``run``: the nodes a folded "×N" node stands for (its first is ``node_id``): the
        output, parameter and FLOP figures are then the whole run's."""
        self.network, self.node_id = network, node_id
        self.run = list(run) if run and len(run) > 1 else []
        node = self._node()
        if node is None:
            self.network = self.node_id = None
            self._built_for = None
            self.scroll_area.hide()
            self.placeholder.setText(f"{selected} nodes selected: select one to edit it." if selected > 1
                                     else "Select a node to see and edit its parameters.")
            self.placeholder.show()
            return
        block = self.model.doc.network(node.type) if node.type not in REGISTRY else None
        declared = tuple(block.params.items()) if block is not None else ()
        host = self.model.doc.network(network or "")
        refs = tuple(host.params) if host is not None else ()
        key = (network or "", node.id, node.type, repr((declared, refs, self.run)))  # block params may change
        if key != self._built_for:
            self._build(node)
            self._built_for = key
        self.placeholder.hide()
        self.scroll_area.show()
        self.refresh_values()

    def _node(self) -> Node | None:
        if self.network is None or self.node_id is None:
            return None
        net = self.model.doc.network(self.network)
        return net.node(self.node_id) if net is not None else None

    def _on_nodes_changed(self, network: str, ids: list) -> None:
        if network == self.network and self.node_id in ids:
            self.set_target(self.network, self.node_id)  # rebuilds if the node went or changed type

    def _on_reset(self) -> None:
        self.set_target(None, None)

    def _on_networks_changed(self) -> None:
        if self.network is not None and self.model.doc.network(self.network) is None:
            self.set_target(None, None)
        elif self.network is not None:
            # A block's declared parameters may have changed (Block Parameters…) while the
            # node shown did not: set_target rebuilds the editors only if they differ.
            self.set_target(self.network, self.node_id)

    # ------------------------------------------------------------ building

    def _build(self, node: Any) -> None:
        body = QWidget()
        form = QFormLayout(body)
        form.setContentsMargins(10, 8, 10, 10)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        spec = REGISTRY.get(node.type)

        self.type_label = QLabel()
        self.type_label.setTextFormat(Qt.TextFormat.RichText)
        category = spec.category if spec else ("Blocks" if self.model.doc.network(node.type) else "")
        color = category_color(category).name()
        self.type_label.setText(f"<span style='color:{color}'>■</span> <b>{node.type}</b> "
                                f"<span style='color:gray'>{category}</span>")
        form.addRow("Type", self.type_label)
        self.id_edit = QLineEdit(node.id)
        self.id_edit.setReadOnly(True)
        self.id_edit.setToolTip("The node's id: unique in its network, used in generated code")
        form.addRow("Id", self.id_edit)
        self.label_edit = QLineEdit()
        self._label_shown = ""
        self.label_edit.setPlaceholderText("(none)")
        self.label_edit.editingFinished.connect(self._commit_label)
        self.undo_keys.watch(self.label_edit)
        form.addRow("Label", self.label_edit)
        self.doc_label = QLabel()
        self.doc_label.setObjectName("caption")
        self.doc_label.setWordWrap(True)
        if spec is not None:
            self.doc_label.setText(spec.doc)
        elif self.model.doc.network(node.type) is None:
            self.doc_label.setText(f"Unknown node type {node.type!r}: see Problems below.")
        else:  # a block: the network it stands for is one click away
            self.doc_label.setTextFormat(Qt.TextFormat.RichText)
            self.doc_label.setText(f"Uses the network <b>{_esc(node.type)}</b> as one node. "
                                   f"<a href='open'>Open {_esc(node.type)}</a>")
            self.doc_label.linkActivated.connect(lambda _l, n=node.type: self.openNetwork.emit(n))
        form.addRow(self.doc_label)
        if self.run:
            folded = QLabel(f"Folded: this node stands for {len(self.run)} uses of {_esc(node.type)} "
                            f"({_esc(', '.join(self.run))}); the figures below are all of them. "
                            f"Expand it to see each; the parameters here are {_esc(node.id)}'s.")
            folded.setObjectName("caption")
            folded.setWordWrap(True)
            form.addRow(folded)

        self.editors = {}
        block = self.model.doc.network(node.type) if spec is None else None
        params = spec.params if spec is not None else block_params(block.params) if block is not None else ()
        if params:
            form.addRow(_section("Parameters"))
            host = self.model.doc.network(self.network or "")
            refs = tuple(host.params) if host is not None else ()
            for p in params:
                editor = ParamEditor(p, refs=refs)
                editor.committed.connect(lambda value, name=p.name: self._commit_param(name, value))
                editor.editorBuilt.connect(self.undo_keys.watch)
                self.editors[p.name] = editor
                label = QLabel(p.name)
                label.setToolTip(editor.toolTip())
                form.addRow(label, editor)

        form.addRow(_section("Output"))
        self.stats = {}
        for key in ("shape", "params", "flops"):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.stats[key] = value
            form.addRow({"shape": "Shape", "params": "Params", "flops": "FLOPs"}[key], value)

        form.addRow(_section("Problems"))
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(self.problems)
        old = self.scroll_area.takeWidget()
        self.scroll_area.setWidget(body)
        if old is not None:
            old.deleteLater()
        self.body = body

    # ------------------------------------------------------------ values

    def refresh_values(self) -> None:
        node = self._node()
        if node is None or self.body is None:
            return
        typed = self.label_edit.text().strip()
        if typed != node.label and (not self.label_edit.hasFocus() or typed == self._label_shown):
            self.label_edit.setText(node.label)  # not while the user types another label
        if self.label_edit.text().strip() == node.label:
            self._label_shown = node.label
        analysis = self.model.analysis
        assert self.network is not None  # _node() found the node in it
        info = analysis.node(self.network, node.id)
        diags = analysis.for_node(self.network, node.id)
        diags = sorted(diags, key=lambda d: d.severity != "error")  # errors first, like Diagnostics
        by_param: dict[str, str] = {}
        for d in diags:
            if d.param and d.param not in by_param:
                by_param[d.param] = d.message
        for name, editor in self.editors.items():
            resolved = info.params.get(name, MISSING) if info is not None else MISSING
            editor.set_value(node.params.get(name, MISSING), resolved)
            editor.set_doc_error(by_param.get(name))
        if info is not None and info.outputs:
            infos = [i for i in (analysis.node(self.network, n) for n in self.run) if i is not None] or [info]
            out = infos[-1].outputs or info.outputs  # a folded run gives what its last use gives
            self.stats["shape"].setText("\n".join(fmt_shape(t.shape) + ("" if t.dtype == "float" else f"  ({t.dtype})")
                                                  for t in out))
            n_params, flops = sum(i.n_params for i in infos), sum(i.flops for i in infos)
            uses = f"  ({len(infos)} uses)" if len(infos) > 1 else ""
            self.stats["params"].setText(f"{n_params:,}{uses}")
            self.stats["flops"].setText(f"{human(flops)}  ({flops:,}){uses}")
        else:
            for label in self.stats.values():
                label.setText("—")
        c = theme.colors()
        if diags:
            rows = [f"<p style='margin:2px 0'><span style='color:{c.error if d.severity == 'error' else c.warning}'>"
                    f"{'●' if d.severity == 'error' else '▲'}</span> {_esc(d.message)}</p>" for d in diags]
            self.problems.setText("".join(rows))
        else:
            self.problems.setText(f"<span style='color:{c.muted}'>None</span>")

    def _field_pending(self, field: QWidget) -> bool:
        """Whether ``field`` holds text not yet committed (then Ctrl+Z undoes its typing)."""
        if field is self.label_edit:
            return self.label_edit.text().strip() != self._label_shown
        return any(e.editor is field and e.pending() for e in self.editors.values())

    def _commit_param(self, name: str, value: Any) -> None:
        if self.network is None or self.node_id is None:
            return
        self.model.set_param(self.network, self.node_id, name, value)

    def _commit_label(self) -> None:
        node = self._node()
        if node is None:
            return
        text = self.label_edit.text().strip()
        if text != node.label and self.network is not None:
            self.model.set_label(self.network, node.id, text)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
