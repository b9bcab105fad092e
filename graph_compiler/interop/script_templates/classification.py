"""Template: the classification recipe (also sequence classification on tokens).

Cross-entropy on class ids (loss "bce": one logit [B, 1] for two classes; "mse" / "l1":
scores against one-hot targets), as graph_compiler.training.recipes.supervised.
"""
# ruff: noqa: F821 - CONFIG, OPTIONS, MAIN, first... come from the generated script.

import torch
from torch.nn import functional as F


def classification_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = CONFIG["loss"] or "cross_entropy"
    # Float targets are class shares from mixup / cutmix.
    if loss == "cross_entropy" or y.is_floating_point():
        return F.cross_entropy(logits, y)
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits[:, 0], y.to(logits.dtype))
    target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return F.mse_loss(logits, target) if loss == "mse" else F.l1_loss(logits, target)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # One logit means two classes: positive logit = class 1.
    pred = (logits[:, 0] > 0).long() if logits.shape[1] == 1 else logits.argmax(1)
    # Mixed targets count as their larger share.
    labels = y.argmax(1) if y.is_floating_point() else y
    return (pred == labels).float().mean()


def train_step(models, optimizers, batch, progress: float) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    loss = classification_loss(logits, y)
    optimizer_step(loss, optimizers[MAIN])
    if OPTIONS.get("train_accuracy", False):
        return {"loss": loss, "accuracy": accuracy(logits, y)}
    return {"loss": loss}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    x, y = batch
    logits = first(models[MAIN](x))
    return {"loss": classification_loss(logits, y), "accuracy": accuracy(logits, y)}
