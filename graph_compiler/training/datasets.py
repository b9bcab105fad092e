"""The `Dataset` container, the registry of built-in datasets, and `resolve_dataset`
for document specs.

Every built-in dataset is deterministic given its `seed`. The small ones are generated
or ship with a dependency (scikit-learn, the standard library); they live in
`sklearn_datasets`, `synthetic_datasets` and `text_datasets`. The standard ones (mnist,
cifar10, ...) live in `graph_compiler.data.standard` and are downloaded once, verified
by sha256. All register with `register_builtin`; user files are read by
`graph_compiler.training.loaders`.
"""

from __future__ import annotations

import difflib
import inspect
import math
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graph_compiler.errors import NetwrightError

TASKS: tuple[str, ...] = (
    "classification",
    "regression",
    "sequence_classification",
    "sequence_to_sequence",
    "language_model",
    "unsupervised",
)


class DatasetError(NetwrightError):
    """A dataset cannot be built or read; the message names the file, column, row or option."""


@dataclass
class Dataset:
    """Tensors plus what a recipe needs to know about them.

    `x` is float32 features [N, ...] (int64 tokens [N, T] for sequence tasks). `y` is
    int64 class ids [N] or per-position classes [N, T], float32 regression targets
    [N, k], or None for unsupervised data.
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor | None
    task: str
    classes: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DatasetError(
                f"dataset {self.name!r}: unknown task {self.task!r}; expected one of {', '.join(TASKS)}"
            )
        if self.x.ndim < 1:
            raise DatasetError(
                f"dataset {self.name!r}: x must have a sample dimension, got a scalar"
            )
        if self.y is not None and len(self.y) != len(self.x):
            raise DatasetError(
                f"dataset {self.name!r}: x has {len(self.x)} samples but y has {len(self.y)}"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int | None:
        """Number of output classes, or None for regression / unsupervised data."""
        if self.classes is not None:
            return len(self.classes)
        if self.task in ("sequence_to_sequence", "language_model"):
            vocab_size = self.meta.get("vocab_size")
            return int(vocab_size) if vocab_size is not None else None
        if (
            self.task in ("classification", "sequence_classification")
            and self.y is not None
            and self.y.numel()
        ):
            return int(self.y.max()) + 1
        return None

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class DatasetInfo:
    """What `list_datasets` shows; `input_shape` is for the default options."""

    name: str
    task: str
    description: str
    input_shape: tuple[int, ...]
    downloads: bool = False  # fetched on first use (graph_compiler.data.standard)


_Builder = Callable[..., Dataset]
_REGISTRY: dict[str, tuple[DatasetInfo, _Builder]] = {}


def register_builtin(
    name: str, task: str, description: str, input_shape: tuple[int, ...], downloads: bool = False
) -> Callable[[_Builder], _Builder]:
    def decorate(builder: _Builder) -> _Builder:
        _REGISTRY[name] = (DatasetInfo(name, task, description, input_shape, downloads), builder)
        return builder

    return decorate


def _load_builtins() -> None:
    # The modules register their datasets when imported; importing them here, not at
    # the top, keeps `import datasets` cheap and free of import cycles.
    import graph_compiler.training.sklearn_datasets
    import graph_compiler.training.synthetic_datasets
    import graph_compiler.training.text_datasets
    import graph_compiler.data.standard  # noqa: F401 - downloaded on first use, listed last


def list_datasets() -> list[DatasetInfo]:
    """Every built-in dataset: the generated / bundled ones first, then the downloads."""
    _load_builtins()
    return sorted((info for info, _ in _REGISTRY.values()), key=lambda info: info.downloads)


def check_dataset_name(name: object, downloadable: bool = False) -> str:
    """``name`` if it names a built-in dataset (with ``downloadable``: one that is
    downloaded, e.g. mnist), else a DatasetError naming it and suggesting the close
    match, like a mistyped node type. Every place that resolves a dataset name (a
    document's training section, `netwright dataset`, `--fetch`) goes through here."""
    _load_builtins()
    if isinstance(name, str) and name in _REGISTRY and (not downloadable or _REGISTRY[name][0].downloads):
        return name
    choices = sorted(k for k, (info, _) in _REGISTRY.items() if info.downloads or not downloadable)
    kind = "downloadable dataset" if downloadable else "dataset"
    if isinstance(name, str) and downloadable and name in _REGISTRY:
        raise DatasetError(f"{name!r} is not a downloadable dataset (it is built in: nothing to "
                           f"download); downloadable datasets are: {', '.join(choices)}")
    close = difflib.get_close_matches(name, choices, n=1) if isinstance(name, str) else []
    if close:
        listing = "netwright dataset --list" if not downloadable else ", ".join(choices)
        raise DatasetError(f"unknown {kind} {name!r}; did you mean {close[0]!r}? (all: {listing})")
    raise DatasetError(f"unknown {kind} {name!r}; {kind}s are: {', '.join(choices)}")


def load_dataset(name: str, n: int | None = None, seed: int = 0, **options: Any) -> Dataset:
    """Build the built-in dataset `name` with `n` samples (None: its default or all).

    Options are the keyword parameters of each builder (e.g. `noise`, `length`,
    `block_size`); an unknown one raises a DatasetError naming it.
    """
    info, builder = _REGISTRY[check_dataset_name(name)]
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("n", "seed")]
    for key in options:
        if key not in accepted:
            listed = ", ".join(["n", *accepted])
            raise DatasetError(f"dataset {name!r} has no option {key!r}; its options are: {listed}")
    if n is not None:
        n = int_option(name, "n", n, minimum=1)
    seed = int_option(name, "seed", seed, minimum=0)
    dataset = builder(n=n, seed=seed, **options)
    dataset.meta.setdefault("description", info.description)
    return dataset


