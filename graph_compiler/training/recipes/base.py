"""The Recipe interface: how one kind of training (classification, GAN, VAE, ...) works.

The engine (``graph_compiler.training.engine.Trainer``) owns everything generic: the
document snapshot, config, dataset and split, normalisation, device, seeding, batching,
the loop, pause / stop, LR schedules, events, NaN / OOM handling, checkpoints. A recipe
owns what is specific: which networks it trains, how one batch is a training step, what
validation measures, what live samples look like.

Writing a recipe
================

::

    from graph_compiler.training.recipes.base import Recipe
    from graph_compiler.training.recipes.registry import register

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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from graph_compiler.catalog import fmt_shape
from graph_compiler.training.recipes.context import RecipeContext

if TYPE_CHECKING:
    from graph_compiler.analysis import Analysis, TensorType
    from graph_compiler.training.datasets import Dataset


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
        self.notes: list[str] = []  # how setup() chose to train these networks, for the start event

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
        module: nn.Module = self.ctx.compiled.build(network).to(self.ctx.device)
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
        want = ins[port] if port < len(ins) else None
        if want is None:
            return [f"{label} has no Input {port}; it needs one taking the dataset's samples {batch_shape(dataset.x)}"]
        problems = []
        if tuple(want.shape[1:]) != tuple(dataset.x.shape[1:]):
            problems.append(
                f"the input of {label} {fmt_shape(want.shape)} does not match the dataset's samples "
                f"{batch_shape(dataset.x)}; set the Input's shape to {list(dataset.x.shape[1:])}")
        data_long = not torch.is_floating_point(dataset.x)
        if want.dtype == "long" and not data_long:
            problems.append(self._tokens_advice(network, port, label, dataset))
        elif want.dtype != "long" and data_long:
            problems.append(f"the Input of {label} takes float features but dataset {dataset.name!r} has int64 "
                            "token ids; set the Input's dtype to int64 and add an Embedding")
        return problems


    def _tokens_advice(self, network: str, port: int, label: str, dataset: Dataset) -> str:
        """Token ids expected, float features given. An Input feeding an Embedding must
        stay int64: whole-number features are token ids read without a sequence task."""
        text = f"the Input of {label} takes int64 token ids but dataset {dataset.name!r} has float features"
        net = self.ctx.document.network(network)
        nid = self.ctx.analysis.networks[network].inputs[port]
        kinds = {n.id: n.type for n in net.nodes} if net is not None else {}
        embeddings = [e.dst for e in (net.edges if net is not None else []) if e.src == nid
                      and kinds.get(e.dst) == "Embedding"]
        if not embeddings:
            return text + "; set the Input's dtype to float32"
        text += f" (the Input feeds Embedding {embeddings[0]!r}, which needs token ids)"
        tasks = ("\"sequence_classification\" (one label per sequence) or \"language_model\" (next-token "
                 "targets)")
        if not dataset.meta.get("integer_x"):
            return text + f"; give it integer token ids with the dataset's \"task\" set to {tasks}"
        return (text + f"; the dataset's x holds integers, read as float features for task {dataset.task!r}: "
                f"set the dataset's \"task\" to {tasks}, so integer x stays int64 token ids")


def first_output(out: Any) -> torch.Tensor:
    """A network's first output: networks with several Outputs return a tuple."""
    first = out[0] if isinstance(out, (tuple, list)) else out
    assert isinstance(first, torch.Tensor), f"a network returned {type(first).__name__}, not a tensor"
    return first


def batch_shape(t: torch.Tensor | Sequence[int]) -> str:
    """``[B, 1, 8, 8]`` for a tensor of shape (N, 1, 8, 8)."""
    shape = tuple(t.shape) if hasattr(t, "shape") else tuple(t)
    return fmt_shape((1, *shape[1:]))


__all__ = ["Recipe", "batch_shape", "first_output"]
