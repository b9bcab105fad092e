"""Template: helpers every recipe template may use."""
# ruff: noqa: F821 - NETWORKS, MAIN, make_optimizer... come from the generated script.

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def build_networks(device: torch.device) -> dict[str, nn.Module]:
    """The networks this recipe trains, main first, from the model code above."""
    return {MAIN: NETWORKS[MAIN]().to(device)}


def make_optimizers(networks: dict[str, nn.Module], lr: float) -> dict:
    return {name: make_optimizer(m.parameters(), lr) for name, m in networks.items()}


def first(out):
    # A network with several Outputs returns a tuple; the prediction is the first.
    return out[0] if isinstance(out, (tuple, list)) else out


def plain(model: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (itself otherwise)."""
    return model.module if isinstance(model, DistributedDataParallel) else model
