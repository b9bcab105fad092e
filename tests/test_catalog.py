"""The catalog: every spec is well formed, and every closed-form rule (output shapes,
parameter count, FLOPs) agrees with torch itself: the meta device + FlopCounterMode
(analysis.meta_run) as the reference, and real CPU modules for parameter counts."""
from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_compiler.analysis import TensorType, check_params, meta_run
from graph_compiler.catalog import CATEGORY_ORDER, REGISTRY, NodeSpec, ShapeError, fmt_shape
from graph_compiler.catalog.spec import REQUIRED, py
from graph_compiler.catalog.support import namespace

Case = tuple[str, dict[str, Any], list[tuple[int, ...]]]


def _grid(type_name: str, shapes: list[tuple[int, ...]], limit: int = 24, **axes: list[Any]) -> list[Case]:
    """Combinations of the given values; a fixed spread of at most ``limit`` of them for
    big grids (the hypothesis test below covers conv and pooling sizes at random)."""
    keys = list(axes)
    combos = list(itertools.product(*(axes[k] for k in keys)))
    if len(combos) > limit:
        combos = random.Random(type_name).sample(combos, limit)
    return [(type_name, dict(zip(keys, values)), shapes) for values in combos]


def _cases() -> list[Case]:
    c: list[Case] = []
    c += _grid("Linear", [(1, 7)], out_features=[1, 5], bias=[True, False])
    c += _grid("Linear", [(1, 3, 4, 6)], out_features=[5])
    for act in ("ReLU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "ELU", "LeakyReLU", "Softplus"):
        c.append((act, {}, [(1, 3, 5)]))
    c += _grid("Softmax", [(1, 3, 5)], dim=[-1, 1, 2])
    c += _grid("LogSoftmax", [(1, 4)], dim=[1])
    c += _grid("PReLU", [(1, 3, 5)], num_parameters=[1, 3])
    c += _grid("Conv1d", [(1, 4, 11)], out_channels=[6], kernel_size=[1, 3], stride=[1, 2], padding=[0, 2, "same"],
               groups=[1, 2], dilation=[1, 2], padding_mode=["zeros", "reflect", "circular"])
    c += _grid("Conv2d", [(1, 4, 9, 7)], out_channels=[4], kernel_size=[3, [2, 3]], stride=[1, [2, 1]],
               padding=[0, 1, "valid", "same"], groups=[1, 4], dilation=[1, 2], bias=[True, False],
               padding_mode=["zeros", "replicate"])
    c += _grid("ConvTranspose2d", [(1, 4, 5, 6)], out_channels=[6], kernel_size=[3, [2, 4]], stride=[1, 2, 3],
               padding=[0, 1], output_padding=[0, 1], groups=[1, 2], dilation=[1, 2])
    for pool in ("MaxPool1d", "MaxPool2d", "AvgPool2d"):
        shape = [(1, 3, 11)] if pool.endswith("1d") else [(1, 3, 9, 10)]
        extra = {"dilation": [1, 2]} if pool.startswith("Max") else {"count_include_pad": [True, False]}
        c += _grid(pool, shape, kernel_size=[2, 3], stride=[None, 1, 2], padding=[0, 1], ceil_mode=[False, True], **extra)
    c += _grid("AdaptiveAvgPool1d", [(1, 3, 10)], output_size=[1, 4, 13])
    c += _grid("AdaptiveAvgPool2d", [(1, 3, 9, 10)], output_size=[1, [3, 5], [12, 2]])
    c += _grid("Upsample", [(1, 2, 5, 7)], scale_factor=[0.5, 1.7, 2.0, 3.0], mode=["nearest", "bilinear", "bicubic"])
    c += _grid("Upsample", [(1, 2, 9)], scale_factor=[0.3, 2.5], mode=["nearest", "linear"])
    c += _grid("Upsample", [(1, 2, 5, 7)], scale_factor=[None], size=[4, [9, 3]], mode=["nearest", "bilinear"])
    c += _grid("Upsample", [(1, 2, 5, 7)], scale_factor=[None], size=[[9, 3]], mode=["bilinear", "bicubic"],
               align_corners=[True, False])
    c += _grid("Upsample", [(1, 2, 9)], scale_factor=[None], size=[12], mode=["linear"], align_corners=[True])
    c += _grid("BatchNorm1d", [(1, 4)], affine=[True, False])
    c += _grid("BatchNorm1d", [(1, 4, 6)], affine=[True])
    c += _grid("BatchNorm2d", [(1, 3, 4, 5)], affine=[True, False])
    c += _grid("LayerNorm", [(1, 3, 4, 5)], normalized_shape=[None, [5], [4, 5]], elementwise_affine=[True, False])
    c += _grid("GroupNorm", [(1, 6, 4, 4)], num_groups=[1, 2, 3, 6], affine=[True, False])
    c += _grid("GroupNorm", [(1, 2, 1, 1)], num_groups=[1, 2])  # 2 groups of one value: refused
    for rnn in ("RNN", "LSTM", "GRU"):
        c += _grid(rnn, [(1, 5, 3)], hidden_size=[4, 7], num_layers=[1, 2], bidirectional=[False, True], bias=[True, False])
    c += _grid("MultiheadAttention", [(1, 6, 8)], num_heads=[1, 2, 4], bias=[True, False], causal=[False, True])
    c += _grid("MultiheadAttention", [(1, 6, 8), (1, 4, 8)], num_heads=[2])  # cross-attention
    c += _grid("MultiheadAttention", [(1, 6, 8), (1, 4, 8), (1, 4, 8)], num_heads=[2])
    c += _grid("TransformerEncoderLayer", [(1, 6, 8)], nhead=[2, 4], dim_feedforward=[16],
               activation=["relu", "gelu"], norm_first=[False, True], causal=[False, True])
    c += _grid("TransformerDecoderLayer", [(1, 6, 8), (1, 3, 8)], nhead=[2], dim_feedforward=[12], causal=[False, True])
    c += _grid("PositionalEncoding", [(1, 6, 5)], max_len=[6, 9], kind=["sinusoidal", "learned"])
    c += _grid("Embedding", [(1, 6)], num_embeddings=[10], embedding_dim=[4], padding_idx=[None, 0, -1])
    c += _grid("Embedding", [(1, 2, 3)], num_embeddings=[5], embedding_dim=[3])
    c += _grid("TimestepEmbedding", [(1,)], dim=[6, 7])
    c += _grid("TimestepEmbedding", [(1, 1)], dim=[8])
    c += _grid("Reparameterize", [(1, 4), (1, 4)])
    c += _grid("Identity", [(1, 3)])
    c += _grid("Dropout", [(1, 3)], p=[0.0, 0.5])
    c += _grid("Flatten", [(1, 2, 3, 4)], start_dim=[1, 2, -2], end_dim=[-1, 2])
    c += _grid("Unflatten", [(1, 12)], dim=[1, -1], unflattened_size=[[3, 4], [2, 2, 3], [12]])
    c += _grid("Reshape", [(1, 2, 6)], shape=[[12], [3, 4], [-1, 2], [2, -1, 3]])
    c += _grid("Permute", [(1, 2, 3, 4)], dims=[[0, 1, 2, 3], [0, 3, 1, 2], [0, -1, 1, 2]])
    c += _grid("Mean", [(1, 3, 4)], dim=[1, 2, -1], keepdim=[False, True])
    c += _grid("Add", [(1, 3, 4), (1, 3, 4)])
    c += _grid("Add", [(1, 3, 4), (1, 1, 4), (1, 3, 1)])
    c += _grid("Multiply", [(1, 3, 4, 5), (1, 3, 1, 1)])
    c += _grid("Concat", [(1, 3, 4), (1, 2, 4)], dim=[1])
    c += _grid("Concat", [(1, 3, 4), (1, 3, 5), (1, 3, 1)], dim=[-1, 2])
    c += _grid("Chunk", [(1, 6, 4)], chunks=[2, 3], dim=[1])
    c += _grid("Chunk", [(1, 6, 4)], chunks=[2, 4], dim=[-1])
    c += _grid("Split", [(1, 6, 4)], split_sizes=[[1, 5], [2, 2, 2]], dim=[1])
    c += [("Output", {}, [(1, 3)]), ("Input", {"shape": [3, 4]}, [])]
    c += _real_code_cases()
    return c


def _real_code_cases() -> list[Case]:
    """Nodes that imported models need (torchvision classics, ViT, ConvNeXt, GPT-2)."""
    c: list[Case] = []
    for act in ("ReLU6", "Hardswish", "Hardsigmoid", "SELU", "CELU", "Hardtanh"):
        c.append((act, {}, [(1, 3, 5)]))
    c += _grid("CELU", [(1, 4)], alpha=[0.5, 2.0])
    c += _grid("Hardtanh", [(1, 4)], min_val=[-2.0, 0.0], max_val=[6.0])
    c += _grid("GLU", [(1, 4, 6)], dim=[-1, 1])
    c += _grid("GLU", [(1, 3, 5)], dim=[-1])  # odd: refused by both
    c += _grid("SwiGLU", [(1, 4, 6)], dim=[-1, 1])
    c += _grid("Subtract", [(1, 3, 4), (1, 1, 4)])
    c += _grid("Subtract", [(1, 3, 4), (1, 2, 4)])  # refused by both
    c += _grid("Divide", [(1, 3, 4, 5), (1, 3, 1, 1)])
    c += _grid("ScalarOp", [(1, 3, 4)], op=["add", "sub", "mul", "div", "rsub", "rdiv", "pow"], value=[0.5, -2.0])
    c += _grid("UnaryOp", [(1, 3, 4)], op=["neg", "abs", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal",
                                            "sin", "cos", "tanh", "erf"])
    c += _grid("Clamp", [(1, 3, 4)], min=[None, -1.0], max=[None, 2.0])
    c += _grid("LayerNorm", [(1, 3, 5)], bias=[False])
    c += _grid("BatchNorm2d", [(1, 3, 4, 5)], momentum=[None], track_running_stats=[True, False])
    c += _grid("Matmul", [(1, 2, 5, 7), (1, 2, 7, 3)])
    c += _grid("Matmul", [(1, 5, 7), (1, 7, 4)])
    c += _grid("Matmul", [(1, 4, 5, 7), (1, 1, 7, 3)])
    c += _grid("Matmul", [(1, 5, 7), (1, 6, 4)])  # inner sizes differ
    c += _grid("StochasticDepth", [(1, 3, 4, 4)], p=[0.0, 0.2], mode=["row", "batch"])
    c += _grid("Dropout2d", [(1, 3, 4, 4)], p=[0.1])
    c += _grid("ChannelShuffle", [(1, 6, 4, 4)], groups=[1, 2, 3])
    c += _grid("ChannelShuffle", [(1, 6, 4, 4)], groups=[4])  # not divisible
    c += _grid("AdaptiveMaxPool1d", [(1, 3, 10)], output_size=[1, 4])
    c += _grid("AdaptiveMaxPool2d", [(1, 3, 9, 10)], output_size=[1, [3, 5]])
    c += _grid("InstanceNorm1d", [(1, 4, 6)], affine=[True, False])
    c += _grid("InstanceNorm2d", [(1, 3, 4, 5)], affine=[True, False], track_running_stats=[True, False])
    c += _grid("RMSNorm", [(1, 3, 4, 5)], normalized_shape=[None, [5], [4, 5]], elementwise_affine=[True, False],
               eps=[None, 1e-6])
    c += _grid("LayerNorm2d", [(1, 6, 4, 5)], eps=[1e-6], elementwise_affine=[True, False])
    c += _grid("Transpose", [(1, 2, 3, 4)], dim0=[1, -1], dim1=[2, 3])
    c += _grid("Contiguous", [(1, 2, 3)])
    c += _grid("Expand", [(1, 1, 8)], size=[[-1, -1], [5, -1], [5, 8]])
    c += _grid("Expand", [(1, 1, 8), (1, 4, 8)], size=[[-1, -1]])
    c += _grid("Expand", [(1, 2, 8)], size=[[5, -1]])  # only size-1 dims expand
    c += _grid("Index", [(1, 5, 6)], index=[":, 0", ":, -1", "..., :4", ":, [-1], :", ":, 1:4:2, None",
                                            ":, [0, 2]", "x[:, -1]", ":, ::2", ":,:-1,"])
    c += _grid("Reduce", [(1, 3, 4)], op=["sum", "amax", "amin", "prod", "std", "var", "logsumexp"], dim=[1, -1],
               keepdim=[False, True])
    c += _grid("Positions", [(1, 7)], dim=[1, -1])
    c += _grid("Positions", [(1, 7, 3)], dim=[1, 2])
    c += _grid("Reshape", [(1, 6, 8)], shape=[[0, 2, 4], [0, -1], [0, 4, 0]])
    c += _grid("Parameter", [], shape=[[1, 1, 8], [1, 5, 8]], init=["zeros", "normal", "trunc_normal"])
    c += _grid("Parameter", [], shape=[[8, 1, 1]], batch_dim=[False], init=["constant", "ones", "uniform"])
    c += _grid("Parameter", [], shape=[[1, 1, 6, 6]], kind=["buffer"], init=["tril"], persistent=[True, False])
    c += _grid("Parameter", [], shape=[[1, 4, 6]], requires_grad=[False])
    c += _grid("ScaledDotProductAttention", [(1, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3)],
               is_causal=[False, True], dropout_p=[0.0, 0.1], scale=[None, 0.5])
    c += _grid("ScaledDotProductAttention", [(1, 5, 4), (1, 5, 4), (1, 5, 4)], is_causal=[True])
    c += _grid("ScaledDotProductAttention", [(1, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3), (1, 1, 5, 6)],
               dropout_p=[0.0, 0.1])
    c += _grid("ScaledDotProductAttention", [(1, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3), (1, 1, 1, 6)])
    c += _grid("ScaledDotProductAttention", [(1, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3), (1, 1, 5, 5)])  # refused
    c += _grid("ScaledDotProductAttention", [(1, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3), (1, 1, 5, 6)],
               is_causal=[True])  # a mask and is_causal: refused by both
    c += _grid("MaskedFill", [(1, 2, 5, 5), (1, 1, 8, 8)], crop=[True], fill_where=["zero", "nonzero"],
               value=[None, -1e4])
    c += _grid("MaskedFill", [(1, 2, 5, 5), (1, 1, 5, 5)], crop=[False])
    c += _grid("MaskedFill", [(1, 2, 9, 9), (1, 1, 8, 8)], crop=[True])  # mask too short
    return c


CASES = _cases()
_LONG = {"Embedding"}


def _types(spec: NodeSpec, shapes: list[tuple[int, ...]]) -> list[TensorType]:
    if spec.type == "Positions":
        return [TensorType(s, "long") for s in shapes]
    dtype = "long" if spec.type in _LONG else "float"
    return [TensorType(s, dtype) for s in shapes]


def _closed(spec: NodeSpec, params: dict[str, Any], shapes: list[tuple[int, ...]]) -> tuple[dict[str, Any], Any]:
    if spec.resolve is not None:
        params = spec.resolve(params, shapes)
    outs = spec.shape(params, shapes)  # type: ignore[misc]
    return params, (outs, *spec.count(params, shapes, outs))  # type: ignore[misc]


def _ids(case: Case) -> str:
    type_name, params, shapes = case
    return f"{type_name}-{params}-{'x'.join(map(fmt_shape, shapes))}"


# ---------------------------------------------------------------- catalog hygiene


def test_every_spec_is_well_formed() -> None:
    assert len(REGISTRY.specs) >= 40
    for spec in REGISTRY:
        assert spec.category in CATEGORY_ORDER, spec.type
        assert spec.doc.strip(), spec.type
        names = [p.name for p in spec.params]
        assert len(names) == len(set(names)), spec.type
        for p in spec.params:
            assert p.kind in {"int", "float", "bool", "choice", "ints", "padding", "shape", "str"}
            if p.default is not REQUIRED and p.default is not None:
                _, msg = p.check(p.default)
                assert msg is None, f"{spec.type}.{p.name}: default {p.default!r} fails its own check: {msg}"


def test_every_layer_spec_has_closed_form_rules_and_is_covered() -> None:
    covered = {c[0] for c in CASES}
    for spec in REGISTRY:
        assert spec.shape is not None and spec.count is not None, f"{spec.type} has no closed-form rule"
        assert spec.type in covered, f"{spec.type} has no comparison case in this file"


def test_param_messages_name_the_param_and_the_allowed_range() -> None:
    spec = REGISTRY.get("Linear")
    assert spec is not None
    _, problems = check_params(spec, {"out_features": 0, "bias": "yes", "wat": 1})
    text = " | ".join(m for m, _ in problems)
    assert "out_features=0 is out of range (allowed 1..16777216)" in text
    assert "bias must be true or false" in text
    assert "unknown parameter 'wat'" in text
    assert {p for _, p in problems} == {"out_features", "bias", "wat"}
    _, problems = check_params(spec, {"out_features": "many"})
    assert problems == [("Linear: out_features must be an integer (allowed 1..16777216), got 'many'",
                         "out_features")]
    _, problems = check_params(REGISTRY.get("GELU"), {"approximate": "fast"})  # type: ignore[arg-type]
    assert "one of 'none', 'tanh'" in problems[0][0]


@pytest.mark.parametrize("value", [10**400, [1] * 1000, {"a": 1}, [[1]], -1, float("nan")])
def test_bad_param_values_give_messages_not_exceptions(value: Any) -> None:
    for spec in REGISTRY:
        for p in spec.params:
            _value, msg = p.check(value)
            assert msg is None or len(msg) < 300


def test_literals_are_ruff_style() -> None:
    assert py((3, 3)) == "(3, 3)"
    assert py([5]) == "(5,)"
    assert py("gelu") == '"gelu"'
    assert py(1e16) == "1e16"
    assert py(1e-05) == "1e-05"
    assert py(float("inf")) == 'float("inf")'
    assert py(True) == "True"
    assert py(None) == "None"


# ---------------------------------------------------------------- rules vs torch


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_closed_form_matches_meta_device(case: Case) -> None:
    type_name, raw, shapes = case
    spec = REGISTRY.get(type_name)
    assert spec is not None
    params, problems = check_params(spec, raw)
    assert not problems, problems
    try:
        params, (outs, n_params, flops) = _closed(spec, params, shapes)
    except ShapeError as exc:
        closed_error: ShapeError | None = exc
    else:
        closed_error = None
    if type_name in ("Input", "Output"):
        assert closed_error is None
        return  # no module: shape only
    try:
        ref = meta_run(spec, params, _types(spec, shapes))
    except ShapeError as exc:
        assert closed_error is not None, f"torch rejects what the rules accept: {exc}"
        return
    assert closed_error is None, f"the rules reject what torch accepts: {closed_error}"
    assert ([tuple(s) for s in outs], n_params, flops) == (ref[0], ref[1], ref[2])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nd=st.sampled_from([1, 2]),
    size=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    ceil=st.booleans(),
    kind=st.sampled_from(["conv", "convT", "max", "avg"]),
)
def test_conv_and_pool_rules_match_torch_everywhere(nd: int, size: int, k: int, s: int, p: int, d: int,
                                                    ceil: bool, kind: str) -> None:
    """Random sizes, including ones too small for the kernel: the rules and torch agree on
    the shape, or both refuse."""
    if kind == "convT":
        nd, raw = 2, {"out_channels": 2, "kernel_size": k, "stride": s, "padding": p, "dilation": d,
                      "output_padding": min(p, max(s, d) - 1)}
        type_name = "ConvTranspose2d"
    elif kind == "conv":
        raw = {"out_channels": 2, "kernel_size": k, "stride": s, "padding": p, "dilation": d}
        type_name = f"Conv{nd}d"
    else:
        raw = {"kernel_size": k, "stride": s, "padding": min(p, k // 2), "ceil_mode": ceil}
        if kind == "max":
            raw["dilation"] = d
        type_name = f"MaxPool{nd}d" if kind == "max" else "AvgPool2d"
        if kind == "avg":
            nd = 2
    shape = (1, 2, *([size] * nd))
    test_closed_form_matches_meta_device((type_name, raw, [shape]))


def test_lstm_flops_are_the_matmuls_the_fused_kernel_hides() -> None:
    """We report an RNN's matrix products (what the counter sees on the meta device); on
    CPU the fused LSTM kernel hides them and the counter reports 0. Documented in the spec."""
    spec = REGISTRY.get("LSTM")
    assert spec is not None and "FLOPs" in spec.extra_docs
    params, _ = check_params(spec, {"hidden_size": 8})
    params = spec.resolve(params, [(1, 5, 3)])  # type: ignore[misc]
    _, n, flops = meta_run(spec, params, [TensorType((1, 5, 3))])
    assert flops == 2 * 5 * 4 * 8 * (3 + 8) and n == 4 * (3 * 8 + 8 * 8 + 16)


@pytest.mark.parametrize("type_name,raw,shapes", [
    ("Linear", {"out_features": 7}, [(1, 5)]),
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "groups": 2}, [(1, 4, 8, 8)]),
    ("ConvTranspose2d", {"out_channels": 6, "kernel_size": 3, "groups": 2}, [(1, 4, 8, 8)]),
    ("LSTM", {"hidden_size": 6, "num_layers": 2, "bidirectional": True}, [(1, 5, 3)]),
    ("GRU", {"hidden_size": 6, "bias": False}, [(1, 5, 3)]),
    ("MultiheadAttention", {"num_heads": 2}, [(1, 5, 8)]),
    ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16}, [(1, 5, 8)]),
    ("TransformerDecoderLayer", {"nhead": 2, "dim_feedforward": 16}, [(1, 5, 8), (1, 3, 8)]),
    ("BatchNorm2d", {}, [(1, 3, 4, 4)]),
    ("LayerNorm", {}, [(1, 3, 4)]),
    ("GroupNorm", {"num_groups": 2}, [(1, 4, 3)]),
    ("Embedding", {"num_embeddings": 11, "embedding_dim": 3}, [(1, 4)]),
    ("PositionalEncoding", {"kind": "learned", "max_len": 7}, [(1, 4, 6)]),
    ("TimestepEmbedding", {"dim": 5}, [(1,)]),
])
def test_param_counts_match_real_cpu_modules(type_name: str, raw: dict[str, Any],
                                             shapes: list[tuple[int, ...]]) -> None:
    spec = REGISTRY.get(type_name)
    assert spec is not None
    params, _ = check_params(spec, raw)
    params, (outs, n_params, _) = _closed(spec, params, shapes)
    module = eval(spec.constructor(params), dict(namespace()))
    assert sum(p.numel() for p in module.parameters()) == n_params
    module.eval()
    dtype = torch.long if type_name in _LONG else torch.float32
    tensors = [torch.zeros((2, *s[1:]), dtype=dtype) for s in shapes]
    local = {"m": module, **{f"in{i}": t for i, t in enumerate(tensors)}}
    lines = spec.forward_lines("m", [f"in{i}" for i in range(len(tensors))],
                               [f"out{i}" for i in range(len(outs))], params)
    with torch.no_grad():
        exec("\n".join(lines), dict(namespace()), local)  # noqa: S102 - catalog text
    for i, shape in enumerate(outs):
        assert tuple(local[f"out{i}"].shape) == (2, *shape[1:])
