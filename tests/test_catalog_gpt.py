"""A GPT-2 style language model built from catalog nodes alone, the way the single-file
implementations write it: token and position embeddings (Positions), pre-norm blocks whose
attention splits heads with Reshape / Transpose and runs either scaled_dot_product_attention
or an explicit masked softmax over a tril buffer, a tanh-GELU MLP, and a head tied to the
token embedding. Its outputs equal a hand-written torch forward on the same weights, for any
sequence length, and GPT-2 small counts 124,439,808 parameters."""
from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from test_codegen import assert_ruff_clean

from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import generate
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import from_dict


def _n(nid: str, type_name: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_name, "params": params}


def _chain(*ids: str) -> list[dict[str, Any]]:
    return [{"src": a, "dst": b} for a, b in zip(ids, ids[1:])]


def block_net(c: int, heads: int, t: int, block_size: int, explicit: bool) -> dict[str, Any]:
    hs = c // heads
    nodes = [_n("x", "Input", shape=[t, c]), _n("ln_1", "LayerNorm"), _n("c_attn", "Linear", out_features=3 * c),
             _n("qkv", "Split", split_sizes=[c, c, c], dim=2)]
    edges = _chain("x", "ln_1", "c_attn", "qkv")
    for i, name in enumerate("qkv"):
        nodes += [_n(f"{name}_heads", "Reshape", shape=[0, heads, hs]), _n(f"{name}_t", "Transpose", dim0=1, dim1=2)]
        edges += [{"src": "qkv", "src_port": i, "dst": f"{name}_heads"}, *_chain(f"{name}_heads", f"{name}_t")]
    if explicit:  # minGPT: att = (q @ k.transpose(-2, -1)) * (1 / sqrt(hs)), masked_fill, softmax, @ v
        nodes += [_n("k_tt", "Transpose", dim0=-2, dim1=-1), _n("scores", "Matmul"),
                  _n("scaled", "ScalarOp", op="mul", value=1.0 / math.sqrt(hs)),
                  _n("bias", "Parameter", shape=[1, 1, block_size, block_size], kind="buffer", init="tril"),
                  _n("masked", "MaskedFill"), _n("att", "Softmax", dim=-1), _n("y", "Matmul")]
        edges += [*_chain("k_t", "k_tt"), {"src": "q_t", "dst": "scores"},
                  {"src": "k_tt", "dst": "scores", "dst_port": 1}, *_chain("scores", "scaled", "masked"),
                  {"src": "bias", "dst": "masked", "dst_port": 1}, *_chain("masked", "att", "y"),
                  {"src": "v_t", "dst": "y", "dst_port": 1}]
    else:
        nodes.append(_n("y", "ScaledDotProductAttention", is_causal=True))
        edges += [{"src": f"{name}_t", "dst": "y", "dst_port": i} for i, name in enumerate("qkv")]
    nodes += [_n("y_t", "Transpose", dim0=1, dim1=2), _n("y_c", "Contiguous"), _n("y_merged", "Reshape", shape=[0, c]),
              _n("attn_proj", "Linear", out_features=c), _n("res1", "Add"),
              _n("ln_2", "LayerNorm"), _n("c_fc", "Linear", out_features=4 * c), _n("gelu", "GELU", approximate="tanh"),
              _n("mlp_proj", "Linear", out_features=c), _n("res2", "Add"), _n("out", "Output")]
    edges += [*_chain("y", "y_t", "y_c", "y_merged", "attn_proj", "res1"), {"src": "x", "dst": "res1", "dst_port": 1},
              *_chain("res1", "ln_2", "c_fc", "gelu", "mlp_proj", "res2"),
              {"src": "res1", "dst": "res2", "dst_port": 1}, *_chain("res2", "out")]
    return {"name": "Block", "nodes": nodes, "edges": edges}


