"""DocumentModel: the one place the document changes (see docs/designer-api.md).

Edit methods check first and refuse user mistakes with a ``message`` (never an exception),
then push exactly one QUndoCommand. Commands change the Document and call ``notify_*``
here; views and panels update from the signals. Analysis is lazy and runs outside the
commands: an edit only records which nodes it touched and marks the analysis stale;
reading ``analysis`` brings it up to date, walking only the touched nodes and what their
new results reach, and a zero-delay timer emits ``analysisUpdated`` once per burst of
edits. While that signal is delivered, ``changed_nodes(network)`` says which nodes' results
may differ, so views refresh only those.
"""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoStack

from designer import block_params, blocks, clipboard
from graph_compiler import layout
from designer.commands import (
    AddItemsCommand,
    EdgeKey,
    MacroCommand,
    MoveNodesCommand,
    RemoveItemsCommand,
    RenameNetworkCommand,
    SetLabelCommand,
    SetParamCommand,
    SwapNetworksCommand,
)
from designer.model_files import FileOps, default_document
from designer.ops import (
    IdAllocator,
    NetIndex,
    PortInfo,
    Refusal,
    check_connection,
    node_ports,
    starting_params,
)
from graph_compiler.analysis import ERROR, Analysis, Analyzer, Diagnostic
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.errors import DocumentError

Pos = tuple[float, float]


def _jsonable(value: Any) -> Any:
    """Tuples become lists (what a file would hold); raises for non-JSON values."""
    text = json.dumps(value, allow_nan=False)
    return json.loads(text)


