"""Small shape helpers shared by the layer specs."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog.spec import (
    MAX_SIZE,
    REQUIRED,
    Param,
    Shape,
    ShapeError,
    fmt_shape,
    pair,
)

prod = math.prod


def inferred(name: str, doc: str) -> Param:
    """A size that follows from the input: omitted in files, filled in from upstream."""
    return Param(name, "int", doc=doc, inferred=True, positional=True, min=1, max=MAX_SIZE)


def size(name: str, doc: str, default: Any = None, positional: bool = True) -> Param:
    return Param(name, "int", REQUIRED if default is None else default, doc,
                 min=1, max=MAX_SIZE, positional=positional)


def need_rank(type_name: str, shape: Shape, ranks: Sequence[int], layout: str) -> None:
    if len(shape) not in ranks:
        raise ShapeError(f"{type_name} expects {layout}, gets {fmt_shape(shape)}")


def match_inferred(params: dict[str, Any], name: str, actual: int, message: str) -> dict[str, Any]:
    """Fill an inferred size, or check a given one against what the input says."""
    given = params.get(name)
    if given is None:
        return {**params, name: actual}
    if given != actual:
        raise ShapeError(message.format(given=given, actual=actual), param=name)
    return params


def norm_dim(dim: int, rank: int, type_name: str, param: str = "dim") -> int:
    if not -rank <= dim < rank:
        raise ShapeError(f"{type_name}: {param}={dim} is out of range for a {rank}-D tensor "
                         f"(allowed {-rank}..{rank - 1})", param=param)
    return dim % rank


def non_batch_dim(dim: int, rank: int, type_name: str, verb: str, param: str = "dim") -> int:
    """A dim that must not be the batch: analysis runs with batch 1, where a layer that
    mixes or splits samples would look fine and then fail (or silently mix) in training."""
    d = norm_dim(dim, rank, type_name, param)
    if d == 0:
        raise ShapeError(f"{type_name}: {verb} the batch dimension ({param}={dim}) is not allowed",
                         param=param)
    return d


def conv_out(length: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    """Output length of a convolution or pooling window, as torch computes it."""
    span = length + 2 * p - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    out = (span + s - 1) // s + 1
    # torch's pooling_output_shape: with ceil_mode the last window must start inside the
    # input or its left padding, never wholly in the right padding.
    if (out - 1) * s >= length + p:
        out -= 1
    return out


def spatial(
    type_name: str, shape: Shape, nd: int, params: dict[str, Any], transposed: bool = False
) -> list[int]:
    """Output spatial sizes of a convolution or pooling layer, with a clear error."""
    ks = pair(params["kernel_size"], nd)
    stride_v = params.get("stride")
    ss = pair(ks if stride_v is None else stride_v, nd)
    ds = pair(params.get("dilation", 1), nd)
    pad = params.get("padding", 0)
    ins = shape[2:]
    if pad == "same":
        if any(s != 1 for s in ss):
            raise ShapeError(f"{type_name}: padding='same' needs stride 1", param="stride")
        return list(ins)
    ps = pair(0 if pad == "valid" else pad, nd)
    out: list[int] = []
    for i in range(nd):
        if transposed:
            op = pair(params.get("output_padding", 0), nd)[i]
            o = (ins[i] - 1) * ss[i] - 2 * ps[i] + ds[i] * (ks[i] - 1) + op + 1
        else:
            o = conv_out(ins[i], ks[i], ss[i], ps[i], ds[i], bool(params.get("ceil_mode", False)))
        if o < 1:
            size_text = "x".join(str(v) for v in ins)
            kt = "x".join(str(v) for v in ks)
            raise ShapeError(
                f"{type_name}: input {size_text} is too small for kernel {kt} "
                f"(output would be {o} wide)", param="kernel_size")
        out.append(o)
    return out


def same_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    return [ins[0]]


def no_cost(params: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    return 0, 0