def gpt(vocab: int = 29, block_size: int = 16, c: int = 12, heads: int = 3, layers: int = 2, t: int = 8,
        explicit: bool = False) -> dict[str, Any]:
    nodes = [_n("idx", "Input", shape=[t], dtype="int64"),
             _n("wte", "Embedding", num_embeddings=vocab, embedding_dim=c),
             _n("pos", "Positions"), _n("wpe", "Embedding", num_embeddings=block_size, embedding_dim=c),
             _n("emb", "Add")]
    edges = [*_chain("idx", "wte"), *_chain("idx", "pos", "wpe"), *_chain("wte", "emb"),
             {"src": "wpe", "dst": "emb", "dst_port": 1}]
    prev = "emb"
    for i in range(layers):
        nodes.append(_n(f"h{i}", "Block"))
        edges += _chain(prev, f"h{i}")
        prev = f"h{i}"
    nodes += [_n("ln_f", "LayerNorm"), _n("lm_head", "Linear", out_features=vocab, bias=False), _n("logits", "Output")]
    edges += _chain(prev, "ln_f", "lm_head", "logits")
    main = {"name": "GPT", "nodes": nodes, "edges": edges,
            "ties": [{"node": "lm_head", "param": "weight", "to_node": "wte", "to_param": "weight"}]}
    return {"format": "netwright-graph", "version": 2,
            "networks": [main, block_net(c, heads, t, block_size, explicit)]}


def reference(model: torch.nn.Module, idx: torch.Tensor, heads: int) -> torch.Tensor:
    """nanoGPT's forward, written out, on the generated model's own weights."""
    b, t = idx.shape
    x = model.wte(idx) + model.wpe(torch.arange(t))
    for blk in (model.h0, model.h1):
        c = x.shape[-1]
        q, k, v = blk.c_attn(blk.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones(t, t)).view(1, 1, t, t) == 0, float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + blk.attn_proj(y)
        x = x + blk.mlp_proj(F.gelu(blk.c_fc(blk.ln_2(x)), approximate="tanh"))
    return model.lm_head(model.ln_f(x))


@pytest.mark.parametrize("explicit", [False, True], ids=["sdpa", "masked-softmax"])
def test_gpt_from_catalog_nodes_equals_the_hand_written_forward(explicit: bool) -> None:
    doc = from_dict(gpt(explicit=explicit))
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    source = generate(doc, analysis).source
    assert_ruff_clean(source)
    assert "self.lm_head.weight = self.wte.weight" in source
    torch.manual_seed(0)
    model = CompiledDocument(doc, analysis).build().eval()
    assert sum(p.numel() for p in model.parameters()) == analysis.networks["GPT"].total_params
    for t in (8, 5):  # the length the graph was drawn with, and a shorter prompt
        idx = torch.randint(0, 29, (2, t))
        with torch.no_grad():
            torch.testing.assert_close(model(idx), reference(model, idx, heads=3), rtol=1e-5, atol=1e-5)


def test_both_attention_forms_agree_on_the_same_weights() -> None:
    torch.manual_seed(0)
    sdpa = CompiledDocument(from_dict(gpt())).build().eval()
    explicit = CompiledDocument(from_dict(gpt(explicit=True))).build().eval()
    missing, unexpected = explicit.load_state_dict(sdpa.state_dict(), strict=False)
    assert unexpected == [] and missing == ["h0.bias", "h1.bias"]  # only minGPT's mask buffers
    idx = torch.randint(0, 29, (3, 7))
    with torch.no_grad():
        torch.testing.assert_close(explicit(idx), sdpa(idx), rtol=1e-5, atol=1e-5)


def test_gpt2_small_counts_its_tied_head_once() -> None:
    doc = from_dict(gpt(vocab=50257, block_size=1024, c=768, heads=12, layers=12, t=64))
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    assert analysis.networks["GPT"].total_params == 124_439_808
    untied = gpt(vocab=50257, block_size=1024, c=768, heads=12, layers=12, t=64)
    del untied["networks"][0]["ties"]
    assert Analyzer().analyze(from_dict(untied)).networks["GPT"].total_params == 163_037_184
