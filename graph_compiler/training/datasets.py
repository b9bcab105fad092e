"""Built-in datasets, the `Dataset` container, and `resolve_dataset` for document specs.

The small built-in datasets are generated or ship with a dependency (scikit-learn, the
standard library) and are deterministic given their `seed`; the standard ones (mnist,
cifar10, ...) are registered by `graph_compiler.data.standard` and downloaded once,
verified by sha256. User files are read by `graph_compiler.training.loaders`.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import pathlib
from collections.abc import Callable, Iterable
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


def _register(
    name: str, task: str, description: str, input_shape: tuple[int, ...], downloads: bool = False
) -> Callable[[_Builder], _Builder]:
    def decorate(builder: _Builder) -> _Builder:
        _REGISTRY[name] = (DatasetInfo(name, task, description, input_shape, downloads), builder)
        return builder

    return decorate


def list_datasets() -> list[DatasetInfo]:
    return [info for info, _ in _REGISTRY.values()]


def load_dataset(name: str, n: int | None = None, seed: int = 0, **options: Any) -> Dataset:
    """Build the built-in dataset `name` with `n` samples (None: its default or all).

    Options are the keyword parameters of each builder (e.g. `noise`, `length`,
    `block_size`); an unknown one raises a DatasetError naming it.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise DatasetError(
            f"unknown dataset {name!r}; built-in datasets are: {', '.join(sorted(_REGISTRY))}"
        )
    info, builder = _REGISTRY[name]
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("n", "seed")]
    for key in options:
        if key not in accepted:
            listed = ", ".join(["n", *accepted])
            raise DatasetError(f"dataset {name!r} has no option {key!r}; its options are: {listed}")
    if n is not None:
        n = _int_option(name, "n", n, minimum=1)
    seed = _int_option(name, "seed", seed, minimum=0)
    dataset = builder(n=n, seed=seed, **options)
    dataset.meta.setdefault("description", info.description)
    return dataset


# ---------------------------------------------------------------------------------------
# Option checking. Options arrive from JSON documents and the CLI, so wrong types are
# user errors that must name the option rather than surface as a numpy traceback.


def _int_option(
    dataset: str, key: str, value: object, minimum: int, maximum: int | None = None
) -> int:
    # bool is an int subclass, but `n: true` in a document is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be {bound}, got {value}")
    return int(value)


