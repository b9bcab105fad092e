"""Template: language model / sequence to sequence: cross-entropy at every position of
logits [B, T, V] against targets [B, T] (the next token, or the target sequence)."""
# ruff: noqa: F821 - MAIN, first, optimizer_step come from the generated script.

import torch
from torch.nn import functional as F


def sequence_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))


def train_step(models, optimizers, batch, progress: float) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    loss = sequence_loss(logits, y)
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss, "accuracy": (logits.argmax(-1) == y).float().mean()}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    accuracy = (logits.argmax(-1) == y).float().mean()
    return {"loss": sequence_loss(logits, y), "accuracy": accuracy}
