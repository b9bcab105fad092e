"""Drawing samples from trained generative networks, shared by the recipes (live
previews) and `netwright sample`.

- DDPM noise schedules (linear, cosine) and a strided DDPM / DDIM sampling loop.
- Latent sampling for GAN generators and VAE decoders: z ~ N(0, I) through a network.
- Autoregressive text generation with temperature (and optional top-k), cropping the
  context to the model's length.

Everything here takes plain callables / nn.Modules and tensors; nothing knows about the
engine, so the same code runs in a test, the designer's worker and the CLI.

Diffusion conventions (the denoiser network sees these, so they are fixed):
    timesteps are integers 0..T-1, where t = 0 is the least noisy step;
    the denoiser is called as ``model(x_t, t)`` with t the raw integer timestep as a float
    tensor [B, 1] (not scaled to 0..1); TimestepEmbedding's sinusoids, like those of DDPM,
    are designed for raw step numbers up to ~1000;
    the denoiser predicts the noise eps that was added: x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

SCHEDULES = ("linear", "cosine")


# ------------------------------------------------------------------ noise schedules


def linear_betas(timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """Ho et al. (2020): betas rising linearly. The defaults are for T = 1000; for other T
    they are rescaled by 1000 / T so that the total noise (and alpha_bar at T) stays alike."""
    scale = 1000.0 / timesteps
    return torch.linspace(beta_start * scale, min(beta_end * scale, 0.999), timesteps, dtype=torch.float64)


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal (2021): alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) pi/2) / (same at 0),
    betas clipped at max_beta near t = T where alpha_bar reaches 0."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos(((steps / timesteps) + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(min=1e-8, max=max_beta)


@dataclass
class NoiseSchedule:
    """betas[t], alphas[t] = 1 - betas[t] and alpha_bar[t] = prod(alphas[:t + 1]), t = 0..T-1."""

    kind: str
    betas: torch.Tensor

    @classmethod
    def create(cls, kind: str = "linear", timesteps: int = 1000) -> NoiseSchedule:
        if kind not in SCHEDULES:
            raise ValueError(f"unknown noise schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")
        if not isinstance(timesteps, int) or isinstance(timesteps, bool) or timesteps < 2:
            raise ValueError(f"timesteps must be an integer >= 2, got {timesteps!r}")
        betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
        return cls(kind, betas)

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) noise, for integer timesteps t [B]."""
        ab = self.alpha_bar.to(x0.device)[t].to(x0.dtype).reshape(-1, *[1] * (x0.ndim - 1))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def timestep_input(t: torch.Tensor) -> torch.Tensor:
    """Integer timesteps [B] -> what the denoiser's t port receives: float [B, 1]."""
    return t.reshape(-1, 1).float()


def sampling_timesteps(timesteps: int, steps: int) -> list[int]:
    """`steps` timesteps from T-1 down to 0, evenly strided (all of them when steps >= T)."""
    steps = max(1, min(int(steps), timesteps))
    if steps == 1:
        return [timesteps - 1]
    seq = torch.linspace(timesteps - 1, 0, steps).round().long().tolist()
    out: list[int] = []
    for t in seq:
        if not out or t < out[-1]:
            out.append(int(t))
    return out


@torch.no_grad()
def diffusion_sample(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    schedule: NoiseSchedule,
    shape: Sequence[int],
    steps: int | None = None,
    eta: float = 1.0,
    snapshots: int = 0,
    generator: torch.Generator | None = None,
    clip: float | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    """Run the reverse process from pure noise; returns (x_0 samples, chain).

    With ``steps`` < T it visits an evenly strided subset of timesteps (DDIM's
    generalisation, Song et al. 2021). ``eta`` = 1 adds the DDPM posterior noise (with
    steps = T this is exactly DDPM ancestral sampling); eta = 0 is deterministic DDIM.
    ``clip`` bounds the predicted x_0 (useful when the data are known to lie in a box).
    ``chain`` holds up to ``snapshots`` (timestep, x_t) pairs from noise to data, the last
    being the final samples at t = -1.
    """
    T = schedule.timesteps
    ab_all = schedule.alpha_bar.to(device)
    ts = sampling_timesteps(T, steps or T)
    x = torch.randn(*shape, generator=generator, device="cpu" if generator is not None else device,
                    dtype=torch.float32).to(device)
    keep = set()
    if snapshots > 0:
        n_points = len(ts) + 1  # the noise and every step's output
        keep = {round(i * (n_points - 1) / max(snapshots - 1, 1)) for i in range(snapshots)}
    chain: list[tuple[int, torch.Tensor]] = []
    if 0 in keep:
        chain.append((T, x.clone()))
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ab = ab_all[t]
        ab_prev = ab_all[t_prev] if t_prev >= 0 else torch.ones((), dtype=ab_all.dtype, device=device)
        t_in = torch.full((x.shape[0], 1), float(t), device=device)
        eps = model(x, t_in).to(torch.float64)
        xd = x.to(torch.float64)
        x0 = (xd - (1 - ab).sqrt() * eps) / ab.sqrt()
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            eps = (xd - ab.sqrt() * x0) / (1 - ab).sqrt()
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp(min=0).sqrt()
        direction = (1 - ab_prev - sigma ** 2).clamp(min=0).sqrt() * eps
        noise = torch.randn(x.shape, generator=generator, device="cpu" if generator is not None else device)
        xd = ab_prev.sqrt() * x0 + direction + sigma * noise.to(device, torch.float64)
        x = xd.to(torch.float32)
        if i + 1 in keep:
            chain.append((t_prev, x.clone()))
    return x, chain


# ------------------------------------------------------------------ latent models


@torch.no_grad()
def latent_sample(
    network: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    latent_shape: Sequence[int],
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 4096,
) -> torch.Tensor:
    """n outputs of a GAN generator or VAE decoder fed z ~ N(0, I) of shape [n, *latent_shape]."""
    outs = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z = torch.randn(m, *latent_shape, generator=generator,
                        device="cpu" if generator is not None else device).to(device)
        out = network(z)
        if isinstance(out, (tuple, list)):
            out = out[0]
        outs.append(out.float())
    return torch.cat(outs) if outs else torch.zeros(0, *latent_shape)


# ------------------------------------------------------------------ language models


@torch.no_grad()
def generate_tokens(
    model: Callable[[torch.Tensor], torch.Tensor],
    prompt: torch.Tensor,
    n_new: int,
    context: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend token ids [B, T0] by n_new tokens, one at a time.

    The model sees at most ``context`` tokens (the newest ones) and returns logits
    [B, T, V]; the last position's logits / temperature are sampled (temperature 0: the
    most likely token). ``top_k`` keeps only the k most likely tokens.
    """
    if prompt.ndim == 1:
        prompt = prompt[None]
    ids = prompt.long()
    for _ in range(n_new):
        window = ids[:, -context:]
        logits = model(window)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        logits = logits[:, -1, :].float()
        if temperature <= 0:
            nxt = logits.argmax(dim=-1, keepdim=True)
        else:
            logits = logits / temperature
            if top_k is not None and 0 < top_k < logits.shape[-1]:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(ids.device)
        ids = torch.cat([ids, nxt], dim=1)
    return ids


__all__ = [
    "SCHEDULES", "NoiseSchedule", "cosine_betas", "diffusion_sample", "generate_tokens",
    "latent_sample", "linear_betas", "sampling_timesteps", "timestep_input",
]
