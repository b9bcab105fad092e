# INTERFACE-READY
"""The Recipe interface: how one kind of training (classification, GAN, VAE, ...) works.

The engine (``graph_compiler.training.engine.Trainer``) owns everything generic: the
document snapshot, config, dataset and split, normalisation, device, seeding, batching,
the loop, pause / stop, LR schedules, events, NaN / OOM handling, checkpoints. A recipe
owns what is specific: which networks it trains, how one batch is a training step, what
validation measures, what live samples look like.

Writing a recipe
================

::

    from graph_compiler.training.recipes.base import Recipe, register

    @register("autoencoder", aliases=("ae",))
    class Autoencoder(Recipe):
        tasks = ("unsupervised", "classification", "regression")  # dataset tasks accepted
        default_loss = "mse"

        def __init__(self, ctx):
            super().__init__(ctx)                       # cheap: read / check options only
            self.net = ctx.option("network", ctx.main, str)

        def networks(self):
            return [self.net]

        def check(self, analysis, dataset):
            return self.check_input(self.net, dataset) + self.check_output_matches_input(self.net, dataset)

        def setup(self):
            self.model = self.build(self.net)          # on ctx.device, in self.modules
            self.opt = self.ctx.make_optimizer(self.model.parameters())
            self.loss_fn = self.ctx.loss_fn()

        def train_step(self, batch):
            x = batch["x"]
            with self.ctx.amp.autocast():
                loss = self.loss_fn(self.model(x), x)
            self.ctx.amp.step(loss, self.opt)           # zero_grad, backward, clip, step
            return {"loss": loss.detach()}

        def evaluate(self, val):
            total, n = 0.0, 0
            for b in self.ctx.batches(self.batch_tensors(val)):
                with self.ctx.amp.autocast():
                    total += float(self.loss_fn(self.model(b["x"]), b["x"])) * len(b["x"]); n += len(b["x"])
            return {"val_loss": total / max(n, 1)}

Life cycle (all calls on the engine's thread)
---------------------------------------------
1. ``cls(ctx)``: read and check options (``ctx.option``); raise
   ``TrainingConfigError`` for bad ones. Do NOT build modules here.
2. ``networks()``: the names of the networks this recipe trains; the first is the
   *main* network (its weights go to ``weights.safetensors``). Each must exist in the
   document; the engine checks and reports otherwise.
3. ``check(analysis, dataset)``: human sentences for every mismatch between the
   networks' ports / shapes / dtypes and the (train split of the) dataset. Non-empty ->
   the run ends with an "error" event (cause "shape") listing them; nothing is built.
4. ``setup()``: build modules with ``self.build(name)`` and optimizers with
   ``ctx.make_optimizer(params)``; set up losses. Runs with the seed already set.
5. When resuming: ``load_state_dicts(weights)`` then ``load_extra_state(extra)``; the
   engine restores optimizer and scheduler state itself (it holds every optimizer made
   by ``ctx.make_optimizer``, in creation order).
6. Per epoch: ``on_epoch_start(epoch)``; the engine puts every module in
   ``self.modules`` in train mode and calls ``train_step(batch)`` for each batch
   (``batch`` = slices of ``batch_tensors(train)``, already on the device, same rows in
   every tensor). Then, in eval mode inside ``torch.no_grad()``:
   ``evaluate(val)`` (skipped when there is no validation split) and
   ``live_samples()``. Then ``on_epoch_end(epoch, metrics)``.
7. ``state_dicts()`` / ``extra_state()`` for checkpoints and for the caller (the app
   attaches the trained weights to the document).
8. ``sample(n)``: for generative recipes, used by ``netwright sample`` and the app
   (engine calls it in eval mode inside ``torch.no_grad()``).

The contract of ``train_step``
------------------------------
It does the whole step: forward, loss, backward, optimizer step (use
``ctx.amp.autocast()`` around the forward and ``ctx.amp.step(loss, optimizer)`` for
backward + clipping + step, so mixed precision and ``grad_clip`` work). It returns a
dict with at least ``"loss"``; values are detached 0-dim tensors (preferred: the engine
sums them on the device and reads them only when it reports, so the GPU never waits) or
Python floats. Other keys (``"loss_d"``, ``"kl"``, ...) are averaged and reported as
``train_<key>`` in epoch events and ``<key>`` in step events. A non-finite value in any of
them stops the run with a "nan" error. LR schedulers are stepped by the engine, never by
the recipe.

The contract of ``evaluate``
----------------------------
Returns ``{"val_loss": ..., "val_<metric>": ...}``. Numeric values (float / int / 0-dim
tensor) are metrics: recorded in the history, logged, usable for early stopping
(``early_stopping.metric``). Values of any other type (lists, dicts, strings) are
*extras* that go only into that epoch's event for the dashboard, e.g.
``"confusion_matrix": [[...], ...]``. Use ``ctx.batches(...)`` to go through the
validation set in chunks of ``config.batch_size``.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from graph_compiler.catalog import fmt_shape
from graph_compiler.training.config import TrainingConfig, TrainingConfigError

if TYPE_CHECKING:
    from graph_compiler.analysis import Analysis, TensorType
    from graph_compiler.compile import CompiledDocument
    from graph_compiler.document import Document
    from graph_compiler.training.datasets import Dataset
    from graph_compiler.training.preprocessing import Normalizer

# ---------------------------------------------------------------------------- registry

RECIPES: dict[str, type[Recipe]] = {}
ALIASES: dict[str, str] = {}


def register(name: str, *, aliases: Sequence[str] = ()) -> Callable[[type[Recipe]], type[Recipe]]:
    """Class decorator: make a recipe available as ``training.recipe = name`` (or an alias).

    Put the module in ``graph_compiler/training/recipes/``; ``recipes/__init__`` imports
    every module there, so no other file needs editing.
    """

    def decorate(cls: type[Recipe]) -> type[Recipe]:
        if not (isinstance(cls, type) and issubclass(cls, Recipe)):
            raise TypeError(f"@register({name!r}) must decorate a Recipe subclass")
        for key in (name, *aliases):
            owner = RECIPES.get(key) or RECIPES.get(ALIASES.get(key, ""))
            if owner is not None and owner.__qualname__ != cls.__qualname__:
                raise ValueError(f"recipe name {key!r} is already taken by {owner.__qualname__}")
        cls.name = name
        RECIPES[name] = cls
        for alias in aliases:
            ALIASES[alias] = name
        return cls

    return decorate


def available() -> list[str]:
    """Registered recipe names (aliases not included), sorted."""
    _load_all()
    return sorted(RECIPES)


def get_recipe(name: str) -> type[Recipe]:
    """The recipe class registered as ``name`` or an alias; TrainingConfigError otherwise."""
    _load_package()
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if isinstance(key, str) and key not in RECIPES:
        _load_all()
        key = ALIASES.get(name, name)
    if not isinstance(key, str) or key not in RECIPES:
        known = ", ".join(sorted([*RECIPES, *ALIASES]))
        from graph_compiler.training.recipes import IMPORT_ERRORS

        broken = "".join(f"; recipe module {m!r} failed to load ({e})" for m, e in IMPORT_ERRORS.items())
        raise TrainingConfigError(f"training.recipe: unknown recipe {name!r}; known recipes: {known}{broken}")
    return RECIPES[key]


def default_recipe_for(task: str) -> str | None:
    """The recipe that trains a dataset of ``task`` when the document names none.

    The first registered recipe listing ``task`` in its ``default_for`` wins.
    """
    _load_package()
    for _ in range(2):
        for name, cls in RECIPES.items():
            if task in cls.default_for:
                return name
        _load_all()
    return None


def _load_package() -> None:
    # The package imports the supervised recipes (see recipes/__init__.py).
    import graph_compiler.training.recipes  # noqa: F401


def _load_all() -> None:
    from graph_compiler.training.recipes import _import_all

    _import_all()


# ---------------------------------------------------------------------------- losses

LOSSES = ("cross_entropy", "mse", "l1", "bce")


def make_loss(name: str, **kwargs: Any) -> nn.Module:
    """``cross_entropy`` (logits + int64 class ids; for [B, T, C] outputs use
    ``sequence_cross_entropy``), ``mse``, ``l1``, ``bce`` (with logits)."""
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(**kwargs)
    if name == "mse":
        return nn.MSELoss(**kwargs)
    if name == "l1":
        return nn.L1Loss(**kwargs)
    if name == "bce":
        return nn.BCEWithLogitsLoss(**kwargs)
    raise TrainingConfigError(f"training.loss: unknown loss {name!r}; allowed: {', '.join(LOSSES)}")


def sequence_cross_entropy(logits: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """Cross-entropy for per-position outputs: logits [B, T, C], target [B, T]."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), **kwargs)


