"""Canvas benchmark: the designer window on 2,000 and 10,000-node graphs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_canvas.py [--sizes 2000 10000]

Measured in the real MainWindow (1600x1000, every panel connected), so an edit pays for
everything that listens to the model:

- open: parse the file, analyse, build the scene and paint the first frame;
- pan: one scroll step plus one full repaint of the viewport, per frame, at zoom 1.0,
  0.5, 0.3, 0.1 and with the whole graph fitted (the previous version of this script
  painted twice per frame, a grab and the widget, and its "zoom 1.0" and "zoom 0.3" rows
  ran at the fitted scale: the view re-fitted itself until the user zoomed);
- zoom: one wheel notch (x1.2 in, then out) plus a repaint, per frame;
- edits, each one undo step and everything it triggers (analysis, scene, panels):
  a parameter, adding and deleting a node, wiring and unwiring;
- the Code tab: regenerating the source while the tab is visible (it is debounced and
  skipped while hidden, so it is not part of an edit's latency);
- a folded model: the same graph, grouped into blocks of 100 nodes, opened folded.

Targets (issue 11, 10,000 flat nodes on the 2-core machine): open <= 1.5 s; pan and zoom
p95 <= 16 ms per frame; parameter edit <= 50 ms; add or delete a node or wire <= 100 ms.
CPU time is printed beside wall time: on a shared machine the wall clock measures the
neighbours too.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from graph_compiler import document
from graph_compiler.document import Document, Edge, Network, Node

PER_ROW = 40


def _pos(i: int) -> tuple[float, float]:
    return (float(i % PER_ROW) * 260.0, float(i // PER_ROW) * 160.0)


def _chain(name: str, n: int, first: str, last: str) -> Network:
    """Input ``first`` -> (Linear, ReLU) * ... -> Output ``last``: ``n`` nodes in rows of 40."""
    nodes = [Node(first, "Input", {"shape": [32]}, _pos(0))]
    edges: list[Edge] = []
    prev = first
    for i in range(1, n - 1):
        kind = "Linear" if i % 2 else "ReLU"
        nid = f"{kind.lower()}{i}"
        nodes.append(Node(nid, kind, {"out_features": 32} if kind == "Linear" else {}, _pos(i)))
        edges.append(Edge(prev, nid))
        prev = nid
    nodes.append(Node(last, "Output", {}, _pos(n - 1)))
    edges.append(Edge(prev, last))
    return Network(name, nodes, edges)


def chain_doc(n: int) -> Document:
    """Input -> (Linear, ReLU) * ... -> Output, laid out as a grid of rows of 40 nodes."""
    return Document([_chain("Model", n, "input1", "output1")])


def blocked_doc(n: int, per_block: int = 100) -> Document:
    """About ``n`` nodes as an imported model would come: a main network of block nodes,
    each block a chain of ``per_block`` Linear/ReLU nodes (distinct blocks, as an importer makes
    for modules that differ in structure), with ``meta.import.blocks`` naming them."""
    n_blocks = max(1, n // per_block)
    nets: list[Network] = []
    main_nodes = [Node("input1", "Input", {"shape": [32]}, (0.0, 0.0))]
    main_edges: list[Edge] = []
    prev = "input1"
    for b in range(n_blocks):
        name = f"Stage{b}"
        nets.append(_chain(name, per_block, "x", "y"))
        nid = f"stage{b}"
        main_nodes.append(Node(nid, name, {}, (260.0 * (b + 1), 0.0)))
        main_edges.append(Edge(prev, nid))
        prev = nid
    main_nodes.append(Node("output1", "Output", {}, (260.0 * (n_blocks + 1), 0.0)))
    main_edges.append(Edge(prev, "output1"))
    doc = Document([Network("Model", main_nodes, main_edges), *nets])
    doc.meta["import"] = {"blocks": [net.name for net in nets]}
    return doc


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


class FullPaints(QObject):
    """Counts the paints of a whole widget (an event filter)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.widget = widget
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and event.rect().contains(self.widget.rect()):  # type: ignore[attr-defined]
            self.count += 1
        return False


def frames(app: QApplication, view, n: int, step: Callable[[int], None]) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """(wall ms, CPU ms) per frame: ``step(i)`` and one full repaint of the viewport. The
    paint Qt makes for the step counts when it covers the whole viewport (a zoom); else
    (a scroll lets Qt repaint only the strip that scrolled in) the viewport is repainted
    in full. Until 2026-12-07 every frame was painted in full twice: Qt's paint for the
    step, then a forced one."""
    wall: list[float] = []
    cpu: list[float] = []
    paints = FullPaints(view.viewport())
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        before = paints.count
        step(i)
        app.processEvents()  # what the step posted: its paint, a deferred layout
        if paints.count == before:
            view.viewport().repaint()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    view.viewport().removeEventFilter(paints)
    paints.deleteLater()
    return wall, cpu


def timed(app: QApplication, fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms) of an edit and everything the event loop runs for it."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    app.processEvents()
    app.processEvents()
    return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000


def row(label: str, wall: float, cpu: float) -> None:
    print(f"  {label:40s} {wall:8.1f} ms  (CPU {cpu:.1f} ms)")


def frame_row(label: str, ts: list[float], cs: list[float], scale: float) -> None:
    print(f"  {label:26s} mean {statistics.mean(ts):6.1f} ms  p95 {p95(ts):6.1f} ms"
          f"  CPU mean {statistics.mean(cs):5.1f} p95 {p95(cs):5.1f}  (scale {scale:.3f})")


