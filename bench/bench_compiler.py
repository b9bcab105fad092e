"""Graph compiler benchmarks: prints numbers, asserts nothing (see bench/README.md).

    .venv/bin/python bench/bench_compiler.py [--repeat N]

Measures, on graphs built here:
  * full validation + inference of a 1,000-node graph (cold Analyzer),
  * re-analysis after a single-node edit (warm Analyzer), local and cascading,
  * a single edit on a 1,000-node chain, told what changed and not (the timing that
    tests/test_analysis.py counts as work), and a dense tangle of cycles,
    each as a ratio to a fresh analysis of the same graph measured in the same run,
  * code generation for the 1,000-node graph,
  * `netwright summary` of a ResNet-50-sized graph, start-up included (a fresh process).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_compiler.document import Document, Edge, Network, Node  # noqa: E402 - after the path set-up

# ---------------------------------------------------------------- graphs


class _Net:
    def __init__(self, name: str) -> None:
        self.net = Network(name)
        self.n = 0

    def add(self, type_name: str, params: dict[str, Any] | None = None, *inputs: str) -> str:
        nid = f"{type_name.lower()}{self.n}"
        self.n += 1
        self.net.nodes.append(Node(nid, type_name, dict(params or {}), (self.n * 40.0, 0.0)))
        for port, src in enumerate(inputs):
            self.net.edges.append(Edge(src, nid, 0, port))
        return nid


def residual_cnn(units: int = 140, channels: int = 32) -> Document:
    """A plain residual CNN: stem, ``units`` basic blocks (7 nodes each), head.
    units=140 gives 989 nodes."""
    g = _Net("ResidualCNN")
    x = g.add("Input", {"shape": [3, 32, 32]})
    x = g.add("Conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}, x)
    for _ in range(units):
        h = g.add("Conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1, "bias": False}, x)
        h = g.add("BatchNorm2d", {}, h)
        h = g.add("ReLU", {}, h)
        h = g.add("Conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1, "bias": False}, h)
        h = g.add("BatchNorm2d", {}, h)
        x = g.add("Add", {}, x, h)
        x = g.add("ReLU", {}, x)
    x = g.add("AdaptiveAvgPool2d", {"output_size": 1}, x)
    x = g.add("Flatten", {}, x)
    x = g.add("Linear", {"out_features": 10}, x)
    g.add("Output", {}, x)
    return Document([g.net])


def resnet50() -> Document:
    """torchvision's ResNet-50 (v1.5: stride on the 3x3 conv) as one flat graph."""
    g = _Net("ResNet50")
    x = g.add("Input", {"shape": [3, 224, 224]})
    x = g.add("Conv2d", {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False}, x)
    x = g.add("BatchNorm2d", {}, x)
    x = g.add("ReLU", {}, x)
    x = g.add("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, x)
    in_ch = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            s = stride if b == 0 else 1
            h = g.add("Conv2d", {"out_channels": width, "kernel_size": 1, "bias": False}, x)
            h = g.add("BatchNorm2d", {}, h)
            h = g.add("ReLU", {}, h)
            h = g.add("Conv2d", {"out_channels": width, "kernel_size": 3, "stride": s, "padding": 1, "bias": False}, h)
            h = g.add("BatchNorm2d", {}, h)
            h = g.add("ReLU", {}, h)
            h = g.add("Conv2d", {"out_channels": width * 4, "kernel_size": 1, "bias": False}, h)
            h = g.add("BatchNorm2d", {}, h)
            short = x
            if b == 0 and (s != 1 or in_ch != width * 4):
                short = g.add("Conv2d", {"out_channels": width * 4, "kernel_size": 1, "stride": s, "bias": False}, x)
                short = g.add("BatchNorm2d", {}, short)
            x = g.add("Add", {}, short, h)
            x = g.add("ReLU", {}, x)
            in_ch = width * 4
    x = g.add("AdaptiveAvgPool2d", {"output_size": 1}, x)
    x = g.add("Flatten", {}, x)
    x = g.add("Linear", {"out_features": 1000}, x)
    g.add("Output", {}, x)
    return Document([g.net])


# ---------------------------------------------------------------- timing


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median, best) wall seconds over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def ms(t: float) -> str:
    return f"{t * 1000:.1f} ms"


def long_chain(n: int) -> Document:
    """Input, n x (Linear 16, Tanh/ReLU), Output: 2n + 2 nodes in one line."""
    g = _Net("Chain")
    x = g.add("Input", {"shape": [16]})
    for i in range(n):
        x = g.add("Linear", {"out_features": 16}, x)
        x = g.add("ReLU" if i % 2 else "Tanh", {}, x)
    g.add("Output", {}, x)
    return Document([g.net])


