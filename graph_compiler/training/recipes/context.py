"""RecipeContext: what the engine hands a recipe (config, data, device, helpers)."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from graph_compiler.training.config import TrainingConfig, TrainingConfigError
from graph_compiler.training.recipes.amp import Amp
from graph_compiler.training.recipes.losses import make_loss

if TYPE_CHECKING:
    from graph_compiler.analysis import Analysis
    from graph_compiler.compile import CompiledDocument
    from graph_compiler.document import Document
    from graph_compiler.training.datasets import Dataset
    from graph_compiler.training.preprocessing import Normalizer

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


__all__ = ["RecipeContext"]
