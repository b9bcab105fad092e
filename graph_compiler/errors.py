"""Typed errors. Every error a user can cause is a NetwrightError with a message that
names the file, network, node and parameter at fault, so the CLI and the app can show
it without a traceback."""
from __future__ import annotations

from typing import Any


class NetwrightError(Exception):
    """Base class for every error Netwright reports to users."""


class DocumentError(NetwrightError):
    """The file cannot be read as a Netwright document (syntax, structure, version)."""


class GraphError(NetwrightError):
    """The graph cannot be compiled; `diagnostics` lists every problem found."""

    def __init__(self, message: str, diagnostics: list[Any] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics or [])
