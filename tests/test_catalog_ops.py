"""The nodes real model code needs (torchvision classics, ViT, ConvNeXt, GPT-2): the
generated code computes what the torch expression it stands for computes, on random
inputs, and reads as ruff-formatted torch."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from test_codegen import assert_ruff_clean
from torch import nn

from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import generate
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import from_dict

Ref = Callable[..., torch.Tensor]


def graph(type_name: str, params: dict[str, Any], shapes: list[tuple[int, ...]],
          dtypes: list[str] | None = None, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Inputs in0.. -> node -> Output; ``extra`` nodes (e.g. Parameters) feed the ports after the inputs."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i, s in enumerate(shapes):
        dtype = (dtypes or ["float32"] * len(shapes))[i]
        nodes.append({"id": f"in{i}", "type": "Input", "params": {"shape": list(s), "dtype": dtype}})
        edges.append({"src": f"in{i}", "dst": "op", "dst_port": i})
    for j, node in enumerate(extra or []):
        nodes.append(node)
        edges.append({"src": node["id"], "dst": "op", "dst_port": len(shapes) + j})
    nodes += [{"id": "op", "type": type_name, "params": params}, {"id": "out", "type": "Output"}]
    edges.append({"src": "op", "dst": "out"})
    return {"format": "netwright-graph", "version": 1, "networks": [{"name": "Net", "nodes": nodes, "edges": edges}]}


def run(raw: dict[str, Any], inputs: list[torch.Tensor], train: bool = False) -> tuple[nn.Module, torch.Tensor, str]:
    doc = from_dict(raw)
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    source = generate(doc, analysis).source
    model = CompiledDocument(doc, analysis).build().train(train)
    with torch.no_grad():
        out = model(*inputs)
    want = analysis.networks["Net"].nodes["op"].output_shape
    assert want is not None and tuple(out.shape) == (inputs[0].shape[0], *want[1:])
    assert sum(p.numel() for p in model.parameters()) == analysis.networks["Net"].total_params
    return model, out, source


CASES: list[tuple[str, dict[str, Any], list[tuple[int, ...]], Ref]] = [
    ("ReLU6", {}, [(3, 8)], F.relu6),
    ("Hardswish", {}, [(3, 8)], F.hardswish),
    ("Hardsigmoid", {}, [(3, 8)], F.hardsigmoid),
    ("Hardtanh", {"min_val": -2.0, "max_val": 3.0}, [(3, 8)], lambda x: F.hardtanh(x, -2.0, 3.0)),
    ("SELU", {}, [(3, 8)], F.selu),
    ("CELU", {"alpha": 0.5}, [(3, 8)], lambda x: F.celu(x, 0.5)),
    ("GELU", {"approximate": "tanh"}, [(3, 8)], lambda x: F.gelu(x, approximate="tanh")),
    ("GLU", {"dim": 1}, [(4, 6)], lambda x: F.glu(x, 1)),
    ("SwiGLU", {}, [(4, 6)], lambda x: F.silu(x[..., :3]) * x[..., 3:]),
    ("Subtract", {}, [(3, 4), (1, 4)], lambda a, b: a - b),
    ("Divide", {}, [(3, 4, 5), (3, 1, 1)], lambda a, b: a / b),
    ("ScalarOp", {"op": "mul", "value": 0.125}, [(3, 4)], lambda x: x * 0.125),
    ("ScalarOp", {"op": "rsub", "value": 1.0}, [(3, 4)], lambda x: 1.0 - x),
    ("ScalarOp", {"op": "rdiv", "value": -2.0}, [(3, 4)], lambda x: -2.0 / x),
    ("ScalarOp", {"op": "sub", "value": -3.0}, [(3, 4)], lambda x: x + 3.0),
    ("ScalarOp", {"op": "pow", "value": 2.0}, [(3, 4)], lambda x: x**2),
    ("UnaryOp", {"op": "neg"}, [(3, 4)], torch.neg),
    ("UnaryOp", {"op": "rsqrt"}, [(3, 4)], torch.rsqrt),
    ("UnaryOp", {"op": "erf"}, [(3, 4)], torch.erf),
    ("Clamp", {"min": -0.5}, [(3, 4)], lambda x: x.clamp(min=-0.5)),
    ("Clamp", {"min": -0.5, "max": 0.25}, [(3, 4)], lambda x: x.clamp(-0.5, 0.25)),
    ("LayerNorm", {"bias": False}, [(3, 4)], lambda x: F.layer_norm(x, (4,))),
    ("BatchNorm1d", {"track_running_stats": False, "affine": False}, [(4,)], lambda x: F.batch_norm(
        x, None, None, training=True)),
    ("Reduce", {"op": "amax", "dim": -1, "keepdim": True}, [(3, 4)], lambda x: x.amax(-1, keepdim=True)),
    ("Reduce", {"op": "logsumexp"}, [(3, 4)], lambda x: torch.logsumexp(x, 1)),
    ("Reduce", {"op": "std", "dim": 2}, [(3, 4)], lambda x: x.std(2)),
    ("Upsample", {"scale_factor": None, "size": [9, 3], "mode": "bilinear", "align_corners": False}, [(3, 5, 7)],
     lambda x: F.interpolate(x, size=(9, 3), mode="bilinear", align_corners=False)),
    ("Matmul", {}, [(2, 5, 7), (2, 7, 3)], torch.matmul),
    ("Matmul", {}, [(4, 5, 7), (1, 4, 7, 3)], None),  # rank differs: refused (see below)
    ("ChannelShuffle", {"groups": 3}, [(6, 4, 4)],
     lambda x: x.view(x.shape[0], 3, 2, 4, 4).transpose(1, 2).reshape(x.shape)),
    ("AdaptiveMaxPool2d", {"output_size": [2, 3]}, [(3, 7, 8)], lambda x: F.adaptive_max_pool2d(x, (2, 3))),
    ("InstanceNorm2d", {}, [(3, 4, 5)], F.instance_norm),
    ("RMSNorm", {"eps": 1e-6}, [(5, 8)], lambda x: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)),
    ("LayerNorm2d", {"eps": 1e-6}, [(6, 4, 5)],
     lambda x: F.layer_norm(x.permute(0, 2, 3, 1), (6,), eps=1e-6).permute(0, 3, 1, 2)),
    ("Transpose", {"dim0": 1, "dim1": 2}, [(3, 4, 5)], lambda x: x.transpose(1, 2)),
    ("Contiguous", {}, [(3, 4)], lambda x: x),
    ("Reshape", {"shape": [0, 2, 4]}, [(6, 8)], lambda x: x.view(x.shape[0], x.shape[1], 2, 4)),
    ("Index", {"index": ":, 0"}, [(5, 6)], lambda x: x[:, 0]),
    ("Index", {"index": ":, -1"}, [(5, 6)], lambda x: x[:, -1]),
    ("Index", {"index": "..., :4"}, [(5, 6)], lambda x: x[..., :4]),
    ("Index", {"index": ":, [-1], :"}, [(5, 6)], lambda x: x[:, [-1], :]),
    ("Index", {"index": ":, 1::2, None"}, [(5, 6)], lambda x: x[:, 1::2, None]),
    ("Expand", {"size": [5, -1]}, [(1, 8)], lambda x: x.expand(x.shape[0], 5, -1)),
    ("StochasticDepth", {"p": 0.3}, [(3, 4)], lambda x: x),
    ("Dropout2d", {"p": 0.3}, [(3, 4, 4)], lambda x: x),
    ("ScaledDotProductAttention", {"is_causal": True}, [(2, 5, 4), (2, 5, 4), (2, 5, 4)],
     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
    ("ScaledDotProductAttention", {}, [(2, 5, 4), (2, 6, 4), (2, 6, 3), (1, 5, 6)],
     lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
    ("ScaledDotProductAttention", {"dropout_p": 0.5}, [(2, 5, 4), (2, 6, 4), (2, 6, 3), (1, 1, 6)],
     lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
    ("ScaledDotProductAttention", {"dropout_p": 0.5, "scale": 0.3}, [(2, 5, 4), (2, 6, 4), (2, 6, 3)],
     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3)),
]


@pytest.mark.parametrize("type_name,params,shapes,ref", [c for c in CASES if c[3] is not None],
                         ids=[f"{c[0]}-{c[1]}" for c in CASES if c[3] is not None])
def test_generated_code_equals_the_torch_expression(type_name: str, params: dict[str, Any],
                                                    shapes: list[tuple[int, ...]], ref: Ref) -> None:
    torch.manual_seed(0)
    inputs = [torch.randn(2, *s) for s in shapes]
    if (type_name, params.get("op")) in (("ScalarOp", "rdiv"), ("ScalarOp", "pow"), ("UnaryOp", "rsqrt")):
        inputs = [x.abs() + 0.5 for x in inputs]
    _, out, source = run(graph(type_name, params, shapes), inputs)
    torch.testing.assert_close(out, ref(*inputs), rtol=1e-5, atol=1e-5)
    assert_ruff_clean(source)


def test_matmul_refuses_mixed_ranks_and_vectors() -> None:
    doc = from_dict(graph("Matmul", {}, [(4, 5, 7), (1, 4, 7, 3)]))
    errors = [d.message for d in Analyzer().analyze(doc).errors]
    assert errors and "batch dims" in errors[0]
    doc = from_dict(graph("Matmul", {}, [(7,), (7,)]))
    assert "batches of matrices" in Analyzer().analyze(doc).errors[0].message


def test_emitted_lines_read_like_hand_written_torch() -> None:
    def line(type_name: str, params: dict[str, Any], shapes: list[tuple[int, ...]], **kw: Any) -> str:
        source = generate(from_dict(graph(type_name, params, shapes, **kw))).source
        lines = source.splitlines()
        at = next(i for i, s in enumerate(lines) if "# op:" in s)
        code = lines[at].split("#")[0].strip()
        return code or lines[at + 1].strip()  # the note goes above a long line

    assert line("Index", {"index": " x[ :,[ -1 ],: ] "}, [(5, 6)]) == "out = x[:, [-1], :]"
    assert line("Reshape", {"shape": [0, 2, 3]}, [(4, 6)]) == "out = x.reshape(x.shape[0], x.shape[1], 2, 3)"
    assert line("Transpose", {"dim0": 1, "dim1": 2}, [(4, 6)]) == "out = x.transpose(1, 2)"
    assert line("ScalarOp", {"op": "div", "value": 8}, [(4,)]) == "out = x / 8.0"
    assert line("Positions", {}, [(7,)], dtypes=["int64"]) == "out = torch.arange(x.shape[1], device=x.device)"
    assert line("ScaledDotProductAttention", {"is_causal": True}, [(2, 5, 4)] * 3) == \
        "out = nn.functional.scaled_dot_product_attention(in0, in1, in2, is_causal=True)"
    source = generate(from_dict(graph("ScaledDotProductAttention", {}, [(2, 5, 4)] * 3))).source
    assert "class ScaledDotProductAttention" not in source  # only dropout needs the module
    source = generate(from_dict(graph("StochasticDepth", {"p": 0.2}, [(4,)]))).source
    assert "self.op = StochasticDepth(0.2, \"row\")" in source
    assert "class StochasticDepth(nn.Module):" in source and "torchvision" not in source.split('"""')[-1]


