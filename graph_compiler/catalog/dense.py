"""Fully connected layers and activations."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import (
    inferred,
    match_inferred,
    no_cost,
    non_batch_dim,
    prod,
    size,
)
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.spec import NodeSpec, Param, ResolveFn, Shape, ShapeError, fmt_shape


def _linear_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    shape = ins[0]
    if len(shape) < 2:
        raise ShapeError(f"Linear expects [B, features], gets {fmt_shape(shape)}")
    hint = "; add a Flatten?" if len(shape) > 2 else ""
    return match_inferred(params, "in_features", shape[-1],
                          "Linear expects {given} input features, gets " + fmt_shape(shape) + hint)


def _linear_count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    n = p["in_features"] * p["out_features"] + (p["out_features"] if p["bias"] else 0)
    rows = prod(ins[0][:-1])
    return n, 2 * rows * p["in_features"] * p["out_features"]


def _prelu_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    n = params["num_parameters"]
    if n != 1 and (len(ins[0]) < 2 or ins[0][1] != n):
        raise ShapeError(f"PReLU: num_parameters={n} must be 1 or the channel count "
                         f"of {fmt_shape(ins[0])}", "num_parameters")
    return params


def _softmax_resolve(name: str) -> ResolveFn:
    def resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        non_batch_dim(params["dim"], len(ins[0]), name, "normalising over")
        return params
    return resolve


def _act(name: str, doc: str, *params: Param, aliases: tuple[str, ...] = ()) -> NodeSpec:
    resolve = _softmax_resolve(name) if any(p.name == "dim" for p in params) else None
    return NodeSpec(name, "Activation", doc, params=tuple(params), module=f"nn.{name}",
                    resolve=resolve, shape=_same, count=no_cost, aliases=("activation", *aliases))


def _glu_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    d = non_batch_dim(params["dim"], len(ins[0]), "GLU", "splitting")
    if ins[0][d] % 2:
        raise ShapeError(f"gated unit: dim {params['dim']} of {fmt_shape(ins[0])} has odd size "
                         f"{ins[0][d]}; it must split into two equal halves", "dim")
    return params


def _halve(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    d = params["dim"] % len(ins[0])
    return [(*ins[0][:d], ins[0][d] // 2, *ins[0][d + 1:])]


_DIM = Param("dim", "int", -1, "dim that sums to 1", min=-8, max=8, always=True)

SPECS = [
    NodeSpec(
        "Linear", "Dense", "Fully connected layer: y = x W^T + b over the last dim.",
        params=(inferred("in_features", "size of each input sample (inferred)"),
                size("out_features", "size of each output sample"),
                Param("bias", "bool", True, "learn an additive bias")),
        module="nn.Linear", resolve=_linear_resolve,
        shape=lambda p, ins: [(*ins[0][:-1], p["out_features"])], count=_linear_count,
        aliases=("dense", "fully connected", "fc", "mlp"),
    ),
    _act("ReLU", "max(0, x)."),
    _act("LeakyReLU", "x if x > 0 else negative_slope * x.",
         Param("negative_slope", "float", 0.01, "slope for x < 0", min=0.0, max=1.0)),
    NodeSpec("PReLU", "Activation", "LeakyReLU with a learned slope.",
             params=(Param("num_parameters", "int", 1, "1, or one slope per channel", min=1, max=1 << 24),
                     Param("init", "float", 0.25, "initial slope", min=-10.0, max=10.0)),
             module="nn.PReLU", resolve=_prelu_resolve, shape=_same,
             count=lambda p, i, o: (p["num_parameters"], 0), aliases=("activation",)),
    _act("ELU", "x if x > 0 else alpha * (exp(x) - 1).",
         Param("alpha", "float", 1.0, "scale for negative inputs", min=0.0, max=100.0)),
    _act("GELU", "Gaussian error linear unit (used in transformers).",
         Param("approximate", "choice", "none", "exact or tanh approximation", choices=("none", "tanh"))),
    _act("SiLU", "x * sigmoid(x), also called swish.", aliases=("swish",)),
    _act("Mish", "x * tanh(softplus(x))."),
    _act("Sigmoid", "1 / (1 + exp(-x)); squashes to (0, 1).", aliases=("logistic",)),
    _act("Tanh", "Hyperbolic tangent; squashes to (-1, 1)."),
    _act("Softplus", "log(1 + exp(beta * x)) / beta: a smooth ReLU.",
         Param("beta", "float", 1.0, "sharpness", min=1e-6, max=1e6),
         Param("threshold", "float", 20.0, "above this, linear", min=0.0, max=1e6)),
    _act("ReLU6", "min(max(0, x), 6): ReLU capped at 6 (MobileNet).", aliases=("mobilenet", "clamp")),
    _act("Hardtanh", "x clamped to [min_val, max_val].",
         Param("min_val", "float", -1.0, "lower limit", min=-1e6, max=1e6),
         Param("max_val", "float", 1.0, "upper limit", min=-1e6, max=1e6), aliases=("clamp", "clip")),
    _act("Hardswish", "x * ReLU6(x + 3) / 6: a cheap swish (MobileNetV3).", aliases=("hard swish", "mobilenet")),
    _act("Hardsigmoid", "ReLU6(x + 3) / 6: a cheap sigmoid (MobileNetV3 squeeze-excitation).",
         aliases=("hard sigmoid", "mobilenet")),
    _act("SELU", "Scaled ELU: self-normalising networks."),
    _act("CELU", "max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).",
         Param("alpha", "float", 1.0, "scale for negative inputs", min=1e-6, max=100.0)),
    NodeSpec("GLU", "Activation", "Gated linear unit: splits dim in halves a, b and gives a * sigmoid(b).",
             params=(Param("dim", "int", -1, "dim to split in half", min=-8, max=8),),
             module="nn.GLU", resolve=_glu_resolve, shape=_halve, count=no_cost,
             aliases=("activation", "gate", "gated")),
    NodeSpec("SwiGLU", "Activation",
             "SiLU-gated unit (LLaMA-style feed-forward): splits dim in halves a, b and gives silu(a) * b.",
             params=(Param("dim", "int", -1, "dim to split in half", min=-8, max=8),),
             module="SwiGLU", support=("SwiGLU",), resolve=_glu_resolve, shape=_halve, count=no_cost,
             aliases=("activation", "gate", "gated", "silu", "swish", "llama")),
    _act("Softmax", "Exponentiates and normalises along dim so it sums to 1.", _DIM,
         aliases=("probabilities",)),
    _act("LogSoftmax", "log(Softmax(x)), numerically stable.", _DIM),
]
