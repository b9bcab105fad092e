"""Load a run's data in a helper thread so that the run can yield "progress" events while
a dataset downloads or its streaming cache is built, and stop it promptly."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import TypeVar

from graph_compiler.data import progress as data_progress
from graph_compiler.training.events import Event
from graph_compiler.training.failures import Stopped

T = TypeVar("T")


def load_with_progress(load: Callable[[], T], stop: threading.Event) -> Generator[Event, None, T]:
    """``load()`` run in a helper thread; yields a "progress" event per report of its
    downloads and cache builds and returns its result (or raises its exception). Once
    ``stop`` is set, the next report raises Stopped inside ``load``."""
    events: queue.Queue[Event | None] = queue.Queue()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def report(what: str, done: int, total: int, unit: str) -> None:
        events.put(Event("progress", {"what": what, "done": done, "total": total, "unit": unit,
                                      "text": data_progress.describe(what, done, total, unit)}))

    def check() -> None:
        if stop.is_set():
            raise Stopped()

    def work() -> None:
        try:
            with data_progress.reporting(data_progress.Hook(report, check)):
                outcome.append(load())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the run's own thread
            failure.append(exc)
        finally:
            events.put(None)

    thread = threading.Thread(target=work, name="netwright-data", daemon=True)
    thread.start()
    try:
        while (event := events.get()) is not None:
            yield event
    finally:
        if thread.is_alive():  # the run was closed mid-download: cancel it, then wait
            stop.set()
        thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


__all__ = ["load_with_progress"]
