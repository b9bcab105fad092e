"""training.augment's operations on whole batches, in torch alone.

graph_compiler.training.augment runs these functions, and exported training scripts
carry their source (script_templates reads this file), so a script augments exactly as
Netwright does: the same draws for the same seed, epoch and batch. Each
``aug_<type>`` takes x [B, C, H, W] in pixel values, the entry's parameters and the
batch's random draws; mixup and cutmix also take and return class probabilities.
Lines stay within 88 columns: the copied text must pass ``ruff format --check``.
"""

import math
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F


class AugmentDraw:
    """Random numbers for one batch, seeded by (seed, epoch, batch): torch on the
    batch's device, numpy for the scalar Beta draws of mixup / cutmix (torch's Beta
    takes no generator)."""

    def __init__(self, seed: int, epoch: int, batch: int, device: torch.device) -> None:
        key = (seed * 1_000_003 + epoch) * 1_000_033 + batch
        self.gen = torch.Generator(device=device).manual_seed(key % (2**63 - 1))
        self.rng = np.random.default_rng(key)

    def uniform(
        self, n: int, lo: float, hi: float, device: torch.device
    ) -> torch.Tensor:
        return torch.rand(n, generator=self.gen, device=device) * (hi - lo) + lo


def chosen(draw: AugmentDraw, n: int, p: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=draw.gen, device=device) < p


def aug_random_crop(
    x: torch.Tensor, a: dict[str, Any], draw: AugmentDraw
) -> torch.Tensor:
    b, _, h, w = x.shape
    th, tw = a["size"] or (h, w)
    pad = a["padding"]
    if pad:
        x = F.pad(
            x,
            (pad, pad, pad, pad),
            mode="constant" if a["padding_mode"] == "zeros" else "reflect",
        )
    ph, pw = x.shape[-2:]
    oy = (torch.rand(b, generator=draw.gen, device=x.device) * (ph - th + 1)).long()
    ox = (torch.rand(b, generator=draw.gen, device=x.device) * (pw - tw + 1)).long()
    rows = (oy[:, None] + torch.arange(th, device=x.device))[:, :, None]  # [B, th, 1]
    cols = (ox[:, None] + torch.arange(tw, device=x.device))[:, None, :]  # [B, 1, tw]
    index = torch.arange(b, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2).contiguous()


def aug_hflip(x: torch.Tensor, a: dict[str, Any], draw: AugmentDraw) -> torch.Tensor:
    flip = chosen(draw, len(x), a["p"], x.device)[:, None, None, None]
    return torch.where(flip, x.flip(-1), x)


def aug_affine(x: torch.Tensor, a: dict[str, Any], draw: AugmentDraw) -> torch.Tensor:
    b, dev = len(x), x.device
    angle = draw.uniform(b, -a["degrees"], a["degrees"], dev) * (math.pi / 180)
    scale = draw.uniform(b, a["scale"][0], a["scale"][1], dev)
    tx = draw.uniform(b, -a["translate"], a["translate"], dev) * 2  # grid units span 2
    ty = draw.uniform(b, -a["translate"], a["translate"], dev) * 2
    keep = ~chosen(draw, b, a["p"], dev)
    angle, tx, ty = (torch.where(keep, torch.zeros_like(v), v) for v in (angle, tx, ty))
    scale = torch.where(keep, torch.ones_like(scale), scale)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(
        x, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )


def grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
        return (x * weights[None, :, None, None]).sum(1, keepdim=True)
    return x.mean(1, keepdim=True)


def aug_color_jitter(
    x: torch.Tensor, a: dict[str, Any], draw: AugmentDraw
) -> torch.Tensor:
    b, dev = len(x), x.device
    on = chosen(draw, b, a["p"], dev)

    def factor(amount: float) -> torch.Tensor:
        f = draw.uniform(b, 1 - amount, 1 + amount, dev)
        return torch.where(on, f, torch.ones_like(f)).to(x.dtype)[:, None, None, None]

    x = (x * factor(a["brightness"])).clamp(0, 1)
    mean = grey(x).mean(dim=(1, 2, 3), keepdim=True)
    x = (mean + (x - mean) * factor(a["contrast"])).clamp(0, 1)
    if x.shape[1] == 3:
        luma = grey(x)
        x = (luma + (x - luma) * factor(a["saturation"])).clamp(0, 1)
    return x


