"""Generated built-in datasets: 2-D point sets, a sine curve, and token-sequence tasks."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import (
    Dataset,
    DatasetError,
    float_option,
    int_option,
    register_builtin,
)

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


@register_builtin("moons", "classification", "Two interleaving half circles (2-D)", (2,))
def _moons(n: int | None, seed: int, noise: float = 0.1) -> Dataset:
    from sklearn.datasets import make_moons

    noise = float_option("moons", "noise", noise)
    x, y = make_moons(n_samples=n or 1000, noise=noise, random_state=seed)
    return _points("moons", x, y, 2, noise)


@register_builtin("circles", "classification", "A small circle inside a large one (2-D)", (2,))
def _circles(n: int | None, seed: int, noise: float = 0.05, factor: float = 0.5) -> Dataset:
    from sklearn.datasets import make_circles

    noise = float_option("circles", "noise", noise)
    factor = float_option("circles", "factor", factor)
    if not 0 < factor < 1:
        raise DatasetError(
            f"dataset 'circles': option 'factor' must be between 0 and 1, got {factor}"
        )
    x, y = make_circles(n_samples=n or 1000, noise=noise, factor=factor, random_state=seed)
    return _points("circles", x, y, 2, noise, factor=factor)


@register_builtin(
    "spirals", "classification", "Interleaved spiral arms (2 or 3), radius up to 1 (2-D)", (2,)
)
def _spirals(n: int | None, seed: int, noise: float = 0.03, arms: int = 2) -> Dataset:
    noise = float_option("spirals", "noise", noise)
    arms = int_option("spirals", "arms", arms, minimum=2, maximum=3)
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


@register_builtin("blobs", "classification", "Isotropic Gaussian clusters (2-D)", (2,))
def _blobs(n: int | None, seed: int, noise: float = 0.5, centers: int = 3) -> Dataset:
    from sklearn.datasets import make_blobs

    noise = float_option("blobs", "noise", noise)
    centers = int_option("blobs", "centers", centers, minimum=1, maximum=100)
    x, y = make_blobs(
        n_samples=n or 1000,
        centers=centers,
        cluster_std=noise,
        center_box=(-4, 4),
        random_state=seed,
    )
    return _points("blobs", x, y, centers, noise, centers=centers)


@register_builtin(
    "eight_gaussians",
    "classification",
    "8 Gaussian modes on a circle of radius 2; y = mode (2-D)",
    (2,),
)
def _eight_gaussians(n: int | None, seed: int, noise: float = 0.05) -> Dataset:
    noise = float_option("eight_gaussians", "noise", noise)
    n = n or 2000
    rng = np.random.default_rng(seed)
    mode = _balanced_labels(rng, n, 8)
    angles = mode * (2 * math.pi / 8)
    x = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1) + noise * rng.standard_normal(
        (n, 2)
    )
    return _points("eight_gaussians", x, mode, 8, noise, radius=2.0)


@register_builtin("sine", "regression", "y = sin(x) + noise for x uniform in [-pi, pi]", (1,))
def _sine(n: int | None, seed: int, noise: float = 0.05) -> Dataset:
    noise = float_option("sine", "noise", noise)
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
    length = int_option(name, "length", length, minimum=1, maximum=4096)
    tokens = np.random.default_rng(seed).integers(
        0, vocab_size, size=(n or 2000, length), dtype=np.int64
    )
    return tokens, {"vocab_size": vocab_size, "sequence_length": length}


@register_builtin(
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


@register_builtin("sum", "regression", "Digit strings (0-9); target = their sum", (5,))
def _sum(n: int | None, seed: int, length: int = 5) -> Dataset:
    x, meta = _tokens("sum", n, seed, length, 10)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    return Dataset("sum", torch.from_numpy(x), torch.from_numpy(y), "regression", meta=meta)


@register_builtin(
    "copy", "sequence_to_sequence", "Random tokens; target at each position = the input token", (8,)
)
def _copy(n: int | None, seed: int, length: int = 8, vocab_size: int = 10) -> Dataset:
    vocab_size = int_option("copy", "vocab_size", vocab_size, minimum=2, maximum=65536)
    x, meta = _tokens("copy", n, seed, length, vocab_size)
    return Dataset(
        "copy", torch.from_numpy(x), torch.from_numpy(x.copy()), "sequence_to_sequence", meta=meta
    )


@register_builtin(
    "sort", "sequence_to_sequence", "Random tokens; target = the same tokens sorted ascending", (8,)
)
def _sort(n: int | None, seed: int, length: int = 8, vocab_size: int = 10) -> Dataset:
    vocab_size = int_option("sort", "vocab_size", vocab_size, minimum=2, maximum=65536)
    x, meta = _tokens("sort", n, seed, length, vocab_size)
    return Dataset(
        "sort",
        torch.from_numpy(x),
        torch.from_numpy(np.sort(x, axis=1)),
        "sequence_to_sequence",
        meta=meta,
    )