# ---------------------------------------------------------------------------- AMP


class Amp:
    """Mixed precision for recipes. Disabled (a no-op) on CPU or with ``amp: "off"``.

    ``autocast()`` is the context for forward passes. ``step(loss, optimizer)`` does
    ``zero_grad`` + backward (scaled for fp16) + unscale + ``grad_clip`` (from the config)
    + ``optimizer.step()`` + scaler update. One GradScaler per optimizer, so a GAN's two
    optimizers are independent. bf16 needs no scaler.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype | None, grad_clip: float | None = None) -> None:
        self.device = device
        self.dtype = dtype
        self.grad_clip = grad_clip
        self._scalers: dict[int, Any] = {}

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    @property
    def name(self) -> str | None:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype) if self.dtype else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return _NULL  # reusable; saves an allocation per step on small models
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _scaler(self, optimizer: torch.optim.Optimizer) -> Any:
        if self.dtype is not torch.float16:
            return None
        scaler = self._scalers.get(id(optimizer))
        if scaler is None:
            scaler = torch.amp.GradScaler(self.device.type)
            self._scalers[id(optimizer)] = scaler
        return scaler

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
             parameters: Iterable[torch.Tensor] | None = None, *, retain_graph: bool = False) -> None:
        """zero_grad, backward, clip (``parameters`` default: the optimizer's), step."""
        optimizer.zero_grad(set_to_none=True)
        if self.dtype is not torch.float16 and not self.grad_clip:  # the common fast path
            loss.backward(retain_graph=retain_graph)
            optimizer.step()
            return
        scaler = self._scaler(optimizer)
        if scaler is None:
            loss.backward(retain_graph=retain_graph)
            if self.grad_clip:
                nn.utils.clip_grad_norm_(_params(optimizer, parameters), self.grad_clip)
            optimizer.step()
            return
        scaler.scale(loss).backward(retain_graph=retain_graph)
        if self.grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(_params(optimizer, parameters), self.grad_clip)
        scaler.step(optimizer)
        scaler.update()


_NULL = contextlib.nullcontext()


def _params(optimizer: torch.optim.Optimizer, parameters: Iterable[torch.Tensor] | None) -> list[torch.Tensor]:
    if parameters is not None:
        return list(parameters)
    return [p for group in optimizer.param_groups for p in group["params"]]


# ---------------------------------------------------------------------------- context

_MISSING = object()


@dataclass
class RecipeContext:
    """Everything a recipe may use. Built by the engine; recipes treat it as read-only
    except through the helper methods.

    config      parsed TrainingConfig (``config.options`` holds recipe-specific keys)
    compiled    CompiledDocument: ``compiled.build(name)`` -> fresh nn.Module (CPU)
    analysis    Analysis: ``analysis.networks[name].input_types()`` / ``output_types()``
                give TensorType(shape with batch 1, dtype "float" | "long") per port
    document    the snapshot being trained (never the caller's document); do not modify
    train, val  Dataset splits; x / y already normalised and, when ``in_memory``, already
                on ``device`` (else on CPU: use ``batches()``, which moves them). val is
                None with ``val_split: 0``.
    device      torch.device the run uses
    amp         Amp helper (autocast + scaled backward / clip / step)
    normalizer  the Normalizer applied to x (None when none): use ``denormalize`` to
                turn generated samples back into data space
    seed        the run's seed (global torch / numpy / random RNGs are already seeded)

    Progress (updated by the engine): ``epoch`` (1-based, the epoch running; 0 before
    the first), ``global_step`` (steps done), ``steps_per_epoch``, ``progress`` (0..1).
    """

    config: TrainingConfig
    compiled: CompiledDocument
    analysis: Analysis
    document: Document
    train: Dataset
    val: Dataset | None
    device: torch.device
    amp: Amp
    normalizer: Normalizer | None = None
    seed: int = 0
    epoch: int = 0
    global_step: int = 0
    steps_per_epoch: int = 1
    optimizers: list[tuple[str, torch.optim.Optimizer]] = field(default_factory=list)
    _make_optimizer: Callable[..., torch.optim.Optimizer] | None = None
    _interrupt: Callable[[], None] | None = None  # raises when the run is stopped

    # -- identity
    @property
    def main(self) -> str:
        """Name of the document's main (first) network."""
        return self.compiled.main

    @property
    def options(self) -> dict[str, Any]:
        return self.config.options

    @property
    def progress(self) -> float:
        total = max(1, self.config.epochs * self.steps_per_epoch)
        return min(1.0, self.global_step / total)

    # -- options
    def option(self, key: str, default: Any = _MISSING, kind: type | tuple[type, ...] | None = None, *,
               choices: Sequence[Any] | None = None, min: float | None = None,
               max: float | None = None) -> Any:
        """``config.options[key]`` checked; a bad value raises TrainingConfigError naming
        ``training.options.<key>``. ``kind`` float accepts ints; bools are never numbers.
        Without a default the option is required."""
        where = f"training.options.{key}"
        if key not in self.options:
            if default is _MISSING:
                raise TrainingConfigError(f"{where} is required by recipe {self.config.recipe!r}")
            return default
        value = self.options[key]
        if kind is not None:
            kinds = kind if isinstance(kind, tuple) else (kind,)
            numeric = any(k in (int, float) for k in kinds)
            ok = isinstance(value, kinds) or (float in kinds and isinstance(value, int))
            if isinstance(value, bool) and numeric and bool not in kinds:
                ok = False
            if not ok:
                names = " or ".join(k.__name__ for k in kinds)
                raise TrainingConfigError(f"{where} must be {names}, got {value!r}")
            if float in kinds and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, float) and not math.isfinite(value):
                raise TrainingConfigError(f"{where} must be a finite number, got {value!r}")
        if choices is not None and value not in choices:
            raise TrainingConfigError(
                f"{where} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        if min is not None and value < min:
            raise TrainingConfigError(f"{where} must be >= {min}, got {value!r}")
        if max is not None and value > max:
            raise TrainingConfigError(f"{where} must be <= {max}, got {value!r}")
        return value

    def check_options(self, known: Iterable[str]) -> None:
        """TrainingConfigError for any key in ``config.options`` not in ``known``."""
        known = list(known)
        for key in self.options:
            if key not in known:
                listed = ", ".join(known) or "none"
                raise TrainingConfigError(
                    f"training.options: unknown key {key!r} for recipe {self.config.recipe!r}; "
                    f"its options: {listed}")

    # -- building
    def make_optimizer(self, parameters: Iterable[Any], *, name: str | None = None,
                       lr: float | None = None, **overrides: Any) -> torch.optim.Optimizer:
        """An optimizer built from the config (``optimizer``, ``lr``, ``momentum``,
        ``betas``, ``weight_decay``), with the config's LR ``schedule`` attached and
        stepped by the engine. ``lr`` / ``overrides`` (e.g. ``betas=(0.5, 0.999)`` for a
        GAN) replace config values for this optimizer only. ``name`` (default "main",
        then "opt1", "opt2"...) keys its state in checkpoints: keep names stable."""
        if self._make_optimizer is None:
            raise RuntimeError("make_optimizer is only available while the engine sets up a recipe")
        return self._make_optimizer(parameters, name=name, lr=lr, **overrides)

    def loss_fn(self, default: str | None = None, **kwargs: Any) -> nn.Module:
        """The loss module named by ``config.loss``, else ``default``."""
        name = self.config.loss or default
        if name is None:
            raise TrainingConfigError("training.loss is not set and the recipe has no default loss")
        return make_loss(name, **kwargs)

    # -- data
    def batches(self, tensors: Mapping[str, torch.Tensor | None], batch_size: int | None = None) -> Iterator[dict[str, torch.Tensor]]:
        """Consecutive slices (no shuffling) of equally long tensors, moved to the device;
        None values are left out. For evaluation and sampling."""
        items = {k: v for k, v in tensors.items() if v is not None}
        if not items:
            return
        n = len(next(iter(items.values())))
        size = batch_size or self.config.batch_size
        for start in range(0, n, size):
            if self._interrupt is not None:
                self._interrupt()  # stop() takes effect inside long evaluations too
            yield {k: v[start:start + size].to(self.device, non_blocking=True) for k, v in items.items()}

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the run's input normalisation (identity when there is none)."""
        if self.normalizer is None:
            return x
        mean = torch.tensor(self.normalizer.mean, dtype=x.dtype, device=x.device).view(self.normalizer.view_shape)
        std = torch.tensor(self.normalizer.std, dtype=x.dtype, device=x.device).view(self.normalizer.view_shape)
        return x * std + mean


# ---------------------------------------------------------------------------- recipe


class Recipe:
    """Base class of every recipe. Override what differs; see the module docstring.

    Class attributes:
      name           set by @register
      tasks          dataset tasks this recipe accepts (empty: any); others give a
                     "data" error naming the recipe and the dataset's task
      default_for    dataset tasks for which this recipe is chosen when the document
                     sets no ``recipe``
      default_loss   used by ``ctx.loss_fn()`` when the config sets no ``loss``
      normalize      default for ``config.normalize == "auto"``: "auto" (per feature for
                     [N, D] float x, per channel for [N, C, ...] float x, none for int
                     tokens) or "none" (generative recipes usually want raw data)
      generative     True when ``sample(n)`` is implemented
      monitor        default metric for early stopping / "best" (default "val_loss")
    """

    name: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = ()
    default_for: ClassVar[tuple[str, ...]] = ()
    default_loss: ClassVar[str | None] = None
    normalize: ClassVar[str] = "auto"
    generative: ClassVar[bool] = False
    monitor: ClassVar[str] = "val_loss"

    def __init__(self, ctx: RecipeContext) -> None:
        self.ctx = ctx
        self.modules: dict[str, nn.Module] = {}

    # -- required
    def networks(self) -> list[str]:
        """Names of the networks trained, main first. Default: the document's main."""
        return [self.ctx.main]

    def setup(self) -> None:
        """Build modules (``self.build``) and optimizers (``ctx.make_optimizer``)."""
        raise NotImplementedError

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """One optimisation step on ``batch``; returns {"loss": ..., ...} (see module doc)."""
        raise NotImplementedError

    def evaluate(self, val: Dataset) -> dict[str, Any]:
        """{"val_loss": ..., "val_<metric>": ..., <extras>} (see module doc)."""
        raise NotImplementedError

    # -- optional
    def check(self, analysis: Analysis, dataset: Dataset) -> list[str]:
        """Sentences explaining mismatches between the networks and the dataset, e.g.
        "the generator's output [B, 3] does not match the dataset's samples [B, 2]".
        Empty list: all good. Called before ``setup``; must not build modules."""
        return []

    def batch_tensors(self, dataset: Dataset) -> dict[str, torch.Tensor]:
        """The tensors the engine slices into batches (all of length N): by default
        {"x": dataset.x, "y": dataset.y} (y left out when None). Training batches are
        rows of a seeded permutation; ``train_step`` receives the same keys."""
        out = {"x": dataset.x}
        if dataset.y is not None:
            out["y"] = dataset.y
        return out

    def live_samples(self) -> dict[str, Any] | None:
        """A small payload for the dashboard after each epoch (see events.py for the
        kinds), or None. Runs in eval mode under no_grad; keep it under ~50 ms."""
        return None

    def sample(self, n: int) -> dict[str, Any]:
        """``n`` generated samples as a payload (same kinds as live_samples), in data
        space (use ``ctx.denormalize``). Generative recipes only."""
        raise NotImplementedError(f"recipe {self.name!r} does not generate samples")

    def on_epoch_start(self, epoch: int) -> None:
        """Before the first step of ``epoch`` (1-based): e.g. KL / warm-up schedules."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """After validation of ``epoch``."""

    def state_dicts(self) -> dict[str, dict[str, torch.Tensor]]:
        """{network name: state_dict} for every trained network; keys are exactly the
        exported module's keys (the modules come from the generated code)."""
        return {name: self.modules[name].state_dict() for name in self.networks() if name in self.modules}

    def load_state_dicts(self, states: Mapping[str, Mapping[str, torch.Tensor]]) -> None:
        """Load weights saved by ``state_dicts`` (strict)."""
        for name, state in states.items():
            if name in self.modules:
                self.modules[name].load_state_dict(state, strict=True)

    def extra_state(self) -> dict[str, Any]:
        """JSON-able recipe state to checkpoint besides weights (e.g. counters)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``extra_state`` returned."""

    # -- helpers for subclasses
    def build(self, network: str) -> nn.Module:
        """A fresh module for ``network`` from the generated code, on the device,
        registered in ``self.modules`` (so modes, checkpoints and counts cover it)."""
        module = self.ctx.compiled.build(network).to(self.ctx.device)
        self.modules[network] = module
        return module

    def input_types(self, network: str) -> list[TensorType | None]:
        return self.ctx.analysis.networks[network].input_types()

    def output_types(self, network: str) -> list[TensorType | None]:
        return self.ctx.analysis.networks[network].output_types()

    def check_input(self, network: str, dataset: Dataset, port: int = 0, what: str | None = None) -> list[str]:
        """A sentence when the network's Input ``port`` does not take the dataset's x
        (shape without batch, or float vs int64 tokens); [] when it does."""
        ins = self.input_types(network)
        label = what or f"network {network!r}"
        if port >= len(ins) or ins[port] is None:
            return [f"{label} has no Input {port}; it needs one taking the dataset's samples {batch_shape(dataset.x)}"]
        want = ins[port]
        problems = []
        if tuple(want.shape[1:]) != tuple(dataset.x.shape[1:]):
            problems.append(
                f"the input of {label} {fmt_shape(want.shape)} does not match the dataset's samples "
                f"{batch_shape(dataset.x)}; set the Input's shape to {list(dataset.x.shape[1:])}")
        data_long = not torch.is_floating_point(dataset.x)
        if want.dtype == "long" and not data_long:
            problems.append(f"the Input of {label} takes int64 token ids but dataset {dataset.name!r} has float "
                            "features; set the Input's dtype to float32")
        elif want.dtype != "long" and data_long:
            problems.append(f"the Input of {label} takes float features but dataset {dataset.name!r} has int64 "
                            "token ids; set the Input's dtype to int64 and add an Embedding")
        return problems


def batch_shape(t: torch.Tensor | Sequence[int]) -> str:
    """``[B, 1, 8, 8]`` for a tensor of shape (N, 1, 8, 8)."""
    shape = tuple(t.shape) if hasattr(t, "shape") else tuple(t)
    return fmt_shape((1, *shape[1:]))


__all__ = [
    "ALIASES",
    "LOSSES",
    "RECIPES",
    "Amp",
    "Recipe",
    "RecipeContext",
    "available",
    "batch_shape",
    "default_recipe_for",
    "get_recipe",
    "make_loss",
    "register",
    "sequence_cross_entropy",
]
