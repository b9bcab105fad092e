"""Element-wise arithmetic between tensors or with a constant, and matrix products."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import no_cost, prod
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.merge import broadcast_shape
from graph_compiler.catalog.spec import NodeSpec, Param, Port, Shape, ShapeError, fmt_shape, py

CAT = "Merge & split"  # with Add and Multiply
_TWO = (Port("a"), Port("b"))


def _binary(symbol: str):  # type: ignore[no-untyped-def]
    def forward(mod: str | None, ins: Sequence[str], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
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


def _scalar_forward(mod: str | None, ins: Sequence[str], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    value = py(p["value"])
    return [f"{outs[0] or '_'} = " + _SCALAR_OPS[p["op"]].format(x=ins[0], v=value)]


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
        "Matmul", CAT, "Batched matrix product a @ b: [B, ..., M, K] @ [B, ..., K, N] -> [B, ..., M, N].",
        inputs=_TWO, forward=_binary("@"), shape=_matmul_shape, count=_matmul_count,
        aliases=("matrix multiply", "bmm", "product", "@"),
    ),
]
