"""Fold and expand: how big models stay readable. View state only, never the document.

- A block node (a node whose type is another network) can be expanded in place: its item
  becomes a frame holding read-only items for the block's inner network, which can hold
  expanded blocks in turn. The frame's ports are the block's ports, so the outer wires
  stay where they are; the nodes after it and below it move aside on screen (only on
  screen: their positions in the file do not change).
- A run of repeated blocks (the same block type with the same parameter values chained
  N times, each feeding only the next) can be folded into its first node, drawn as "Type ×N", and expanded again.
- Inner layouts are computed when a block is first expanded (lazily, as Google's Model
  Explorer does), so a folded model of any size opens at the cost of its top level.

Nothing here is saved: a file opens with every block folded, and imported models (their
``meta`` has an ``import`` section) open with their repeated runs folded as well.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from designer.canvas.edge_item import EdgeItem, EdgeKey, node_obstacles
from designer.canvas.node_item import NodeItem
from designer.canvas.routing import LEAD, ROUTE_LIMIT
from graph_compiler.layout import DEFAULT_VIEW, HEADER_H, NODE_W, layered_layout
from graph_compiler.analysis import NetworkInfo
from graph_compiler.document import Network

if TYPE_CHECKING:
    from designer.canvas.scene import CanvasScene

PAD = 20.0  # frame margin around the inner network
SIDE = LEAD + 8.0  # left and right: a wire wrapping to the next inner band stays inside
Pos = tuple[float, float]
Path = tuple[str, ...]  # node ids from the top level down to an expanded block


@dataclass
class Frame:
    """The inner network shown inside an expanded block node."""

    network: str
    nodes: dict[str, NodeItem] = field(default_factory=dict)
    edges: dict[EdgeKey, EdgeItem] = field(default_factory=dict)


def repeat_runs(net: Network, is_block: Callable[[str], bool], min_len: int = 2) -> list[list[str]]:
    """Maximal chains of ``min_len`` or more nodes of one block type with equal params
    (the same block parameter values), each feeding only the next and fed only by the one
    before, in chain order."""
    types = {n.id: n.type for n in net.nodes}
    params = {n.id: n.params for n in net.nodes}
    outs: dict[str, set[str]] = {}
    ins: dict[str, set[str]] = {}
    for e in net.edges:
        if e.src in types and e.dst in types:
            outs.setdefault(e.src, set()).add(e.dst)
            ins.setdefault(e.dst, set()).add(e.src)

    def follower(nid: str) -> str | None:
        nxt = outs.get(nid, set())
        if len(nxt) != 1:
            return None
        (m,) = nxt
        same = types[m] == types[nid] and params[m] == params[nid]
        return m if same and ins.get(m) == {nid} and m != nid else None

    has_prev = {m for n in types if is_block(types[n]) for m in [follower(n)] if m is not None}
    runs: list[list[str]] = []
    seen: set[str] = set()
    for n in net.nodes:
        if n.id in seen or n.id in has_prev or not is_block(n.type):
            continue
        run = [n.id]
        nxt = follower(n.id)
        while nxt is not None and nxt not in seen and nxt not in run:
            run.append(nxt)
            nxt = follower(nxt)
        seen.update(run)
        if len(run) >= min_len:
            runs.append(run)
    return runs


def inner_positions(net: Network, sizes: dict[str, tuple[float, float]]) -> dict[str, Pos]:
    """Where the inner nodes go, from (0, 0): the block's own layout (as its tab shows it)
    when it has one, else a layered layout (an importer may leave every node at 0, 0)."""
    pos = {n.id: n.pos for n in net.nodes}
    if len(set(pos.values())) < len(pos):
        pos = layered_layout([n.id for n in net.nodes],
                             [(e.src, e.dst, e.src_port, e.dst_port) for e in net.edges], sizes)
    if not pos:
        return {}
    x0 = min(p[0] for p in pos.values())
    y0 = min(p[1] for p in pos.values())
    return {nid: (p[0] - x0, p[1] - y0) for nid, p in pos.items()}


def make_room(positions: dict[str, Pos], grown: dict[str, tuple[float, float, float]]) -> dict[str, Pos]:
    """On-screen offsets so that expanded nodes do not cover their neighbours, keeping a
    layout wrapped into bands readable. ``grown``: {node: (extra width, extra height,
    folded height)}. The frame's band grows: a node beside it (its top above the folded
    frame's bottom) and to its right moves right by the extra width; every node below
    the folded frame, in any column, moves down by the extra height (frames side by side
    in one band move what is below them by the tallest one's, not by their sum). Nodes
    in later bands therefore keep their places relative to each other. (A node counts as
    beside the frame when its top is within a folded height of the frame's top.)"""
    shift: dict[str, list[float]] = {nid: [0.0, 0.0] for nid in positions}
    for big, (dw, _dh, h0) in grown.items():
        bx, by = positions[big]
        for nid, (x, y) in positions.items():
            if nid != big and x > bx and by - h0 < y < by + h0:
                shift[nid][0] += dw
    # Frames whose folded rows overlap form one band; each band pushes down once.
    bands: list[tuple[float, float]] = []  # (bottom of the folded row, extra height)
    for big in sorted(grown, key=lambda n: positions[n][1]):
        _dw, dh, h0 = grown[big]
        top, bottom = positions[big][1], positions[big][1] + h0
        if bands and top < bands[-1][0]:
            bands[-1] = (max(bands[-1][0], bottom), max(bands[-1][1], dh))
        else:
            bands.append((bottom, dh))
    for nid, (_x, y) in positions.items():
        for bottom, dh in bands:
            if y >= bottom:
                shift[nid][1] += dh
    return {nid: (d[0], d[1]) for nid, d in shift.items() if d[0] or d[1]}


class Folding:
    """The fold state of one canvas and the items it adds (frames, ×N runs)."""

    def __init__(self, scene: CanvasScene) -> None:
        self.scene = scene
        self.expanded: set[Path] = set()
        self.runs: dict[str, list[str]] = {}  # first node -> the run it stands for
        self.shift: dict[str, Pos] = {}  # top-level node -> on-screen offset (both below)
        self.closed: dict[str, Pos] = {}  # offsets of the top level re-laid out without folded runs' slots
        self._layouts: dict[str, dict[str, Pos]] = {}  # block network -> inner layout

    # ------------------------------------------------------------ queries

    def is_block(self, type_name: str) -> bool:
        return self.scene.model.doc.network(type_name) is not None

    def place(self, nid: str, pos: Pos) -> Pos:
        dx, dy = self.shift.get(nid, (0.0, 0.0))
        return (pos[0] + dx, pos[1] + dy)

    def frames(self) -> Iterable[tuple[Path, NodeItem]]:
        """Every expanded item, outer before inner."""
        stack: list[tuple[Path, NodeItem]] = [((nid,), it) for nid, it in self.scene.nodes.items()
                                              if it.frame is not None]
        while stack:
            path, item = stack.pop(0)
            yield path, item
            assert item.frame is not None
            stack.extend((path + (nid,), it) for nid, it in item.frame.nodes.items() if it.frame is not None)

    def use_info(self, path: Path) -> NetworkInfo | None:
        """The network of the expanded block at ``path`` as that use makes it (a block with
        parameters is analysed per use); None for a plain block, which has one face."""
        analysis = self.scene.model.analysis
        info = analysis.node(self.scene.network, path[0])
        for nid in path[1:]:
            if info is None:
                return None
            net = info.use if info.use is not None else analysis.networks.get(info.type)
            info = net.nodes.get(nid) if net is not None else None
        return info.use if info is not None else None

    # ------------------------------------------------------------ expand / fold

    def expand(self, paths: Iterable[Path]) -> list[Path]:
        self.scene.ensure_all()  # a frame makes room by moving other nodes: all need items
        done = []
        for path in paths:
            item = self.item_at(path)
            if item is None:
                continue
            if item.repeat:
                self.unfold_run(item.node_id)
                done.append(path)
            elif self.is_block(item.type_name) and path not in self.expanded:
                if len(path) > 1 and item.type_name in self._chain(path):
                    continue  # a block inside itself: refused by analysis, not drawn forever
                self.expanded.add(path)
                done.append(path)
        if done:
            self.refresh()
        return done

    def fold(self, paths: Iterable[Path]) -> list[Path]:
        done = []
        for path in paths:
            inside = {p for p in self.expanded if p[:len(path)] == path}
            if inside:
                self.expanded -= inside
                done.append(path)
        if done:
            self.refresh()
        return done

    def item_at(self, path: Path) -> NodeItem | None:
        item = self.scene.nodes.get(path[0])
        for nid in path[1:]:
            if item is None or item.frame is None:
                return None
            item = item.frame.nodes.get(nid)
        return item

    def _chain(self, path: Path) -> list[str]:
        """Block types of the frames enclosing ``path``."""
        out = []
        for i in range(1, len(path)):
            it = self.item_at(path[:i])
            if it is not None:
                out.append(it.type_name)
        return out

    # ------------------------------------------------------------ ×N runs

    def fold_runs(self, among: set[str] | None = None, min_len: int = 2) -> list[str]:
        """Fold runs of repeated blocks (those touching ``among``, or all); returns the
        first node of each run folded."""
        net = self.scene.model.doc.network(self.scene.network)
        if net is None:
            return []
        folded = []
        for run in repeat_runs(net, self.is_block, min_len):
            if among is not None and not among.intersection(run):
                continue
            if run[0] in self.runs or any((nid,) in self.expanded for nid in run):
                continue
            self._show_run(run, True)
            self.runs[run[0]] = run
            folded.append(run[0])
        if folded:
            self.close_gaps()
            self.scene.runs_changed(folded)
        return folded

    def unfold_run(self, first: str) -> bool:
        run = self.runs.pop(first, None)
        if run is None:
            return False
        self._show_run(run, False)
        self.close_gaps()
        self.scene.runs_changed([first])
        return True

    def unfold_all_runs(self) -> None:
        firsts = list(self.runs)
        if not firsts:
            return
        for first in firsts:
            self._show_run(self.runs.pop(first), False)
        self.close_gaps()  # once, not once per run
        self.scene.runs_changed(firsts)

    def _show_run(self, run: list[str], folded: bool) -> None:
        nodes = self.scene.nodes
        items = [nodes[n] for n in run if n in nodes]
        if len(items) != len(run):
            return
        first, last = items[0], items[-1]
        members = set(run)
        first.repeat = list(run) if folded else []
        first.update()
        for it in items[1:]:
            it.setVisible(not folded)
        for it in items:
            for e in list(it.edges):
                inside = e.key[0] in members and e.key[2] in members
                if inside:
                    e.setVisible(not folded)
                elif e.key[0] == last.node_id and it is last:
                    # The run's way out leaves from the folded node's output on screen; the
                    # wire stays in the last node's list too (its label is that node's).
                    if folded and e.src is last:
                        e.src = first
                        first.edges.append(e)
                    elif not folded and e.src is first:
                        first.edges.remove(e)
                        e.src = last
                    e.adjust()

    # ------------------------------------------------------------ frames

    def refresh(self) -> None:
        """Rebuild every frame from the document and move the top level aside for them."""
        scene = self.scene
        self.expanded = {p for p in self.expanded if p[0] in scene.nodes}
        for item in scene.nodes.values():
            want = (item.node_id,) in self.expanded and self.is_block(item.type_name)
            if item.frame is not None:
                self._clear(item)
            if want:
                self._fill(item, (item.node_id,))
        grown = {nid: (it.width - NODE_W, it.height - it.base_height, it.base_height)
                 for nid, it in scene.nodes.items() if it.frame is not None}
        positions = {}
        net = scene.model.doc.network(scene.network)
        if net is not None:
            positions = {n.id: self._closed_pos(n.id, n.pos) for n in net.nodes if n.id in scene.nodes}
        room = make_room(positions, grown) if grown else {}
        self.shift = {}
        for nid in self.closed.keys() | room.keys():
            (ax, ay), (bx, by) = self.closed.get(nid, (0.0, 0.0)), room.get(nid, (0.0, 0.0))
            self.shift[nid] = (ax + bx, ay + by)
        scene.place_all()
        scene.update()  # all of it: wires that crossed a frame's old area are repainted there
        scene.foldChanged.emit()

    def _closed_pos(self, nid: str, pos: Pos) -> Pos:
        dx, dy = self.closed.get(nid, (0.0, 0.0))
        return (pos[0] + dx, pos[1] + dy)

    def close_gaps(self) -> None:
        """While runs are folded into "×N" nodes, lay the top level out again (on screen
        only) as if each run were its one node, so no empty slots stay where the others
        were; with no runs folded, every node is back where the file puts it."""
        self.closed = {}
        net = self.scene.model.doc.network(self.scene.network)
        if self.runs and net is not None:
            stand = {nid: run[0] for run in self.runs.values() for nid in run}
            shown = [n.id for n in net.nodes if stand.get(n.id, n.id) == n.id]
            edges = [(stand.get(e.src, e.src), stand.get(e.dst, e.dst), e.src_port, e.dst_port)
                     for e in net.edges if stand.get(e.src, e.src) != stand.get(e.dst, e.dst)]
            items = self.scene.nodes
            sizes = {nid: (NODE_W, items[nid].base_height) for nid in shown if nid in items}
            new = layered_layout(shown, edges, sizes, view=DEFAULT_VIEW)
            old = {n.id: n.pos for n in net.nodes}
            # Anchored where the graph starts in the file, so the view does not jump.
            ax = min(p[0] for p in old.values()) - min(p[0] for p in new.values())
            ay = min(p[1] for p in old.values()) - min(p[1] for p in new.values())
            for nid, pos in old.items():
                x, y = new[stand.get(nid, nid)]
                self.closed[nid] = (x + ax - pos[0], y + ay - pos[1])
        self.refresh()

    def forget_layouts(self, network: str | None = None) -> None:
        if network is None:
            self._layouts.clear()
        else:
            self._layouts.pop(network, None)

    def _clear(self, item: NodeItem) -> None:
        assert item.frame is not None
        for e in item.frame.edges.values():
            e.detach()
            e.setParentItem(None)  # type: ignore[arg-type]  # None unparents; PySide6's stubs omit it
            self.scene.removeItem(e)
        for child in item.frame.nodes.values():
            if child.frame is not None:
                self._clear(child)
            child.setParentItem(None)  # type: ignore[arg-type]  # None unparents; PySide6's stubs omit it
            self.scene.removeItem(child)
        item.frame = None
        item.set_size(NODE_W, item.base_height)
        item.setCacheMode(NodeItem.CacheMode.DeviceCoordinateCache)

    def _fill(self, item: NodeItem, path: Path) -> None:
        model = self.scene.model
        net = model.doc.network(item.type_name)
        if net is None:
            return
        frame = Frame(net.name)
        item.frame = item.frame or frame
        item.setCacheMode(NodeItem.CacheMode.NoCache)  # a frame can be the size of the screen
        for node in net.nodes:
            if node.id in frame.nodes:
                continue
            child = self.scene.make_item(net.name, node)
            child.setParentItem(item)
            child.setFlags(NodeItem.GraphicsItemFlag(0))  # read-only: edit in the block's tab
            frame.nodes[node.id] = child
        for nid, child in frame.nodes.items():
            if path + (nid,) in self.expanded and self.is_block(child.type_name) \
                    and child.type_name not in self._chain(path + (nid,)) and child.type_name != item.type_name:
                self._fill(child, path + (nid,))
        layout = self._layouts.get(net.name)
        if layout is None:
            sizes = {nid: (NODE_W, it.base_height) for nid, it in frame.nodes.items()}
            layout = self._layouts[net.name] = inner_positions(net, sizes)
        grown = {nid: (it.width - NODE_W, it.height - it.base_height, it.base_height)
                 for nid, it in frame.nodes.items() if it.frame is not None}
        shift = make_room(layout, grown) if grown else {}
        right = bottom = 0.0
        for nid, child in frame.nodes.items():
            x, y = layout.get(nid, (0.0, 0.0))
            dx, dy = shift.get(nid, (0.0, 0.0))
            child.setPos(SIDE + x + dx, HEADER_H + PAD + y + dy)
            right = max(right, child.pos().x() + child.width)
            bottom = max(bottom, child.pos().y() + child.height)
        # Inner wires route around the inner nodes, as the top level's do (and within the same limit).
        route = partial(node_obstacles, frame.nodes.values()) if len(frame.nodes) <= ROUTE_LIMIT else None
        for e in net.edges:
            src, dst = frame.nodes.get(e.src), frame.nodes.get(e.dst)
            if src is None or dst is None or e.key in frame.edges:
                continue
            edge = EdgeItem(e.key, src, dst, "", route)
            edge.setParentItem(item)
            edge.setFlags(EdgeItem.GraphicsItemFlag(0))
            frame.edges[e.key] = edge
        item.set_size(max(NODE_W, right + SIDE), max(item.base_height, bottom + PAD))
        self.scene.apply_frame_analysis(frame, None, path)
