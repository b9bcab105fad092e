"""Helpers for generative models: the VAE sampling trick and diffusion timesteps."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import size
from graph_compiler.catalog.spec import NodeSpec, Port, Shape, ShapeError, fmt_shape

CAT = "Generative"


def _reparam_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    if ins[0] != ins[1]:
        raise ShapeError(f"Reparameterize: mu {fmt_shape(ins[0])} and logvar {fmt_shape(ins[1])} must match")
    return [ins[0]]


def _timestep_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ShapeError(f"TimestepEmbedding expects timesteps [B] or [B, 1], gets {fmt_shape(shape)}")
    return [(shape[0], params["dim"])]


def _timestep_count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    d = p["dim"]
    return 2 * (d * d + d), 2 * 2 * ins[0][0] * d * d


SPECS = [
    NodeSpec(
        "Reparameterize", CAT, "VAE sampling: z = mu + exp(logvar / 2) * noise (the mean when evaluating).",
        inputs=(Port("mu", "mean of q(z|x)"), Port("logvar", "log-variance of q(z|x)")),
        module="Reparameterize", shape=_reparam_shape, count=lambda p, i, o: (0, 0),
        support=("Reparameterize",), aliases=("vae", "sample", "latent"),
    ),
    NodeSpec(
        "TimestepEmbedding", CAT, "Sinusoidal embedding of diffusion timesteps, then an MLP: [B] -> [B, dim].",
        params=(size("dim", "embedding size", default=32),),
        inputs=(Port("t", "timesteps [B] or [B, 1]"),), module="TimestepEmbedding",
        shape=_timestep_shape, count=_timestep_count, support=("TimestepEmbedding",),
        input_dtype="any", aliases=("diffusion", "time", "ddpm"),
    ),
]
