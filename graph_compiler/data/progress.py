"""One Qt-free progress hook for the slow parts of getting data: downloads and cache builds.

Whoever wants to watch (a training run, the app's data dialog) installs a :class:`Hook`
with :func:`reporting`; the code doing the work asks :func:`current` for a
:class:`Progress`, which has pooch's progress-bar interface (``total``, ``update(n)``,
``reset()``, ``close()``). The hook's ``check`` runs on every update and may raise to
cancel the work; downloads and caches are written atomically, so a cancelled one leaves
nothing behind.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# what ("downloading mnist"), done, total (0: unknown), unit ("bytes" or "images")
Report = Callable[[str, int, int, str], None]
# Reports per task: enough for a smooth bar, few enough to cost nothing next to the work.
REPORTS = 200


@dataclass(frozen=True)
class Hook:
    report: Report
    check: Callable[[], None] = lambda: None  # raises to cancel


_hook: ContextVar[Hook | None] = ContextVar("netwright_data_progress", default=None)


@contextmanager
def reporting(hook: Hook) -> Iterator[None]:
    """Send the progress of data work in this thread / context to `hook`."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


class Progress:
    """pooch's progress-bar interface forwarding at most ~REPORTS reports to a hook."""

    def __init__(self, hook: Hook, what: str, unit: str = "bytes", total: int = 0) -> None:
        self.hook, self.what, self.unit = hook, what, unit
        self.total: int | None = total
        self.n = 0
        self._reported = -1

    def update(self, n: int) -> None:
        self.hook.check()
        self.n += n
        total = self.total or 0
        step = max(1, total // REPORTS) if total else 1 << 20
        if self.n - self._reported >= step or (total and self.n >= total):
            self._reported = self.n
            # pooch counts whole chunks, so the last one may overshoot the size
            self.hook.report(self.what, min(self.n, total) if total else self.n, total, self.unit)

    def reset(self) -> None:
        self.n = 0
        self._reported = -1

    def close(self) -> None:
        pass


def current(what: str, unit: str = "bytes", total: int = 0) -> Progress | None:
    """A progress bar for the installed hook, or None when nobody is watching."""
    hook = _hook.get()
    return None if hook is None else Progress(hook, what, unit, total)


def describe(what: str, done: int, total: int, unit: str) -> str:
    """ "downloading mnist: 3.1 / 11.6 MB", "caching photos: 1,200 / 5,000 images"."""
    if unit == "bytes":
        size = f"{done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    else:
        size = f"{done:,} / {total:,} {unit}" if total else f"{done:,} {unit}"
    return f"{what}: {size}"


__all__ = ["REPORTS", "Hook", "Progress", "Report", "current", "describe", "reporting"]
