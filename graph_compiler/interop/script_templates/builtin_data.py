"""Template: Netwright's built-in datasets, as code a training script can carry.

Each ``load_<name>`` rebuilds exactly the data of graph_compiler.training.datasets
(same source, same seed, same order) with numpy / scikit-learn / the standard library
only. The script exporter copies the one a document uses, plus the helpers it calls.
Lines stay within 88 columns: the copied text must pass ``ruff format --check``.
"""

import math

import numpy as np
import torch


def subsample(x: np.ndarray, y: np.ndarray, n: int | None, seed: int):
    """All samples in their shipped order, or a seeded random subset of n."""
    if n is None:
        return x, y
    index = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[index], y[index]


def balanced_labels(rng: np.random.Generator, n: int, num_classes: int) -> np.ndarray:
    # Equal class counts (up to one) so every mode or arm is present even for small n.
    return rng.permutation(np.arange(n) % num_classes)


def load_digits(n: int | None = None, seed: int = 0):
    """scikit-learn's 8x8 handwritten digits as images [N, 1, 8, 8], pixels in 0..1."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    pixels = data.images.astype(np.float32) / 16.0
    images, target = subsample(pixels, data.target, n, seed)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(target).long()


def load_digits_flat(n: int | None = None, seed: int = 0):
    """The 8x8 digits flattened to 64 features in 0..1."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    pixels = data.images.astype(np.float32) / 16.0
    images, target = subsample(pixels, data.target, n, seed)
    flat = images.reshape(len(images), 64)
    return torch.from_numpy(flat), torch.from_numpy(target).long()


def sklearn_table(loader_name: str, n: int | None, seed: int):
    """A classic scikit-learn table, standardised once over the whole table."""
    import sklearn.datasets

    data = getattr(sklearn.datasets, loader_name)()
    features = data.data.astype(np.float64)
    mean, std = features.mean(axis=0), features.std(axis=0)
    std[std == 0] = 1.0
    features = ((features - mean) / std).astype(np.float32)
    features, target = subsample(features, data.target, n, seed)
    return torch.from_numpy(features), torch.from_numpy(target).long()


def load_iris(n: int | None = None, seed: int = 0):
    """Iris flowers: 4 standardised features, 3 species."""
    return sklearn_table("load_iris", n, seed)


def load_wine(n: int | None = None, seed: int = 0):
    """Wine cultivars: 13 standardised features, 3 classes."""
    return sklearn_table("load_wine", n, seed)


def load_breast_cancer(n: int | None = None, seed: int = 0):
    """Breast cancer diagnosis: 30 standardised features, 2 classes."""
    return sklearn_table("load_breast_cancer", n, seed)


def points(x: np.ndarray, y: np.ndarray):
    x = np.ascontiguousarray(x, dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(np.asarray(y, dtype=np.int64))


def load_moons(n: int | None = None, seed: int = 0, noise: float = 0.1):
    """Two interleaving half circles (scikit-learn's make_moons)."""
    from sklearn.datasets import make_moons

    return points(*make_moons(n_samples=n or 1000, noise=noise, random_state=seed))


def load_circles(
    n: int | None = None, seed: int = 0, noise: float = 0.05, factor: float = 0.5
):
    """A small circle inside a large one (scikit-learn's make_circles)."""
    from sklearn.datasets import make_circles

    x, y = make_circles(
        n_samples=n or 1000, noise=noise, factor=factor, random_state=seed
    )
    return points(x, y)


def load_blobs(
    n: int | None = None, seed: int = 0, noise: float = 0.5, centers: int = 3
):
    """Isotropic Gaussian clusters (scikit-learn's make_blobs)."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(
        n_samples=n or 1000,
        centers=centers,
        cluster_std=noise,
        center_box=(-4, 4),
        random_state=seed,
    )
    return points(x, y)


def load_spirals(
    n: int | None = None, seed: int = 0, noise: float = 0.03, arms: int = 2
):
    """Interleaved spiral arms (2 or 3) reaching radius 1."""
    n = n or 1000
    rng = np.random.default_rng(seed)
    arm = balanced_labels(rng, n, arms)
    # sqrt spreads points evenly along the arm instead of crowding the centre.
    t = np.sqrt(rng.uniform(0.0, 1.0, n))
    angle = t * 2.5 * math.pi + arm * (2 * math.pi / arms)
    xy = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return points(xy + noise * rng.standard_normal((n, 2)), arm)


def load_eight_gaussians(n: int | None = None, seed: int = 0, noise: float = 0.05):
    """8 Gaussian modes on a circle of radius 2; y = the mode."""
    n = n or 2000
    rng = np.random.default_rng(seed)
    mode = balanced_labels(rng, n, 8)
    angles = mode * (2 * math.pi / 8)
    xy = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return points(xy + noise * rng.standard_normal((n, 2)), mode)


def load_sine(n: int | None = None, seed: int = 0, noise: float = 0.05):
    """y = sin(x) + noise for x uniform in [-pi, pi]; regression targets [N, 1]."""
    n = n or 1000
    rng = np.random.default_rng(seed)
    x = rng.uniform(-math.pi, math.pi, (n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    x, y = x.astype(np.float32), y.astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def random_tokens(n: int | None, seed: int, length: int, vocab_size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab_size, size=(n or 2000, length), dtype=np.int64)


def load_parity(n: int | None = None, seed: int = 0, length: int = 8):
    """Binary strings; class = parity of the number of ones."""
    x = random_tokens(n, seed, length, 2)
    return torch.from_numpy(x), torch.from_numpy(x.sum(axis=1) % 2)


def load_sum(n: int | None = None, seed: int = 0, length: int = 5):
    """Digit strings (0-9); regression target = their sum."""
    x = random_tokens(n, seed, length, 10)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def load_copy(
    n: int | None = None, seed: int = 0, length: int = 8, vocab_size: int = 10
):
    """Random tokens; the target at each position is the input token."""
    x = random_tokens(n, seed, length, vocab_size)
    return torch.from_numpy(x), torch.from_numpy(x.copy())


def load_sort(
    n: int | None = None, seed: int = 0, length: int = 8, vocab_size: int = 10
):
    """Random tokens; the target is the same tokens sorted ascending."""
    x = random_tokens(n, seed, length, vocab_size)
    return torch.from_numpy(x), torch.from_numpy(np.sort(x, axis=1))


def corpus_text(max_chars: int = 300_000) -> str:
    """Python's own pydoc topic help, printable ASCII and newlines only."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key] for key in sorted(topics))
    return "".join(c for c in text if c == "\n" or " " <= c <= "~")[:max_chars]


def load_chars(
    n: int | None = None, seed: int = 0, block_size: int = 64, max_chars: int = 300_000
):
    """Character windows of the corpus; y = the next character at each position."""
    text = corpus_text(max_chars)
    vocab = "".join(sorted(set(text)))
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(c) for c in vocab]] = np.arange(len(vocab))
    ids = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - block_size, size=n or 2000)
    window = starts[:, None] + np.arange(block_size)[None, :]
    return torch.from_numpy(ids[window]), torch.from_numpy(ids[window + 1])
