"""Template: the diffusion recipe (DDPM): the denoiser learns the noise added to x_0.

As graph_compiler.training.recipes.diffusion: x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps
for a random integer step t per sample; loss = MSE(eps_pred, eps). The denoiser gets t
as a float tensor [B, 1] holding the raw step 0..T-1.
"""
# ruff: noqa: F821 - TIMESTEPS, NOISE_SCHEDULE, TIME_PORT... come from the script.

import math

import torch
from safetensors.torch import save_file
from torch.nn import functional as F


def alpha_bar(timesteps: int, kind: str) -> torch.Tensor:
    """Cumulative signal fractions ab_t, t = 0..T-1, of a linear or cosine schedule."""
    if kind == "linear":
        # Ho et al. (2020); the betas are rescaled so that any T adds as much noise.
        scale = 1000.0 / timesteps
        end = min(0.02 * scale, 0.999)
        betas = torch.linspace(1e-4 * scale, end, timesteps, dtype=torch.float64)
    else:
        # Nichol & Dhariwal (2021): ab(t) = cos^2(((t/T + s) / (1 + s)) pi/2), s = 0.008.
        steps = torch.arange(timesteps + 1, dtype=torch.float64)
        f = torch.cos((steps / timesteps + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(min=1e-8, max=0.999)
    return torch.cumprod(1.0 - betas, dim=0)


ALPHA_BAR = alpha_bar(TIMESTEPS, NOISE_SCHEDULE)


def denoise(model, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    args = (x, t) if TIME_PORT == 1 else (t, x)
    return first(model(*args)).float()


def diffusion_loss(model, x0, t, noise) -> torch.Tensor:
    ab = ALPHA_BAR.to(x0.device)[t].float().reshape(-1, *[1] * (x0.ndim - 1))
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    return F.mse_loss(denoise(model, xt, t.reshape(-1, 1).float()), noise)


def train_step(models, optimizers, batch, progress: float) -> dict:
    x0 = batch[0].float()
    t = torch.randint(0, TIMESTEPS, (len(x0),), device=x0.device)
    loss = diffusion_loss(models[MAIN], x0, t, torch.randn_like(x0))
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    # Seeded timesteps and noise: val_loss moves only when the model does.
    x0 = batch[0].float()
    t = torch.randint(0, TIMESTEPS, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    return {"loss": diffusion_loss(models[MAIN], x0, t, noise)}


@torch.no_grad()
def sample(model, n: int, shape, device, steps: int, eta: float, clip: float | None):
    """Reverse process over `steps` evenly strided timesteps (all T: DDPM ancestral
    sampling; fewer: DDIM's generalisation, eta = 1 keeps DDPM-like noise)."""
    ab = ALPHA_BAR.to(device)
    ts = torch.linspace(TIMESTEPS - 1, 0, min(steps, TIMESTEPS)).round().long()
    ts = torch.unique_consecutive(ts).tolist()
    x = torch.randn(n, *shape, device=device, dtype=torch.float64)
    for i, t in enumerate(ts):
        a = ab[t]
        a_prev = ab[ts[i + 1]] if i + 1 < len(ts) else torch.ones_like(a)
        t_in = torch.full((n, 1), float(t), device=device)
        eps = denoise(model, x.float(), t_in).double()
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        if clip is not None:  # keep the predicted x_0 inside a known box
            x0 = x0.clamp(-clip, clip)
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        sigma = eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).clamp(min=0).sqrt()
        direction = (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
        x = a_prev.sqrt() * x0 + direction + sigma * torch.randn_like(x)
    return x.float()


def finish(networks, normaliser, out, device: torch.device) -> None:
    """1000 samples from the trained denoiser, in the data's own units."""
    model = networks[MAIN].eval()
    steps, eta = OPTIONS.get("sample_steps", 100), OPTIONS.get("eta", 1.0)
    samples = sample(model, 1000, SAMPLE_SHAPE, device, steps, eta, OPTIONS.get("clip"))
    samples = denormalise(samples, normaliser).cpu().contiguous()
    save_file({"samples": samples}, str(out / "samples.safetensors"))