def open_window(app: QApplication, path: str):  # type: ignore[no-untyped-def]
    from designer.main_window import MainWindow
    from designer.model import DocumentModel

    model = DocumentModel()
    win = MainWindow(model)
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    t0, c0 = time.perf_counter(), time.process_time()
    model.load(path)
    win.show_editor()
    app.processEvents()
    view = win.current_view()
    view.viewport().grab()
    app.processEvents()
    # The recovery file is written 2 s after the last edit; measured on its own below, it
    # must not land inside whichever edit happens to follow a slow one.
    win.autosaver.debounce.setInterval(10**9)
    win.autosaver.periodic.stop()
    return win, model, view, ((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000)


def run(n: int, app: QApplication, n_frames: int, tmp: Path) -> None:
    doc = chain_doc(n)
    path = tmp / f"chain{n}.json"
    document.save(doc, path)
    win, model, view, (ow, oc) = open_window(app, str(path))
    print(f"\n{n} nodes, {len(doc.main.edges)} edges (flat)")
    row("open (parse + analysis + scene + paint)", ow, oc)

    bar = view.horizontalScrollBar()

    def pan(i: int) -> None:
        bar.setValue(bar.value() + (40 if (i // 40) % 2 == 0 else -40))

    for label, scale in (("zoom 1.0 (detail)", 1.0), ("zoom 0.5", 0.5), ("zoom 0.3 (boxes)", 0.3),
                         ("zoom 0.1", 0.1), ("fit all", None)):
        if scale is None:
            view.fit_all()
        else:
            view.resetTransform()
            view.zoom_by(scale)  # through the view: the user has zoomed, so no auto-fit
            view.center_on("linear401")
        frames(app, view, 5, pan)  # warm the caches
        ts, cs = frames(app, view, n_frames, pan)
        frame_row(f"pan {label}", ts, cs, view.transform().m11())
    for label, scale in (("zoom about 1.0", 1.0), ("zoom about 0.3", 0.3), ("zoom about 0.05", 0.05)):
        view.resetTransform()
        view.zoom_by(scale)
        view.center_on("linear401")
        ts, cs = frames(app, view, n_frames, lambda i: view.zoom_by(1.2 if (i // 4) % 2 == 0 else 1 / 1.2))
        frame_row(label, ts, cs, view.transform().m11())

    view.fit_all()
    view.grab()
    win.docks["code"].raise_()  # the Code tab visible: it regenerates after each edit burst
    app.processEvents()
    win.code.refresh()
    row("Code tab: edit, then regenerate", *timed(app, lambda: (
        model.set_param("Model", f"linear{n // 2 + 1}", "out_features", 40), win.code.refresh())))
    win.docks["inspector"].raise_()
    app.processEvents()
    added: list[str] = []
    far, cut = f"linear{n - n // 10 + 1}", f"relu{2 * (n // 5)}"  # 9001 and 4000 of 10,000
    edits = [
        ("parameter edit", lambda: model.set_param("Model", "linear1", "out_features", 16)),
        ("parameter edit, a shape change far down", lambda: model.set_param("Model", far, "out_features", 24)),
        ("add a node", lambda: added.append(model.add_node("Model", "ReLU", (0.0, -400.0)) or "")),
        ("connect a wire", lambda: model.connect("Model", "linear3", 0, added[0], 0)),
        ("undo (disconnect)", model.undo_stack.undo),
        ("delete the added node", lambda: model.remove_nodes("Model", added[:1])),
        ("undo (node back)", model.undo_stack.undo),
        (f"delete a chain node ({2 * (n // 5):,} new warnings)", lambda: model.remove_nodes("Model", [cut])),
        ("undo (node back)", model.undo_stack.undo),
        (f"disconnect a chain wire ({n // 2:,} new warnings)",
         lambda: model.disconnect("Model", [(f"linear{n // 2 + 1}", 0, f"relu{n // 2 + 2}", 0)])),
        ("undo (wire back)", model.undo_stack.undo),
    ]
    for label, fn in edits:
        timed(app, lambda: None)
        row(label, *timed(app, fn))
    row("autosave (recovery file, 2 s after edits)", *timed(app, win.autosaver.write_now))
    model.undo_stack.clear()
    win.close()
    win.deleteLater()
    app.processEvents()


def run_folded(n: int, app: QApplication, tmp: Path) -> None:
    doc = blocked_doc(n)
    total = sum(len(net.nodes) for net in doc.networks)
    path = tmp / f"blocked{n}.json"
    document.save(doc, path)
    win, model, view, (ow, oc) = open_window(app, str(path))
    print(f"\n{total} nodes in {len(doc.networks) - 1} blocks (an imported model, opened folded)")
    row("open", ow, oc)
    scene = view.scene()
    if hasattr(scene, "expand"):
        row("expand one block (100 nodes)", *timed(app, lambda: scene.expand(["stage3"])))
        row("fold it again", *timed(app, lambda: scene.fold(["stage3"])))
    model.undo_stack.clear()
    win.close()
    win.deleteLater()
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--frames", type=int, default=80)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    settings = tempfile.mkdtemp()  # the user's saved dock layout must not change the figures
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings)
    import PySide6
    import torch  # noqa: F401 - pay the import once, outside the timings
    print(f"Qt platform: {app.platformName()}, PySide6 {PySide6.__version__}, "
          f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            run(n, app, args.frames, Path(d))
        run_folded(max(args.sizes), app, Path(d))


if __name__ == "__main__":
    main()
