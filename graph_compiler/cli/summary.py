"""netwright summary FILE: per-node type, output shape, parameters and FLOPs, plus totals."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from graph_compiler import document
from graph_compiler.analysis import Analysis, Analyzer
from graph_compiler.analysis.results import one_line
from graph_compiler.catalog import fmt_shape


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def summary_dict(analysis: Analysis) -> dict[str, Any]:
    main = analysis.networks[analysis.main] if analysis.main in analysis.networks else None
    networks = []
    for name, info in analysis.networks.items():
        nodes = []
        for nid in info.order:
            n = info.nodes[nid]
            shapes = n.output_shapes
            nodes.append({
                "id": nid, "type": n.type,
                "output_shape": [fmt_shape(s) for s in shapes] if shapes and len(shapes) > 1
                else (fmt_shape(shapes[0]) if shapes else None),
                "params": n.n_params, "flops": n.flops,
            })
        networks.append({"name": name, "params": info.total_params, "flops": info.flops, "nodes": nodes})
    total = main.total_params if main else 0
    return {
        "main": analysis.main,
        "total_params": total,
        "trainable_params": total,
        "flops": main.flops if main else 0,
        "valid": analysis.ok,
        "diagnostics": [d.to_dict() for d in analysis.diagnostics],
        "networks": networks,
    }


def _human(n: int) -> str:
    for unit, div in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def run(args: argparse.Namespace) -> int:
    doc = document.load(args.file)
    analysis = Analyzer().analyze(doc)
    data = summary_dict(analysis)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0 if analysis.ok else 1
    for net in data["networks"]:
        rows = [(one_line(n["id"]), one_line(n["type"]), str(n["output_shape"] or "?"), f"{n['params']:,}",
                 _human(n["flops"]))
                for n in net["nodes"]]
        head = ("node", "type", "output shape", "params", "FLOPs")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
        print(f"Network {one_line(net['name'])}")
        line = "  ".join(h.ljust(w) if i < 3 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))
        print(line)
        print("-" * len(line))
        for r in rows:
            print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        print(f"Total: {net['params']:,} parameters, {_human(net['flops'])} FLOPs (batch 1)\n")
    for d in analysis.diagnostics:
        print(d.format(args.file), file=sys.stderr)
    return 0 if analysis.ok else 1
