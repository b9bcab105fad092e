"""Template: the optimizer the document names, one ``make_optimizer`` per kind (the
exporter copies one, renamed), with graph_compiler.training.engine's defaults."""
# ruff: noqa: F821 - CONFIG comes from the generated script.

import torch


def make_optimizer_adam(parameters, lr: float, **overrides) -> torch.optim.Optimizer:
    settings = {"betas": tuple(CONFIG["betas"]), "weight_decay": CONFIG["weight_decay"]}
    settings["weight_decay"] = settings["weight_decay"] or 0.0
    return torch.optim.Adam(parameters, lr=lr, **{**settings, **overrides})


def make_optimizer_adamw(parameters, lr: float, **overrides) -> torch.optim.Optimizer:
    settings = {"betas": tuple(CONFIG["betas"]), "weight_decay": CONFIG["weight_decay"]}
    if settings["weight_decay"] is None:
        settings["weight_decay"] = 0.01  # AdamW's usual decoupled decay
    return torch.optim.AdamW(parameters, lr=lr, **{**settings, **overrides})


def make_optimizer_sgd(parameters, lr: float, **overrides) -> torch.optim.Optimizer:
    momentum = 0.9 if CONFIG["momentum"] is None else CONFIG["momentum"]
    settings = {"momentum": momentum, "weight_decay": CONFIG["weight_decay"] or 0.0}
    return torch.optim.SGD(parameters, lr=lr, **{**settings, **overrides})


def make_optimizer_rmsprop(parameters, lr: float, **overrides) -> torch.optim.Optimizer:
    momentum = 0.0 if CONFIG["momentum"] is None else CONFIG["momentum"]
    settings = {"momentum": momentum, "weight_decay": CONFIG["weight_decay"] or 0.0}
    return torch.optim.RMSprop(parameters, lr=lr, **{**settings, **overrides})
