"""The ``netwright`` console entry point.

Headless subcommands (validate, summary, export, ...) go straight to graph_compiler.cli,
and this module must not import Qt (or anything from designer that does) before that
decision: a CI job running ``netwright validate`` on a server without a display, or
without PySide6 installed, must still work, and fast. Anything else opens the designer.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from graph_compiler.cli import COMMANDS

HEADLESS_COMMANDS = frozenset(COMMANDS)
_CLI_FLAGS = frozenset({"-h", "--help", "--version"})


def is_headless(args: Sequence[str]) -> bool:
    """True when ``args`` (without the program name) ask for a CLI command, not the GUI.

    ``--debug`` may come before the command (``netwright --debug validate f.json``)."""
    rest = [a for a in args if a != "--debug"]
    if not rest:
        return False
    first = rest[0]
    return first in HEADLESS_COMMANDS or first in _CLI_FLAGS


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    if is_headless(args):
        from graph_compiler.cli import main as cli_main

        return cli_main(args)
    # Only now pay for Qt.
    from designer.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
