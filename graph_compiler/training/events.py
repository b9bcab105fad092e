"""Events a training run yields: what the CLI, the app's dashboard and tests consume.

``Trainer.run()`` is a generator of :class:`Event`. Every event has a ``kind`` and a
``data`` dict whose keys are documented here; consumers must ignore keys they do not know
(recipes and later versions add some). Numbers are plain Python floats / ints; "sample"
payloads may hold small numpy arrays (``Event.to_json()`` turns them into lists).

Order of a run::

    progress*, start, (step* , epoch, sample?)* , done a normal run
    start, ..., error, done                            a failed run (done.reason == "error")
    error, done                                        setup failed before anything ran

Keys per kind (epoch numbers are 1-based; ``epoch`` in a step event is the epoch running):

``progress``  (before start, while a dataset downloads or its streaming cache is built)
    what (str, e.g. "downloading mnist"), done, total (int, 0 when unknown), unit ("bytes",
    "images" or "rows"), text (str, e.g. "downloading mnist: 3.1 / 11.6 MB").

``start``
    recipe (str), networks (list[str], first = the main network), main (str),
    device (str, e.g. "cpu", "cuda:0"), amp (None | "bf16" | "fp16"), seed (int),
    epochs (int, total), start_epoch (int, 0 or the resumed epoch), steps_per_epoch (int),
    batch_size (int), n_train (int), n_val (int), dataset (str), task (str),
    params ({network: parameter count}), config (dict, the resolved training config),
    normalizer (None | Normalizer.to_dict()), resumed (bool), in_memory (bool),
    streaming (None | {cache (str, the decoded cache folder), skipped (int, unreadable
    images left out), skipped_files (list[str], the first 20)}),
    elapsed_s (seconds spent setting up: data, analysis, code, modules).

``step``  (aggregated: at most one every ~50 ms, never one per step on fast models)
    epoch, epochs, step (global step count so far), epoch_step (steps done in this epoch),
    steps_per_epoch, progress (0..1 over the whole run), loss (mean train loss over the
    steps since the previous step event), <key> for every other key the recipe's
    train_step returns (same averaging, e.g. loss_d, loss_g, kl), lr (current lr of the
    first optimizer), samples_per_s (since the previous step event), elapsed_s.

``epoch``
    epoch, epochs, step, train_loss, train_<key> for other train_step keys (epoch means),
    val_loss and val_<metric> from the recipe's evaluate() (absent with val_split 0),
    lr, samples_per_s (training samples / training time of this epoch, validation
    excluded), epoch_time_s, elapsed_s (since start, validation included), best (bool:
    this epoch improved the monitored metric), monitor (name of that metric).
    Recipes add non-numeric extras, e.g. classification: confusion_matrix
    (list[list[int]], rows = true class), classes (list[str]), predictions
    (list of {"index", "true", "pred", "confidence"} for a few validation samples).

``sample``  (after an epoch, when the recipe's live_samples() returns something)
    epoch, step, plus the recipe's payload. Payload kinds:
      {"kind": "scatter", "points": ndarray [n, 2], "real": ndarray [m, 2] (optional),
       "labels": ndarray [n] (optional)}
      {"kind": "images", "images": ndarray [n, C, H, W] float in 0..1,
       "real": same (optional), "titles": list[str] (optional)}
      {"kind": "text", "text": list[str], "prompt": str (optional)}
      {"kind": "curve", "x": ndarray [n], "y": ndarray [n],
       "real_x": ndarray (optional), "real_y": ndarray (optional)}
    Payloads stay small (<= ~4096 points, <= 64 images, <= ~2000 characters).

``error``
    message (str, one or two sentences a user can act on), cause (one of "config"
    (training section / overrides), "data" (dataset cannot be built or does not suit the
    recipe), "graph" (the document has errors), "shape" (networks do not fit the data;
    also ``problems``: list[str], one sentence each), "nan" (non-finite loss), "oom"
    (CPU / GPU out of memory), "model" (an exception inside a network's forward /
    backward), "internal" (a Netwright bug)), epoch (int | None), step (int | None),
    hint (str, optional: what to try), traceback (str, optional, for --debug; never
    shown by default).

``done``
    reason ("completed" | "stopped" | "early_stopping" | "error"), epoch (last completed
    epoch), epochs, step, elapsed_s, metrics (dict: the last epoch's numeric values),
    best ({"metric", "value", "epoch"} | None), saved (str | None: checkpoint folder).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

KINDS = ("progress", "start", "step", "epoch", "sample", "error", "done")

ERROR_CAUSES = ("config", "data", "graph", "shape", "nan", "oom", "model", "internal")

DONE_REASONS = ("completed", "stopped", "early_stopping", "error")


@dataclass
class Event:
    """One thing that happened in a run: ``kind`` in :data:`KINDS`, details in ``data``."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_json(self) -> dict[str, Any]:
        """``{"event": kind, **data}`` with only JSON types (arrays -> lists, NaN -> None)."""
        return {"event": self.kind, **{k: jsonable(v) for k, v in self.data.items()}}


def jsonable(value: Any) -> Any:
    """Plain JSON data for numbers, numpy arrays / scalars, tensors, lists and dicts."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist):
        if hasattr(value, "detach"):
            value = value.detach().cpu()
        return jsonable(value.tolist())
    return str(value)


def error_event(message: str, cause: str, *, epoch: int | None = None, step: int | None = None,
                hint: str | None = None, traceback: str | None = None) -> Event:
    data: dict[str, Any] = {"message": message, "cause": cause, "epoch": epoch, "step": step}
    if hint:
        data["hint"] = hint
    if traceback:
        data["traceback"] = traceback
    return Event("error", data)


__all__ = ["DONE_REASONS", "ERROR_CAUSES", "KINDS", "Event", "error_event", "jsonable"]
