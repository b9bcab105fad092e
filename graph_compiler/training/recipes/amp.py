"""Mixed precision and gradient clipping for recipes' optimizer steps."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


class Amp:
    """Mixed precision for recipes. Disabled (a no-op) on CPU or with ``amp: "off"``.

    ``autocast()`` is the context for forward passes. ``step(loss, optimizer)`` does
    ``zero_grad`` + backward (scaled for fp16) + unscale + ``grad_clip`` (from the config)
    + ``optimizer.step()`` + scaler update. One GradScaler per optimizer, so a GAN's two
    optimizers are independent. bf16 needs no scaler.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype | None, grad_clip: float | None = None) -> None:
        self.device = device
        self.dtype = dtype
        self.grad_clip = grad_clip
        self._scalers: dict[int, Any] = {}

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    @property
    def name(self) -> str | None:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype) if self.dtype else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return _NULL  # reusable; saves an allocation per step on small models
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _scaler(self, optimizer: torch.optim.Optimizer) -> Any:
        if self.dtype is not torch.float16:
            return None
        scaler = self._scalers.get(id(optimizer))
        if scaler is None:
            scaler = torch.amp.GradScaler(self.device.type)
            self._scalers[id(optimizer)] = scaler
        return scaler

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
             parameters: Iterable[torch.Tensor] | None = None, *, retain_graph: bool = False) -> None:
        """zero_grad, backward, clip (``parameters`` default: the optimizer's), step."""
        optimizer.zero_grad(set_to_none=True)
        if self.dtype is not torch.float16 and not self.grad_clip:  # the common fast path
            torch.autograd.backward(loss, retain_graph=retain_graph)
            optimizer.step()
            return
        scaler = self._scaler(optimizer)
        if scaler is None:
            torch.autograd.backward(loss, retain_graph=retain_graph)
            if self.grad_clip:
                nn.utils.clip_grad_norm_(_params(optimizer, parameters), self.grad_clip)
            optimizer.step()
            return
        scaler.scale(loss).backward(retain_graph=retain_graph)
        if self.grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(_params(optimizer, parameters), self.grad_clip)
        scaler.step(optimizer)
        scaler.update()


_NULL = contextlib.nullcontext()


def _params(optimizer: torch.optim.Optimizer, parameters: Iterable[torch.Tensor] | None) -> list[torch.Tensor]:
    if parameters is not None:
        return list(parameters)
    return [p for group in optimizer.param_groups for p in group["params"]]


__all__ = ["Amp"]
