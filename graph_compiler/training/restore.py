"""Putting a saved run back: its weights into a recipe's networks, its optimizer state.

``load_run_weights`` is the only way trained weights reach a network: the engine's resume
and ``load_trained`` (a ready Trainer for the app and ``netwright sample``) call it. The tensors come from
safetensors files (``checkpoints.load_run``), never from pickle.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from graph_compiler.document import from_dict
from graph_compiler.training.checkpoints import CheckpointError, SavedRun, load_run, state_dict_mismatches
from graph_compiler.training.optimizers import OptimizerSet
from graph_compiler.training.preprocessing import Normalizer

if TYPE_CHECKING:
    from graph_compiler.training.datasets import Dataset
    from graph_compiler.training.engine import Trainer


def load_run_weights(recipe: Any, saved: SavedRun, device: torch.device) -> None:
    """Load ``saved``'s state_dicts (and the recipe's extra state) into ``recipe``'s
    networks on ``device``. CheckpointError when a network has no saved weights or the
    weights do not fit it."""
    missing = [n for n in recipe.networks() if n not in saved.weights]
    if missing:
        raise CheckpointError(f"{saved.path}: no saved weights for network {missing[0]!r}")
    for name, state in saved.weights.items():
        if name in recipe.modules:
            problems = state_dict_mismatches(recipe.modules[name].state_dict(), state)
            if problems:
                raise CheckpointError(f"{saved.path}: the saved weights do not fit the document's networks "
                                      f"(network {name!r}: {'; '.join(problems)})")
    try:
        recipe.load_state_dicts({n: {k: v.to(device) for k, v in sd.items()}
                                 for n, sd in saved.weights.items() if n in recipe.modules})
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{saved.path}: the saved weights do not fit the document's networks ({first})") from None
    recipe.load_extra_state(saved.info.get("extra_state") or {})


def load_optimizer_states(optimizers: OptimizerSet, saved: SavedRun) -> None:
    """Each optimizer's saved state, by name; CheckpointError when one is missing or does not fit."""
    for name, opt in optimizers:
        state = saved.optimizers.get(name)
        if state is None:
            raise CheckpointError(f"{saved.path}: no saved state for optimizer {name!r}")
        try:
            opt.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{saved.path}: optimizer {name!r} state does not fit ({exc})") from None


def check_recipe(saved: SavedRun, recipe: str | None) -> None:
    """CheckpointError unless the saved run trained with ``recipe``."""
    if saved.info.get("recipe") != recipe:
        raise CheckpointError(f"{saved.path}: the run used recipe {saved.info.get('recipe')!r}, this one is {recipe!r}")


def saved_normalizer(saved: SavedRun) -> Normalizer | None:
    """The normalisation the run trained with (None when it had none)."""
    raw = saved.info.get("normalizer")
    return Normalizer.from_dict(raw) if raw else None


def load_trained(run_dir: str | Path, *, file: str | Path | None = None, options: Mapping[str, Any] | None = None,
                 device: str = "auto", dataset: Dataset | None = None) -> Trainer:
    """A prepared Trainer holding a saved run's networks with their trained weights
    (for ``netwright sample`` and the app): ``load_trained(d).sample(16)``.

    The networks come from ``file`` when given (they must fit the saved weights), else
    from the document snapshot in run.json. ``options`` override the recipe's options
    (e.g. a sampling temperature). Raises NetwrightError subclasses."""
    from graph_compiler import document
    from graph_compiler.training.engine import Trainer  # the engine imports this module

    saved = load_run(run_dir, with_optimizer=False)
    if file is not None:
        doc = document.load(file)
    else:
        raw = saved.info.get("document")
        if not isinstance(raw, dict):
            raise CheckpointError(f"{run_dir}: run.json holds no document snapshot; name the graph file")
        doc = from_dict(raw)
    cfg = dict(saved.info.get("config") or {})
    cfg["device"] = device
    cfg["options"] = {**(cfg.get("options") or {}), **(options or {})}
    doc.training = cfg
    trainer = Trainer(doc, dataset=dataset)
    trainer.prepare()
    assert trainer.device is not None
    load_run_weights(trainer.recipe, saved, trainer.device)
    trainer._epoch = saved.epoch
    trainer.history = list(saved.info.get("history") or [])
    # Samples are mapped back to data units with the statistics the run trained with.
    normalizer = saved_normalizer(saved)
    if normalizer is not None:
        trainer.normalizer = trainer.ctx.normalizer = normalizer
    return trainer


__all__ = ["check_recipe", "load_optimizer_states", "load_run_weights", "load_trained", "saved_normalizer"]
