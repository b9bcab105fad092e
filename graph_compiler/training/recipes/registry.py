"""The recipe registry: ``@register`` names a recipe class, ``get_recipe`` finds it.

Recipe modules in this package are imported on demand (see ``recipes/__init__``), so a
name not registered yet triggers loading the rest before it is reported unknown.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from graph_compiler.training.config import TrainingConfigError
from graph_compiler.training.recipes.base import Recipe

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


def recipe_for(name: str | None, task: str, dataset: str) -> type[Recipe]:
    """The recipe class that trains ``dataset`` (of ``task``): ``name`` when given, else
    the task's default. TrainingConfigError when none is found, DatasetError when the
    recipe does not train datasets of that task."""
    from graph_compiler.training.datasets import DatasetError

    chosen = name or default_recipe_for(task)
    if chosen is None:
        raise TrainingConfigError(
            f"training.recipe is not set and no recipe trains {task!r} datasets by default; "
            f"set it to one of: {', '.join(available())}")
    cls = get_recipe(chosen)
    if cls.tasks and task not in cls.tasks:
        better = default_recipe_for(task)
        hint = f"; set training.recipe to {better!r}" if better else ""
        # A csv / npz file's task is guessed from its labels unless the dataset says it.
        hint += f", or say the file's task in the dataset (\"task\": {cls.tasks[0]!r})"
        raise DatasetError(
            f"recipe {cls.name!r} trains {' / '.join(cls.tasks)} datasets, but dataset "
            f"{dataset!r} is a {task} dataset{hint}")
    return cls


def _load_package() -> None:
    # The package imports the supervised recipes (see recipes/__init__.py).
    import graph_compiler.training.recipes  # noqa: F401


def _load_all() -> None:
    from graph_compiler.training.recipes import _import_all

    _import_all()


__all__ = ["ALIASES", "RECIPES", "available", "default_recipe_for", "get_recipe", "recipe_for", "register"]
