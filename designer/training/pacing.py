"""Redraw pacing: how often a view may redraw while a run is live.

Drawing runs Python in the GUI thread (pyqtgraph's paint code, setData's downsampling),
and every millisecond of it holds the GIL that a small model's training loop needs too.
So each view redraws only when its ``Pacer`` allows: at most ``max_hz`` times a second,
and never more often than keeps its measured cost (setData + the paint that follows) under
``duty`` of the GUI thread's time. A cheap plot redraws at its ``max_hz`` (curves: 6 Hz,
plenty for a training curve); a million-point plot on a slow machine drops to a few Hz
instead of starving training or the event loop.
"""
from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtGui import QPaintEvent


class Pacer:
    def __init__(self, max_hz: float = 10.0, duty: float = 0.1) -> None:
        self.min_interval = 1.0 / max_hz
        self.duty = duty
        self._next = 0.0
        self.cost_s = 0.0  # the last measured cost of a redraw

    def ready(self, now: float | None = None) -> bool:
        return (time.perf_counter() if now is None else now) >= self._next

    def record(self, cost_s: float, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        self.cost_s = cost_s
        self._next = now + max(self.min_interval, cost_s / self.duty)

    def reset(self) -> None:
        self._next = 0.0


class TimedGraphicsLayout(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that remembers how long its last paints took, so a Pacer
    can count the paint that a setData causes (it happens later, in the event loop)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.paint_s = 0.0  # exponential moving average

    def paintEvent(self, ev: QPaintEvent) -> None:
        t = time.perf_counter()
        super().paintEvent(ev)
        dt = time.perf_counter() - t
        self.paint_s = dt if self.paint_s == 0.0 else 0.7 * self.paint_s + 0.3 * dt


__all__ = ["Pacer", "TimedGraphicsLayout"]
