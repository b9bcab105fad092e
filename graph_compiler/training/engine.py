"""The training engine: ``Trainer(doc).run()`` is a generator of events.

It trains a snapshot of the document (the caller's document is never touched), builds
the modules by executing the generated code (so the trained module IS the exported
one), and leaves the recipe (``recipes/``) to say what a training step is. The engine
runs the loop: set-up, epochs of steps, validation, throttled events, pause / stop,
checkpoints. The parts it drives live in their own modules: ``preprocessing`` (split
and normalisation), ``batching``, ``optimizers``, ``schedules``, ``progress`` (step
means, the monitored metric), ``failures`` (errors as events), ``rng`` and ``restore``.

Typical use::

    trainer = Trainer(doc, overrides={"epochs": 5})
    for event in trainer.run():          # in a worker thread for the app
        ...
    weights = trainer.result.weights     # {network: state_dict} on the CPU

``pause()``, ``resume()`` and ``stop()`` may be called from any thread. A paused run
waits between steps, calling ``while_paused`` (if given) in the training thread every
``PAUSE_POLL_S``: the app's worker answers activation requests from there. ``run()``
never raises for problems a user can cause: they arrive as an "error" event followed
by "done". Only a bad training section raises, from the constructor
(TrainingConfigError), so callers can reject it before starting a thread.
"""
from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import torch

from graph_compiler.document import Document, to_dict
from graph_compiler.errors import GraphError, NetwrightError
from graph_compiler.training import batching, devices, restore
from graph_compiler.training.augment import Augmenter, parse_augment
from graph_compiler.training.checkpoints import SavedRun, cpu_copy, load_run, save_run, small_meta
from graph_compiler.training.config import TrainingConfig, TrainingConfigError, parse_config
from graph_compiler.training.datasets import Dataset, resolve_dataset
from graph_compiler.training.events import Event, error_event
from graph_compiler.training.failures import (
    NonFinite,
    ShapeProblems,
    Stopped,
    Where,
    error_event_for,
    graph_errors_text,
)
from graph_compiler.training.optimizers import OptimizerSet, build_optimizer
from graph_compiler.training.preparing import load_with_progress
from graph_compiler.training.preprocessing import (
    Normalizer,
    fit_normalizer,
    normalize_splits,
    split,
)
from graph_compiler.training.progress import EpochTotals, Monitor, as_number, means_of, step_values
from graph_compiler.training.rng import capture_rng, restore_rng, seed_everything
from graph_compiler.training.run_result import RunResult
from graph_compiler.training.schedules import per_step
from graph_compiler.training.streamed import StreamedData, open_if_large

# While paused, how often the run wakes to call while_paused (and re-check stop).
PAUSE_POLL_S = 0.05


