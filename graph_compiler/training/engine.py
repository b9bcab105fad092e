"""The training engine: ``Trainer(doc).run()`` is a generator of events.

It trains a snapshot of the document (the caller's document is never touched), builds
the modules by executing the generated code (so the trained module IS the exported
one), and leaves the recipe (``recipes/``) to say what a training step is. It owns:
seeding, dataset / split / normalisation, device and mixed precision, the in-memory fast
path (tensors on the device, a seeded permutation per epoch, batches by slicing), LR
schedules, early stopping, throttled events, pause / stop, NaN / OOM / model errors and
checkpoints.

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

import dataclasses
import math
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph_compiler.document import Document, to_dict
from graph_compiler.errors import GraphError, NetwrightError
from graph_compiler.training import devices
from graph_compiler.training.config import (
    TrainingConfig,
    TrainingConfigError,
    metric_mode,
    parse_config,
)
from graph_compiler.training.events import Event, error_event

# Datasets larger than this stay on the CPU and are fed batch by batch (pinned memory).
IN_MEMORY_LIMIT_BYTES = 2 << 30
# Above this, batches index a permutation instead of materialising a shuffled copy.
SHUFFLE_COPY_LIMIT_BYTES = 512 << 20
# While paused, how often the run wakes to call while_paused (and re-check stop).
PAUSE_POLL_S = 0.05


class _Stopped(Exception):
    """Raised inside the loop when stop() was called; ends the run cleanly."""


class _NonFinite(Exception):
    def __init__(self, key: str, value: float, epoch: int, step: int) -> None:
        super().__init__(key)
        self.key, self.value, self.epoch, self.step = key, value, epoch, step


@dataclass
class RunResult:
    """What a finished (or stopped) run leaves for the caller."""

    reason: str  # completed | stopped | early_stopping | error
    epoch: int
    main: str | None
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # CPU copies
    history: list[dict[str, Any]] = field(default_factory=list)
    normalizer: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None
    saved: str | None = None
    error: dict[str, Any] | None = None

    @property
    def main_weights(self) -> dict[str, torch.Tensor] | None:
        return self.weights.get(self.main) if self.main else None


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's random."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    # Batch order depends only on (seed, epoch), so a resumed run sees the same batches.
    return (seed * 0x9E3779B1 + epoch * 0x85EBCA77 + 0x165667B1) % (2**63 - 1)


class Trainer:
    """One training run of a document. See the module docstring."""

    def __init__(self, doc: Document, overrides: Mapping[str, Any] | None = None, *,
                 dataset: Any = None, resume: str | Path | None = None, save: str | Path | None = None,
                 event_interval: float = 0.05, while_paused: Callable[[], None] | None = None) -> None:
        """``overrides``: training keys replacing the document's (None values ignored).
        ``dataset``: a Dataset to train on instead of ``training.dataset``.
        ``resume``: a run folder to continue from (its weights, optimizer state, epoch,
        history). ``save``: a folder to write the run to when it ends (not on errors).
        ``event_interval``: minimum seconds between "step" events. ``while_paused``:
        called in the training thread every PAUSE_POLL_S while the run is paused."""
        self.doc = doc.copy()  # the snapshot we train; the caller's document is never touched
        self.config: TrainingConfig = parse_config(self.doc.training, overrides)
        self._dataset_override = dataset
        self.resume_dir = Path(resume) if resume else None
        self.save_dir = Path(save) if save else None
        self.event_interval = event_interval
        self.while_paused = while_paused
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        # True while a pause or stop is pending: one attribute read per step in the loop
        # (assignments of a bool are atomic under the GIL; the Events carry the real state).
        self._attention = False
        self.state = "idle"  # idle | running | paused | finished
        self.recipe: Any = None
        self.ctx: Any = None
        self.history: list[dict[str, Any]] = []
        self.result: RunResult | None = None
        self.device: torch.device | None = None
        self.normalizer: Any = None
        self._optimizers: list[tuple[str, torch.optim.Optimizer, list[float]]] = []
        self._epoch = 0  # last completed epoch
        self._step = 0
        self._start_epoch = 0
        self._best: dict[str, Any] | None = None
        self._paused_s = 0.0
        self._paused_since: float | None = None  # perf_counter() while the run waits paused
        self._phase = "setup"
        self._prepared = False
        self._dataset: Any = None
        self._saved_run: Any = None

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
        return {net: {k: v.detach().to("cpu", copy=True) for k, v in sd.items()}
                for net, sd in self.recipe.state_dicts().items()}

    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self.recipe.modules) if self.recipe is not None else {}

    @property
    def main(self) -> str | None:
        return self.recipe.networks()[0] if self.recipe is not None else None

    # ------------------------------------------------------------ the run

    def run(self) -> Iterator[Event]:
        """Yield events (see events.py) until the run ends; never raises for user errors."""
        if self.state != "idle":
            raise RuntimeError("a Trainer runs once; make a new one for another run")
        self.state = "running"
        self._t0 = time.perf_counter()
        reason = "error"
        error: Event | None = None
        try:
            if not self._prepared:
                self.prepare()
            self._phase = "train"
            reason = yield from self._loop()
        except _Stopped:
            reason = "stopped"
        except GeneratorExit:
            self.state = "finished"
            raise
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                self.state = "finished"
                raise
            error = self._error_event(exc)
        if error is not None:
            yield error
        saved = None
        if error is None and self.save_dir is not None and self.recipe is not None:
            try:
                saved = str(self.save(self.save_dir, reason))
            except Exception as exc:  # noqa: BLE001 - a failed save is reported, never raised
                msg = str(exc) if isinstance(exc, NetwrightError) else (
                    f"could not save the run to {self.save_dir}: {type(exc).__name__}: {exc}")
                error = error_event(msg, "config" if isinstance(exc, NetwrightError) else "internal",
                                    epoch=self._epoch, step=self._step, traceback=traceback.format_exc())
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
        return now - getattr(self, "_t0", now) - self._paused_s - parked

    # ------------------------------------------------------------ setup

    def prepare(self) -> Any:
        """Device, seed, data, analysis, code, recipe, modules, optimizers, resume state.
        Runs inside ``run()``; call it directly to get a ready recipe without training
        (e.g. to sample from a saved run). Raises NetwrightError subclasses."""
        from graph_compiler.analysis import Analyzer
        from graph_compiler.compile import CompiledDocument
        from graph_compiler.training.recipes.base import (
            Amp,
            RecipeContext,
            default_recipe_for,
            get_recipe,
        )

        cfg = self.config
        self._phase = "setup"
        self.device = device = devices.resolve_device(cfg.device)
        if device.type == "cuda":
            torch.cuda.set_device(device)  # in the thread that runs the generator
        seed_everything(cfg.seed)

        if self.resume_dir is not None:
            from graph_compiler.training.checkpoints import load_run

            self._saved_run = load_run(self.resume_dir)

        self._phase = "data"
        dataset = self._load_dataset()
        recipe_name = cfg.recipe or default_recipe_for(dataset.task)
        if recipe_name is None:
            from graph_compiler.training.recipes import available

            raise TrainingConfigError(
                f"training.recipe is not set and no recipe trains {dataset.task!r} datasets by default; "
                f"set it to one of: {', '.join(available())}")
        recipe_cls = get_recipe(recipe_name)
        cfg.recipe = recipe_cls.name
        if recipe_cls.tasks and dataset.task not in recipe_cls.tasks:
            from graph_compiler.training.datasets import DatasetError

            better = default_recipe_for(dataset.task)
            hint = f"; set training.recipe to {better!r}" if better else ""
            raise DatasetError(
                f"recipe {recipe_cls.name!r} trains {' / '.join(recipe_cls.tasks)} datasets, but dataset "
                f"{dataset.name!r} is a {dataset.task} dataset{hint}")
        train, val = self._split(dataset)
        train, val = self._normalize(recipe_cls, train, val)
        in_memory = self._decide_in_memory(train, val)
        if in_memory:
            train = _to_device(train, device)
            val = _to_device(val, device) if val is not None else None
        self.in_memory = in_memory
        self._dataset = dataset

        self._phase = "graph"
        analysis = Analyzer().analyze(self.doc)
        if not analysis.ok:
            errors = analysis.errors
            lines = "\n".join(f"  {d.format(self.doc.display_name)}" for d in errors[:10])
            more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
            raise GraphError(f"the document has {len(errors)} error(s); fix them before training:\n{lines}{more}",
                             errors)
        compiled = CompiledDocument(self.doc, analysis)

        amp = Amp(device, devices.amp_dtype(device, cfg.amp), cfg.grad_clip)
        ctx = RecipeContext(config=cfg, compiled=compiled, analysis=analysis, document=self.doc, train=train,
                            val=val, device=device, amp=amp, normalizer=self.normalizer, seed=cfg.seed,
                            _make_optimizer=self._make_optimizer, _interrupt=self._check_stop)
        self.ctx = ctx
        self._phase = "recipe"
        recipe = recipe_cls(ctx)
        self.recipe = recipe
        names = recipe.networks()
        missing = [n for n in names if n not in analysis.networks]
        if missing:
            raise TrainingConfigError(
                f"recipe {recipe_cls.name!r} trains network {missing[0]!r}, which is not in the document "
                f"(networks: {', '.join(analysis.networks)})")
        problems = recipe.check(analysis, train)
        if problems:
            raise _ShapeProblems(problems)

        self._phase = "build"
        seed_everything(cfg.seed)  # initial weights depend on the seed only, not on data loading
        recipe.setup()
        if not self._optimizers:
            raise TrainingConfigError(f"recipe {recipe_cls.name!r} made no optimizer (ctx.make_optimizer)")
        self.tensors = recipe.batch_tensors(train)
        n = _rows(self.tensors)
        self.batch_size = bs = max(1, min(cfg.batch_size, n))
        # A trailing batch of one sample is dropped: BatchNorm cannot train on it.
        self.steps_per_epoch = max(1, n // bs + (1 if n % bs > 1 else 0))
        ctx.steps_per_epoch = self.steps_per_epoch
        if self._saved_run is not None:
            self._restore(self._saved_run)
        self._set_lr(self._step)
        self._prepared = True
        return recipe

    def _load_dataset(self) -> Any:
        from graph_compiler.training.datasets import Dataset, resolve_dataset

        if self._dataset_override is not None:
            if not isinstance(self._dataset_override, Dataset):
                raise TypeError("Trainer(dataset=...) takes a graph_compiler.training.datasets.Dataset")
            return self._dataset_override
        spec = self.config.dataset
        if spec is None:
            raise TrainingConfigError(
                "training.dataset is not set; name a built-in dataset (e.g. \"digits\", \"moons\", \"parity\") "
                "or a file, e.g. {\"csv\": \"data.csv\", \"target\": \"label\"}")
        base = Path(self.doc.source).parent if self.doc.source else None
        return resolve_dataset(spec, base_dir=base, seed=self.config.seed)

    def _split(self, dataset: Any) -> tuple[Any, Any]:
        from graph_compiler.training.preprocessing import split

        if self.config.val_split <= 0:
            return dataset, None
        return split(dataset, self.config.val_split, self.config.seed)

    def _normalize(self, recipe_cls: Any, train: Any, val: Any) -> tuple[Any, Any]:
        from graph_compiler.training.preprocessing import Normalizer

        saved = self._saved_run.info.get("normalizer") if self._saved_run is not None else None
        mode = self.config.normalize
        if mode == "auto":
            mode = recipe_cls.normalize
        x = train.x
        if mode == "auto":
            if not torch.is_floating_point(x) or x.ndim < 2:
                mode = "none"
            else:
                mode = "channels" if x.ndim >= 4 else "features"
        if self._saved_run is not None:
            norm = Normalizer.from_dict(saved) if saved else None
        elif mode == "none":
            norm = None
        else:
            if not torch.is_floating_point(x):
                raise TrainingConfigError(
                    f"training.normalize is {mode!r} but dataset {train.name!r} holds integer tokens; use \"none\"")
            if x.ndim < 2:
                raise TrainingConfigError(f"training.normalize needs samples with features; dataset {train.name!r} has x {tuple(x.shape)}")
            norm = Normalizer.fit(x, per_channel=(mode == "channels" and x.ndim >= 3))
        self.normalizer = norm
        if norm is None:
            return train, val
        train = dataclasses.replace(train, x=norm.apply(train.x))
        if val is not None:
            val = dataclasses.replace(val, x=norm.apply(val.x))
        return train, val

    def _decide_in_memory(self, train: Any, val: Any) -> bool:
        choice = self.config.in_memory
        if isinstance(choice, bool):
            return choice
        if train.meta.get("large") or train.meta.get("in_memory") is False:
            return False
        size = sum(t.numel() * t.element_size() for d in (train, val) if d is not None
                   for t in (d.x, d.y) if t is not None)
        limit = IN_MEMORY_LIMIT_BYTES
        if self.device is not None and self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            limit = min(limit, free // 4)
        return size <= limit

    def _make_optimizer(self, parameters: Any, *, name: str | None = None, lr: float | None = None,
                        **overrides: Any) -> torch.optim.Optimizer:
        cfg = self.config
        params = list(parameters)
        if not params:
            raise TrainingConfigError("the network has no trainable parameters; add a layer with weights (e.g. Linear)")
        kind = overrides.pop("optimizer", cfg.optimizer)
        lr = cfg.lr if lr is None else lr
        wd = overrides.pop("weight_decay", cfg.weight_decay)
        cuda = self.device is not None and self.device.type == "cuda"
        if kind == "sgd":
            momentum = overrides.pop("momentum", 0.9 if cfg.momentum is None else cfg.momentum)
            opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd or 0.0,
                                                         **overrides)
        elif kind in ("adam", "adamw"):
            betas = tuple(overrides.pop("betas", cfg.betas))
            if cuda:
                overrides.setdefault("fused", True)
            cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
            wd = (0.01 if kind == "adamw" else 0.0) if wd is None else wd
            opt = cls(params, lr=lr, betas=betas, weight_decay=wd, **overrides)
        elif kind == "rmsprop":
            momentum = overrides.pop("momentum", 0.0 if cfg.momentum is None else cfg.momentum)
            opt = torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd or 0.0, **overrides)
        else:
            raise TrainingConfigError(f"training.optimizer: unknown optimizer {kind!r}")
        taken = {n for n, _, _ in self._optimizers}
        if name is None:
            name = "main" if "main" not in taken else f"opt{len(self._optimizers)}"
        if name in taken:
            raise ValueError(f"two optimizers are named {name!r}; give make_optimizer distinct names")
        self._optimizers.append((name, opt, [g["lr"] for g in opt.param_groups]))
        if self.ctx is not None:
            self.ctx.optimizers.append((name, opt))
        return opt

    # ------------------------------------------------------------ LR schedule

    def _lr_factor(self, base: float, step: int) -> float:
        s = self.config.schedule
        total = max(1, self.config.epochs * self.steps_per_epoch)
        if s.type == "step":
            size = s.step_size or max(1, self.config.epochs // 3)
            return base * s.gamma ** ((step // self.steps_per_epoch) // size)
        if s.type == "cosine":
            t = min(step, total) / total
            return s.min_lr + (base - s.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
        if s.type == "onecycle":
            peak = s.max_lr or base
            initial, final = peak / 25.0, peak / 25.0 / 1e4
            warm = max(1.0, s.pct_start * total - 1)
            if step <= warm:
                return _cos_anneal(initial, peak, step / warm)
            return _cos_anneal(peak, final, min(1.0, (step - warm) / max(1.0, total - 1 - warm)))
        return base

    def _set_lr(self, step: int) -> None:
        for _, opt, bases in self._optimizers:
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = self._lr_factor(base, step)

    def current_lr(self) -> float:
        return float(self._optimizers[0][1].param_groups[0]["lr"]) if self._optimizers else 0.0

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
            raise _Stopped()

    def _start_event(self) -> Event:
        cfg, recipe = self.config, self.recipe
        train, val = self.ctx.train, self.ctx.val
        return Event("start", {
            "recipe": cfg.recipe, "networks": recipe.networks(), "main": self.main,
            "device": devices.describe(self.device), "amp": self.ctx.amp.name, "seed": cfg.seed,
            "epochs": cfg.epochs, "start_epoch": self._start_epoch, "steps_per_epoch": self.steps_per_epoch,
            "batch_size": self.batch_size, "n_train": len(train), "n_val": len(val) if val is not None else 0,
            "dataset": train.name, "task": train.task,
            "params": {n: sum(p.numel() for p in m.parameters()) for n, m in recipe.modules.items()},
            "config": cfg.to_dict(), "normalizer": self.normalizer.to_dict() if self.normalizer else None,
            "resumed": self._saved_run is not None, "in_memory": self.in_memory,
            "elapsed_s": round(self._elapsed(), 3),
        })

    def _batches(self, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        n, bs, steps = _rows(self.tensors), self.batch_size, self.steps_per_epoch
        g = torch.Generator().manual_seed(_epoch_seed(self.config.seed, epoch))
        perm = torch.randperm(n, generator=g)
        tensors = self.tensors
        if self.in_memory:
            perm = perm.to(self.device)
            nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
            if nbytes <= SHUFFLE_COPY_LIMIT_BYTES:
                shuffled = {k: t.index_select(0, perm) for k, t in tensors.items()}
                for i in range(steps):
                    yield {k: t[i * bs:(i + 1) * bs] for k, t in shuffled.items()}
            else:
                for i in range(steps):
                    idx = perm[i * bs:(i + 1) * bs]
                    yield {k: t.index_select(0, idx) for k, t in tensors.items()}
            return
        # Too large for the device: a DataLoader assembles (and pins) CPU batches.
        loader = torch.utils.data.DataLoader(
            _BatchSlices(tensors, perm, bs, steps), batch_size=None, shuffle=False, num_workers=0,
            pin_memory=self.device.type == "cuda")
        for batch in loader:
            yield {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _set_mode(self, train: bool) -> None:
        for m in self.recipe.modules.values():
            m.train(train)

    def _loop(self) -> Iterator[Event]:
        cfg, recipe, ctx = self.config, self.recipe, self.ctx
        yield self._start_event()
        if self._start_epoch >= cfg.epochs:
            return "completed"
        es = cfg.early_stopping
        monitor = es.metric if es else recipe.monitor
        if ctx.val is None and monitor.startswith("val_"):
            if es is not None:
                raise TrainingConfigError(
                    f"training.early_stopping watches {monitor!r}, but val_split is 0 so there is no validation; "
                    "set val_split or watch a train_ metric")
            monitor = "train_loss"
        mode = metric_mode(monitor, es.mode if es else "auto")
        bad_epochs = 0
        cuda = self.device.type == "cuda"
        bs = self.batch_size
        n_rows = _rows(self.tensors)
        for epoch in range(self._start_epoch + 1, cfg.epochs + 1):
            ctx.epoch = epoch
            self._check_stop()
            self._phase = "train"
            recipe.on_epoch_start(epoch)
            self._set_mode(True)
            epoch_sums: dict[str, float] = {}
            epoch_count = 0
            pending: list[dict[str, Any]] = []
            epoch_t0 = time.perf_counter()
            paused_at_start = self._paused_s
            last_flush = epoch_t0
            last_flush_step = 0
            schedule_per_step = cfg.schedule.type in ("cosine", "onecycle")
            if cfg.schedule.type == "step":
                self._set_lr(self._step)
            # The hot loop: locals only, one attribute read for pause / stop, no per-step sync.
            train_step, perf_counter, interval = recipe.train_step, time.perf_counter, self.event_interval
            i = 0
            for i, batch in enumerate(self._batches(epoch), start=1):
                if self._attention:
                    self._check_stop()
                if schedule_per_step:
                    self._set_lr(self._step)
                pending.append(train_step(batch))
                self._step += 1
                ctx.global_step = self._step
                now = perf_counter()
                if now - last_flush >= interval:
                    means, count = self._reduce(pending, epoch)
                    for k, v in means.items():
                        epoch_sums[k] = epoch_sums.get(k, 0.0) + v * count
                    epoch_count += count
                    pending = []
                    span = max(1e-9, now - last_flush)
                    flushed = min(i * bs, n_rows) - min(last_flush_step * bs, n_rows)
                    yield Event("step", {
                        "epoch": epoch, "epochs": cfg.epochs, "step": self._step, "epoch_step": i,
                        "steps_per_epoch": self.steps_per_epoch,
                        "progress": round(self._step / max(1, cfg.epochs * self.steps_per_epoch), 5),
                        **means, "lr": self.current_lr(),
                        "samples_per_s": round(flushed / span, 1), "elapsed_s": round(self._elapsed(), 3),
                    })
                    last_flush = perf_counter()
                    last_flush_step = i
            samples = min(i * bs, n_rows)
            if pending:
                means, count = self._reduce(pending, epoch)
                for k, v in means.items():
                    epoch_sums[k] = epoch_sums.get(k, 0.0) + v * count
                epoch_count += count
            if cuda:
                torch.cuda.synchronize(self.device)
            train_time = max(1e-9, time.perf_counter() - epoch_t0 - (self._paused_s - paused_at_start))
            train_metrics = {f"train_{k}": v / max(1, epoch_count) for k, v in epoch_sums.items()}

            self._phase = "eval"
            val_metrics: dict[str, float] = {}
            extras: dict[str, Any] = {}
            self._set_mode(False)
            with torch.no_grad():
                if ctx.val is not None:
                    for k, v in recipe.evaluate(ctx.val).items():
                        num = _number(v)
                        if num is None:
                            extras[k] = v
                        else:
                            val_metrics[k] = num
                if "val_loss" in val_metrics and not math.isfinite(val_metrics["val_loss"]):
                    raise _NonFinite("val_loss", val_metrics["val_loss"], epoch, self._step)
                live = recipe.live_samples()
            self._set_mode(True)
            self._epoch = epoch
            metrics = {**train_metrics, **val_metrics}
            value = metrics.get(monitor)
            improved = False
            if value is not None and math.isfinite(value):
                best = self._best["value"] if self._best else None
                delta = es.min_delta if es else 0.0
                improved = best is None or (value < best - delta if mode == "min" else value > best + delta)
                if improved:
                    self._best = {"metric": monitor, "value": value, "epoch": epoch}
            row = {"epoch": epoch, **metrics, "lr": self.current_lr(),
                   "samples_per_s": round(samples / train_time, 1), "epoch_time_s": round(train_time, 4),
                   "elapsed_s": round(self._elapsed(), 3)}
            self.history.append(row)
            yield Event("epoch", {**row, "epochs": cfg.epochs, "step": self._step, "best": improved,
                                  "monitor": monitor, **extras})
            if live:
                yield Event("sample", {"epoch": epoch, "step": self._step, **live})
            recipe.on_epoch_end(epoch, metrics)
            if es is not None:
                bad_epochs = 0 if improved else bad_epochs + 1
                if bad_epochs >= es.patience:
                    return "early_stopping"
        return "completed"

    def _reduce(self, pending: list[dict[str, Any]], epoch: int) -> tuple[dict[str, float], int]:
        """Means of the train_step values since the last report (one device sync), and
        a NaN check that names the first step whose value was not finite."""
        if not pending:
            return {}, 0
        means: dict[str, float] = {}
        for key in pending[0]:
            values = [d[key] for d in pending if key in d]
            if isinstance(values[0], torch.Tensor):
                try:
                    stacked = torch.stack(values).float().cpu()
                except RuntimeError:  # mixed shapes / dtypes: normalise one by one
                    stacked = torch.stack([v.detach().float().reshape(()) for v in values]).cpu()
            else:
                stacked = torch.tensor([float(v) for v in values], dtype=torch.float64)
            total = float(stacked.sum())
            if not math.isfinite(total):
                bad = int((~torch.isfinite(stacked)).nonzero()[0])
                step = self._step - len(pending) + bad + 1
                raise _NonFinite(key, float(stacked[bad]), epoch, step)
            means[key] = total / len(values)
        return means, len(pending)

    # ------------------------------------------------------------ errors

    def _error_event(self, exc: BaseException) -> Event:
        from graph_compiler.training.datasets import DatasetError

        epoch = self._epoch + 1 if self._phase in ("train", "eval") else None
        # In "train" the step that failed is the one after the last completed step.
        step = self._step + (1 if self._phase == "train" else 0) if self._phase in ("train", "eval") else None
        tb = traceback.format_exc()
        if self.device is not None:
            devices.free_memory(self.device)
        if isinstance(exc, _NonFinite):
            what = "loss" if exc.key in ("loss", "val_loss") else f"value {exc.key!r}"
            where = "validation" if exc.key.startswith("val_") else f"step {exc.step}"
            return error_event(
                f"training diverged: the {what} became {exc.value} at {where} (epoch {exc.epoch}); "
                "the weights are no longer usable",
                "nan", epoch=exc.epoch, step=exc.step,
                hint=f"lower the learning rate (now {self.config.lr:g}), enable gradient clipping "
                     "(training.grad_clip, e.g. 1.0), or check the data for extreme values")
        if isinstance(exc, _ShapeProblems):
            ev = error_event("the network does not fit the dataset:\n" + "\n".join(f"  - {p}" for p in exc.problems),
                             "shape", hint="fix the Input / Output shapes, or choose another dataset or recipe")
            ev.data["problems"] = list(exc.problems)
            return ev
        if isinstance(exc, TrainingConfigError):
            return error_event(str(exc), "config", epoch=epoch, step=step)
        if isinstance(exc, DatasetError):
            return error_event(str(exc), "data")
        if isinstance(exc, GraphError):
            return error_event(str(exc), "graph")
        if isinstance(exc, NetwrightError):
            return error_event(str(exc), "config", epoch=epoch, step=step)
        if devices.is_oom(exc):
            where = "the GPU" if self.device is not None and self.device.type == "cuda" else "the computer"
            at = f" at epoch {epoch}, step {step}" if epoch else f" while {self._phase_text()}"
            return error_event(
                f"{where} ran out of memory{at} (batch size {getattr(self, 'batch_size', self.config.batch_size)})",
                "oom", epoch=epoch, step=step,
                hint="lower training.batch_size, make the network smaller, or train on another device",
                traceback=tb)
        first = (str(exc).strip().splitlines() or [""])[0]
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        if self._phase in ("train", "eval", "build", "recipe"):
            at = (f" at epoch {epoch}, step {step}" if self._phase == "train"
                  else f" while validating epoch {epoch}" if self._phase == "eval" else f" while {self._phase_text()}")
            return error_event(f"the model failed{at}: {detail}", "model", epoch=epoch, step=step,
                               hint="run `netwright validate` on the file; with --debug the traceback is shown",
                               traceback=tb)
        return error_event(f"internal error while {self._phase_text()}: {detail}", "internal",
                           epoch=epoch, step=step, traceback=tb)

    def _phase_text(self) -> str:
        return {"setup": "setting up", "data": "loading the dataset", "graph": "compiling the graph",
                "recipe": "setting up the recipe", "build": "building the networks", "train": "training",
                "eval": "validating"}.get(self._phase, self._phase)

    # ------------------------------------------------------------ checkpoints

    def save(self, directory: str | Path, reason: str = "completed") -> Path:
        """Write the run folder (see checkpoints.py) for the current state."""
        from graph_compiler.training.checkpoints import save_run

        recipe = self.recipe
        rng: dict[str, Any] = {"torch": torch.get_rng_state(), "python": _py_state(random.getstate())}
        np_state = np.random.get_state()
        rng["numpy"] = torch.from_numpy(np.asarray(np_state[1], dtype=np.int64))
        rng["numpy_pos"] = int(np_state[2])
        if self.device is not None and self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        ds = self.ctx.train
        info = {
            "recipe": self.config.recipe, "epoch": self._epoch, "step": self._step, "epochs": self.config.epochs,
            "reason": reason, "seed": self.config.seed, "config": self.config.to_dict(),
            "normalizer": self.normalizer.to_dict() if self.normalizer else None,
            "history": self.history, "best": self._best,
            "dataset": {"spec": self.config.dataset, "name": ds.name, "task": ds.task,
                        "n_train": len(ds), "n_val": len(self.ctx.val) if self.ctx.val is not None else 0,
                        "input_shape": list(ds.x.shape[1:]), "x_dtype": str(ds.x.dtype).replace("torch.", ""),
                        "classes": ds.classes, "meta": _small_meta(ds.meta)},
            "extra_state": recipe.extra_state(), "device": str(self.device),
            "amp": self.ctx.amp.name, "document": to_dict(self.doc),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        return save_run(directory, main=self.main, weights=self.weights(), info=info,
                        optimizers={name: opt.state_dict() for name, opt, _ in self._optimizers}, rng=rng)

    def _restore(self, saved: Any) -> None:
        from graph_compiler.training.checkpoints import CheckpointError

        info = saved.info
        if info.get("recipe") != self.config.recipe:
            raise CheckpointError(
                f"{saved.path}: the run used recipe {info.get('recipe')!r}, this one is {self.config.recipe!r}")
        missing = [n for n in self.recipe.networks() if n not in saved.weights]
        if missing:
            raise CheckpointError(f"{saved.path}: no saved weights for network {missing[0]!r}")
        try:
            self.recipe.load_state_dicts({n: {k: v.to(self.device) for k, v in sd.items()}
                                          for n, sd in saved.weights.items() if n in self.recipe.modules})
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"{saved.path}: the saved weights do not fit the document's networks ({first})") from None
        self.recipe.load_extra_state(info.get("extra_state") or {})
        for name, opt, _ in self._optimizers:
            state = saved.optimizers.get(name)
            if state is None:
                raise CheckpointError(f"{saved.path}: no saved state for optimizer {name!r}")
            try:
                opt.load_state_dict(state)
            except (ValueError, KeyError, RuntimeError) as exc:
                raise CheckpointError(f"{saved.path}: optimizer {name!r} state does not fit ({exc})") from None
        self._start_epoch = self._epoch = int(info.get("epoch", 0))
        self._step = int(info.get("step", 0))
        self.ctx.global_step = self._step
        self.ctx.epoch = self._epoch
        self.history = list(info.get("history") or [])
        self._best = info.get("best")
        rng = saved.rng
        if "torch" in rng:
            torch.set_rng_state(rng["torch"].to(torch.uint8))
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"].to(torch.uint8), self.device)
        if "numpy" in rng:
            np.random.set_state(("MT19937", rng["numpy"].numpy().astype(np.uint32), int(rng.get("numpy_pos", 0)), 0, 0.0))
        if "python" in rng:
            random.setstate(_py_state_back(rng["python"]))
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
                return self.recipe.sample(n)
        finally:
            self._set_mode(True)


class _ShapeProblems(NetwrightError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _BatchSlices(torch.utils.data.Dataset):
    """Batch i of a permutation, for the DataLoader path (datasets too large for the device)."""

    def __init__(self, tensors: dict[str, torch.Tensor], perm: torch.Tensor, bs: int, steps: int) -> None:
        self.tensors, self.perm, self.bs, self.steps = tensors, perm, bs, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        idx = self.perm[i * self.bs:(i + 1) * self.bs]
        return {k: t.index_select(0, idx) for k, t in self.tensors.items()}


def load_trained(run_dir: str | Path, *, device: str = "auto", dataset: Any = None) -> Trainer:
    """A prepared Trainer holding a saved run's networks with their trained weights
    (for ``netwright sample`` and the app): ``load_trained(d).sample(16)``."""
    from graph_compiler.document import from_dict
    from graph_compiler.training.checkpoints import CheckpointError, load_run

    saved = load_run(run_dir, with_optimizer=False)
    doc_raw = saved.info.get("document")
    if not isinstance(doc_raw, dict):
        raise CheckpointError(f"{run_dir}: run.json holds no document snapshot")
    doc = from_dict(doc_raw)
    cfg = dict(saved.info.get("config") or {})
    cfg["device"] = device
    doc.training = cfg
    trainer = Trainer(doc, dataset=dataset)
    trainer.prepare()
    try:
        trainer.recipe.load_state_dicts({n: {k: v.to(trainer.device) for k, v in sd.items()}
                                         for n, sd in saved.weights.items() if n in trainer.recipe.modules})
    except RuntimeError as exc:
        raise CheckpointError(f"{saved.path}: the saved weights do not fit ({str(exc).splitlines()[0]})") from None
    trainer.recipe.load_extra_state(saved.info.get("extra_state") or {})
    trainer._epoch = int(saved.info.get("epoch", 0))
    trainer.history = list(saved.info.get("history") or [])
    if saved.info.get("normalizer") and trainer.normalizer is None:
        from graph_compiler.training.preprocessing import Normalizer

        trainer.normalizer = trainer.ctx.normalizer = Normalizer.from_dict(saved.info["normalizer"])
    return trainer


def _cos_anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _rows(tensors: Mapping[str, torch.Tensor]) -> int:
    lengths = {len(t) for t in tensors.values()}
    if len(lengths) != 1:
        raise ValueError(f"batch_tensors returned tensors of different lengths: {sorted(lengths)}")
    return lengths.pop()


def _to_device(ds: Any, device: torch.device) -> Any:
    if device.type == "cpu":
        return ds
    return dataclasses.replace(ds, x=ds.x.to(device), y=None if ds.y is None else ds.y.to(device))


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v)
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    return None


def _small_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            if not isinstance(v, str) or len(v) <= 10_000:
                out[k] = v
        elif isinstance(v, (list, tuple)) and len(v) <= 256 and all(isinstance(x, (str, int, float)) for x in v):
            out[k] = list(v)
    return out


def _py_state(state: Any) -> Any:
    return [state[0], list(state[1]), state[2]]


def _py_state_back(state: Any) -> Any:
    return (state[0], tuple(state[1]), state[2])


__all__ = ["RunResult", "Trainer", "load_trained", "seed_everything"]
