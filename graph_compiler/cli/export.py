"""netwright export FILE: the generated PyTorch source, a training script, or ONNX.

    netwright export FILE [-o OUT.py] [--weights DIR]    the model code (stdout without -o)
    netwright export FILE --script [-o train.py]         standalone training script
    netwright export FILE --onnx OUT.onnx [--weights DIR] [--network NAME] [--opset N]

Exporters live in graph_compiler.interop and are imported only when asked for, so the
plain export does not pay for onnx.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from graph_compiler import document
from graph_compiler.atomic import atomic_write
from graph_compiler.errors import NetwrightError

T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output path (default: stdout)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--script", action="store_true",
                      help="write a standalone training script (torch + numpy, runs under torchrun)")
    kind.add_argument("--onnx", metavar="OUT.onnx", help="write the network as ONNX (dynamic batch)")
    p.add_argument("--weights", metavar="DIR",
                   help="trained weights: a run directory (weights.safetensors) or a .safetensors file")
    p.add_argument("--network", metavar="NAME", help="ONNX: the network to export (default: the main one)")
    p.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset version (default 18)")


def run(args: argparse.Namespace) -> int:
    doc = document.load(args.file)
    if args.onnx:
        return _onnx(args, doc)
    if args.network or args.opset is not None:
        raise NetwrightError("--network and --opset apply to --onnx exports")
    if args.script:
        if args.weights:
            raise NetwrightError("--weights applies to the model (.py) and --onnx exports, not --script")
        from graph_compiler.interop.script_export import generate_script

        script = Path(args.output).name if args.output else "train.py"
        return _write_text(args.output, generate_script(doc, script=script))
    if args.weights:
        if not args.output:
            raise NetwrightError("--weights needs -o OUT.py: the weights are written next to it")
        from graph_compiler.interop.python_export import export_python

        for path in _guard(lambda: export_python(doc, args.output, args.weights), args.output):
            print(f"wrote {path}")
        return 0
    from graph_compiler.codegen import generate_code

    return _write_text(args.output, generate_code(doc))


def _onnx(args: argparse.Namespace, doc: document.Document) -> int:
    if args.output:
        raise NetwrightError("with --onnx, give the output file to --onnx (not -o)")
    from graph_compiler.interop.onnx_export import DEFAULT_OPSET, export_onnx

    opset = args.opset if args.opset is not None else DEFAULT_OPSET
    path = _guard(lambda: export_onnx(doc, args.onnx, args.weights, args.network, opset), args.onnx)
    print(f"wrote {path}")
    return 0


def _write_text(output: str | None, text: str) -> int:
    if not output:
        sys.stdout.write(text)
        return 0
    _guard(lambda: atomic_write(output, text.encode("utf-8")), output)
    print(f"wrote {Path(output)}")
    return 0


def _guard(action: Callable[[], T], output: str) -> T:
    """Run a write, turning OS errors into a message that names the file."""
    try:
        return action()
    except OSError as exc:
        raise NetwrightError(f"{output}: cannot write ({exc.strerror or exc})") from None
