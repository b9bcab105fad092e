"""Bounded buffers between the training worker (one writer) and the dashboard (one reader).

The worker never calls a widget and never emits a signal per step: it appends to these
buffers under one lock, and the dashboard's timer drains them at <= 30 Hz. Every buffer
has a fixed size, so a run of any length uses the same memory:

- ``ScalarRing``: preallocated float64 (x, y) rings for per-step series. If the GUI falls
  behind, the oldest unread points are overwritten (and counted in ``dropped``).
- deques with ``maxlen`` for epoch rows, health samples and messages.
- a latest-wins mailbox for big payloads (samples, activations, confusion matrix):
  only the newest one matters to the view, so older ones are replaced, not queued.

``History`` is the GUI-side store a curve is drawn from: it keeps the whole run visible
by halving its resolution (keeping each block's min and max, like pyqtgraph's peak
downsampling) whenever it reaches its capacity.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STEP_RING = 1 << 16  # per series; the GUI drains every ~33 ms, so this never overflows in practice
HISTORY_POINTS = 1 << 20  # per curve on the GUI side (8 MiB x + 8 MiB y at most)


def _resized(old: np.ndarray, size: int, n: int) -> np.ndarray:
    """A float64 array of ``size`` holding ``old``'s first ``n`` values."""
    new = np.empty(size, dtype=np.float64)
    new[:n] = old[:n]
    return new


