"""Earlier runs of the same file, kept for overlay comparison.

Each finished run leaves a small record: its settings, final metrics and its curves
(epoch curves whole, step curves thinned to a few hundred points), so a file's last
``MAX_RUNS`` runs fit in a few hundred KiB of JSON. Records live in memory for every
document and, for a saved file, in ``<app data>/runs/<hash of the path>.json``: kept
out of the user's folder (no clutter next to their graphs, works for read-only
folders), and written atomically so a crash never leaves a broken history.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graph_compiler.atomic import atomic_write

MAX_RUNS = 10
MAX_STEP_POINTS = 400
FORMAT = "netwright-runs"


@dataclass
class RunRecord:
    run_id: str
    started: float  # unix time
    label: str  # "run 3 - 14:02, adam lr 0.001"
    recipe: str = ""
    dataset: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # done.reason
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["curves"] = {k: [list(map(float, x)), [_num(v) for v in y]] for k, (x, y) in self.curves.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        curves = {str(k): (list(v[0]), [np.nan if y is None else y for y in v[1]])
                  for k, v in (d.get("curves") or {}).items()}
        return cls(str(d["run_id"]), float(d.get("started", 0.0)), str(d.get("label", d["run_id"])),
                   str(d.get("recipe", "")), str(d.get("dataset", "")), dict(d.get("settings") or {}),
                   str(d.get("reason", "")), dict(d.get("metrics") or {}), curves)


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None  # JSON has no NaN


def thin(x: np.ndarray, y: np.ndarray, n: int = MAX_STEP_POINTS) -> tuple[list[float], list[float]]:
    """At most ``n`` points, evenly spaced by index (the overlay is a reminder, not data)."""
    if len(x) <= n:
        return x.tolist(), y.tolist()
    idx = np.linspace(0, len(x) - 1, n).round().astype(int)
    return x[idx].tolist(), y[idx].tolist()


def default_dir() -> Path:
    env = os.environ.get("NETWRIGHT_RUNS_DIR")
    if env:
        return Path(env)
    from PySide6.QtCore import QStandardPaths  # only the app needs Qt's idea of "app data"

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".netwright") / "runs"


class RunHistory:
    """Run records per document key (the file's absolute path, or an in-memory key)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, list[RunRecord]] = {}

    def _file(self, key: str) -> Path | None:
        if self.folder is None or not os.path.isabs(key):
            return None  # unsaved documents keep their runs in memory only
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
        return self.folder / f"{digest}.json"

    def runs(self, key: str) -> list[RunRecord]:
        if key not in self._memory:
            self._memory[key] = self._read(key)
        return list(self._memory[key])

    def add(self, key: str, record: RunRecord) -> None:
        runs = self.runs(key)
        runs.append(record)
        self._memory[key] = runs[-MAX_RUNS:]
        self._write(key)

    def clear(self, key: str) -> None:
        self._memory[key] = []
        self._write(key)

    def next_number(self, key: str) -> int:
        runs = self.runs(key)
        nums = [int(r.run_id.split("-")[-1]) for r in runs if r.run_id.split("-")[-1].isdigit()]
        return max(nums, default=0) + 1

    def _read(self, key: str) -> list[RunRecord]:
        path = self._file(key)
        if path is None or not path.is_file():
            return []
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT or raw.get("file") != key:
                return []  # a hash collision or another tool's file: never mix runs
            return [RunRecord.from_dict(r) for r in raw.get("runs", [])][-MAX_RUNS:]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return []  # a damaged history must never stop training

    def _write(self, key: str) -> None:
        path = self._file(key)
        if path is None:
            return
        data = {"format": FORMAT, "version": 1, "file": key,
                "runs": [r.to_dict() for r in self._memory.get(key, [])]}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(data, allow_nan=False).encode("utf-8"))
        except (OSError, ValueError):
            pass  # history is a convenience; losing it is better than failing a run


def make_label(number: int, started: float, settings: dict[str, Any]) -> str:
    clock = time.strftime("%H:%M", time.localtime(started))
    bits = [f"{k} {v}" for k, v in settings.items() if v is not None]
    return f"run {number} - {clock}" + (f" ({', '.join(bits)})" if bits else "")


__all__ = ["MAX_RUNS", "RunHistory", "RunRecord", "default_dir", "make_label", "thin"]
