"""Putting a saved run back: its weights into a recipe's networks, its optimizer state.

``load_weights`` is the only way trained weights reach a network: the engine's resume,
``load_trained`` (the app and ``netwright sample``) all call it. The tensors come from
safetensors files (``checkpoints.load_run``), never from pickle.
"""
from __future__ import annotations

from typing import Any

import torch

from graph_compiler.training.checkpoints import CheckpointError, SavedRun
from graph_compiler.training.optimizers import OptimizerSet
from graph_compiler.training.preprocessing import Normalizer


def load_weights(recipe: Any, saved: SavedRun, device: torch.device) -> None:
    """Load ``saved``'s state_dicts (and the recipe's extra state) into ``recipe``'s
    networks on ``device``. CheckpointError when a network has no saved weights or the
    weights do not fit it."""
    missing = [n for n in recipe.networks() if n not in saved.weights]
    if missing:
        raise CheckpointError(f"{saved.path}: no saved weights for network {missing[0]!r}")
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


__all__ = ["check_recipe", "load_optimizer_states", "load_weights", "saved_normalizer"]
