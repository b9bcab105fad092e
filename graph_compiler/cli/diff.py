"""netwright diff A.json B.json [--json]: what changed from A (old) to B (new).

Exit codes: 0 the designs are the same (layout aside), 1 they differ, 2 a file cannot be
read (the message names it). The JSON schema is in docs/diff.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from graph_compiler import document
from graph_compiler.diff import diff_documents
from graph_compiler.diff_text import format_text
from graph_compiler.errors import DocumentError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="A", help="the design to compare from (old)")
    p.add_argument("new", metavar="B", help="the design to compare to (new)")
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/diff.md)")


def run(args: argparse.Namespace) -> int:
    docs = []
    for path in (args.old, args.new):
        if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
            # A FIFO or a device would block the read or never end.
            print(f"netwright diff: {path}: not a regular file", file=sys.stderr)
            return 2
        try:
            docs.append(document.load(path))
        except DocumentError as exc:  # the message starts with the file's path
            print(f"netwright diff: {exc}", file=sys.stderr)
            return 2
    d = diff_documents(docs[0], docs[1])
    d.a, d.b = args.old, args.new  # as the user typed them, not just the file names
    if args.json:
        print(json.dumps(d.to_dict(), indent=2))
    else:
        print(format_text(d))
    return 0 if d.identical else 1
