"""How analysis results reach the canvas items: shapes, counts and errors onto the items
an analysis may have changed (never the whole graph for a local edit), inside expanded
blocks too, and the totals of folded ×N runs."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import SignalInstance

from designer.canvas.folding import Folding, Frame
from designer.canvas.node_item import NodeItem
from designer.canvas.text import fmt_count
from designer.canvas.tiles import TiledScene
from designer.model import DocumentModel
from graph_compiler.analysis import ERROR


class AnalysedScene(TiledScene):
    """The analysis half of CanvasScene (which sets these attributes)."""

    model: DocumentModel
    network: str
    nodes: dict[str, NodeItem]
    folding: Folding
    built: bool
    refreshed: int
    foldChanged: SignalInstance

    def error_ids(self) -> set[str]:
        """Nodes with errors, built or not (the map and minimap mark them)."""
        ready = self.model.analysis_if_ready()
        if ready is None:
            return {nid for nid, it in self.nodes.items() if it.errors}
        return {d.node for d in ready.diagnostics
                if d.network == self.network and d.node and d.severity == ERROR}

    def refresh_analysis(self) -> None:
        """analysisUpdated: refresh the items whose results may have changed."""
        if not self.built:
            return
        self.apply_analysis(self.model.changed_nodes(self.network))

    def apply_analysis(self, ids: set[str] | None = None) -> int:
        """Shapes, counts and errors onto the items named (all when None); returns how many
        items were refreshed (tests count them: an edit must not touch the whole graph)."""
        analysis = self.model.analysis
        info = analysis.networks.get(self.network)
        errors: dict[str, list[str]] = {}
        for d in analysis.diagnostics:
            if d.network == self.network and d.node and d.severity == ERROR and (ids is None or d.node in ids):
                errors.setdefault(d.node, []).append(d.message)
        infos = info.nodes if info is not None else {}
        if ids is None:
            items = list(self.nodes.items())
        else:
            items = [(nid, self.nodes[nid]) for nid in ids if nid in self.nodes]
        if self._apply(items, infos, errors):
            self.map_changed()  # the map outlines broken nodes
        elif items:
            self.fit_rect = None  # a wire's shape label may have grown or shrunk
        self._count_runs(infos)
        share_key_level(self.nodes.values())
        for path, item in self.folding.frames():
            assert item.frame is not None
            self.apply_frame_analysis(item.frame, self.model.changed_nodes(item.frame.network), path)
            share_key_level(item.frame.nodes.values())
        self.refreshed = len(items)
        return len(items)

    def _count_runs(self, infos: dict[str, Any]) -> None:
        """A folded run shows the parameters of all its blocks."""
        for first, run in self.folding.runs.items():
            total = sum(i.n_params for i in (infos.get(n) for n in run) if i is not None)
            self.nodes[first].count_text = f"{fmt_count(total)} params" if total else ""
            self.nodes[first].update()

    def runs_changed(self, firsts: list[str]) -> None:
        """After folding or unfolding runs: counts for the folded, own counts for the rest."""
        self.map_changed()
        self.foldChanged.emit()
        ready = self.model.analysis_if_ready()
        if ready is None:
            return
        for nid in firsts:
            if nid in self.nodes:
                self.nodes[nid]._sig = None  # its own count comes back on unfold
        self.apply_analysis(set(firsts))

    def apply_frame_analysis(self, frame: Frame, ids: set[str] | None, path: tuple[str, ...] = ()) -> None:
        """Shapes and errors inside an expanded block: a broken block shows where. A block
        with parameters shows this use's shapes (``path``: where the frame is)."""
        analysis = self.model.analysis
        info = (self.folding.use_info(path) if path else None) or analysis.networks.get(frame.network)
        if info is not None and info is not analysis.networks.get(frame.network):
            ids = None  # the use's results: any of them may have changed with the outer node
        infos = info.nodes if info is not None else {}
        errors: dict[str, list[str]] = {}
        for d in analysis.diagnostics:
            if d.network == frame.network and d.node and d.severity == ERROR and (ids is None or d.node in ids):
                errors.setdefault(d.node, []).append(d.message)
        items = frame.nodes.items() if ids is None else [(n, frame.nodes[n]) for n in ids if n in frame.nodes]
        if self._apply(list(items), infos, errors):
            self.map_changed()

    @staticmethod
    def _apply(items: list[tuple[str, NodeItem]], infos: dict[str, Any], errors: dict[str, list[str]]) -> bool:
        """Returns whether any item became broken or whole."""
        flipped = False
        for nid, item in items:
            node_info = infos.get(nid)
            was_broken = bool(item.errors)
            item.set_analysis(node_info, errors.get(nid, []))
            flipped = flipped or was_broken != bool(item.errors)
            outs = node_info.outputs if node_info is not None else None
            for edge in item.edges:
                if edge.src is item and edge.key[0] == nid:
                    sp = edge.key[1]
                    edge.set_type(outs[sp] if outs and sp < len(outs) else None)
        return flipped


def share_key_level(items: Iterable[NodeItem]) -> None:
    """The block nodes shown side by side shorten their parameter names alike: as much
    as the longest line among them needs, so ``in_channels`` reads ``ic`` on every block
    or on none, never ``ic`` on one and ``in_ch`` on the next."""
    blocks = [it for it in items if it.category == "Blocks" and it.isVisible()]
    level = max((it.key_level() for it in blocks), default=0)
    for it in blocks:
        if it.key_floor != level:
            it.key_floor = level
            it.update()