class DocumentModel(FileOps, QObject):
    documentReset = Signal()
    networksChanged = Signal()
    networkRenamed = Signal(str, str)  # addition: (old, new) so an open tab can follow
    nodesChanged = Signal(str, list)
    edgesChanged = Signal(str)
    analysisUpdated = Signal()
    dirtyChanged = Signal(bool)
    pathChanged = Signal(str)
    message = Signal(str)

    def __init__(self, doc: Document | None = None, path: str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc: Document = doc or default_document()
        self.path: str | None = path
        # The last training run of this document (designer.training.results.TrainedResult,
        # kept as a plain object: the document layer does not import the training layer).
        # It lives as long as this model holds this document: loading another drops it.
        self.trained: object | None = None
        self.undo_stack = QUndoStack(self)
        self._analyzer = Analyzer()
        self._analysis: Analysis | None = None
        # Edited since the last analysis: {network: node ids}; None after edits that
        # replace networks wholesale (then everything is re-checked).
        self._pending: dict[str, set[str]] | None = None
        # What the analyses since the last analysisUpdated changed (None: anything).
        self._unannounced: dict[str, set[str]] | None = None
        self._indexes: dict[str, NetIndex] = {}
        self._unsaved_load = False
        self._was_dirty = False
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(0)
        self._emit_timer.timeout.connect(self.analyze_now)
        # A bound slot, not a lambda: Qt drops it when the model dies, before the stack's
        # own destructor emits cleanChanged.
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    # ------------------------------------------------------------ state

    @property
    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = self._run_analysis(self.doc, self._pending)
            self._pending = {}
            changed = self._analysis.changed
            if changed is None or self._unannounced is None:
                self._unannounced = None
            else:
                for net, ids in changed.items():
                    self._unannounced.setdefault(net, set()).update(ids)
        return self._analysis

    def changed_nodes(self, network: str) -> set[str] | None:
        """While ``analysisUpdated`` is delivered: the nodes of ``network`` whose shapes,
        counts or diagnostics may have changed since the previous emission (None: any)."""
        if self._unannounced is None:
            return None
        return self._unannounced.get(network, set())

    def analysis_if_ready(self) -> Analysis | None:
        """The analysis if it is up to date, without computing it (addition)."""
        return self._analysis

    def analyze_now(self) -> Analysis:
        """Bring the analysis up to date and emit analysisUpdated (tests call this)."""
        self._emit_timer.stop()
        result = self.analysis
        self.analysisUpdated.emit()
        self._unannounced = {}
        return result

    def _run_analysis(self, doc: Document, changes: dict[str, set[str]] | None = None) -> Analysis:
        try:
            return self._analyzer.analyze(doc, changes)
        except Exception as exc:  # noqa: BLE001 - a bug must not take the editor down
            diag = Diagnostic(ERROR, doc.networks[0].name if doc.networks else "", None,
                              f"internal analysis error: {type(exc).__name__}: {exc}")
            return Analysis([diag], {}, None)

    def is_dirty(self) -> bool:
        return self._unsaved_load or not self.undo_stack.isClean()

    @Slot(bool)
    def _on_clean_changed(self, _clean: bool) -> None:
        self._check_dirty()

    def _check_dirty(self) -> None:
        dirty = self.is_dirty()
        if dirty != self._was_dirty:
            self._was_dirty = dirty
            self.dirtyChanged.emit(dirty)

    def network(self, name: str) -> Network | None:
        return self.doc.network(name)

    def index(self, network: str) -> NetIndex:
        """Adjacency for a network (addition; the canvas uses it for ports and checks)."""
        idx = self._indexes.get(network)
        if idx is None:
            net = self.doc.network(network)
            idx = NetIndex.build(net) if net is not None else NetIndex({}, {}, {})
            self._indexes[network] = idx
        return idx

    def ports(self, network: str, node_id: str) -> PortInfo:
        """Port names of a node (addition); variadic nodes show one spare input."""
        idx = self.index(network)
        node = idx.nodes.get(node_id)
        if node is None:
            return PortInfo((), ())
        return node_ports(self.doc, node, idx.ins.get(node_id, []), idx.outs.get(node_id, []))

    # ------------------------------------------------------------ notifications (commands)

    def notify_changed(self, network: str, node_ids: list[str], edges: bool, analyze: bool = True,
                       structure: bool | None = None) -> None:
        """``structure`` (default: ``edges``): nodes were added or removed, or wires changed,
        so the adjacency index is rebuilt; a param edit keeps it."""
        if edges if structure is None else structure:
            self._indexes.pop(network, None)
        if analyze or edges:
            if self._pending is not None:
                self._pending.setdefault(network, set()).update(node_ids)
            self._stale()
        self.nodesChanged.emit(network, list(node_ids))
        if edges:
            self.edgesChanged.emit(network)

    def notify_networks_swapped(self, old: list[Network], new: list[Network]) -> None:
        self._indexes.clear()
        self._pending = None
        self._stale()
        self.networksChanged.emit()
        old_by = {n.name: n for n in old}
        for net in new:
            before = old_by.get(net.name)
            if before is not None and before is not net:
                ids = list(dict.fromkeys([n.id for n in before.nodes] + [n.id for n in net.nodes]))
                self.nodesChanged.emit(net.name, ids)
                self.edgesChanged.emit(net.name)

    def notify_network_renamed(self, old: str, new: str, touched: dict[str, list[str]]) -> None:
        self._indexes.clear()
        self._pending = None
        self._stale()
        self.networkRenamed.emit(old, new)
        self.networksChanged.emit()
        for net, ids in touched.items():
            self.nodesChanged.emit(net, ids)

    def _stale(self) -> None:
        self._analysis = None
        self._emit_timer.start()

    def _refuse(self, text: str) -> None:
        self.message.emit(text)

    def _net(self, network: str) -> Network | None:
        net = self.doc.network(network)
        if net is None:
            self._refuse(f"there is no network called {network!r}")
        return net

    # ------------------------------------------------------------ node edits

    def add_node(self, network: str, type_name: str, pos: Pos, params: dict[str, Any] | None = None,
                 connect_from: tuple[str, int] | None = None) -> str | None:
        net = self._net(network)
        if net is None:
            return None
        spec = REGISTRY.get(type_name)
        if spec is None:
            if self.doc.network(type_name) is None:
                self._refuse(f"unknown node type {type_name!r}")
                return None
            inner = {b.name for b in clipboard.used_blocks(self.doc, [Node("_", type_name)])}
            if network in inner:
                self._refuse(f"{type_name} cannot go into {network}: it would contain itself")
                return None
        start = starting_params(spec) if spec is not None else {}
        try:
            start.update(_jsonable(params or {}))
        except (TypeError, ValueError) as exc:
            self._refuse(f"bad parameters for {type_name}: {exc}")
            return None
        nid = IdAllocator(self.index(network).nodes).new(type_name)
        node = Node(nid, type_name, start, (float(pos[0]), float(pos[1])))
        edges: list[Edge] = []
        if connect_from is not None:
            src, sp = connect_from
            # Check against the network as it will be, with the new node in it.
            trial = NetIndex.build(Network(net.name, [*net.nodes, node], net.edges))
            why = check_connection(self.doc, net, trial, src, sp, nid, 0)
            if why is None:
                edges.append(Edge(src, nid, sp, 0))
            else:
                self._refuse(f"added {nid} without a wire: {why.message}")
        self.undo_stack.push(AddItemsCommand(self, network, [node], edges, f"Add {nid}"))
        return nid

    def remove_nodes(self, network: str, ids: list[str]) -> None:
        net = self._net(network)
        if net is None:
            return
        present = [i for i in dict.fromkeys(ids) if i in self.index(network).nodes]
        if present:
            text = f"Delete {present[0]}" if len(present) == 1 else f"Delete {len(present)} nodes"
            self.undo_stack.push(RemoveItemsCommand(self, network, present, [], text))

    def move_nodes(self, network: str, positions: dict[str, Pos], text: str = "Move") -> None:
        net = self._net(network)
        if net is None:
            return
        nodes = self.index(network).nodes
        old = {i: nodes[i].pos for i in positions if i in nodes}
        new = {i: (float(p[0]), float(p[1])) for i, p in positions.items() if i in nodes}
        if any(old[i] != new[i] for i in new):
            self.undo_stack.push(MoveNodesCommand(self, network, old, new, text))

    def set_param(self, network: str, node_id: str, name: str, value: Any) -> None:
        net = self._net(network)
        node = net.node(node_id) if net else None
        if node is None:
            if net is not None:
                self._refuse(f"there is no node {node_id!r} in {network}")
            return
        if value is not None:
            try:
                value = _jsonable(value)
            except (TypeError, ValueError):
                self._refuse(f"{node_id}.{name}: {value!r} is not a value a file can hold")
                return
        same = (name not in node.params if value is None else
                name in node.params and json.dumps(node.params[name]) == json.dumps(value))
        if same:
            return
        self.undo_stack.push(SetParamCommand(self, network, node_id, name, value))

    def set_label(self, network: str, node_id: str, label: str) -> None:
        net = self._net(network)
        node = net.node(node_id) if net else None
        if node is not None and node.label != label.strip():
            self.undo_stack.push(SetLabelCommand(self, network, node_id, label.strip()))

    # ------------------------------------------------------------ wires

    def check_connection(self, network: str, src: str, src_port: int, dst: str, dst_port: int) -> Refusal | None:
        """Typed version of can_connect (addition): Refusal(kind, message) or None."""
        net = self.doc.network(network)
        if net is None:
            return Refusal("no_such_network", f"there is no network called {network!r}")
        return check_connection(self.doc, net, self.index(network), src, src_port, dst, dst_port)

    def can_connect(self, network: str, src: str, src_port: int, dst: str, dst_port: int) -> str | None:
        why = self.check_connection(network, src, src_port, dst, dst_port)
        return None if why is None else why.message

    def connect(  # type: ignore[override]  # the model's wiring API; QObject.connect is never used on it
            self, network: str, src: str, src_port: int, dst: str, dst_port: int) -> bool:
        why = self.check_connection(network, src, src_port, dst, dst_port)
        if why is not None:
            self._refuse(f"cannot connect: {why.message}")
            return False
        edge = Edge(src, dst, src_port, dst_port)
        self.undo_stack.push(AddItemsCommand(self, network, [], [edge], f"Connect {src} -> {dst}"))
        return True

    def disconnect(  # type: ignore[override]  # the model's wiring API, like connect
            self, network: str, edges: list[EdgeKey]) -> None:
        net = self._net(network)
        if net is None:
            return
        keys = {tuple(k) for k in edges}
        present = [e.key for e in net.edges if e.key in keys]
        if present:
            self.undo_stack.push(RemoveItemsCommand(self, network, [], present, "Disconnect"))

    # ------------------------------------------------------------ clipboard

    def copy_json(self, network: str, ids: list[str]) -> str:
        net = self.doc.network(network)
        return clipboard.copy_json(self.doc, net, ids) if net is not None else ""

    def paste_json(self, network: str, text: str, offset: Pos = (30.0, 30.0),
                   at: Pos | None = None, command_text: str = "Paste") -> list[str]:
        """``at`` (addition) puts the pasted group's top-left corner there instead of offsetting."""
        net = self._net(network)
        if net is None:
            return []
        try:
            new_nodes, new_edges, new_ties, missing = clipboard.prepare_paste(
                self.doc, net, set(self.index(network).nodes), text, offset, at)
        except DocumentError as exc:
            self._refuse(str(exc))
            return []
        add = AddItemsCommand(self, network, new_nodes, new_edges, command_text, new_ties)
        if missing:
            swap = SwapNetworksCommand(self, [*self.doc.networks, *missing], "add blocks")
            self.undo_stack.push(MacroCommand([swap, add], command_text))
        else:
            self.undo_stack.push(add)
        return [n.id for n in new_nodes]

    def duplicate(self, network: str, ids: list[str]) -> list[str]:
        if not ids:
            return []
        return self.paste_json(network, self.copy_json(network, ids), command_text="Duplicate")

    # ------------------------------------------------------------ blocks and layout

    def suggest_block_name(self) -> str:
        """A free block name, 'Block1', 'Block2', ... (addition)."""
        i = 1
        while self.doc.network(f"Block{i}") is not None:
            i += 1
        return f"Block{i}"

    def group_into_block(self, network: str, ids: list[str], block_name: str | None = None) -> str | None:
        net = self._net(network)
        if net is None:
            return None
        try:
            nets, bid = blocks.group(self.doc, net, ids, block_name or self.suggest_block_name(),
                                     self.analysis)
        except blocks.BlockError as exc:
            self._refuse(str(exc))
            return None
        self.undo_stack.push(SwapNetworksCommand(self, nets, f"Group into {nets[-1].name}"))
        return bid

    def ungroup(self, network: str, node_id: str) -> bool:
        net = self._net(network)
        if net is None:
            return False
        try:
            nets, _ids = blocks.ungroup(self.doc, net, node_id)
        except blocks.BlockError as exc:
            self._refuse(str(exc))
            return False
        self.undo_stack.push(SwapNetworksCommand(self, nets, f"Ungroup {node_id}"))
        return True

    def auto_layout(self, network: str, sizes: dict[str, layout.Size] | None = None,
                    view: tuple[float, float] | None = layout.DEFAULT_VIEW) -> None:
        """``sizes`` (addition) lets the canvas pass its real node sizes; ``view`` the size
        of the canvas it will be read in (a long chain wraps into bands that fit it)."""
        net = self._net(network)
        if net is None or not net.nodes:
            return
        if sizes is None:
            sizes = {}
            for n in net.nodes:
                p = self.ports(network, n.id)
                sizes[n.id] = (layout.NODE_W, layout.node_height(len(p.inputs), len(p.outputs)))
        pos = layout.layered_layout([n.id for n in net.nodes],
                                   [(e.src, e.dst, e.src_port, e.dst_port) for e in net.edges], sizes,
                                   view=view)
        self.move_nodes(network, pos, text="Auto layout")

    # ------------------------------------------------------------ networks

    def add_network(self, name: str) -> str:
        """Adds an empty network; a taken or bad name gets a free one ('Network2')."""
        base = name.strip() or "Network"
        cand, i = base, 1
        while blocks.check_block_name(self.doc, cand) is not None:
            i += 1
            cand = f"{base}{i}"
            if i > 10_000:
                cand = self.suggest_block_name()
                break
        self.undo_stack.push(SwapNetworksCommand(self, [*self.doc.networks, Network(cand)], f"Add network {cand}"))
        return cand

    def rename_network(self, old: str, new: str) -> bool:
        new = new.strip()
        if self._net(old) is None:
            return False
        if new == old:
            return True
        problem = blocks.check_block_name(self.doc, new)
        if problem:
            self._refuse(f"cannot rename {old}: {problem}")
            return False
        self.undo_stack.push(RenameNetworkCommand(self, old, new))
        return True

    def set_block_params(self, network: str, params: dict[str, Any],
                         renames: dict[str, str] | None = None) -> bool:
        """Declare ``network``'s block parameters (name -> default), renaming ``renames``
        (old -> new: references inside and the values its block nodes pass follow);
        one undo step. A bad name or default, or removing a parameter a node still uses,
        is refused with a message naming it."""
        net = self._net(network)
        if net is None:
            return False
        try:
            params = _jsonable(params)
        except (TypeError, ValueError) as exc:
            self._refuse(f"block parameters of {network}: {exc}")
            return False
        renames = {k: v for k, v in (renames or {}).items() if k != v}
        if list(params.items()) == list(net.params.items()) and not renames:
            return True
        nets, problem = block_params.apply(self.doc, net, params, renames)
        if problem:
            self._refuse(f"block parameters of {network}: {problem}")
            return False
        self.undo_stack.push(SwapNetworksCommand(self, nets, f"Block parameters of {network}"))
        return True

    def remove_network(self, name: str) -> None:
        net = self._net(name)
        if net is None:
            return
        if len(self.doc.networks) == 1:
            self._refuse("a file needs at least one network")
            return
        users = [f"{o.name}/{n.id}" for o in self.doc.networks if o is not net for n in o.nodes if n.type == name]
        if users:
            self.message.emit(f"removed {name}; it is still used by {', '.join(users[:3])}")
        self.undo_stack.push(SwapNetworksCommand(self, [n for n in self.doc.networks if n is not net],
                                                 f"Remove network {name}"))
