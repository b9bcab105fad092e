"""netwright summary FILE: per-node type, output shape, parameters and FLOPs, plus totals."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from graph_compiler import document
from graph_compiler.analysis import Analysis, Analyzer, NetworkInfo
from graph_compiler.analysis.results import one_line
from graph_compiler.catalog import fmt_shape


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def unknown_reason(analysis: Analysis, info: NetworkInfo) -> str | None:
    """Why a network's totals are unknown (it has errors: counting only the nodes that
    could be inferred would understate them), or None when they are known."""
    if info.ok:
        return None
    n = sum(1 for d in analysis.errors if d.network == info.name)
    return f"network {info.name} is invalid ({n} error{'s' * (n != 1)})"


def summary_dict(analysis: Analysis) -> dict[str, Any]:
    """The --json report. Counts that are unknown (an invalid network, a node that could
    not be inferred) are null, never 0; ``unknown_reason`` says why."""
    main = analysis.networks[analysis.main] if analysis.main in analysis.networks else None
    networks = []
    for name, info in analysis.networks.items():
        nodes = []
        for nid in info.order:
            n = info.nodes[nid]
            shapes = n.output_shapes
            inferred = n.outputs is not None
            nodes.append({
                "id": nid, "type": n.type,
                "output_shape": [fmt_shape(s) for s in shapes] if shapes and len(shapes) > 1
                else (fmt_shape(shapes[0]) if shapes else None),
                "params": n.n_params if inferred else None, "flops": n.flops if inferred else None,
            })
        why = unknown_reason(analysis, info)
        networks.append({"name": name, "params": info.total_params if why is None else None,
                         "flops": info.flops if why is None else None, "unknown_reason": why,
                         "nodes": nodes})
    why_main = unknown_reason(analysis, main) if main else None
    total = (main.total_params if main else 0) if why_main is None else None
    return {
        "main": analysis.main,
        "total_params": total,
        "trainable_params": total,
        "flops": (main.flops if main else 0) if why_main is None else None,
        "unknown_reason": why_main,
        "valid": analysis.ok,
        "diagnostics": [d.to_dict() for d in analysis.diagnostics],
        "networks": networks,
    }


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _human(n: int | None) -> str:
    if n is None:
        return "?"
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
        rows = [(one_line(n["id"]), one_line(n["type"]), str(n["output_shape"] or "?"), _count(n["params"]),
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
        if net["unknown_reason"] is None:
            print(f"Total: {net['params']:,} parameters, {_human(net['flops'])} FLOPs (batch 1)\n")
        else:
            print(f"Total: unknown: {one_line(net['unknown_reason'])}; "
                  f"see `netwright validate {one_line(args.file)}`\n")
    for d in analysis.diagnostics:
        print(d.format(args.file), file=sys.stderr)
    return 0 if analysis.ok else 1
