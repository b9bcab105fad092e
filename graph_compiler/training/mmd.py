"""Kernel maximum mean discrepancy (MMD) between two sample sets, and a Gaussian baseline.

MMD measures how far apart two distributions are from samples alone: with a
characteristic kernel it is zero exactly when the distributions match. Here the kernel is
Gaussian, k(a, b) = exp(-|a - b|^2 / (2 sigma^2)), with sigma from the median heuristic
(the median pairwise distance) unless given, and MMD^2 uses the unbiased estimator of
Gretton et al. (2012), so it can come out slightly negative when the sets match.

To judge a generative model, compare ``mmd2(generated, real)`` with
``mmd2(gaussian_baseline(real), real)``: a model that learnt more than the mean and the
covariance of the data (modes, arms, holes) beats the fitted Gaussian clearly. Use the
same bandwidth for both (``median_bandwidth(real)``), or the numbers are not comparable.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence[Sequence[float]]]


def _as_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    t = t.detach().to("cpu", torch.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        t = t.reshape(len(t), -1)
    if len(t) < 2:
        raise ValueError(f"MMD: {name} needs at least 2 samples, got {len(t)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"MMD: {name} contains NaN or infinite values")
    return t


def _subsample(t: torch.Tensor, max_n: int | None, seed: int) -> torch.Tensor:
    if max_n is None or len(t) <= max_n:
        return t
    g = torch.Generator().manual_seed(seed)
    return t[torch.randperm(len(t), generator=g)[:max_n]]


def median_bandwidth(x: ArrayLike, max_n: int = 1000, seed: int = 0) -> float:
    """The median heuristic: the median distance between distinct pairs of samples."""
    t = _subsample(_as_tensor(x, "x"), max_n, seed)
    d = torch.cdist(t, t)
    iu = torch.triu_indices(len(t), len(t), offset=1)
    med = float(d[iu[0], iu[1]].median())
    return med if med > 0 else 1.0


def mmd2(
    x: ArrayLike,
    y: ArrayLike,
    bandwidth: float | None = None,
    scales: Sequence[float] = (1.0,),
    max_n: int | None = 2000,
    seed: int = 0,
) -> float:
    """Unbiased MMD^2 between samples x [N, D] and y [M, D] with a Gaussian kernel.

    ``bandwidth`` is sigma; None uses the median heuristic on x and y pooled. Several
    ``scales`` sum kernels of widths bandwidth * scale (a multi-scale MMD: the median
    width alone sees the overall spread, narrower ones see modes and gaps). At most
    ``max_n`` samples of each set are used (a seeded subset), since the cost is quadratic.
    """
    a = _subsample(_as_tensor(x, "x"), max_n, seed)
    b = _subsample(_as_tensor(y, "y"), max_n, seed + 1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"MMD: samples have {a.shape[1]} and {b.shape[1]} features")
    if bandwidth is None:
        bandwidth = median_bandwidth(torch.cat([a, b]), seed=seed)
    sigmas = [float(bandwidth) * float(s) for s in scales]
    if any(not s > 0 for s in sigmas):
        raise ValueError(f"MMD: bandwidth must be positive, got {sigmas}")
    daa, dbb, dab = torch.cdist(a, a) ** 2, torch.cdist(b, b) ** 2, torch.cdist(a, b) ** 2
    n, m = len(a), len(b)
    total = 0.0
    for s in sigmas:
        kaa, kbb, kab = (torch.exp(-d / (2 * s * s)) for d in (daa, dbb, dab))
        # Unbiased: leave out the diagonal k(a_i, a_i) = 1 terms.
        total += float((kaa.sum() - n) / (n * (n - 1)) + (kbb.sum() - m) / (m * (m - 1))
                       - 2 * kab.mean())
    return total


def mmd(x: ArrayLike, y: ArrayLike, **kwargs: Any) -> float:
    """sqrt(max(MMD^2, 0)): the same comparison on the scale of a distance."""
    return float(np.sqrt(max(mmd2(x, y, **kwargs), 0.0)))


def coverage(fake: ArrayLike, real: ArrayLike, k: int = 5, max_n: int | None = 2000, seed: int = 0) -> float:
    """Fraction of real samples with a generated sample inside their k-nearest-neighbour
    ball among the real ones (Naeem et al. 2020, "coverage"): near 1 when the generator
    reaches every part of the data, about 1/8 when it covers one of eight modes."""
    r = _subsample(_as_tensor(real, "real"), max_n, seed)
    f = _subsample(_as_tensor(fake, "fake"), max_n, seed + 1)
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"coverage: samples have {f.shape[1]} and {r.shape[1]} features")
    k = max(1, min(k, len(r) - 1))
    radius = torch.cdist(r, r).kthvalue(k + 1, dim=1).values  # +1: skip the point itself
    nearest = torch.cdist(r, f).min(dim=1).values
    return float((nearest <= radius).double().mean())


def fit_gaussian(data: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] of samples [N, D]."""
    t = _as_tensor(data, "data").numpy()
    return t.mean(axis=0), np.atleast_2d(np.cov(t, rowvar=False))


def gaussian_baseline(data: ArrayLike, n: int | None = None, seed: int = 0) -> np.ndarray:
    """n samples (default: as many as data) from a Gaussian fitted to data: the baseline a
    generative model must beat, since it knows only the data's mean and covariance."""
    t = _as_tensor(data, "data").numpy()
    mean, cov = fit_gaussian(t)
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(mean, cov, size=n or len(t)).astype(np.float32)


__all__ = ["coverage", "fit_gaussian", "gaussian_baseline", "median_bandwidth", "mmd", "mmd2"]