@pytest.mark.parametrize("index,message", [
    ("0", "batch dimension must be kept whole"),
    ("__import__('os')", "cannot read"),
    (":, 1:2:0", "step 0 must be positive"),
    (":, 9", "out of range"),
    (":, [0], [1]", "at most one [list]"),
    ("..., ...", "at most one ..."),
    (":, :, :, :", "4 indices for a 3-D tensor"),
    (":, 3:3", "is empty"),
    ("", "cannot read"),
])
def test_index_text_is_parsed_never_evaluated(index: str, message: str) -> None:
    doc = from_dict(graph("Index", {"index": index}, [(5, 6)]))
    errors = Analyzer().analyze(doc).errors
    assert errors and message in errors[0].message and errors[0].param == "index", errors


def test_positions_feed_an_embedding_for_any_sequence_length() -> None:
    raw = graph("Positions", {}, [(6,)], dtypes=["int64"])
    net = raw["networks"][0]
    net["nodes"].insert(-1, {"id": "wpe", "type": "Embedding", "params": {"num_embeddings": 16, "embedding_dim": 4}})
    net["edges"] = [e for e in net["edges"] if e["dst"] != "out"] + [
        {"src": "op", "dst": "wpe"}, {"src": "wpe", "dst": "out"}]
    model = CompiledDocument(from_dict(raw)).build()
    out = model(torch.randint(0, 10, (3, 6)))
    assert tuple(out.shape) == (1, 6, 4)  # [1, T, D]: broadcasts over the batch
    longer = model(torch.randint(0, 10, (3, 9)))  # the code reads T off the input
    torch.testing.assert_close(longer[:, :6], out)
    torch.testing.assert_close(out[0], model.wpe.weight[:6])


