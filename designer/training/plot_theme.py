"""Plots in the app's colours: the light or dark theme's base and muted text, not
pyqtgraph's black, and updated when the user switches themes."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from designer import theme


def plot_colors() -> tuple[str, str]:
    """(background, foreground) of the current theme."""
    c = theme.colors()
    return c.base, c.muted


def apply_plot_theme(root: QWidget) -> None:
    """Recolour every pyqtgraph view under ``root`` and make new ones match (the config
    options are global, but nothing else in the app uses pyqtgraph)."""
    bg, fg = plot_colors()
    pg.setConfigOptions(background=bg, foreground=fg)
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(bg)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(fg)
                item.setTextPen(fg)
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=fg)


__all__ = ["apply_plot_theme", "plot_colors"]
