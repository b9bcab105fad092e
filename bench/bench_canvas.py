"""Canvas benchmark: scene build time for 2,000 and 10,000-node graphs, and frame time while
panning (the viewport repainted into an image after each scroll step).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_canvas.py [--sizes 2000 10000]

Targets (issue): 2,000 nodes open in ~3 s and pan under 33 ms a frame; 10,000 open and stay
usable. Analysis time is reported on its own: it belongs to graph_compiler, not the canvas.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication

from graph_compiler.document import Document, Edge, Network, Node

PER_ROW = 40


def chain_doc(n: int) -> Document:
    """Input -> (Linear, ReLU) * ... -> Output, laid out as a grid of rows of 40 nodes."""
    def pos(i: int) -> tuple[float, float]:
        return (float(i % PER_ROW) * 260.0, float(i // PER_ROW) * 160.0)

    nodes = [Node("input1", "Input", {"shape": [32]}, pos(0))]
    edges: list[Edge] = []
    prev = "input1"
    for i in range(1, n - 1):
        kind = "Linear" if i % 2 else "ReLU"
        nid = f"{kind.lower()}{i}"
        nodes.append(Node(nid, kind, {"out_features": 32} if kind == "Linear" else {}, pos(i)))
        edges.append(Edge(prev, nid))
        prev = nid
    nodes.append(Node("output1", "Output", {}, pos(n - 1)))
    edges.append(Edge(prev, "output1"))
    return Document([Network("Model", nodes, edges)])


def pan_frames(app: QApplication, view, frames: int, step: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """(wall ms, CPU ms) per frame. CPU time is reported too because shared machines are
    noisy: wall time there measures the neighbours as much as the canvas."""
    bar = view.horizontalScrollBar()
    wall: list[float] = []
    cpu: list[float] = []
    for i in range(frames):
        t, c = time.perf_counter(), time.process_time()
        bar.setValue(bar.value() + (step if (i // 40) % 2 == 0 else -step))
        view.viewport().grab()  # a full repaint of what is on screen
        app.processEvents()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.95) - 1]


def run(n: int, app: QApplication, frames: int) -> None:
    from designer.canvas import CanvasView
    from designer.model import DocumentModel

    doc = chain_doc(n)
    t0, c0 = time.perf_counter(), time.process_time()
    model = DocumentModel(doc)
    t1 = time.perf_counter()
    model.analyze_now()
    t2, c2 = time.perf_counter(), time.process_time()
    view = CanvasView(model, "Model")
    view.resize(1600, 900)
    view.show()
    app.processEvents()
    t3, c3 = time.perf_counter(), time.process_time()
    view.viewport().grab()
    t4, c4 = time.perf_counter(), time.process_time()
    print(f"\n{n} nodes, {len(doc.main.edges)} edges")
    print(f"  analysis (graph_compiler)        {1000 * (t2 - t1):8.0f} ms")
    print(f"  scene build (items + show)       {1000 * (t3 - t2):8.0f} ms  (CPU {1000 * (c3 - c2):.0f} ms)")
    print(f"  first frame                      {1000 * (t4 - t3):8.0f} ms")
    print(f"  open total (model+analysis+view) {1000 * (t4 - t0):8.0f} ms  (CPU {1000 * (c4 - c0):.0f} ms)")
    view.centerOn(view.scene().nodes["input1"].pos())
    view.resetTransform()
    for label, scale in (("zoom 1.0 (detail)", 1.0), ("zoom 0.3 (boxes)", 0.3), ("fit all", None)):
        if scale is None:
            view.fit_all()
        else:
            view.resetTransform()
            view.scale(scale, scale)
        pan_frames(app, view, 5, 40)  # warm caches
        ts, cs = pan_frames(app, view, frames, 40)
        print(f"  pan {label:18s} mean {statistics.mean(ts):6.1f} ms  p95 {p95(ts):6.1f} ms"
              f"  CPU mean {statistics.mean(cs):5.1f} p95 {p95(cs):5.1f}  (scale {view.transform().m11():.3f})")
    t = time.perf_counter()
    view.select_ids(list(view.scene().nodes)[:200])
    model.move_nodes("Model", {nid: (it.pos().x() + 20, it.pos().y())
                               for nid, it in list(view.scene().nodes.items())[:200]})
    app.processEvents()
    print(f"  move 200 nodes (one command)     {1000 * (time.perf_counter() - t):8.0f} ms")
    t = time.perf_counter()
    model.set_param("Model", "linear1", "out_features", 16)
    model.analyze_now()
    app.processEvents()
    print(f"  edit param + re-analysis + redraw {1000 * (time.perf_counter() - t):7.0f} ms")
    view.close()
    view.deleteLater()
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    import PySide6
    import torch  # noqa: F401 - pay the import once, outside the timings
    print(f"Qt platform: {app.platformName()}, PySide6 {PySide6.__version__}, "
          f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for n in args.sizes:
        run(n, app, args.frames)


if __name__ == "__main__":
    main()