def test_stochastic_depth_drops_rows_and_rescales_while_training() -> None:
    torch.manual_seed(0)
    model, _, _ = run(graph("StochasticDepth", {"p": 0.5}, [(8,)]), [torch.ones(4, 8)])
    out = model.train()(torch.ones(400, 8))
    rows = out[:, 0]
    assert set(rows.unique().tolist()) <= {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - p)
    assert (out == rows[:, None]).all()  # mode row: one decision per sample
    assert 0.35 < (rows == 0).float().mean() < 0.65
    model, _, _ = run(graph("StochasticDepth", {"p": 0.5, "mode": "batch"}, [(8,)]), [torch.ones(4, 8)])
    out = model.train()(torch.ones(50, 8))
    assert out.unique().numel() == 1  # mode batch: one decision for all


def test_parameter_nodes_class_token_position_table_and_layer_scale() -> None:
    """ViT's class token and position table, ConvNeXt's layer scale: saved under the node's
    name, counted, broadcast against the batch, and their init options emitted as torch."""
    nodes = [{"id": "in0", "type": "Input", "params": {"shape": [4, 8]}},
             {"id": "class_token", "type": "Parameter", "params": {"shape": [1, 1, 8]}},
             {"id": "expand", "type": "Expand", "params": {"size": [-1, -1]}},
             {"id": "op", "type": "Concat", "params": {"dim": 1}}, {"id": "out", "type": "Output"}]
    edges = [{"src": "class_token", "dst": "expand"}, {"src": "in0", "dst": "expand", "dst_port": 1},
             {"src": "expand", "dst": "op"}, {"src": "in0", "dst": "op", "dst_port": 1}, {"src": "op", "dst": "out"}]
    raw = {"format": "netwright-graph", "version": 1, "networks": [{"name": "Net", "nodes": nodes, "edges": edges}]}
    model, out, source = run(raw, [torch.randn(3, 4, 8)])
    assert "self.class_token = nn.Parameter(torch.zeros(1, 1, 8))" in source
    assert list(model.state_dict()) == ["class_token"]
    assert tuple(out.shape) == (3, 5, 8)
    with torch.no_grad():
        model.class_token.fill_(7.0)
    assert (model(torch.randn(3, 4, 8))[:, 0] == 7.0).all()
    assert_ruff_clean(source)

    gamma = {"id": "gamma", "type": "Parameter",
             "params": {"shape": [6, 1, 1], "batch_dim": False, "init": "constant", "value": 1e-6}}
    model, out, source = run(graph("Multiply", {}, [(6, 3, 3)], extra=[gamma]), [torch.ones(2, 6, 3, 3)])
    assert "self.gamma = nn.Parameter(torch.full((6, 1, 1), 1e-06))" in source
    assert tuple(model.gamma.shape) == (6, 1, 1)
    torch.testing.assert_close(out, torch.full((2, 6, 3, 3), 1e-6))

    std = {"id": "pos", "type": "Parameter", "params": {"shape": [1, 200, 64], "init": "trunc_normal", "std": 0.5}}
    model, _, source = run(graph("Add", {}, [(200, 64)], extra=[std]), [torch.zeros(2, 200, 64)])
    assert "nn.init.trunc_normal_(torch.empty(1, 200, 64), std=0.5)" in source
    frozen = {"id": "pos", "type": "Parameter", "params": {"shape": [1, 200, 64], "requires_grad": False}}
    frozen_model, _, frozen_source = run(graph("Add", {}, [(200, 64)], extra=[frozen]), [torch.zeros(2, 200, 64)])
    assert "self.pos = nn.Parameter(torch.zeros(1, 200, 64), requires_grad=False)" in frozen_source
    assert not frozen_model.pos.requires_grad and list(frozen_model.state_dict()) == ["pos"]
    assert math.isclose(float(model.pos.detach().std()), 0.5, rel_tol=0.1)
    assert float(model.pos.detach().abs().max()) <= 2.0


