"""Noise schedules, the diffusion sampling loop, latent / text sampling helpers and MMD."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graph_compiler.training.mmd import gaussian_baseline, median_bandwidth, mmd, mmd2
from graph_compiler.training.sampling import (
    NoiseSchedule,
    cosine_betas,
    diffusion_sample,
    generate_tokens,
    latent_sample,
    linear_betas,
    sampling_timesteps,
)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("T", [10, 100, 1000])
def test_schedule_properties(kind: str, T: int) -> None:
    s = NoiseSchedule.create(kind, T)
    assert s.timesteps == T
    assert ((s.betas > 0) & (s.betas < 1)).all()
    ab = s.alpha_bar
    assert (ab[1:] < ab[:-1]).all(), "alpha_bar must decrease strictly"
    assert ab[0] > 0.97  # almost no noise at the first step
    assert ab[-1] < 1e-3  # almost pure noise at the last


def test_cosine_starts_at_one_and_follows_the_formula() -> None:
    T, s = 1000, 0.008
    ab = torch.cumprod(1 - cosine_betas(T, s), 0)
    assert ab[0] == pytest.approx(1.0, abs=1e-4)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 250, 500, 750):
        assert float(ab[t - 1]) == pytest.approx(f(t) / f(0), rel=1e-6)


def test_linear_betas_match_ddpm_at_1000() -> None:
    b = linear_betas(1000)
    assert float(b[0]) == pytest.approx(1e-4) and float(b[-1]) == pytest.approx(0.02)


def test_schedule_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="schedule"):
        NoiseSchedule.create("quadratic", 10)
    with pytest.raises(ValueError, match="timesteps"):
        NoiseSchedule.create("linear", 1)


def test_q_sample_mixes_signal_and_noise() -> None:
    s = NoiseSchedule.create("linear", 100)
    x0, noise = torch.ones(3, 2), torch.zeros(3, 2)
    xt = s.q_sample(x0, torch.tensor([0, 50, 99]), noise)
    assert torch.allclose(xt[:, 0], s.alpha_bar[[0, 50, 99]].sqrt().float())


def test_sampling_timesteps_strided() -> None:
    assert sampling_timesteps(1000, 4) == [999, 666, 333, 0]
    assert sampling_timesteps(5, 100) == [4, 3, 2, 1, 0]
    assert sampling_timesteps(10, 1) == [9]


def test_diffusion_sample_with_an_oracle_denoiser_recovers_the_data_point() -> None:
    # If all data sit at c, the optimal eps-prediction is (x - sqrt(ab) c) / sqrt(1 - ab).
    s = NoiseSchedule.create("cosine", 200)
    c = torch.tensor([1.5, -0.5])
    ab = s.alpha_bar

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = ab[t.long().reshape(-1)].float()[:, None]
        return (x - a.sqrt() * c) / (1 - a).sqrt()

    for eta, steps in ((1.0, 200), (1.0, 20), (0.0, 10)):
        g = torch.Generator().manual_seed(0)
        x, chain = diffusion_sample(oracle, s, (64, 2), steps=steps, eta=eta, snapshots=4, generator=g)
        assert x.shape == (64, 2)
        assert torch.allclose(x, c.expand(64, 2), atol=1e-2)
        assert len(chain) == 4 and chain[0][0] == 200 and chain[-1][0] == -1
        assert torch.equal(chain[-1][1], x)


def test_latent_sample_shapes() -> None:
    net = torch.nn.Linear(3, 5)
    out = latent_sample(net, 10, (3,), generator=torch.Generator().manual_seed(0), batch_size=4)
    assert out.shape == (10, 5)


def test_generate_tokens_crops_context_and_greedy_is_deterministic() -> None:
    seen: list[int] = []

    def model(ids: torch.Tensor) -> torch.Tensor:
        seen.append(ids.shape[1])
        logits = torch.full((*ids.shape, 4), -10.0)
        logits[..., 2] = 10.0  # always "2"
        return logits

    out = generate_tokens(model, torch.tensor([0, 1]), n_new=6, context=4, temperature=0)
    assert out.tolist() == [[0, 1, 2, 2, 2, 2, 2, 2]]
    assert max(seen) == 4
    sampled = generate_tokens(model, torch.tensor([[0]]), 5, context=4, temperature=1.0,
                              generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (1, 6)


def test_mmd_is_near_zero_for_same_distribution_and_large_for_different() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 2)), rng.standard_normal((500, 2))
    c = rng.standard_normal((500, 2)) + 2.0
    assert abs(mmd2(a, b)) < 0.01
    assert mmd2(a, c) > 0.2
    assert mmd(a, c) == pytest.approx(math.sqrt(mmd2(a, c)))
    # a - b ~ N(0, 2I): the median of |a - b|^2 / 2 ~ chi2(2) is 2 ln 2
    assert median_bandwidth(a) == pytest.approx(math.sqrt(4 * math.log(2)), rel=0.05)


def test_mmd_scales_and_errors() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((200, 2)), rng.standard_normal((200, 2)) * 2
    multi = mmd2(a, b, bandwidth=1.0, scales=(0.5, 1.0))
    assert multi == pytest.approx(mmd2(a, b, bandwidth=0.5) + mmd2(a, b, bandwidth=1.0))
    with pytest.raises(ValueError, match="features"):
        mmd2(a, rng.standard_normal((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        mmd2(a, np.full((10, 2), np.nan))


def test_gaussian_baseline_matches_moments_but_not_modes() -> None:
    from graph_compiler.training.datasets import load_dataset

    real = load_dataset("eight_gaussians", n=1000, seed=0).x.numpy()
    fake = gaussian_baseline(real, n=1000, seed=1)
    assert fake.shape == (1000, 2) and fake.dtype == np.float32
    assert np.allclose(fake.mean(0), real.mean(0), atol=0.15)
    assert np.allclose(np.cov(fake, rowvar=False), np.cov(real, rowvar=False), atol=0.3)
    other = load_dataset("eight_gaussians", n=1000, seed=2).x.numpy()
    bw = median_bandwidth(real) * 0.25
    assert mmd2(fake, real, bandwidth=bw) > 20 * abs(mmd2(other, real, bandwidth=bw))
