"""The training worker: runs the engine's event generator on a QThread.

Rules it keeps:
- It never touches a widget and emits no signal per step. Events go into
  ``TrainingBuffers``; the dashboard's timer drains them. The only signal is ``finished``.
- Everything that goes wrong in the thread is caught and posted as an error message, so
  the app stays alive.
- Stop goes through the engine's stop flag, never ``QThread.terminate()``.
- Pause is the engine's own (``Trainer.pause``): the run waits before its next step
  and calls back into this worker (``Trainer.while_paused``) in this thread, so it can
  still answer activation requests while paused. The engine's clock leaves the paused
  time out, and elapsed time and ETA are read from it.
- The modules belong to this thread while the run lasts; activations and per-layer norms
  are computed here, between events, and posted to the buffers.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from designer.training.buffers import TrainingBuffers
from designer.training.plots import epoch_series, step_series
from graph_compiler.training.events import Event
from graph_compiler.training.failures import CHECK_MODEL_HINT
from graph_compiler.training.probe import ModelProbe, ProbeError

if TYPE_CHECKING:
    from graph_compiler.training.engine import Trainer

# The engine's hints are worded for the command line; in the app, point at its own panels.
GUI_HINTS = {CHECK_MODEL_HINT: "check the Diagnostics panel for problems in the graph; "
                               "hover this message to see where the error came from"}
HEALTH_INTERVAL_S = 0.25  # per-layer norms at most 4x a second
BADGE_INTERVAL_S = 2.0  # dead / saturated units for the canvas badges (one probe forward pass)
ACTIVATION_INTERVAL_S = 1.0  # refresh of the watched node's activations while training

_threads_configured = False


def configure_torch_threads(reserve_for_ui: int = 1) -> None:
    """Set torch's thread counts once, at start-up, in the main thread.

    Intra-op threads leave ``reserve_for_ui`` cores to the GUI thread so drawing never
    waits for a core; inter-op is 1 (the engine runs one op stream). Calling again is a
    no-op: torch refuses to change inter-op threads after any parallel work started.
    """
    global _threads_configured
    if _threads_configured:
        return
    import torch

    _threads_configured = True
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, cores - reserve_for_ui))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # parallel work already ran (e.g. in tests): the default stays


def make_probe(trainer: Trainer) -> ModelProbe | None:
    """A ModelProbe over a prepared trainer's modules, or None before set-up finished."""
    ctx, recipe = trainer.ctx, trainer.recipe
    if ctx is None or recipe is None or not recipe.modules:
        return None
    data = ctx.val if ctx.val is not None else ctx.train
    compiled = ctx.compiled
    return ModelProbe(recipe.modules, compiled.generated, ctx.document, ctx.analysis,
                      data.x if data is not None else None, compiled.namespace)