def chain_edit(r: int) -> None:
    """A mid-chain edit that changes a shape, warm, against a fresh analysis (baseline)."""
    from graph_compiler.analysis import Analyzer

    doc = long_chain(500)
    base, _ = timed(lambda: Analyzer().analyze(doc), r)
    analyzer = Analyzer()
    analyzer.analyze(doc)
    mid = next(n for n in doc.main.nodes[len(doc.main.nodes) // 2:] if n.type == "Linear")
    counter = iter(range(1, 10**6))

    def edit(told: bool) -> None:
        mid.params["out_features"] = 16 + next(counter)
        analyzer.analyze(doc, {"Chain": {mid.id}} if told else None)

    for told in (True, False):
        med, best = timed(lambda: edit(told), r)
        how = "told what changed" if told else "not told"
        print(f"1,000-node chain, one edit ({how}: {len(analyzer.walked)} walked, "
              f"{len(analyzer.recomputed)} re-inferred): median {ms(med)}, best {ms(best)}; "
              f"ratio to a fresh analysis ({ms(base)}): {med / base:.3f} (target 50 ms)")


def tangle(r: int) -> None:
    """60 Add nodes, 2,000 wires among them: exponentially many simple cycles, one reported."""
    from graph_compiler.analysis import Analyzer

    g = _Net("Tangle")
    x = g.add("Input", {"shape": [2]})
    ids = [g.add("Add", {}) for _ in range(60)]
    g.add("Output", {}, x)
    g.net.edges += [Edge(a, b, 0, 0) for a in ids for b in ids if a != b][:2000]
    acyclic = long_chain(500)
    base, _ = timed(lambda: Analyzer().analyze(acyclic), r)
    med, best = timed(lambda: Analyzer().analyze(Document([g.net])), r)
    print(f"dense tangle of cycles (60 nodes, 2,000 wires): median {ms(med)}, best {ms(best)}; "
          f"ratio to the 1,000-node chain's fresh analysis ({ms(base)}): {med / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    r = args.repeat

    start = time.perf_counter()
    from graph_compiler.analysis import Analyzer
    from graph_compiler.codegen import generate
    import_s = time.perf_counter() - start
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"import graph_compiler.analysis + codegen: {ms(import_s)} (torch loaded: {'torch' in sys.modules})")

    doc = residual_cnn()
    n_nodes = len(doc.main.nodes)
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, analysis.diagnostics[:3]
    med, best = timed(lambda: Analyzer().analyze(doc), r)
    print(f"full validation + inference, {n_nodes} nodes (fresh Analyzer): median {ms(med)}, best {ms(best)}")

    class NoCache(dict):  # every node computed, even the ones identical to another
        def __setitem__(self, key: Any, value: Any) -> None:
            pass

    def uncached() -> None:
        a = Analyzer()
        a._cache = NoCache()  # type: ignore[assignment]
        a.analyze(doc)

    med, best = timed(uncached, r)
    print(f"full validation + inference, {n_nodes} nodes, no cache at all: median {ms(med)}, best {ms(best)}")

    # Every edit below sets values never seen before, so the cache cannot simply replay an
    # earlier state: each repetition does the real work of that edit.
    analyzer = Analyzer()
    analyzer.analyze(doc)
    counter = iter(range(1, 10**6))
    mid = next(n for n in doc.main.nodes[n_nodes // 2:] if n.type == "Conv2d")

    def local_edit() -> None:  # same output shape: only the edited node re-infers
        k = 2 * next(counter) + 3
        mid.params.update(kernel_size=k, padding=k // 2)
        analyzer.analyze(doc)

    med, best = timed(local_edit, r)
    print(f"single-node edit, warm Analyzer ({len(analyzer.recomputed)} node re-inferred): "
          f"median {ms(med)}, best {ms(best)}")

    head = next(n for n in doc.main.nodes if n.type == "Linear")

    def head_edit() -> None:  # changes the shape: the node and what reads it re-infer
        head.params["out_features"] = 10 + next(counter)
        analyzer.analyze(doc)

    med, best = timed(head_edit, r)
    print(f"single-node edit that changes its shape ({len(analyzer.recomputed)} nodes re-inferred): "
          f"median {ms(med)}, best {ms(best)}")

    source = doc.main.nodes[0]

    def input_edit() -> None:  # worst case: every shape below the edit changes
        size = 32 + next(counter)
        source.params["shape"] = [3, size, size]
        analyzer.analyze(doc)

    med, best = timed(input_edit, r)
    print(f"edit of the Input, every shape changes ({len(analyzer.recomputed)} nodes re-inferred): "
          f"median {ms(med)}, best {ms(best)}")
    source.params["shape"] = [3, 32, 32]

    chain_edit(r)
    tangle(r)

    analysis = Analyzer().analyze(doc)
    med, best = timed(lambda: generate(doc, analysis), r)
    lines = generate(doc, analysis).source.count("\n")
    print(f"code generation, {n_nodes} nodes ({lines} lines): median {ms(med)}, best {ms(best)}")

    big = resnet50()
    a50 = Analyzer().analyze(big)
    info = a50.networks["ResNet50"]
    print(f"ResNet-50 graph: {len(big.main.nodes)} nodes, {info.total_params:,} parameters "
          f"(torchvision: 25,557,032), {info.flops / 1e9:.2f} GFLOPs")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.json"
        from graph_compiler.document import save

        save(big, path)
        cli = ROOT / "graph_compiler" / "cli"
        if cli.exists():
            cmd = [sys.executable, "-m", "graph_compiler.cli", "summary", str(path)]
            what = "netwright summary (python -m graph_compiler.cli summary)"
        else:
            code = ("import sys; from graph_compiler import document; from graph_compiler.analysis import Analyzer; "
                    "a = Analyzer().analyze(document.load(sys.argv[1])); print(a.networks['ResNet50'].total_params)")
            cmd = [sys.executable, "-c", code, str(path)]
            what = "summary equivalent (no CLI yet: load + analyze in a fresh interpreter)"
        times = []
        for _ in range(max(3, r // 2)):
            start = time.perf_counter()
            out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
            if out.returncode != 0:
                print(f"  {what} failed: {out.stderr[-500:]}")
                break
        print(f"{what}, ResNet-50, start-up included: median {statistics.median(times):.2f} s, "
              f"best {min(times):.2f} s")
        probe = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], check=False, capture_output=True, text=True, cwd=ROOT)
        heavy = [line.split("|")[-1].strip() for line in probe.stderr.splitlines()
                 if line.split("|")[-1].strip() in ("torch", "networkx", "numpy", "PySide6")]
        print(f"  heavy modules imported by that command: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