def test_causal_mask_buffer_and_masked_fill_reproduce_mingpt_attention() -> None:
    """minGPT: att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf')), softmax, with
    the mask a persistent buffer (its state dict holds it) of a longer block size."""
    mask = {"id": "bias", "type": "Parameter",
            "params": {"shape": [1, 1, 8, 8], "kind": "buffer", "init": "tril"}}
    raw = graph("MaskedFill", {}, [(2, 5, 5)], extra=[mask])
    model, out, source = run(raw, [torch.randn(3, 2, 5, 5)])
    assert 'out = x.masked_fill(h[..., : x.size(-2), : x.size(-1)] == 0, float("-inf"))' in source
    assert "self.bias = nn.Buffer(torch.ones(1, 1, 8, 8).tril())" in source
    assert list(model.state_dict()) == ["bias"] and not list(model.parameters())
    x = torch.randn(3, 2, 5, 5)
    want = x.masked_fill(torch.tril(torch.ones(5, 5)).view(1, 1, 5, 5) == 0, float("-inf"))
    torch.testing.assert_close(model(x), want)
    assert_ruff_clean(source)
    mask["params"]["persistent"] = False
    model, _, _ = run(graph("MaskedFill", {}, [(2, 5, 5)], extra=[mask]), [x])
    assert list(model.state_dict()) == []