class TrainingWorker(QObject):
    """Drives one ``Trainer.run()`` on a QThread. Control methods are thread-safe."""

    finished = Signal(str)  # the done reason ("completed", "stopped", "error", ...)

    def __init__(self, trainer: Trainer, buffers: TrainingBuffers,
                 on_event: Callable[[Event], None] | None = None) -> None:
        super().__init__()
        self.trainer = trainer
        trainer.while_paused = self._service  # called in this thread while the run waits
        self.buffers = buffers
        self.on_event = on_event  # test hook, called in the worker thread
        self.reason = "error"
        self.probe: ModelProbe | None = None
        self.started = time.time()
        self._lock = threading.Lock()
        self._watch: tuple[str, str | None] | None = None  # (node id, network)
        self._watch_new = False
        self._last_health = 0.0
        self._last_badges = 0.0
        self._badge_step = -1
        self._grad_norms: dict[str, float] = {}
        self._badge_inputs: list[Any] | None = None
        self._last_activation = 0.0
        self._health_step = 0
        self._samples_per_s: float | None = None
        self._pred_index: tuple[int, ...] = ()
        self._pred_images: np.ndarray | None = None
        self._elapsed0 = 0.0  # the engine's clock at "start": set-up is not training time
        self._step = 0
        self._epochs = 0
        self._steps_per_epoch = 1
        self._progress = 0.0
        self._progress0 = 0.0

    # ------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        self.trainer.pause()  # the run waits before its next step

    def resume(self) -> None:
        self.trainer.resume()

    def stop(self) -> None:
        self.trainer.stop()  # ends the run after the current step, paused or not

    @property
    def paused(self) -> bool:
        return bool(self.trainer.paused)

    def watch(self, node_id: str | None, network: str | None = None) -> None:
        """Capture this node's activations now (at the next event) and then every second."""
        with self._lock:
            self._watch = (node_id, network) if node_id else None
            self._watch_new = node_id is not None

    # ------------------------------------------------------------ the thread
    @Slot()
    def run(self) -> None:
        try:
            gen = self.trainer.run()
            for event in gen:
                self._handle(event)
                if self.on_event is not None:
                    self.on_event(event)
                self._service()
        except BaseException as exc:  # noqa: BLE001 - nothing may escape the thread
            first = (str(exc).strip().splitlines() or [""])[0]
            self.buffers.message("error", f"training crashed: {type(exc).__name__}: {first}")
            self.buffers.put("traceback", traceback.format_exc())
            self.reason = "error"
        finally:
            self.finished.emit(self.reason)

    def _service(self) -> None:
        """Activations of the watched node and per-layer norms, when due (worker thread)."""
        now = time.perf_counter()
        with self._lock:
            watch, fresh = self._watch, self._watch_new
            self._watch_new = False
        if watch and (fresh or now - self._last_activation >= ACTIVATION_INTERVAL_S):
            self._last_activation = now
            self._capture(*watch)
        if (now - self._last_health >= HEALTH_INTERVAL_S and self.probe is not None
                and self._step != self._health_step):  # nothing new while paused
            self._last_health = now
            self._health_step = self._step
            try:
                names, w, g = self.probe.norms()
                self.buffers.add_health(float(self._step), names, w, g)
                self._grad_norms = {n: float(v) for n, v in zip(names, g) if np.isfinite(v)}
            except Exception as exc:  # noqa: BLE001 - diagnostics must never stop training
                self.buffers.message("warning", f"per-layer norms unavailable: {exc}")
                self.probe = None

        if (now - self._last_badges >= BADGE_INTERVAL_S and self.probe is not None
                and self._step != self._badge_step):
            self._last_badges = now
            self._badge_step = self._step
            self._post_badges()

    def _post_badges(self) -> None:
        """Dead / saturated units of the main network on the probe batch, with the last
        step's parameter gradient norms, for the canvas badges."""
        from graph_compiler.insight.units import PROBE_SIZE, measure
        from graph_compiler.training.probe import probe_inputs

        probe = self.probe
        assert probe is not None
        try:
            name = next(iter(probe.modules))
            if self._badge_inputs is None:  # the same samples every time, so the numbers compare
                self._badge_inputs = probe_inputs(probe.analysis.networks[name], probe.data_x, n=PROBE_SIZE)
            section = measure(probe.modules[name], probe.doc.network(name), probe.generated.attrs.get(name, {}),
                              self._badge_inputs, self._grad_norms)
        except Exception as exc:  # noqa: BLE001 - badges are a diagnostic; training goes on
            self.buffers.message("warning", f"unit health unavailable: {exc}")
            return
        rows = {r["node"]: {**r, "grad_label": "parameter gradient norm (last step)"} for r in section["nodes"]}
        self.buffers.put("badges", rows)

    def _capture(self, node_id: str, network: str | None) -> None:
        if self.probe is None:
            return
        try:
            act = self.probe.activation(node_id, network)
            self.buffers.put("activation", {"activation": act, "step": self._step, "network": network})
        except ProbeError as exc:
            self.buffers.put("activation", {"error": str(exc), "node": node_id})
        except Exception as exc:  # noqa: BLE001
            self.buffers.put("activation", {"error": f"could not capture {node_id!r}: {exc}", "node": node_id})

    # ------------------------------------------------------------ events -> buffers
    def _handle(self, ev: Event) -> None:
        d = ev.data
        kind = ev.kind
        if kind == "step":
            self._step = int(d.get("step", self._step))
            self._progress = float(d.get("progress", self._progress))
            self.buffers.add_step(float(self._step), step_series(d))
            self._post_progress(d)
        elif kind == "epoch":
            self._step = int(d.get("step", self._step))
            self.buffers.add_epoch({"step": float(self._step), "epoch": d.get("epoch"),
                                    "values": epoch_series(d)})
            if "confusion_matrix" in d:
                self.buffers.put("confusion", {"matrix": d["confusion_matrix"], "classes": d.get("classes"),
                                               "epoch": d.get("epoch")})
            if d.get("predictions"):
                self.buffers.put("predictions", {"items": d["predictions"], "classes": d.get("classes"),
                                                 "images": self._prediction_images(d["predictions"])})
            self._post_progress(d)
        elif kind == "progress":  # a download or cache build before the run starts
            total = int(d.get("total") or 0)
            self.buffers.put("progress", {"preparing": str(d.get("text", "")),
                                          "progress": int(d.get("done") or 0) / total if total else 0.0})
        elif kind == "sample":
            self.buffers.put("sample", dict(d))
        elif kind == "start":
            # Elapsed / ETA count from here: set-up (first-run imports, data) is not training.
            self._elapsed0 = float(self.trainer.elapsed_s)
            self._epochs = int(d.get("epochs", 0))
            self._progress = self._progress0 = int(d.get("start_epoch", 0)) / max(1, self._epochs)
            self._steps_per_epoch = int(d.get("steps_per_epoch", 1))
            self.probe = make_probe(self.trainer)
            self.buffers.put("start", dict(d))
            self._post_progress({"epoch": d.get("start_epoch", 0), "step": 0})
        elif kind == "error":
            msg = str(d.get("message", "training failed"))
            hint = d.get("hint")
            hint = GUI_HINTS.get(hint, hint) if isinstance(hint, str) else hint
            self.buffers.message("error", msg + (f"\nHint: {hint}" if hint else ""))
            if d.get("traceback"):
                self.buffers.put("traceback", d["traceback"])
        elif kind == "done":
            self.reason = str(d.get("reason", "completed"))
            if self.reason == "completed":
                self._progress = 1.0
            self._post_progress(d)
            self.buffers.put("done", dict(d))

    def _post_progress(self, d: dict[str, Any]) -> None:
        if d.get("samples_per_s"):
            self._samples_per_s = d["samples_per_s"]  # done / start events carry none: keep the last
        elapsed = float(self.trainer.elapsed_s) - self._elapsed0
        progress = self._progress
        done = progress - self._progress0  # a resumed run starts part-way
        eta = elapsed * (1 - progress) / done if done > 1e-6 else None
        self.buffers.put("progress", {
            "epoch": d.get("epoch"), "epochs": self._epochs, "step": self._step,
            "epoch_step": d.get("epoch_step"), "steps_per_epoch": self._steps_per_epoch,
            "progress": progress, "elapsed_s": elapsed, "eta_s": eta,
            "samples_per_s": self._samples_per_s,
        })

    def _prediction_images(self, preds: list[dict[str, Any]]) -> np.ndarray | None:
        """The validation samples the predictions refer to, as [n, C, H, W] images in data
        space, when the data are images (digits); None otherwise."""
        try:
            from graph_compiler.training.recipes.generative_base import image_shape

            ctx = self.trainer.ctx
            if ctx.val is None:
                return None
            shape = image_shape(ctx.val, tuple(ctx.val.x.shape[1:]))
            if shape is None:
                return None
            idx = tuple(int(p["index"]) for p in preds if 0 <= int(p.get("index", -1)) < len(ctx.val.x))
            if idx != self._pred_index:  # the same validation samples every epoch: convert once
                x = ctx.denormalize(ctx.val.x[list(idx)].float())
                self._pred_images = x.reshape(len(idx), *shape).detach().cpu().numpy()
                self._pred_index = idx
            return self._pred_images
        except Exception:  # noqa: BLE001 - pictures are a nicety; the text still shows
            return None


class TrainingThread:
    """Owns a QThread + TrainingWorker pair and their orderly shutdown."""

    def __init__(self, worker: TrainingWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("netwright-training")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: QThread.quit is thread-safe, and a queued call would wait for the GUI
        # thread, which may itself be waiting for this thread to end.
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop_and_wait(self, timeout_ms: int = 10_000) -> bool:
        """Ask the run to stop (the engine's flag) and wait for the thread to end."""
        if self.thread.isRunning():
            self.worker.stop()
            return self.thread.wait(timeout_ms)
        return True


__all__ = ["TrainingThread", "TrainingWorker", "configure_torch_threads", "make_probe"]
