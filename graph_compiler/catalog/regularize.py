"""Regularisation that acts only while training, and channel reordering."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import need_rank, no_cost
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.spec import NodeSpec, Param, Shape, ShapeError, fmt_shape

CAT = "Input & shape"  # with Dropout


def _p(doc: str, default: float = 0.5) -> Param:
    return Param("p", "float", default, doc, min=0.0, max=1.0, positional=True, always=True)


def _dropout2d_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    need_rank("Dropout2d", ins[0], (4,), "[B, C, H, W]")
    return params


def _shuffle_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    shape, g = ins[0], params["groups"]
    need_rank("ChannelShuffle", shape, (3, 4, 5), "[B, C, ...]")
    if shape[1] % g:
        raise ShapeError(f"ChannelShuffle: {shape[1]} channels of {fmt_shape(shape)} do not split "
                         f"into groups={g}", "groups")
    return params


SPECS = [
    NodeSpec(
        "StochasticDepth", CAT,
        "Drops a whole residual branch at random while training (DropPath); identity when evaluating.",
        params=(_p("probability of dropping the branch"),
                Param("mode", "choice", "row", "'row': per sample; 'batch': the whole batch at once",
                      choices=("row", "batch"), positional=True, always=True)),
        module="StochasticDepth", support=("StochasticDepth",), shape=_same, count=no_cost,
        aliases=("drop path", "droppath", "stochastic depth", "efficientnet"),
        extra_docs=("Same semantics as torchvision.ops.StochasticDepth (the generated file carries "
                    "its own copy, so it needs torch alone). Surviving samples are scaled by "
                    "1 / (1 - p) while training."),
    ),
    NodeSpec(
        "Dropout2d", CAT, "Zeroes whole channels of a [B, C, H, W] image at random while training.",
        params=(_p("probability of zeroing a channel"),), module="nn.Dropout2d",
        resolve=_dropout2d_resolve, shape=_same, count=no_cost, aliases=("spatial dropout",),
    ),
    NodeSpec(
        "ChannelShuffle", CAT, "Interleaves the channels of `groups` groups (ShuffleNet).",
        params=(Param("groups", "int", 2, "number of channel groups", min=1, max=1 << 16, positional=True,
                      always=True),),
        module="nn.ChannelShuffle", resolve=_shuffle_resolve, shape=_same, count=no_cost,
        aliases=("shufflenet", "shuffle"),
    ),
]
