"""Tensors a network owns outright: learned parameters (a class token, a position table,
a layer scale) and buffers (a causal mask)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import prod
from graph_compiler.catalog.spec import REQUIRED, NodeSpec, Param, Shape, ShapeError, py

CAT = "Input & shape"

_INITS = ("zeros", "ones", "constant", "normal", "trunc_normal", "uniform", "tril", "causal_inf")


def _sizes(params: dict[str, Any]) -> str:
    return ", ".join(str(d) for d in params["shape"])


def _tensor_expr(p: dict[str, Any]) -> str:
    sizes, init = _sizes(p), p["init"]
    if p["dtype"] == "bool":  # a mask of True / False, as attention masks often are
        sizes += ", dtype=torch.bool"
    if init == "zeros":
        return f"torch.zeros({sizes})"
    if init == "ones":
        return f"torch.ones({sizes})"
    if init == "constant":
        kind = ", dtype=torch.bool" if p["dtype"] == "bool" else ""
        return f"torch.full({py(tuple(p['shape']))}, {py(p['value'])}{kind})"
    if init == "normal":
        return f"torch.empty({sizes}).normal_(std={py(p['std'])})"
    if init == "trunc_normal":
        return f"nn.init.trunc_normal_(torch.empty({sizes}), std={py(p['std'])})"
    if init == "uniform":
        bound = py(p["value"])
        return f"torch.empty({sizes}).uniform_(-{bound}, {bound})"
    if init == "causal_inf":  # an additive causal mask: -inf where a position may not look
        return f'torch.full({py(tuple(p["shape"]))}, float("-inf")).triu(1)'
    return f"torch.ones({sizes}).tril()"  # a causal mask: 1 where a position may look


def _init(p: dict[str, Any]) -> str:
    tensor = _tensor_expr(p)
    if p["kind"] == "buffer":
        return f"nn.Buffer({tensor})" if p["persistent"] else f"nn.Buffer({tensor}, persistent=False)"
    return f"nn.Parameter({tensor})" if p["requires_grad"] else f"nn.Parameter({tensor}, requires_grad=False)"


def _forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    # Without a batch slot, a leading 1 makes the value match its shape in the graph, so
    # nodes downstream (Index, Transpose) count dims the same way; broadcasting is unchanged.
    value = mod if p["batch_dim"] else f"{mod}.unsqueeze(0)"
    return [f"{outs[0] or '_'} = {value}"]


def _resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    shape = params["shape"]
    if not shape:
        raise ShapeError("Parameter: shape must list at least one size", "shape")
    if params["batch_dim"] and shape[0] != 1:
        raise ShapeError(f"Parameter: with batch_dim on, the first size is the batch slot and must be 1, "
                         f"not {shape[0]} (or turn batch_dim off: a [{shape[0]}, ...] tensor broadcasts "
                         "over the batch)", "batch_dim")
    if params["dtype"] == "bool":
        if params["init"] not in ("zeros", "ones", "constant", "tril"):  # no -inf in a bool
            raise ShapeError(f"Parameter: a bool tensor cannot start {params['init']}; use zeros, ones, "
                             "constant or tril", "init")
        if params["kind"] == "parameter" and params["requires_grad"]:
            raise ShapeError("Parameter: a bool tensor cannot be learned; make it a buffer", "dtype")
    if params["init"] in ("tril", "causal_inf") and len(shape) < 2:
        raise ShapeError(f"Parameter: init {params['init']!r} needs at least 2 dims (a mask is [..., T, T])", "init")
    return params


def _shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = tuple(params["shape"])
    return [shape if params["batch_dim"] else (1, *shape)]


def _count(params: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    return (prod(params["shape"]) if params["kind"] == "parameter" else 0), 0


SPECS = [
    NodeSpec(
        "Parameter", CAT,
        "A tensor the network learns (a class token, a position table, a layer scale) or keeps as a buffer "
        "(a causal mask). Its output is the tensor itself; it broadcasts against [B, ...] inputs.",
        params=(
            Param("shape", "shape", REQUIRED, "the tensor's shape, as stored in the state dict"),
            Param("batch_dim", "bool", True, "the first size (1) stands for the batch, as in a [1, 1, D] class "
                  "token; off: a [C, 1, 1] layer scale, broadcast over [B, C, H, W]"),
            Param("kind", "choice", "parameter", "learned parameter, or buffer (saved, not learned)",
                  choices=("parameter", "buffer")),
            Param("init", "choice", "zeros", "initial values (tril: a lower-triangular causal mask of ones; causal_inf: "
                  "an additive causal mask, -inf above the diagonal and 0 elsewhere)",
                  choices=_INITS),
            Param("value", "float", 1.0, "the value for init 'constant'; the bound for 'uniform'",
                  min=-1e6, max=1e6),
            Param("std", "float", 0.02, "standard deviation for init 'normal' and 'trunc_normal'",
                  min=0.0, max=1e3),
            Param("dtype", "choice", "float32", "float32, or bool for a mask of True / False (an attention "
                  "mask: True where a position may look)", choices=("float32", "bool")),
            Param("persistent", "bool", True, "a buffer is saved in the state dict"),
            Param("requires_grad", "bool", True, "a parameter is trained (off: frozen, as MAE's fixed "
                  "position table)"),
        ),
        inputs=(), module="nn.Parameter", init=_init, forward=_forward,
        resolve=_resolve, shape=_shape, count=_count,
        aliases=("weight", "learned tensor", "class token", "cls token", "position embedding", "layer scale",
                 "buffer", "nn.Parameter", "constant tensor"),
        extra_docs=("Saved in the state dict under the node's name (`cls_token`, not `cls_token.weight`), "
                    "as `self.<name> = nn.Parameter(...)` (or `nn.Buffer(...)`) in the generated code. "
                    "With batch_dim off, the output gets a leading dim of 1 (`self.gamma.unsqueeze(0)`), "
                    "so a [C, 1, 1] layer scale flows as [1, C, 1, 1]. Shapes show the batch slot as B."),
    ),
]
