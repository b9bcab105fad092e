"""netwright export FILE -o OUT.py: the generated PyTorch source.

Other formats (--script, --onnx) are added by graph_compiler.interop when present.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from graph_compiler import document
from graph_compiler.codegen import generate_code
from graph_compiler.errors import NetwrightError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output path (default: stdout)")


def run(args: argparse.Namespace) -> int:
    doc = document.load(args.file)
    source = generate_code(doc)
    if args.output:
        try:
            document.atomic_write(args.output, source.encode("utf-8"))
        except OSError as exc:
            raise NetwrightError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {Path(args.output)}")
    else:
        print(source, end="")
    return 0
