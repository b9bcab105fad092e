"""`netwright` headless commands. Never imports Qt.

Each command lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``
and is imported only when used, so `netwright validate` starts without loading torch.
Exit codes: 0 success, 1 the input is invalid / the run failed, 2 unreadable input or usage.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from graph_compiler import __version__
from graph_compiler.errors import NetwrightError

COMMANDS: dict[str, str] = {
    "validate": "check graph files and list every problem",
    "summary": "per-node shapes, parameters and FLOPs",
    "export": "write PyTorch code, a training script, ONNX",
    "train": "train the model described by a file",
    "sample": "draw samples from a trained generative model",
    "evaluate": "what a trained model gets wrong: calibration, attacks, attributions, dead units, OOD",
    "dataset": "write samples of a built-in dataset",
    "import": "turn a PyTorch nn.Module into a Netwright graph",
    "diff": "compare two designs: nodes, wires, parameters, shapes",
}
_MODULES = {"import": "import_cmd"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netwright",
        description="Design neural networks as graphs. Without a command, opens the designer.",
    )
    parser.add_argument("--version", action="version", version=f"netwright {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: left out after the command, it must not reset a --debug given before it
        # (a subparser's defaults overwrite the main parser's values).
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
        _load(name).add_arguments(p)
    return parser


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"graph_compiler.cli.{_MODULES.get(name, name)}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return 2
    module = _load(args.command)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("netwright: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `netwright diff a b --json | head`: the reader left, which is no error
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE
    except NetwrightError as exc:
        if args.debug:
            raise
        print(f"netwright: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug in Netwright: say so, briefly, unless debugging
        if args.debug:
            raise
        print(f"netwright: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
