"""netwright validate FILE...: every problem of every file, as FILE:network/node: message."""
from __future__ import annotations

import argparse
import json
import sys

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.errors import DocumentError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="graph files (.json)")
    p.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")


def run(args: argparse.Namespace) -> int:
    status = 0
    analyzer = Analyzer()
    report: list[dict[str, object]] = []
    for path in args.files:
        try:
            doc = document.load(path)
        except DocumentError as exc:
            msg = str(exc)
            if not msg.startswith(str(path)):
                msg = f"{path}: {msg}"
            report.append({"file": path, "readable": False, "message": msg})
            if not args.json:
                print(msg, file=sys.stderr)
            status = 2
            continue
        diags = analyzer.analyze(doc).diagnostics
        errors = [d for d in diags if d.severity == "error" or args.strict]
        report.append({"file": path, "readable": True, "valid": not errors,
                       "diagnostics": [d.to_dict() for d in diags]})
        if not args.json:
            for d in diags:
                print(d.format(path))
            if not diags:
                print(f"{path}: ok")
        if errors and status == 0:
            status = 1
    if args.json:
        print(json.dumps(report, indent=2))
    return status
