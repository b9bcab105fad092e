"""The ``netwright`` console entry point.

Headless subcommands (validate, summary, export, ...) go straight to graph_compiler.cli,
and this module must not import Qt (or anything from designer that does) before that
decision: a CI job running ``netwright validate`` on a server without a display, or
without PySide6 installed, must still work, and fast. ``netwright`` alone, ``netwright
FILE`` and designer flags (``--theme dark``) open the designer. A word that is neither a
command nor an existing file is a typo: it is refused here, because on a server a designer
opened by mistake would hang until killed, and at a desk it would hide the typo.
"""
from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping, Sequence

from graph_compiler.cli import COMMANDS

_CLI_FLAGS = frozenset({"-h", "--help", "--version"})


def _rest(args: Sequence[str]) -> list[str]:
    # ``--debug`` may come before the command (``netwright --debug validate f.json``).
    return [a for a in args if a != "--debug"]


def is_headless(args: Sequence[str]) -> bool:
    """True when ``args`` (without the program name) ask for a CLI command, not the GUI."""
    rest = _rest(args)
    return bool(rest) and (rest[0] in COMMANDS or rest[0] in _CLI_FLAGS)


def launch_error(args: Sequence[str]) -> str | None:
    """Why ``args`` can open neither a command nor the designer, or None when they can.

    Only the first word is judged: a flag goes to the designer's (or Qt's) own parser, an
    existing path is a file to open, and anything else must be a command."""
    rest = _rest(args)
    if not rest or is_headless(rest):
        return None
    first = rest[0]
    if first.startswith("-") or os.path.exists(first):
        return None
    if os.sep in first or "/" in first or os.path.splitext(first)[1]:
        return f"netwright: no such file: '{first}'"
    close = difflib.get_close_matches(first, list(COMMANDS), n=1, cutoff=0.6)
    if close:
        return f"netwright: unknown command '{first}'; did you mean '{close[0]}'?"
    return (f"netwright: unknown command '{first}'; commands are {', '.join(COMMANDS)} "
            "(or give a file to open it in the designer)")


def no_display(args: Sequence[str], env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Linux with neither an X nor a Wayland display and no platform chosen (over ssh, in CI):
    Qt would abort the process, blaming a missing xcb library."""
    return (platform.startswith("linux") and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")
            and not env.get("QT_QPA_PLATFORM") and "-platform" not in args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    if is_headless(args):
        from graph_compiler.cli import main as cli_main

        return cli_main(args)
    error = launch_error(args)
    if error is not None:
        print(error, file=sys.stderr)
        return 2
    if no_display(args):
        print("netwright: no display to open the designer on (DISPLAY and WAYLAND_DISPLAY are unset); "
              f"the commands {', '.join(COMMANDS)} work without one", file=sys.stderr)
        return 2
    # Only now pay for Qt, once it is known that it can open a window (a missing xcb
    # library would make it abort the process with a cryptic message).
    from designer.xcb_check import check_display_libraries

    if not check_display_libraries():
        return 2
    from designer.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
