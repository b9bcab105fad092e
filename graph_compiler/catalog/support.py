"""Helper definitions that generated files carry when a node needs them.

Each entry is plain source text. Code generation copies the ones a graph uses into the
exported file (so it depends on torch alone), and shape inference and training execute
the very same text, so what is trained is what is exported.
"""
from __future__ import annotations

from typing import Any

SUPPORT: dict[str, str] = {}

SUPPORT["causal_mask"] = '''
def causal_mask(x: torch.Tensor) -> torch.Tensor:
    """Mask for a [B, T, D] sequence: True where position i would see a later one."""
    size = x.shape[1]
    return torch.ones(size, size, dtype=torch.bool, device=x.device).triu(1)
'''

SUPPORT["PositionalEncoding"] = '''
class PositionalEncoding(nn.Module):
    """Adds position information to a [B, T, D] sequence: fixed sinusoids or learned."""

    def __init__(
        self,
        d_model: int,
        max_len: int = 512,
        kind: str = "sinusoidal",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.dropout = nn.Dropout(dropout)
        if kind == "learned":
            self.weight = nn.Parameter(torch.zeros(max_len, d_model))
            nn.init.normal_(self.weight, std=0.02)
        else:
            position = torch.arange(max_len).unsqueeze(1)
            scale = -torch.log(torch.tensor(10000.0)) / d_model
            div = torch.exp(torch.arange(0, d_model, 2) * scale)
            table = torch.zeros(max_len, d_model)
            table[:, 0::2] = torch.sin(position * div)
            table[:, 1::2] = torch.cos(position * div[: d_model // 2])
            self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pe = self.weight if self.kind == "learned" else self.table
        return self.dropout(x + pe[: x.shape[1]])
'''

SUPPORT["Reparameterize"] = '''
class Reparameterize(nn.Module):
    """z = mu + sigma * eps while training (the VAE trick); the mean when evaluating."""

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
'''

SUPPORT["TimestepEmbedding"] = '''
class TimestepEmbedding(nn.Module):
    """Sinusoidal embedding of diffusion timesteps [B] or [B, 1], then a small MLP."""

    def __init__(self, dim: int, max_period: float = 10000.0) -> None:
        super().__init__()
        self.dim = dim
        self.max_period = max_period
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        t = t.reshape(t.shape[0]).float()
        half = self.dim // 2
        steps = torch.arange(half, device=t.device) / half
        freqs = torch.exp(-torch.log(torch.tensor(self.max_period)) * steps)
        args = t[:, None] * freqs[None, :]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        if self.dim % 2:
            emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
        return self.mlp(emb)
'''

SUPPORT["SwiGLU"] = '''
class SwiGLU(nn.Module):
    """SiLU-gated unit: silu(a) * b for the two halves a, b of the input along dim."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=self.dim)
        return nn.functional.silu(a) * b
'''

SUPPORT["StochasticDepth"] = '''
class StochasticDepth(nn.Module):
    """Randomly drops a residual branch while training (torchvision.ops.StochasticDepth):
    mode "row" drops it per sample, "batch" for the whole batch; survivors are scaled by
    1 / (1 - p)."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
'''

SUPPORT["LayerNorm2d"] = '''
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] image (ConvNeXt): each pixel's C
    values are normalised, as nn.LayerNorm(C) does on channels-last [B, H, W, C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x.permute(0, 2, 3, 1))
        return x.permute(0, 3, 1, 2)
'''

SUPPORT["ScaledDotProductAttention"] = '''
class ScaledDotProductAttention(nn.Module):
    """softmax(q k^T * scale) v, with attention dropout while training only."""

    def __init__(
        self,
        dropout_p: float = 0.0,
        is_causal: bool = False,
        scale: float | None = None,
    ) -> None:
        super().__init__()
        self.dropout_p = dropout_p
        self.is_causal = is_causal
        self.scale = scale

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout_p if self.training else 0.0,
            is_causal=self.is_causal,
            scale=self.scale,
        )
'''

_NAMESPACE: dict[str, Any] | None = None


def namespace() -> dict[str, Any]:
    """torch, nn and every support definition, for building and running nodes."""
    global _NAMESPACE
    if _NAMESPACE is None:
        import torch
        from torch import nn

        ns: dict[str, Any] = {"torch": torch, "nn": nn, "__name__": "netwright_support"}
        for name, src in SUPPORT.items():
            exec(compile(src, f"<netwright support {name}>", "exec"), ns)  # noqa: S102 - our own text
        _NAMESPACE = ns
    return _NAMESPACE