class Trainer:
    """One training run of a document. See the module docstring."""

    def __init__(self, doc: Document, overrides: Mapping[str, Any] | None = None, *,
                 dataset: Dataset | None = None, resume: str | Path | None = None,
                 save: str | Path | None = None, event_interval: float = 0.05,
                 while_paused: Callable[[], None] | None = None) -> None:
        """``overrides``: training keys replacing the document's (None values ignored).
        ``dataset``: a Dataset to train on instead of ``training.dataset``.
        ``resume``: a run folder to continue from (its weights, optimizer state, epoch,
        history). ``save``: a folder to write the run to when it ends (not on errors).
        ``event_interval``: minimum seconds between "step" events. ``while_paused``:
        called in the training thread every PAUSE_POLL_S while the run is paused."""
        if dataset is not None and not isinstance(dataset, Dataset):
            raise TypeError("Trainer(dataset=...) takes a graph_compiler.training.datasets.Dataset")
        self.doc = doc.copy()  # the snapshot we train; the caller's document is never touched
        self.config: TrainingConfig = parse_config(self.doc.training, overrides)
        self._dataset_override = dataset
        self.resume_dir = Path(resume) if resume else None
        self.save_dir = Path(save) if save else None
        self.event_interval = event_interval
        self.while_paused = while_paused
        self._paused_since: float | None = None  # perf_counter() while the run waits paused
        self._stop, self._unpaused = threading.Event(), threading.Event()
        self._unpaused.set()
        # True while a pause or stop is pending: one attribute read per step in the loop
        # (assignments of a bool are atomic under the GIL; the Events carry the real state).
        self._attention = False
        self.state = "idle"  # idle | running | paused | finished
        self.recipe: Any = None  # a recipes.base.Recipe once prepared
        self.ctx: Any = None  # its recipes.base.RecipeContext
        self.history: list[dict[str, Any]] = []
        self.result: RunResult | None = None
        self.device: torch.device | None = None
        self.device_reason = ""
        self.notes: list[str] = []  # what prepare() did to speed things up, for the start event
        self.normalizer: Normalizer | None = None
        self.optimizers = OptimizerSet()
        self.tensors: dict[str, torch.Tensor] = {}
        self.augmenter: Augmenter | None = None
        self.batch_size = self.config.batch_size
        self.steps_per_epoch = 1
        self.in_memory = False
        self.streamed: StreamedData | None = None  # set when the training split streams from a cache
        self._epoch, self._step = 0, 0  # last completed epoch, global step
        self._start_epoch = 0
        self._best: dict[str, Any] | None = None
        self._t0, self._paused_s = time.perf_counter(), 0.0
        self._phase = "setup"
        self._prepared = False
        self._saved_run: SavedRun | None = None

    # ------------------------------------------------------------ control (any thread)

    def pause(self) -> None:
        self._unpaused.clear()
        self._attention = True
        if self.state == "running":
            self.state = "paused"

    def resume(self) -> None:
        self._unpaused.set()
        self._attention = self._stop.is_set()
        if self.state == "paused":
            self.state = "running"

    def stop(self) -> None:
        """Ask the run to end after the current step (within ~1 s); weights stay usable."""
        self._stop.set()
        self._attention = True
        self._unpaused.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        """A pause was asked for and not resumed (the run waits at its next step)."""
        return not self._unpaused.is_set()

    @property
    def elapsed_s(self) -> float:
        """Seconds of training since run() started, time spent paused excluded."""
        return self._elapsed()

    # ------------------------------------------------------------ results

    def weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """CPU copies of every trained network's state_dict (after prepare / a run)."""
        if self.recipe is None:
            return {}
        return {net: cpu_copy(sd) for net, sd in self.recipe.state_dicts().items()}

    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self.recipe.modules) if self.recipe is not None else {}

    @property
    def main(self) -> str | None:
        return str(self.recipe.networks()[0]) if self.recipe is not None else None

    def current_lr(self) -> float:
        return self.optimizers.current_lr()

    # ------------------------------------------------------------ the run

    def run(self) -> Generator[Event, None, None]:
        """Yield events (see events.py) until the run ends; never raises for user errors."""
        if self.state != "idle":
            raise RuntimeError("a Trainer runs once; make a new one for another run")
        self.state = "running"
        self._t0 = time.perf_counter()
        reason = "error"
        error: Event | None = None
        try:
            if not self._prepared:  # data first, in a helper thread, reporting its progress
                self._phase = "data"
                self._dataset_override = yield from load_with_progress(self._load_dataset, self._stop)
                self.prepare()
            self._phase = "train"
            reason = yield from self._loop()
        except Stopped:
            reason = "stopped"
        except (GeneratorExit, KeyboardInterrupt):
            self.state = "finished"
            raise
        except BaseException as exc:  # noqa: BLE001 - every other failure becomes an "error" event
            error = error_event_for(exc, Where(self._phase, self._epoch, self._step, self.device,
                                               self.config.lr, self.batch_size))
        if error is not None:
            yield error
        saved = None
        if error is None and self.save_dir is not None and self.recipe is not None:
            try:
                saved = str(self.save(self.save_dir, reason))
            except Exception as exc:  # noqa: BLE001 - a failed save is reported, never raised
                ours = isinstance(exc, NetwrightError)
                msg = str(exc) if ours else f"could not save the run to {self.save_dir}: {type(exc).__name__}: {exc}"
                error = error_event(msg, "config" if ours else "internal", epoch=self._epoch, step=self._step,
                                    traceback=traceback.format_exc())
                reason = "error"
                yield error
        self.result = RunResult(
            reason=reason, epoch=self._epoch, main=self.main, weights=self.weights(),
            history=list(self.history), normalizer=self.normalizer.to_dict() if self.normalizer else None,
            config=self.config.to_dict(), recipe=self.config.recipe, saved=saved,
            error=error.data if error is not None else None)
        self.state = "finished"
        yield Event("done", {
            "reason": reason, "epoch": self._epoch, "epochs": self.config.epochs, "step": self._step,
            "elapsed_s": round(self._elapsed(), 3),
            "metrics": {k: v for k, v in (self.history[-1] if self.history else {}).items()
                        if isinstance(v, (int, float)) and k != "epoch"},
            "best": self._best, "saved": saved,
        })

    def _elapsed(self) -> float:
        now = time.perf_counter()
        parked = now - self._paused_since if self._paused_since is not None else 0.0
        return now - self._t0 - self._paused_s - parked

    # ------------------------------------------------------------ setup

    def prepare(self) -> Any:
        """Device, seed, data, analysis, code, recipe, modules, optimizers, resume state.
        Runs inside ``run()``; call it directly to get a ready recipe without training
        (e.g. to sample from a saved run). Raises NetwrightError subclasses."""
        from graph_compiler.analysis import Analyzer
        from graph_compiler.compile import CompiledDocument
        from graph_compiler.training.recipes.amp import Amp
        from graph_compiler.training.recipes.context import RecipeContext
        from graph_compiler.training.recipes.registry import recipe_for

        cfg = self.config
        self._phase = "setup"
        device, self.device_reason = devices.select_device(cfg.device)
        self.device = device
        if device.type == "cuda":
            torch.cuda.set_device(device)  # in the thread that runs the generator
        seed_everything(cfg.seed)
        if self.resume_dir is not None:
            self._saved_run = load_run(self.resume_dir)
            # A run of another design would otherwise fail later on its data or normaliser.
            foreign = sorted(set(self._saved_run.info.get("networks", {})) - set(self.doc.network_names()))
            if foreign:
                raise NetwrightError(f"{self.resume_dir}: that run trained {', '.join(foreign)}, which "
                                     f"{self.doc.source or 'this design'} does not have; resume a run of this design")

        self._phase = "data"
        dataset = self._load_dataset()
        recipe_cls = recipe_for(cfg.recipe, dataset.task, dataset.name)
        cfg.recipe = recipe_cls.name
        train, val = self._splits(dataset, recipe_cls.normalize)

        self._phase = "graph"
        analysis = Analyzer().analyze(self.doc)
        if not analysis.ok:
            raise GraphError(graph_errors_text(analysis.errors, self.doc.display_name), analysis.errors)
        compiled = CompiledDocument(self.doc, analysis)

        amp = Amp(device, devices.amp_dtype(device, cfg.amp), cfg.grad_clip)
        self.ctx = ctx = RecipeContext(
            config=cfg, compiled=compiled, analysis=analysis, document=self.doc, train=train, val=val,
            device=device, amp=amp, normalizer=self.normalizer, seed=cfg.seed,
            _make_optimizer=self._make_optimizer, _interrupt=self._check_stop)
        self._phase = "recipe"
        self.recipe = recipe = recipe_cls(ctx)
        missing = [n for n in recipe.networks() if n not in analysis.networks]
        if missing:
            raise TrainingConfigError(
                f"recipe {recipe_cls.name!r} trains network {missing[0]!r}, which is not in the document "
                f"(networks: {', '.join(analysis.networks)})")
        problems = recipe.check(analysis, train)
        if problems:
            raise ShapeProblems(problems)

        self._phase = "build"
        seed_everything(cfg.seed)  # initial weights depend on the seed only, not on data loading
        recipe.setup()
        if not self.optimizers:
            raise TrainingConfigError(f"recipe {recipe_cls.name!r} made no optimizer (ctx.make_optimizer)")
        self.tensors = recipe.batch_tensors(train)
        if self.streamed is not None:
            self.streamed.check_batch_tensors(self.tensors, train, cfg.recipe)
        self.augmenter = self._augmenter(train)
        self._accelerate(device)
        n = batching.rows(self.tensors)
        self.batch_size = max(1, min(cfg.batch_size, n))
        self.steps_per_epoch = ctx.steps_per_epoch = batching.steps_per_epoch(n, self.batch_size)
        if self._saved_run is not None:
            self._restore(self._saved_run)
        self._set_lr(self._step)
        self._prepared = True
        return recipe

    def _accelerate(self, device: torch.device) -> None:
        """channels_last for conv nets on a GPU (weights and the image batches), and
        torch.compile when training.compile asks for it."""
        modules = list(self.recipe.modules.values())
        if devices.use_channels_last(device, modules):
            for module in modules:
                module.to(memory_format=torch.channels_last)
            self.tensors = {k: t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 and not self.streamed
                            else t for k, t in self.tensors.items()}  # streamed batches: as they arrive
            self.notes.append("channels_last memory format for the conv layers")
        if self.config.compile:
            self.notes.append(devices.compile_modules(modules, device))

    def _augmenter(self, train: Dataset) -> Augmenter | None:
        augmentations = parse_augment(self.config.augment)
        if not augmentations:
            return None
        return Augmenter(augmentations, sample_shape=tuple(train.x.shape[1:]), x_dtype=train.x.dtype,
                         task=train.task, num_classes=train.num_classes, loss=self.config.loss,
                         seed=self.config.seed, normalizer=self.normalizer, dataset=train.name)

    def _load_dataset(self) -> Dataset:
        if self._dataset_override is not None:
            return self._dataset_override
        spec = self.config.dataset
        if spec is None:
            raise TrainingConfigError(
                "training.dataset is not set; name a built-in dataset (e.g. \"digits\", \"moons\", \"parity\") "
                "or a file, e.g. {\"csv\": \"data.csv\", \"target\": \"label\"}")
        base = Path(self.doc.source).parent if self.doc.source else None
        self.streamed = open_if_large(spec, base, self.config)
        return (self.streamed.shell(None, "all") if self.streamed is not None
                else resolve_dataset(spec, base_dir=base, seed=self.config.seed))

    def _validation_set(self, train: Dataset) -> Dataset:
        """training.validation, checked against the training data it stands beside."""
        assert self.config.validation is not None
        base = Path(self.doc.source).parent if self.doc.source else None
        val = resolve_dataset(self.config.validation, base_dir=base, seed=self.config.seed)
        if val.task != train.task or val.input_shape != train.input_shape or val.x.dtype != train.x.dtype:
            raise TrainingConfigError(
                f"training.validation: dataset {val.name!r} ({val.task}, samples {list(val.input_shape)}, "
                f"{val.x.dtype}) does not match the training data {train.name!r} ({train.task}, samples "
                f"{list(train.input_shape)}, {train.x.dtype})")
        return val

    def _splits(self, dataset: Dataset, recipe_normalize: str) -> tuple[Dataset, Dataset | None]:
        """Train / validation splits, normalised, on the device when they fit there."""
        cfg, device = self.config, self.device
        assert device is not None
        train: Dataset = dataset
        val: Dataset | None
        if self.streamed is not None:  # the same rows and statistics; the training x stays in its cache
            val = self._validation_set(dataset) if cfg.validation is not None else None
            train, val, self.normalizer = self.streamed.splits(cfg, recipe_normalize, val, self._saved_run)
            return train, val
        if cfg.validation is not None:
            val = self._validation_set(dataset)
        else:
            train, val = (dataset, None) if cfg.val_split <= 0 else split(dataset, cfg.val_split, cfg.seed)
        if self._saved_run is not None:  # a resumed run keeps the statistics it trained with
            self.normalizer = restore.saved_normalizer(self._saved_run)
        else:
            self.normalizer = fit_normalizer(cfg.normalize, recipe_normalize, train)
        train, val = normalize_splits(self.normalizer, train, val)
        self.in_memory = batching.fits_in_memory(cfg.in_memory, train, val, device)
        if self.in_memory:
            train = batching.to_device(train, device)
            val = batching.to_device(val, device) if val is not None else None
        return train, val

    def _make_optimizer(self, parameters: Any, *, name: str | None = None, lr: float | None = None,
                        **overrides: Any) -> torch.optim.Optimizer:
        cuda = self.device is not None and self.device.type == "cuda"
        opt = build_optimizer(self.config, parameters, cuda=cuda, lr=lr, **overrides)
        name = self.optimizers.add(opt, name)
        if self.ctx is not None:
            self.ctx.optimizers.append((name, opt))
        return opt

    def _set_lr(self, step: int) -> None:
        self.optimizers.set_lr(self.config.schedule, step, epochs=self.config.epochs,
                               steps_per_epoch=self.steps_per_epoch)

    # ------------------------------------------------------------ the loop

    def _check_stop(self) -> None:
        # Reset first, then read the Events: a pause() / stop() racing with this either
        # is seen below or sets _attention again after the reset.
        self._attention = False
        if not self._unpaused.is_set():
            self._paused_since = time.perf_counter()
            try:
                while not self._unpaused.wait(PAUSE_POLL_S):
                    if self.while_paused is not None:
                        self.while_paused()
            finally:
                self._paused_s += time.perf_counter() - self._paused_since
                self._paused_since = None
        if self._stop.is_set():
            raise Stopped()

    def _start_event(self) -> Event:
        cfg, recipe = self.config, self.recipe
        assert self.device is not None
        train, val = self.ctx.train, self.ctx.val
        return Event("start", {
            "recipe": cfg.recipe, "networks": recipe.networks(), "main": self.main,
            "device": devices.describe(self.device), "device_reason": self.device_reason,
            "notes": [*self.notes, *recipe.notes, *(self.streamed.notes() if self.streamed is not None else [])], "amp": self.ctx.amp.name, "seed": cfg.seed,
            "epochs": cfg.epochs, "start_epoch": self._start_epoch, "steps_per_epoch": self.steps_per_epoch,
            "batch_size": self.batch_size, "n_train": len(train), "n_val": len(val) if val is not None else 0,
            "dataset": train.name, "task": train.task,
            "params": {n: sum(p.numel() for p in m.parameters()) for n, m in recipe.modules.items()},
            "config": cfg.to_dict(), "normalizer": self.normalizer.to_dict() if self.normalizer else None,
            "resumed": self._saved_run is not None, "in_memory": self.in_memory,
            "streaming": self.streamed.event() if self.streamed is not None else None,
            "elapsed_s": round(self._elapsed(), 3),
        })

    def _set_mode(self, train: bool) -> None:
        for m in self.recipe.modules.values():
            m.train(train)

    def _loop(self) -> Generator[Event, None, str]:
        cfg, recipe, ctx = self.config, self.recipe, self.ctx
        yield self._start_event()
        if self._start_epoch >= cfg.epochs:
            return "completed"
        monitor = Monitor(cfg.early_stopping, recipe.monitor, ctx.val is not None, self._best)
        for epoch in range(self._start_epoch + 1, cfg.epochs + 1):
            ctx.epoch = epoch
            self._check_stop()
            train_metrics, samples, train_time = yield from self._train_epoch(epoch)
            val_metrics, extras, live = self._validate(epoch)
            self._epoch = epoch
            metrics = {**train_metrics, **val_metrics}
            improved = monitor.update(epoch, metrics)
            self._best = monitor.best
            row = {"epoch": epoch, **metrics, "lr": self.current_lr(),
                   "samples_per_s": round(samples / train_time, 1), "epoch_time_s": round(train_time, 4),
                   "elapsed_s": round(self._elapsed(), 3)}
            self.history.append(row)
            yield Event("epoch", {**row, "epochs": cfg.epochs, "step": self._step, "best": improved,
                                  "monitor": monitor.metric, **extras})
            if live:
                yield Event("sample", {"epoch": epoch, "step": self._step, **live})
            recipe.on_epoch_end(epoch, metrics)
            if monitor.should_stop:
                return "early_stopping"
        return "completed"

    def _train_epoch(self, epoch: int) -> Generator[Event, None, tuple[dict[str, float], int, float]]:
        """One epoch of steps, yielding throttled "step" events; returns the epoch's train_
        metrics, the samples seen and the training time (pauses excluded)."""
        cfg, recipe, ctx = self.config, self.recipe, self.ctx
        assert self.device is not None
        self._phase = "train"
        recipe.on_epoch_start(epoch)
        self._set_mode(True)
        totals = EpochTotals()
        pending: list[dict[str, Any]] = []
        epoch_t0 = last_flush = time.perf_counter()
        paused_at_start = self._paused_s
        last_flush_step = 0
        schedule_per_step = per_step(cfg.schedule)
        if cfg.schedule.type == "step":
            self._set_lr(self._step)
        bs, n_rows = self.batch_size, batching.rows(self.tensors)
        batches = (self.streamed.batches(self.tensors, cfg.seed, epoch, bs, self.steps_per_epoch, self.device,
                                         self.normalizer, self.recipe.modules.values()) if self.streamed is not None else
                   batching.epoch_batches(self.tensors, seed=cfg.seed, epoch=epoch, batch_size=bs,
                                          steps=self.steps_per_epoch, in_memory=self.in_memory, device=self.device))
        augment = self.augmenter
        if augment is not None:
            augment.start_epoch(epoch)
        # The hot loop: locals only, one attribute read for pause / stop, no per-step sync.
        train_step, perf_counter, interval = recipe.train_step, time.perf_counter, self.event_interval
        i = 0
        for i, batch in enumerate(batches, start=1):
            if self._attention:
                self._check_stop()
            if schedule_per_step:
                self._set_lr(self._step)
            if augment is not None:
                batch = augment(batch)
            pending.append(train_step(batch))
            self._step += 1
            ctx.global_step = self._step
            now = perf_counter()
            if now - last_flush >= interval:
                values = step_values(pending, epoch=epoch, last_step=self._step)
                totals.add(values)
                means = means_of(values)
                pending = []
                flushed = min(i * bs, n_rows) - min(last_flush_step * bs, n_rows)
                yield Event("step", {
                    "epoch": epoch, "epochs": cfg.epochs, "step": self._step, "epoch_step": i,
                    "steps_per_epoch": self.steps_per_epoch,
                    "progress": round(self._step / max(1, cfg.epochs * self.steps_per_epoch), 5),
                    **means, "lr": self.current_lr(),
                    "samples_per_s": round(flushed / max(1e-9, now - last_flush), 1),
                    "elapsed_s": round(self._elapsed(), 3),
                })
                last_flush = perf_counter()
                last_flush_step = i
        totals.add(step_values(pending, epoch=epoch, last_step=self._step))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        train_time = max(1e-9, time.perf_counter() - epoch_t0 - (self._paused_s - paused_at_start))
        return totals.means("train_"), min(i * bs, n_rows), train_time

    def _validate(self, epoch: int) -> tuple[dict[str, float], dict[str, Any], dict[str, Any] | None]:
        """The recipe's validation numbers (val_ metrics), its other results (extras) and
        its live samples, in eval mode without gradients."""
        recipe, val = self.recipe, self.ctx.val
        self._phase = "eval"
        metrics: dict[str, float] = {}
        extras: dict[str, Any] = {}
        self._set_mode(False)
        with torch.no_grad():
            if val is not None:
                for k, v in recipe.evaluate(val).items():
                    num = as_number(v)
                    if num is None:
                        extras[k] = v
                    else:
                        metrics[k] = num
            if "val_loss" in metrics and not math.isfinite(metrics["val_loss"]):
                raise NonFinite("val_loss", metrics["val_loss"], epoch, self._step)
            live = recipe.live_samples()
        self._set_mode(True)
        return metrics, extras, live

    # ------------------------------------------------------------ checkpoints

    def save(self, directory: str | Path, reason: str = "completed") -> Path:
        """Write the run folder (see checkpoints.py) for the current state."""
        ds, val = self.ctx.train, self.ctx.val
        info = {
            "recipe": self.config.recipe, "epoch": self._epoch, "step": self._step, "epochs": self.config.epochs,
            "reason": reason, "seed": self.config.seed, "config": self.config.to_dict(),
            "normalizer": self.normalizer.to_dict() if self.normalizer else None,
            "history": self.history, "best": self._best,
            "dataset": {"spec": self.config.dataset, "name": ds.name, "task": ds.task,
                        "n_train": len(ds), "n_val": len(val) if val is not None else 0,
                        "input_shape": list(ds.x.shape[1:]), "x_dtype": str(ds.x.dtype).replace("torch.", ""),
                        "classes": ds.classes, "meta": small_meta(ds.meta)},
            "extra_state": self.recipe.extra_state(), "device": str(self.device),
            "amp": self.ctx.amp.name, "document": to_dict(self.doc),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        main = self.main
        assert main is not None
        return save_run(directory, main=main, weights=self.weights(), info=info,
                        optimizers=self.optimizers.state_dicts(), rng=capture_rng(self.device))

    def _restore(self, saved: SavedRun) -> None:
        """Continue ``saved``: its weights, optimizer state, progress and RNG state."""
        assert self.device is not None
        restore.check_recipe(saved, self.config.recipe)
        restore.load_run_weights(self.recipe, saved, self.device)
        restore.load_optimizer_states(self.optimizers, saved)
        self._start_epoch = self._epoch = saved.epoch
        self._step = int(saved.info.get("step", 0))
        self.ctx.global_step = self._step
        self.ctx.epoch = self._epoch
        self.history = list(saved.info.get("history") or [])
        self._best = saved.info.get("best")
        restore_rng(saved.rng, self.device)
        if self._start_epoch >= self.config.epochs:
            raise TrainingConfigError(
                f"the run in {saved.path} already trained {self._start_epoch} epoch(s); to continue, ask for more "
                f"(e.g. --epochs {self._start_epoch + max(1, self.config.epochs)})")

    # ------------------------------------------------------------ sampling

    def sample(self, n: int) -> dict[str, Any]:
        """``recipe.sample(n)`` in eval mode without gradients (prepares if needed)."""
        if not self._prepared:
            self.prepare()
        self._set_mode(False)
        try:
            with torch.no_grad():
                result: dict[str, Any] = self.recipe.sample(n)
                return result
        finally:
            self._set_mode(True)


__all__ = ["Trainer"]
