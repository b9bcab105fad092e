"""What `netwright train` prints while it trains (stderr).

- On a terminal: a live tqdm line within each epoch (step/total, a bar, ETA for the
  epoch, loss and accuracy, samples/s), replaced at the end of the epoch by that epoch's
  summary line.
- Not on a terminal (a log file, CI, a pipe): only the summary line per epoch.
- ``--quiet``: nothing.
"""
from __future__ import annotations

import math
import shutil
from typing import Any, TextIO

# Live-line keys besides the loss worth a glance; the rest waits for the epoch line.
_LIVE_KEYS = ("accuracy",)


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def live_postfix(d: dict[str, Any]) -> str:
    """The text after the bar: 'loss 0.4321 accuracy 0.9100 | 1,234 samples/s'."""
    parts = [f"loss {fmt(d['loss'])}"] if "loss" in d else []
    parts += [f"{k} {fmt(d[k])}" for k in _LIVE_KEYS if isinstance(d.get(k), float)]
    return " ".join(parts) + f" | {d.get('samples_per_s', 0.0):,.0f} samples/s"


class Progress:
    """Turns the engine's start / step / epoch events into terminal output."""

    BAR_FORMAT = "epoch {desc} {n_fmt}/{total_fmt} [{bar:20}] {percentage:3.0f}% ETA {remaining}{postfix}"

    def __init__(self, stream: TextIO, quiet: bool, *, tty: bool | None = None,
                 min_interval_s: float = 0.1) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty() if tty is None else tty
        self.min_interval_s = min_interval_s
        self._bar: Any = None  # tqdm, created at an epoch's first step
        self._bar_epoch: int | None = None

    def start(self, d: dict[str, Any]) -> None:
        if self.quiet:
            return
        params = sum(d.get("params", {}).values())
        resumed = f", resuming after epoch {d['start_epoch']}" if d.get("resumed") else ""
        amp = f", {d['amp']}" if d.get("amp") else ""
        why = f" ({d['device_reason']})" if d.get("device_reason", "asked for") != "asked for" else ""
        self.stream.write(
            f"training {', '.join(d['networks'])} ({params:,} parameters) with recipe {d['recipe']} on "
            f"{d['dataset']} ({d['n_train']:,} train / {d['n_val']:,} validation) on "
            f"{d['device']}{why}{amp}{resumed}\n")
        for note in d.get("notes", ()):
            self.stream.write(f"  {note}\n")
        self.stream.flush()

    def step(self, d: dict[str, Any]) -> None:
        if self.quiet or not self.tty:
            return
        from tqdm import tqdm

        if self._bar is None or self._bar_epoch != d["epoch"]:
            self.clear()
            size = shutil.get_terminal_size((100, 20))
            self._bar = tqdm(
                total=int(d.get("steps_per_epoch") or 0) or None,
                desc=f"{d['epoch']}/{d['epochs']}",
                file=self.stream,
                bar_format=self.BAR_FORMAT,
                ascii=" #",
                leave=False,
                # A terminal that reports no size (some ptys) would get no bar at all.
                ncols=size.columns,
                nrows=size.lines,
                mininterval=self.min_interval_s,
            )
            self._bar_epoch = d["epoch"]
        bar = self._bar
        bar.set_postfix_str(live_postfix(d), refresh=False)
        bar.update(max(0, int(d.get("epoch_step", bar.n)) - bar.n))

    def clear(self) -> None:
        if self._bar is not None:
            self._bar.close()  # leave=False: the line is erased
            self._bar = None
            self._bar_epoch = None

    def epoch(self, d: dict[str, Any]) -> None:
        if self.quiet:
            return
        self.clear()
        keys = [k for k, v in d.items() if k.startswith(("train_", "val_")) and isinstance(v, float)]
        parts = "  ".join(f"{k} {fmt(d[k])}" for k in keys)
        self.stream.write(f"epoch {d['epoch']:>{len(str(d['epochs']))}}/{d['epochs']}  {parts}  "
                          f"({d['epoch_time_s']:.2f}s, {d['samples_per_s']:,.0f} samples/s)\n")
        self.stream.flush()


__all__ = ["Progress", "fmt", "live_postfix"]
