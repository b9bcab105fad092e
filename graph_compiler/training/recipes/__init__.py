"""Training recipes. Every module in this package is imported on demand (``available()``,
or ``get_recipe`` / ``default_recipe_for`` asking for a name not loaded yet), so a recipe
registers itself with ``@register`` just by living here (see recipes/registry.py). Only
``supervised`` is imported eagerly: the common runs start without loading the rest."""
from __future__ import annotations

import importlib
import pkgutil

from graph_compiler.training.recipes.base import Recipe
from graph_compiler.training.recipes.context import RecipeContext
from graph_compiler.training.recipes.registry import (
    ALIASES,
    RECIPES,
    available,
    default_recipe_for,
    get_recipe,
    register,
)

# supervised first: its recipes are the defaults for classification / regression data.
_FIRST = ("supervised",)
# Modules of this package that define no recipe.
_PLUMBING = frozenset({"amp", "base", "context", "generative_base", "losses", "registry"})


# module name -> "ExcType: message" for recipe modules that failed to import; one broken
# recipe must not take the others down (get_recipe mentions these when a name is missing).
IMPORT_ERRORS: dict[str, str] = {}


_ALL_LOADED = False


def _import(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except Exception as exc:  # noqa: BLE001 - reported by get_recipe
            IMPORT_ERRORS[name] = f"{type(exc).__name__}: {exc}"


def _import_all() -> None:
    global _ALL_LOADED
    if _ALL_LOADED:
        return
    _ALL_LOADED = True
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name not in _PLUMBING]
    _import(sorted(names, key=lambda n: (n not in _FIRST, n)))


_import(list(_FIRST))

__all__ = [
    "ALIASES",
    "IMPORT_ERRORS",
    "RECIPES",
    "Recipe",
    "RecipeContext",
    "available",
    "default_recipe_for",
    "get_recipe",
    "register",
]