def boxes(
    draw: AugmentDraw,
    b: int,
    h: int,
    w: int,
    area: torch.Tensor,
    ratio: torch.Tensor,
    device: torch.device,
) -> torch.Tensor:
    """A [B, H, W] mask of one random box per sample with the given area fraction and
    aspect ratio (clipped to the image)."""
    bh = (torch.sqrt(area * h * w * ratio)).clamp(1, h)
    bw = (torch.sqrt(area * h * w / ratio)).clamp(1, w)
    cy = torch.rand(b, generator=draw.gen, device=device) * h
    cx = torch.rand(b, generator=draw.gen, device=device) * w
    ys = torch.arange(h, device=device)[None, :, None]
    xs = torch.arange(w, device=device)[None, None, :]
    inside_y = (ys >= (cy - bh / 2)[:, None, None]) & (
        ys < (cy + bh / 2)[:, None, None]
    )
    inside_x = (xs >= (cx - bw / 2)[:, None, None]) & (
        xs < (cx + bw / 2)[:, None, None]
    )
    return inside_y & inside_x


def aug_random_erasing(
    x: torch.Tensor, a: dict[str, Any], draw: AugmentDraw
) -> torch.Tensor:
    b, _, h, w = x.shape
    dev = x.device
    area = draw.uniform(b, a["scale"][0], a["scale"][1], dev)
    log_ratio = draw.uniform(b, math.log(a["ratio"][0]), math.log(a["ratio"][1]), dev)
    mask = boxes(draw, b, h, w, area, torch.exp(log_ratio), dev)
    mask &= chosen(draw, b, a["p"], dev)[:, None, None]
    return torch.where(mask[:, None], torch.full_like(x, a["value"]), x)


def mix_targets(y: torch.Tensor, perm: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return lam[:, None] * y + (1 - lam[:, None]) * y[perm]


def aug_mixup(
    x: torch.Tensor, y: torch.Tensor, a: dict[str, Any], draw: AugmentDraw
) -> tuple[torch.Tensor, torch.Tensor]:
    b, dev = len(x), x.device
    perm = torch.randperm(b, generator=draw.gen, device=dev)
    lam = torch.full(
        (b,), float(draw.rng.beta(a["alpha"], a["alpha"])), device=dev, dtype=x.dtype
    )
    lam = torch.where(chosen(draw, b, a["p"], dev), lam, torch.ones_like(lam))
    shape = (b,) + (1,) * (x.ndim - 1)
    return lam.view(shape) * x + (1 - lam.view(shape)) * x[perm], mix_targets(
        y, perm, lam.to(y.dtype)
    )


def aug_cutmix(
    x: torch.Tensor, y: torch.Tensor, a: dict[str, Any], draw: AugmentDraw
) -> tuple[torch.Tensor, torch.Tensor]:
    b, _, h, w = x.shape
    dev = x.device
    perm = torch.randperm(b, generator=draw.gen, device=dev)
    area = torch.full(
        (b,), 1 - float(draw.rng.beta(a["alpha"], a["alpha"])), device=dev
    )
    mask = boxes(draw, b, h, w, area, torch.ones(b, device=dev), dev)
    mask &= chosen(draw, b, a["p"], dev)[:, None, None]
    lam = 1 - mask.flatten(1).float().mean(1)  # the share of the sample's own pixels
    return torch.where(mask[:, None], x[perm], x), mix_targets(y, perm, lam.to(y.dtype))


AUGMENT_OPS = {
    "random_crop": aug_random_crop,
    "hflip": aug_hflip,
    "affine": aug_affine,
    "color_jitter": aug_color_jitter,
    "random_erasing": aug_random_erasing,
}
MIX_OPS = {"mixup": aug_mixup, "cutmix": aug_cutmix}
