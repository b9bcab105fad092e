"""Dockable panels of the main window: palette, inspector, diagnostics, code, summary, start page."""

from designer import refguard  # noqa: F401 - see designer/refguard.py: before any Qt call