class ScalarRing:
    """A fixed-size ring of (x, y) float64 points. Not locked itself: TrainingBuffers is."""

    def __init__(self, capacity: int = STEP_RING) -> None:
        self.capacity = capacity
        self.x = np.zeros(capacity, dtype=np.float64)
        self.y = np.zeros(capacity, dtype=np.float64)
        self.total = 0  # points ever appended

    def append(self, x: float, y: float) -> None:
        i = self.total % self.capacity
        self.x[i] = x
        self.y[i] = y
        self.total += 1

    def since(self, seen: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Copies of the points appended after the first ``seen`` ones (at most the last
        ``capacity``), oldest first, and how many of them were overwritten unread."""
        start = max(seen, self.total - self.capacity)
        dropped = start - seen
        n = self.total - start
        if n <= 0:
            return np.empty(0), np.empty(0), dropped
        idx = (np.arange(start, self.total) % self.capacity)
        return self.x[idx], self.y[idx], dropped


class History:
    """Growing (x, y) arrays for one curve, bounded by halving at ``capacity``.

    Grows by doubling (most runs are short, so most curves stay a few KiB); at capacity,
    every block of 4 points becomes its min and its max in x order, so spikes (a loss
    blow-up) survive any number of halvings.
    """

    def __init__(self, capacity: int = HISTORY_POINTS) -> None:
        self.capacity = max(8, capacity - capacity % 4)
        self._x = np.empty(min(1024, self.capacity), dtype=np.float64)
        self._y = np.empty_like(self._x)
        self.n = 0
        self.halvings = 0
        self.lo = self.hi = math.nan  # finite min / max of y so far (halving keeps both)
        self.lo_pos = math.nan  # smallest positive y, for log scales

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def __len__(self) -> int:
        return self.n

    def clear(self) -> None:
        self.n = 0
        self.halvings = 0
        self.lo = self.hi = self.lo_pos = math.nan

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        self._track_range(ys)
        while len(xs):
            if self.n == self.capacity:
                self._halve()
            if self.n == len(self._x):
                self._grow()
            take = min(len(xs), len(self._x) - self.n)
            self._x[self.n:self.n + take] = xs[:take]
            self._y[self.n:self.n + take] = ys[:take]
            self.n += take
            xs, ys = xs[take:], ys[take:]

    def _track_range(self, ys: np.ndarray) -> None:
        finite = ys[np.isfinite(ys)]
        if not len(finite):
            return
        lo, hi = float(finite.min()), float(finite.max())
        self.lo = lo if math.isnan(self.lo) else min(self.lo, lo)
        self.hi = hi if math.isnan(self.hi) else max(self.hi, hi)
        pos = finite[finite > 0]
        if len(pos):
            p = float(pos.min())
            self.lo_pos = p if math.isnan(self.lo_pos) else min(self.lo_pos, p)

    def _grow(self) -> None:
        size = min(self.capacity, len(self._x) * 2)
        self._x = _resized(self._x, size, self.n)
        self._y = _resized(self._y, size, self.n)

    def _halve(self) -> None:
        m = self.n - self.n % 4
        x = self._x[:m].reshape(-1, 4)
        y = self._y[:m].reshape(-1, 4)
        # NaN (a diverged loss) must neither win nor poison argmin/argmax.
        lo = np.argmin(np.where(np.isnan(y), np.inf, y), axis=1)
        hi = np.argmax(np.where(np.isnan(y), -np.inf, y), axis=1)
        first, second = np.minimum(lo, hi), np.maximum(lo, hi)
        rows = np.arange(len(x))
        keep_x = np.stack([x[rows, first], x[rows, second]], axis=1).ravel()
        keep_y = np.stack([y[rows, first], y[rows, second]], axis=1).ravel()
        tail = self.n - m
        k = len(keep_x)
        tx, ty = self._x[m:self.n].copy(), self._y[m:self.n].copy()
        self._x[:k], self._y[:k] = keep_x, keep_y
        self._x[k:k + tail], self._y[k:k + tail] = tx, ty
        self.n = k + tail
        self.halvings += 1


@dataclass
class Drained:
    """Everything new since the previous ``TrainingBuffers.drain``."""

    steps: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    health: list[tuple[float, list[str], np.ndarray, np.ndarray]] = field(default_factory=list)
    latest: dict[str, Any] = field(default_factory=dict)
    messages: list[tuple[str, str]] = field(default_factory=list)
    dropped: int = 0

    def empty(self) -> bool:
        return not (self.steps or self.epochs or self.health or self.latest or self.messages)


class TrainingBuffers:
    """The worker -> dashboard hand-off: thread-safe, bounded, single reader."""

    def __init__(self, step_capacity: int = STEP_RING, epoch_capacity: int = 10_000,
                 health_capacity: int = 4096, message_capacity: int = 200) -> None:
        self._lock = threading.Lock()
        self._step_capacity = step_capacity
        self._steps: dict[str, ScalarRing] = {}
        self._seen: dict[str, int] = {}
        self._epochs: deque[dict[str, Any]] = deque(maxlen=epoch_capacity)
        self._health: deque[tuple[float, list[str], np.ndarray, np.ndarray]] = deque(maxlen=health_capacity)
        self._messages: deque[tuple[str, str]] = deque(maxlen=message_capacity)
        self._latest: dict[str, Any] = {}
        self.dropped = 0

    # ---- writer side (worker thread)
    def add_step(self, x: float, values: dict[str, float]) -> None:
        with self._lock:
            for name, value in values.items():
                ring = self._steps.get(name)
                if ring is None:
                    ring = self._steps[name] = ScalarRing(self._step_capacity)
                    self._seen[name] = 0
                ring.append(x, value)

    def add_epoch(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._epochs.append(row)

    def add_health(self, x: float, names: list[str], weights: np.ndarray, grads: np.ndarray) -> None:
        with self._lock:
            self._health.append((x, names, weights, grads))

    def put(self, key: str, value: Any) -> None:
        """Latest-wins: replaces an unread value under the same key."""
        with self._lock:
            self._latest[key] = value

    def message(self, level: str, text: str) -> None:
        with self._lock:
            self._messages.append((level, text))

    # ---- reader side (GUI thread)
    def drain(self) -> Drained:
        out = Drained()
        with self._lock:
            for name, ring in self._steps.items():
                seen = self._seen[name]
                if ring.total == seen:
                    continue
                xs, ys, dropped = ring.since(seen)
                self._seen[name] = ring.total
                out.dropped += dropped
                if len(xs):
                    out.steps[name] = (xs, ys)
            out.epochs = list(self._epochs)
            self._epochs.clear()
            out.health = list(self._health)
            self._health.clear()
            out.latest, self._latest = self._latest, {}
            out.messages = list(self._messages)
            self._messages.clear()
            self.dropped += out.dropped
        return out

    def sizes(self) -> dict[str, int]:
        """How much each buffer holds now (memory checks in tests and the bench)."""
        with self._lock:
            return {
                "step_points": sum(min(r.total, r.capacity) for r in self._steps.values()),
                "step_series": len(self._steps),
                "epochs": len(self._epochs),
                "health": len(self._health),
                "latest": len(self._latest),
                "messages": len(self._messages),
            }


__all__ = ["HISTORY_POINTS", "STEP_RING", "Drained", "History", "ScalarRing", "TrainingBuffers"]
