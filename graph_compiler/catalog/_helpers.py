"""Small shape helpers shared by the layer specs."""
from __future__ import annotations

import math
from typing import Any, Sequence

from graph_compiler.catalog.spec import Param, Shape, ShapeError, fmt_shape, pair

prod = math.prod

# Sizes that follow from the input: omitted in files, filled in from upstream shapes.
def inferred(name: str, doc: str) -> Param:
    return Param(name, "int", doc=doc, inferred=True, positional=True, min=1, max=1 << 24)


def size(name: str, doc: str, default: Any = None, positional: bool = True) -> Param:
    from graph_compiler.catalog.spec import REQUIRED

    return Param(name, "int", REQUIRED if default is None else default, doc,
                 min=1, max=1 << 24, positional=positional)


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


def norm_dim(dim: int, rank: int, type_name: str) -> int:
    if not -rank <= dim < rank:
        raise ShapeError(f"{type_name}: dim={dim} is out of range for a {rank}-D tensor", param="dim")
    return dim % rank


def conv_out(length: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    span = length + 2 * p - d * (k - 1) - 1
    return (math.ceil(span / s) if ceil else span // s) + 1


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
