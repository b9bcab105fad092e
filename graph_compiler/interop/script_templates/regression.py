"""Template: the regression recipe: MSE (default), L1 or BCE against float targets."""
# ruff: noqa: F821 - CONFIG, MAIN, first, optimizer_step come from the generated script.

import torch
from torch.nn import functional as F


def regression_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    y = y.float().unsqueeze(1) if y.ndim == 1 else y.float()
    loss = CONFIG["loss"] or "mse"
    if loss == "l1":
        return F.l1_loss(pred.float(), y)
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(pred.float(), y)
    return F.mse_loss(pred.float(), y)


def train_step(models, optimizers, batch, progress: float) -> dict:
    x, y = batch
    loss = regression_loss(first(models[MAIN](x)), y)
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    x, y = batch
    pred = first(models[MAIN](x)).float()
    target = y.float().unsqueeze(1) if y.ndim == 1 else y.float()
    return {"loss": regression_loss(pred, y), "mae": (pred - target).abs().mean()}
