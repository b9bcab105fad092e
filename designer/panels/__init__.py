"""Dockable panels of the main window: palette, inspector, diagnostics, code, summary, start page."""
