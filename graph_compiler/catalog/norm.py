"""Normalisation layers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import inferred, match_inferred, need_rank, prod, size
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.spec import (
    MAX_SIZE,
    NodeSpec,
    Param,
    Shape,
    ShapeError,
    call_expr,
    fmt_shape,
)

CAT = "Normalization"


def _common() -> tuple[Param, ...]:
    return (Param("eps", "float", 1e-5, "added to the variance for stability", min=0.0, max=1.0),)


def _batchnorm(name: str, ranks: tuple[int, ...], layout: str, doc: str) -> NodeSpec:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        need_rank(name, ins[0], ranks, layout)
        return match_inferred(params, "num_features", ins[0][1],
                              name + " expects {given} channels, gets " + fmt_shape(ins[0]))

    return NodeSpec(
        name, CAT, doc,
        params=(inferred("num_features", "channels (inferred)"), *_common(),
                Param("momentum", "float", 0.1, "running-stats update rate (null: a cumulative average)",
                      min=0.0, max=1.0, nullable=True),
                Param("affine", "bool", True, "learn scale and shift"),
                Param("track_running_stats", "bool", True, "keep running statistics for evaluation "
                      "(off: batch statistics always)")),
        module=f"nn.{name}", resolve=resolve, shape=_same,
        count=lambda p, i, o: (2 * p["num_features"] if p["affine"] else 0, 0),
        aliases=("batch normalization", "bn"),
    )


def _layernorm_resolve(params: dict[str, Any], ins: Sequence[Shape], name: str = "LayerNorm") -> dict[str, Any]:
    shape = ins[0]
    given = params.get("normalized_shape")
    if given is None:
        return {**params, "normalized_shape": (shape[-1],)}
    given = (given,) if isinstance(given, int) else tuple(given)
    if len(given) >= len(shape) or tuple(shape[-len(given):]) != given:
        raise ShapeError(f"{name}: normalized_shape {list(given)} does not match the last dims "
                         f"of {fmt_shape(shape)}", "normalized_shape")
    return {**params, "normalized_shape": given}


_LN_PARAMS = (
    Param("normalized_shape", "ints", None, "trailing dims to normalise (inferred: last dim)",
          inferred=True, positional=True, min=1, max=MAX_SIZE),
    Param("eps", "float", 1e-5, "added to the variance for stability", min=0.0, max=1.0),
    Param("elementwise_affine", "bool", True, "learn scale and shift"),
    Param("bias", "bool", True, "learn the shift too (with elementwise_affine)"),
)


def _layernorm_init(p: dict[str, Any]) -> str:
    # nn.LayerNorm(64) reads better than nn.LayerNorm((64,)); both mean the same.
    shape = p.get("normalized_shape")
    if isinstance(shape, tuple) and len(shape) == 1:
        p = {**p, "normalized_shape": shape[0]}
    return call_expr("nn.LayerNorm", _LN_PARAMS, p)


def _groupnorm_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    need_rank("GroupNorm", ins[0], (2, 3, 4, 5), "[B, C, ...]")
    params = match_inferred(params, "num_channels", ins[0][1],
                            "GroupNorm expects {given} channels, gets " + fmt_shape(ins[0]))
    if params["num_channels"] % params["num_groups"]:
        raise ShapeError(f"GroupNorm: {params['num_channels']} channels cannot be split into "
                         f"num_groups={params['num_groups']} groups", "num_groups")
    # torch refuses (even when evaluating) a group of one value per sample: normalising a
    # single value always gives 0.
    if params["num_channels"] // params["num_groups"] * prod(ins[0][2:]) == 1:
        raise ShapeError(f"GroupNorm: with num_groups={params['num_groups']} each group of {fmt_shape(ins[0])} "
                         "holds a single value, which normalises to 0; use fewer groups", "num_groups")
    return params


def _instancenorm(name: str, rank: int, layout: str) -> NodeSpec:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        need_rank(name, ins[0], (rank,), layout)
        if prod(ins[0][2:]) == 1:
            raise ShapeError(f"{name}: {fmt_shape(ins[0])} has one value per channel, which "
                             "normalises to 0; instance norm needs more than one position")
        return match_inferred(params, "num_features", ins[0][1],
                              name + " expects {given} channels, gets " + fmt_shape(ins[0]))

    return NodeSpec(
        name, CAT, f"Normalises each channel of each sample over its positions ({layout}).",
        params=(inferred("num_features", "channels (inferred)"), *_common(),
                Param("momentum", "float", 0.1, "running-stats update rate", min=0.0, max=1.0),
                Param("affine", "bool", False, "learn a scale and shift per channel"),
                Param("track_running_stats", "bool", False, "keep running statistics for evaluation")),
        module=f"nn.{name}", resolve=resolve, shape=_same,
        count=lambda p, i, o: (2 * p["num_features"] if p["affine"] else 0, 0),
        aliases=("instance normalization", "style transfer"),
    )


def _rmsnorm_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    return _layernorm_resolve(params, ins, "RMSNorm")


_RMS_PARAMS = (
    Param("normalized_shape", "ints", None, "trailing dims to normalise (inferred: last dim)",
          inferred=True, positional=True, min=1, max=MAX_SIZE),
    Param("eps", "float", None, "added for stability (default: the dtype's machine epsilon)",
          nullable=True, min=0.0, max=1.0),
    Param("elementwise_affine", "bool", True, "learn a scale"),
)


def _rmsnorm_init(p: dict[str, Any]) -> str:
    shape = p.get("normalized_shape")
    if isinstance(shape, tuple) and len(shape) == 1:
        p = {**p, "normalized_shape": shape[0]}
    return call_expr("nn.RMSNorm", _RMS_PARAMS, p)


def _layernorm2d_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    need_rank("LayerNorm2d", ins[0], (4,), "[B, C, H, W]")
    return match_inferred(params, "num_channels", ins[0][1],
                          "LayerNorm2d expects {given} channels, gets " + fmt_shape(ins[0]))


_LN2D_PARAMS = (
    inferred("num_channels", "channels (inferred)"),
    Param("eps", "float", 1e-5, "added to the variance for stability", min=0.0, max=1.0),
    Param("elementwise_affine", "bool", True, "learn scale and shift"),
)

SPECS = [
    _batchnorm("BatchNorm1d", (2, 3), "[B, C] or [B, C, L]", "Batch normalisation over [B, C] or [B, C, L]."),
    _batchnorm("BatchNorm2d", (4,), "[B, C, H, W]", "Batch normalisation over [B, C, H, W] images."),
    NodeSpec(
        "LayerNorm", CAT, "Normalises each sample over its last dims (transformers use this).",
        params=_LN_PARAMS, module="nn.LayerNorm", init=_layernorm_init,
        resolve=_layernorm_resolve, shape=_same,
        count=lambda p, i, o: ((1 + p["bias"]) * prod(p["normalized_shape"]) if p["elementwise_affine"] else 0, 0),
        aliases=("layer normalization", "ln"),
    ),
    NodeSpec(
        "GroupNorm", CAT, "Normalises groups of channels; works with any batch size.",
        params=(size("num_groups", "number of channel groups", default=1),
                inferred("num_channels", "channels (inferred)"), *_common(),
                Param("affine", "bool", True, "learn scale and shift")),
        module="nn.GroupNorm", resolve=_groupnorm_resolve, shape=_same,
        count=lambda p, i, o: (2 * p["num_channels"] if p["affine"] else 0, 0),
        aliases=("group normalization", "gn"),
    ),
    _instancenorm("InstanceNorm1d", 3, "[B, C, L]"),
    _instancenorm("InstanceNorm2d", 4, "[B, C, H, W]"),
    NodeSpec(
        "RMSNorm", CAT, "Divides each sample by the root mean square of its last dims (LLaMA-style models).",
        params=_RMS_PARAMS, module="nn.RMSNorm", init=_rmsnorm_init, resolve=_rmsnorm_resolve, shape=_same,
        count=lambda p, i, o: (prod(p["normalized_shape"]) if p["elementwise_affine"] else 0, 0),
        aliases=("root mean square", "rms"),
    ),
    NodeSpec(
        "LayerNorm2d", CAT, "LayerNorm over the channels of a [B, C, H, W] image, per pixel.",
        params=_LN2D_PARAMS, module="LayerNorm2d", support=("LayerNorm2d",),
        resolve=_layernorm2d_resolve, shape=_same,
        count=lambda p, i, o: (2 * p["num_channels"] if p["elementwise_affine"] else 0, 0),
        aliases=("layer normalization", "channels last"),
        extra_docs=("torchvision's ConvNeXt uses it between stages and in its head. Same parameters and "
                    "state-dict keys (`weight`, `bias`) as nn.LayerNorm(C) applied to the image permuted to "
                    "channels-last."),
    ),
]