# ---------------------------------------------------------------------------------------
# Option checking. Options arrive from JSON documents and the CLI, so wrong types are
# user errors that must name the option rather than surface as a numpy traceback.


def int_option(
    dataset: str, key: str, value: object, minimum: int, maximum: int | None = None
) -> int:
    # bool is an int subclass, but `n: true` in a document is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be {bound}, got {value}")
    return int(value)


def float_option(dataset: str, key: str, value: object, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or value < minimum:
        raise DatasetError(
            f"dataset {dataset!r}: option {key!r} must be a finite number >= {minimum}, got {value}"
        )
    return float(value)


def subsample(
    name: str, x: np.ndarray, y: np.ndarray, n: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-size datasets: all samples in their shipped order, or a seeded random subset."""
    if n is None:
        return x, y
    if n > len(x):
        raise DatasetError(f"dataset {name!r} has only {len(x)} samples; option 'n' asked for {n}")
    index = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[index], y[index]


# ---------------------------------------------------------------------------------------
# Document specs.

# Spec key -> {spec key: loader keyword}. Path-valued options are listed in
# _PATH_OPTIONS so they resolve against base_dir like the source itself.
_FILE_SOURCES: dict[str, dict[str, str]] = {
    "csv": {k: k for k in ("target", "task", "missing", "delimiter", "categorical", "ignore", "header", "name")},
    "npz": {k: k for k in ("x", "y", "task", "name")},
    "image_folder": {k: k for k in ("size", "grayscale", "name")},
    "idx_images": {"idx_labels": "labels", "name": "name"},
}
_PATH_OPTIONS = {"idx_labels"}


def _spec_path(key: str, value: object, base_dir: pathlib.Path | None) -> pathlib.Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise DatasetError(f"dataset spec key {key!r} must be a file path, got {value!r}")
    path = pathlib.Path(value).expanduser()
    return path if path.is_absolute() or base_dir is None else pathlib.Path(base_dir) / path


def resolve_dataset(
    spec: str | dict[str, Any], base_dir: pathlib.Path | None = None, seed: int = 0
) -> Dataset:
    """Build a dataset from a document's spec.

    A string names a built-in dataset. A dict has exactly one source key: "name"
    (built-in; other keys are its options, e.g. "n", "noise"), "url" (with "sha256";
    see graph_compiler.data.remote), "csv", "npz",
    "image_folder" or "idx_images" (with optional "idx_labels"); the other keys are the
    loader's options. A "seed" key overrides `seed`. Relative paths resolve against
    `base_dir` (normally the document's folder).
    """
    if isinstance(spec, str):
        return load_dataset(spec, seed=seed)
    if not isinstance(spec, dict):
        raise DatasetError(f"dataset spec must be a name or an object, got {type(spec).__name__}")
    if "url" in spec and not any(key in spec for key in ("name", *_FILE_SOURCES)):
        from graph_compiler.data.remote import load_url

        return load_url(spec)
    sources = [key for key in ("name", *_FILE_SOURCES) if key in spec]
    if len(sources) != 1:
        found = (
            f"found {', '.join(repr(s) for s in sources)}"
            if sources
            else f"got keys {sorted(map(str, spec))}"
        )
        raise DatasetError(
            f"dataset spec needs exactly one of 'name', 'url', {', '.join(map(repr, _FILE_SOURCES))}; {found}"
        )
    source = sources[0]
    options = {key: value for key, value in spec.items() if key != source}
    if "seed" in options:
        seed = int_option(str(spec[source]), "seed", options.pop("seed"), minimum=0)
    if source == "name":
        return load_dataset(spec["name"], n=options.pop("n", None), seed=seed, **options)

    from graph_compiler.training import loaders

    loaders_by_source: dict[str, Callable[..., Dataset]] = {
        "csv": loaders.load_csv, "npz": loaders.load_npz,
        "image_folder": loaders.load_image_folder, "idx_images": loaders.load_idx,
    }
    load = loaders_by_source[source]
    allowed = _FILE_SOURCES[source]
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if key not in allowed:
            valid = ", ".join(repr(k) for k in allowed)
            raise DatasetError(
                f"dataset spec key {key!r} is not valid with {source!r}; valid keys: {valid}"
            )
        kwargs[allowed[key]] = _spec_path(key, value, base_dir) if key in _PATH_OPTIONS else value
    return load(_spec_path(source, spec[source], base_dir), **kwargs)
