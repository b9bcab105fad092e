"""Built-in datasets from scikit-learn: 8x8 digits, iris, wine, breast cancer."""
from __future__ import annotations

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, register_builtin, subsample

# ---------------------------------------------------------------------------------------
# Tabular and image datasets from scikit-learn (imported lazily: it costs ~1 s at start-up).


def _digits_arrays(name: str, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return subsample(name, data.images.astype(np.float32) / 16.0, data.target, n, seed)


@register_builtin(
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


@register_builtin(
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
    features, target = subsample(name, features, data.target, n, seed)
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


@register_builtin(
    "iris", "classification", "Iris flowers: 4 standardised features, 3 species (150 samples)", (4,)
)
def _iris(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("iris", "load_iris", n, seed)


@register_builtin(
    "wine",
    "classification",
    "Wine cultivars: 13 standardised features, 3 classes (178 samples)",
    (13,),
)
def _wine(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("wine", "load_wine", n, seed)


@register_builtin(
    "breast_cancer",
    "classification",
    "Breast cancer diagnosis: 30 standardised features, 2 classes (569 samples)",
    (30,),
)
def _breast_cancer(n: int | None, seed: int) -> Dataset:
    return _sklearn_table("breast_cancer", "load_breast_cancer", n, seed)
