"""Template: language model / sequence to sequence: cross-entropy at every position of
logits [B, T, V] against targets [B, T] (the next token, or the target sequence). A
language model that outputs the last position only, [B, 1, V] (an imported GPT's
forward(idx)), learns the token after each window."""
# ruff: noqa: F821 - MAIN, first, optimizer_step come from the generated script.

import torch
from torch.nn import functional as F


def sequence_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))


def scored(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The targets the logits predict: all of y, or its last column for [B, 1, V]."""
    return y[:, -1:] if logits.shape[1] == 1 < y.shape[1] else y


def train_step(models, optimizers, batch, progress: float) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    y = scored(logits, y)
    loss = sequence_loss(logits, y)
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss, "accuracy": (logits.argmax(-1) == y).float().mean()}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    y = scored(logits, y)
    accuracy = (logits.argmax(-1) == y).float().mean()
    return {"loss": sequence_loss(logits, y), "accuracy": accuracy}
