"""Element-wise arithmetic between tensors or with a constant, and matrix products."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import no_cost, prod
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.merge import broadcast_shape
from graph_compiler.catalog.spec import ForwardFn, NodeSpec, Param, Port, Shape, ShapeError, fmt_shape, py

CAT = "Merge & split"  # with Add and Multiply
_TWO = (Port("a"), Port("b"))


def _binary(symbol: str) -> ForwardFn:
    def forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
        return [f"{outs[0] or '_'} = {ins[0]} {symbol} {ins[1]}"]
    return forward


# op -> (how it reads, with {x} the tensor and {v} the constant)
_SCALAR_OPS = {
    "add": "{x} + {v}",
    "sub": "{x} - {v}",
    "mul": "{x} * {v}",
    "div": "{x} / {v}",
    "rsub": "{v} - {x}",
    "rdiv": "{v} / {x}",
    "pow": "{x}.pow({v})",
}


def _scalar_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    value = py(p["value"])
    return [f"{outs[0] or '_'} = " + _SCALAR_OPS[p["op"]].format(x=ins[0], v=value)]


_UNARY = ("neg", "abs", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "tanh", "erf")


def _unary_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    value = f"-{ins[0]}" if p["op"] == "neg" else f"torch.{p['op']}({ins[0]})"
    return [f"{outs[0] or '_'} = {value}"]


def _clamp_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    lo, hi = params["min"], params["max"]
    if lo is None and hi is None:
        raise ShapeError("Clamp: give min, max or both", "min")
    if lo is not None and hi is not None and lo > hi:
        raise ShapeError(f"Clamp: min {lo:g} is above max {hi:g}", "min")
    return params


def _clamp_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    bounds = ", ".join(f"{k}={py(p[k])}" for k in ("min", "max") if p[k] is not None)
    return [f"{outs[0] or '_'} = {ins[0]}.clamp({bounds})"]


def _matmul_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    a, b = ins[0], ins[1]
    # Rank >= 3 on both sides: dim 0 is the batch, so a [B, D] input would make the batch
    # one of the matrix dims and mix samples.
    if len(a) < 3 or len(b) < 3:
        raise ShapeError(f"Matmul multiplies batches of matrices [B, ..., M, K] @ [B, ..., K, N], "
                         f"gets {fmt_shape(a)} and {fmt_shape(b)}; add a Reshape?")
    if a[-1] != b[-2]:
        raise ShapeError(f"Matmul: {fmt_shape(a)} @ {fmt_shape(b)}: inner sizes differ ({a[-1]} vs {b[-2]})")
    try:
        batch = broadcast_shape("Matmul", "multiply", [a[:-2], b[:-2]])
    except ShapeError:
        raise ShapeError(f"Matmul: the batch dims of {fmt_shape(a)} and {fmt_shape(b)} do not match") from None
    return [(*batch, a[-2], b[-1])]


def _matmul_count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    out = outs[0]
    return 0, 2 * prod(out) * ins[0][-1]


SPECS = [
    NodeSpec("Subtract", CAT, "a - b, element-wise. Broadcasts.", inputs=_TWO, forward=_binary("-"),
             shape=lambda p, ins: [broadcast_shape("Subtract", "subtract", ins)], count=no_cost,
             aliases=("minus", "difference", "sub")),
    NodeSpec("Divide", CAT, "a / b, element-wise. Broadcasts.", inputs=_TWO, forward=_binary("/"),
             shape=lambda p, ins: [broadcast_shape("Divide", "divide", ins)], count=no_cost,
             aliases=("div", "ratio", "quotient")),
    NodeSpec(
        "ScalarOp", CAT, "Arithmetic with a constant: x + v, x - v, x * v, x / v, v - x, v / x or x ** v.",
        params=(Param("op", "choice", "mul", "the operation", choices=tuple(_SCALAR_OPS)),
                Param("value", "float", 1.0, "the constant v", min=-1e12, max=1e12, always=True)),
        forward=_scalar_forward, shape=_same, count=no_cost,
        aliases=("scale", "multiply by constant", "add constant", "shift", "power", "constant"),
    ),
    NodeSpec(
        "UnaryOp", CAT, "An element-wise function: -x, abs, exp, log, sqrt, rsqrt, square, reciprocal, sin, "
        "cos, tanh or erf.",
        params=(Param("op", "choice", "neg", "the function", choices=_UNARY, always=True),),
        forward=_unary_forward, shape=_same, count=no_cost,
        aliases=("negate", "exp", "log", "sqrt", "abs", "square", "math", "elementwise", "function"),
    ),
    NodeSpec(
        "Clamp", CAT, "Limits values to [min, max] (either bound may be left out).",
        params=(Param("min", "float", None, "lower bound (empty: none)", nullable=True, min=-1e30, max=1e30),
                Param("max", "float", None, "upper bound (empty: none)", nullable=True, min=-1e30, max=1e30)),
        forward=_clamp_forward, resolve=_clamp_resolve, shape=_same, count=no_cost, aliases=("clip", "limit", "bound"),
    ),
    NodeSpec(
        "Matmul", CAT, "Batched matrix product a @ b: [B, ..., M, K] @ [B, ..., K, N] -> [B, ..., M, N].",
        inputs=_TWO, forward=_binary("@"), shape=_matmul_shape, count=_matmul_count,
        aliases=("matrix multiply", "bmm", "product", "@"),
    ),
]
