"""Template: the autoencoder recipe: rebuild the input (mse by default, or l1 / bce)."""
# ruff: noqa: F821 - CONFIG, MAIN, PROBABILITIES... come from the generated script.

import torch
from torch.nn import functional as F


def reconstruction_loss(kind: str, out, target, reduction: str = "mean"):
    """mse / l1 / bce elementwise, then the mean (or per-sample sums, batch mean)."""
    out, target = out.float(), target.float()
    if kind == "bce" and PROBABILITIES:  # the output already went through a Sigmoid
        out = out.clamp(1e-6, 1 - 1e-6)
        elem = F.binary_cross_entropy(out, target.clamp(0, 1), reduction="none")
    elif kind == "bce":
        elem = F.binary_cross_entropy_with_logits(
            out, target.clamp(0, 1), reduction="none"
        )
    elif kind == "l1":
        elem = (out - target).abs()
    else:
        elem = (out - target) ** 2
    if reduction == "sum":
        return elem.reshape(len(elem), -1).sum(1).mean()
    return elem.mean()


def train_step(models, optimizers, batch, progress: float) -> dict:
    x = batch[0]
    loss = reconstruction_loss(RECON_LOSS, first(models[MAIN](x)), x)
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    x = batch[0]
    return {"loss": reconstruction_loss(RECON_LOSS, first(models[MAIN](x)), x)}