# ---------------------------------------------------------------- Index: property tests

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from graph_compiler.catalog.shape_ops import index_text, parse_index  # noqa: E402
from graph_compiler.catalog.spec import ShapeError  # noqa: E402

_ITEM = st.one_of(
    st.integers(-7, 7).map(str),
    st.tuples(st.one_of(st.none(), st.integers(-7, 7)), st.one_of(st.none(), st.integers(-7, 7)),
              st.one_of(st.none(), st.integers(1, 3))).map(
        lambda t: f"{'' if t[0] is None else t[0]}:{'' if t[1] is None else t[1]}"
                  + ("" if t[2] is None else f":{t[2]}")),
    st.lists(st.integers(-5, 5), min_size=1, max_size=3).map(lambda v: "[" + ", ".join(map(str, v)) + "]"),
    st.just("..."), st.just("None"),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(_ITEM, max_size=4), dims=st.lists(st.integers(1, 6), min_size=1, max_size=3))
def test_index_shape_rule_agrees_with_torch_or_both_refuse(items: list[str], dims: list[int]) -> None:
    """Random numpy-style indexes on random shapes: the rule gives torch's shape, or a
    message; torch never accepts what the rule refuses (the batch dim aside)."""
    from graph_compiler.catalog import REGISTRY

    text = ":, " + ", ".join(items) if items else ":"
    shape = (2, *dims)
    spec = REGISTRY.get("Index")
    assert spec is not None and spec.shape is not None
    try:
        out = spec.shape({"index": text}, [shape])[0]
    except ShapeError as exc:
        assert exc.param == "index" and len(str(exc)) < 300
        torch_ok = True
        try:
            y = eval(f"x[{index_text(parse_index(text))}]", {"x": torch.zeros(shape)})  # noqa: S307 - our parse
        except (IndexError, ShapeError, ValueError, TypeError):
            torch_ok = False
        if torch_ok:  # refused on purpose: an empty slice, or more than one list
            assert y.numel() == 0 or "one [list]" in str(exc) or "at most one ..." in str(exc), (text, exc)
        return
    x = torch.zeros(shape)
    y = eval(f"x[{index_text(parse_index(text))}]", {"x": x})  # noqa: S307 - rebuilt from the parse
    assert tuple(y.shape) == out, text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_index_text_of_any_kind_gives_a_message_never_an_exception(text: str) -> None:
    doc = from_dict(graph("Index", {"index": text}, [(5, 6)]))
    analysis = Analyzer().analyze(doc)
    for d in analysis.errors:
        assert "internal error" not in d.message
    if analysis.ok:  # whatever parsed is rebuilt as plain Python: integers, slices, lists
        source = generate(doc, analysis).source
        line = next(s for s in source.splitlines() if "# op:" in s or s.strip().startswith("out = x["))
        assert "__" not in line and "import" not in line