def _float_option(dataset: str, key: str, value: object, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DatasetError(f"dataset {dataset!r}: option {key!r} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or value < minimum:
        raise DatasetError(
            f"dataset {dataset!r}: option {key!r} must be a finite number >= {minimum}, got {value}"
        )
    return float(value)


def _subsample(
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
# Tabular and image datasets from scikit-learn (imported lazily: it costs ~1 s at start-up).


def _digits_arrays(name: str, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return _subsample(name, data.images.astype(np.float32) / 16.0, data.target, n, seed)


@_register(
    "digits", "classification", "8x8 handwritten digits (scikit-learn), pixels in 0..1", (1, 8, 8)
)
def _digits(n: int | None, seed: int) -> Dataset:
    images, target = _digits_arrays("digits", n, seed)
    return Dataset(
        name="digits",
        x=torch.from_numpy(images).unsqueeze(1),
        y=torch.from_numpy(target).long(),
        task="classification",
        classes=[str(d) for d in range(10)],
        meta={"image_shape": [1, 8, 8]},
    )


@_register(
    "digits_flat",
    "classification",
    "8x8 handwritten digits flattened to 64 features in 0..1",
    (64,),
)
def _digits_flat(n: int | None, seed: int) -> Dataset:
    images, target = _digits_arrays("digits_flat", n, seed)
    return Dataset(
        name="digits_flat",
        x=torch.from_numpy(images.reshape(len(images), 64)),
        y=torch.from_numpy(target).long(),
        task="classification",
        classes=[str(d) for d in range(10)],
        meta={"image_shape": [1, 8, 8]},
    )


def _sklearn_table(name: str, loader_name: str, n: int | None, seed: int) -> Dataset:
    import sklearn.datasets

    data = getattr(sklearn.datasets, loader_name)()
    features = data.data.astype(np.float64)
    # Standardised once over the whole table so the tiny classic sets train out of the
    # box; the statistics go into meta so exported code can reproduce them.
    mean, std = features.mean(axis=0), features.std(axis=0)
    std[std == 0] = 1.0
    features = ((features - mean) / std).astype(np.float32)
    features, target = _subsample(name, features, data.target, n, seed)
    return Dataset(
        name=name,
        x=torch.from_numpy(features),
        y=torch.from_numpy(target).long(),
        task="classification",
        classes=[str(c) for c in data.target_names],
        meta={
            "feature_names": [str(f) for f in data.feature_names],
            "mean": mean.tolist(),
            "std": std.tolist(),
        },
    )


@_register(
    "iris", "classification", "Iris flowers: 4 standardised features, 3 species (150 samples)", (4,)
)
def _iris(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("iris", "load_iris", n, seed)


@_register(
    "wine",
    "classification",
    "Wine cultivars: 13 standardised features, 3 classes (178 samples)",
    (13,),
)
def _wine(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("wine", "load_wine", n, seed)


@_register(
    "breast_cancer",
    "classification",
    "Breast cancer diagnosis: 30 standardised features, 2 classes (569 samples)",
    (30,),
)
def _breast_cancer(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("breast_cancer", "load_breast_cancer", n, seed)


# ---------------------------------------------------------------------------------------
# 2-D synthetic sets: classifiers use y, generative recipes ignore it.


def _points(
    name: str, x: np.ndarray, y: np.ndarray, num_classes: int, noise: float, **meta: Any
) -> Dataset:
    return Dataset(
        name=name,
        x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        y=torch.from_numpy(np.asarray(y, dtype=np.int64)),
        task="classification",
        classes=[str(c) for c in range(num_classes)],
        meta={"noise": noise, **meta},
    )


def _balanced_labels(rng: np.random.Generator, n: int, num_classes: int) -> np.ndarray:
    # Equal class counts (up to one) so every mode or arm is present even for small n.
    return rng.permutation(np.arange(n) % num_classes)


@_register("moons", "classification", "Two interleaving half circles (2-D)", (2,))
def _moons(n: int | None, seed: int, noise: float = 0.1) -> Dataset:
    from sklearn.datasets import make_moons

    noise = _float_option("moons", "noise", noise)
    x, y = make_moons(n_samples=n or 1000, noise=noise, random_state=seed)
    return _points("moons", x, y, 2, noise)


@_register("circles", "classification", "A small circle inside a large one (2-D)", (2,))
def _circles(n: int | None, seed: int, noise: float = 0.05, factor: float = 0.5) -> Dataset:
    from sklearn.datasets import make_circles

    noise = _float_option("circles", "noise", noise)
    factor = _float_option("circles", "factor", factor)
    if not 0 < factor < 1:
        raise DatasetError(
            f"dataset 'circles': option 'factor' must be between 0 and 1, got {factor}"
        )
    x, y = make_circles(n_samples=n or 1000, noise=noise, factor=factor, random_state=seed)
    return _points("circles", x, y, 2, noise, factor=factor)


@_register(
    "spirals", "classification", "Interleaved spiral arms (2 or 3), radius up to 1 (2-D)", (2,)
)
def _spirals(n: int | None, seed: int, noise: float = 0.03, arms: int = 2) -> Dataset:
    noise = _float_option("spirals", "noise", noise)
    arms = _int_option("spirals", "arms", arms, minimum=2, maximum=3)
    n = n or 1000
    rng = np.random.default_rng(seed)
    arm = _balanced_labels(rng, n, arms)
    # sqrt spreads points evenly along the arm instead of crowding the centre.
    t = np.sqrt(rng.uniform(0.0, 1.0, n))
    angle = t * 2.5 * math.pi + arm * (2 * math.pi / arms)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) + noise * rng.standard_normal(
        (n, 2)
    )
    return _points("spirals", x, arm, arms, noise, arms=arms)


@_register("blobs", "classification", "Isotropic Gaussian clusters (2-D)", (2,))
def _blobs(n: int | None, seed: int, noise: float = 0.5, centers: int = 3) -> Dataset:
    from sklearn.datasets import make_blobs

    noise = _float_option("blobs", "noise", noise)
    centers = _int_option("blobs", "centers", centers, minimum=1, maximum=100)
    x, y = make_blobs(
        n_samples=n or 1000,
        centers=centers,
        cluster_std=noise,
        center_box=(-4, 4),
        random_state=seed,
    )
    return _points("blobs", x, y, centers, noise, centers=centers)


@_register(
    "eight_gaussians",
    "classification",
    "8 Gaussian modes on a circle of radius 2; y = mode (2-D)",
    (2,),
)
def _eight_gaussians(n: int | None, seed: int, noise: float = 0.05) -> Dataset:
    noise = _float_option("eight_gaussians", "noise", noise)
    n = n or 2000
    rng = np.random.default_rng(seed)
    mode = _balanced_labels(rng, n, 8)
    angles = mode * (2 * math.pi / 8)
    x = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1) + noise * rng.standard_normal(
        (n, 2)
    )
    return _points("eight_gaussians", x, mode, 8, noise, radius=2.0)


@_register("sine", "regression", "y = sin(x) + noise for x uniform in [-pi, pi]", (1,))
def _sine(n: int | None, seed: int, noise: float = 0.05) -> Dataset:
    noise = _float_option("sine", "noise", noise)
    n = n or 1000
    rng = np.random.default_rng(seed)
    x = rng.uniform(-math.pi, math.pi, (n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return Dataset(
        name="sine",
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(y.astype(np.float32)),
        task="regression",
        meta={"noise": noise},
    )


# ---------------------------------------------------------------------------------------
# Token sequence tasks: x is int64 [N, T], and meta["vocab_size"] sizes the embedding.


def _tokens(
    name: str, n: int | None, seed: int, length: int, vocab_size: int
) -> tuple[np.ndarray, dict[str, Any]]:
    length = _int_option(name, "length", length, minimum=1, maximum=4096)
    tokens = np.random.default_rng(seed).integers(
        0, vocab_size, size=(n or 2000, length), dtype=np.int64
    )
    return tokens, {"vocab_size": vocab_size, "sequence_length": length}


@_register(
    "parity",
    "sequence_classification",
    "Binary strings; class = parity of the number of ones",
    (8,),
)
def _parity(n: int | None, seed: int, length: int = 8) -> Dataset:
    x, meta = _tokens("parity", n, seed, length, 2)
    return Dataset(
        "parity",
        torch.from_numpy(x),
        torch.from_numpy(x.sum(axis=1) % 2),
        "sequence_classification",
        classes=["even", "odd"],
        meta=meta,
    )


@_register("sum", "regression", "Digit strings (0-9); target = their sum", (5,))
def _sum(n: int | None, seed: int, length: int = 5) -> Dataset:
    x, meta = _tokens("sum", n, seed, length, 10)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    return Dataset("sum", torch.from_numpy(x), torch.from_numpy(y), "regression", meta=meta)


@_register(
    "copy", "sequence_to_sequence", "Random tokens; target at each position = the input token", (8,)
)
def _copy(n: int | None, seed: int, length: int = 8, vocab_size: int = 10) -> Dataset:
    vocab_size = _int_option("copy", "vocab_size", vocab_size, minimum=2, maximum=65536)
    x, meta = _tokens("copy", n, seed, length, vocab_size)
    return Dataset(
        "copy", torch.from_numpy(x), torch.from_numpy(x.copy()), "sequence_to_sequence", meta=meta
    )


@_register(
    "sort", "sequence_to_sequence", "Random tokens; target = the same tokens sorted ascending", (8,)
)
def _sort(n: int | None, seed: int, length: int = 8, vocab_size: int = 10) -> Dataset:
    vocab_size = _int_option("sort", "vocab_size", vocab_size, minimum=2, maximum=65536)
    x, meta = _tokens("sort", n, seed, length, vocab_size)
    return Dataset(
        "sort",
        torch.from_numpy(x),
        torch.from_numpy(np.sort(x, axis=1)),
        "sequence_to_sequence",
        meta=meta,
    )


# ---------------------------------------------------------------------------------------
# Character-level language modelling on text every Python install carries.


@functools.lru_cache(maxsize=4)
def corpus_text(max_chars: int = 300_000) -> str:
    """The stdlib's pydoc topic help joined in key order, printable ASCII and newlines only."""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # some distributions strip pydoc_data
        raise DatasetError(
            "dataset 'chars' needs the standard library's pydoc_data module, which is missing"
        ) from exc
    text = "\n\n".join(topics[key] for key in sorted(topics))
    return "".join(c for c in text if c == "\n" or " " <= c <= "~")[:max_chars]


def encode(text: str, vocab: str) -> list[int]:
    """Token ids of `text`; a character outside `vocab` raises a DatasetError naming it."""
    index = {char: i for i, char in enumerate(vocab)}
    try:
        return [index[char] for char in text]
    except KeyError as exc:
        position = next(i for i, char in enumerate(text) if char not in index)
        raise DatasetError(
            f"character {exc.args[0]!r} at position {position} is not in the vocabulary"
        ) from None


def decode(ids: Iterable[int] | torch.Tensor, vocab: str) -> str:
    values = ids.reshape(-1).tolist() if isinstance(ids, torch.Tensor) else list(ids)
    for value in values:
        if not 0 <= int(value) < len(vocab):
            raise DatasetError(
                f"token id {value} is outside the vocabulary of {len(vocab)} characters"
            )
    return "".join(vocab[int(value)] for value in values)


@_register(
    "chars",
    "language_model",
    "Character windows of Python's own help text; y = next characters",
    (64,),
)
def _chars(n: int | None, seed: int, block_size: int = 64, max_chars: int = 300_000) -> Dataset:
    block_size = _int_option("chars", "block_size", block_size, minimum=1, maximum=65536)
    max_chars = _int_option("chars", "max_chars", max_chars, minimum=2)
    text = corpus_text(max_chars)
    if len(text) <= block_size:
        raise DatasetError(
            f"dataset 'chars': corpus has {len(text)} characters, too few for block_size {block_size}"
        )
    vocab = "".join(sorted(set(text)))
    ids = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(c) for c in vocab]] = np.arange(len(vocab))
    ids = lookup[ids]
    starts = np.random.default_rng(seed).integers(0, len(ids) - block_size, size=n or 2000)
    window = starts[:, None] + np.arange(block_size)[None, :]
    return Dataset(
        name="chars",
        x=torch.from_numpy(ids[window]),
        y=torch.from_numpy(ids[window + 1]),
        task="language_model",
        meta={
            "vocab": vocab,
            "vocab_size": len(vocab),
            "block_size": block_size,
            "corpus_chars": len(text),
        },
    )


# ---------------------------------------------------------------------------------------
# Document specs.

# Spec key -> (loader function name, {spec key: loader keyword}). Path-valued options
# are listed in _PATH_OPTIONS so they resolve against base_dir like the source itself.
_FILE_SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "csv": (
        "load_csv",
        {
            k: k
            for k in (
                "target",
                "task",
                "missing",
                "delimiter",
                "categorical",
                "ignore",
                "header",
                "name",
            )
        },
    ),
    "npz": ("load_npz", {k: k for k in ("x", "y", "task", "name")}),
    "image_folder": ("load_image_folder", {k: k for k in ("size", "grayscale", "name")}),
    "idx_images": ("load_idx", {"idx_labels": "labels", "name": "name"}),
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
        seed = _int_option(str(spec[source]), "seed", options.pop("seed"), minimum=0)
    if source == "name":
        return load_dataset(spec["name"], n=options.pop("n", None), seed=seed, **options)

    from graph_compiler.training import loaders

    loader_name, allowed = _FILE_SOURCES[source]
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if key not in allowed:
            valid = ", ".join(repr(k) for k in allowed)
            raise DatasetError(
                f"dataset spec key {key!r} is not valid with {source!r}; valid keys: {valid}"
            )
        kwargs[allowed[key]] = _spec_path(key, value, base_dir) if key in _PATH_OPTIONS else value
    return getattr(loaders, loader_name)(_spec_path(source, spec[source], base_dir), **kwargs)


# The standard datasets register themselves with `_register`; imported last because
# they build on the helpers above.
from graph_compiler.data import standard as _standard  # noqa: E402,F401
