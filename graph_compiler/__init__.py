"""Netwright's graph compiler: file format, layer catalog, analysis, code generation.

Pure Python (torch + networkx). It never imports Qt: the designer depends on it, never
the other way round.
"""
from __future__ import annotations

__version__ = "0.1.0"

from graph_compiler.errors import DocumentError, GraphError, NetwrightError

__all__ = ["DocumentError", "GraphError", "NetwrightError", "__version__"]
