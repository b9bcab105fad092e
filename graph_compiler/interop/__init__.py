"""Getting networks in and out of Netwright.

- ``onnx_export``: a network as an ONNX model with a dynamic batch dimension.
- ``script_export``: a standalone training script (torch + numpy only, DDP-ready).
- ``fx_import``: a user's ``nn.Module`` traced with torch.fx into a Netwright document.
- ``weights``: reading trained weights and mapping imported state-dict keys.

Submodules import torch (and optional extras such as onnx) only when used, so
``import graph_compiler.interop`` stays cheap.
"""
from __future__ import annotations

from graph_compiler.errors import NetwrightError


class InteropError(NetwrightError):
    """An export or import cannot be done; the message says why and what to change."""


class MissingExtraError(InteropError):
    """An optional dependency is not installed; the message gives the pip command."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional '{extra}' extra, which is not installed "
            f"(missing module {module!r}); install it with: pip install 'netwright[{extra}]'"
        )
        self.extra = extra
        self.module = module


__all__ = ["InteropError", "MissingExtraError"]
