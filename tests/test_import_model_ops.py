"""`netwright import` on what minimal GPT implementations write beyond plain layers:
nanoGPT's LayerNorm with an optional bias (``F.layer_norm`` on the module's own weight),
``F.scaled_dot_product_attention`` with an attention mask (a registered causal buffer,
sliced, or a mask made in forward) and its ``dropout_p`` / ``scale`` keywords, and child
modules whose names are Python keywords or no identifiers at all.

Each model is checked the way the model families are: the graph's parameter count, the
original state_dict loading with strict=True into the exported code (keys unchanged), and
eval outputs within 1e-4.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import generate
from graph_compiler.compile import exec_source
from graph_compiler.document import Document
from graph_compiler.interop.fx_import import UnsupportedModelError, import_model

N_EMBD, N_HEAD, BLOCK, T = 16, 2, 16, 8


class LayerNorm(nn.Module):
    """LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False
    (nanoGPT's model.py, verbatim)."""

    def __init__(self, ndim: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class MaskedAttention(nn.Module):
    """Causal self-attention through F.scaled_dot_product_attention with an explicit mask:
    ``buffer`` a registered bool tril sliced to T, ``additive`` a registered float mask of
    0 / -inf, ``made`` a bool tril built in forward, ``made additive`` a -inf triu built in
    forward."""

    def __init__(self, mask: str, bias: bool = True) -> None:
        super().__init__()
        self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD, bias=bias)
        self.c_proj = nn.Linear(N_EMBD, N_EMBD, bias=bias)
        self.mask_kind = mask
        if mask == "buffer":
            self.register_buffer("mask", torch.tril(torch.ones(BLOCK, BLOCK, dtype=torch.bool))
                                 .view(1, 1, BLOCK, BLOCK))
        elif mask == "additive":
            self.register_buffer("mask", torch.full((BLOCK, BLOCK), float("-inf")).triu(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(N_EMBD, dim=2)
        k = k.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)
        q = q.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)
        v = v.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)
        if self.mask_kind == "buffer":
            mask = self.mask[:, :, :T, :T]
        elif self.mask_kind == "additive":
            mask = self.mask[:T, :T]
        elif self.mask_kind == "made":
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        else:
            mask = torch.triu(torch.full((T, T), float("-inf"), device=x.device), diagonal=1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0,
                                           scale=1.0 / math.sqrt(k.size(-1)))
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, mask: str, bias: bool) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(N_EMBD, bias=bias)
        self.attn = MaskedAttention(mask, bias)
        self.ln_2 = LayerNorm(N_EMBD, bias=bias)
        self.mlp = nn.Sequential(nn.Linear(N_EMBD, 4 * N_EMBD, bias=bias), nn.GELU(),
                                 nn.Linear(4 * N_EMBD, N_EMBD, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MiniGPT(nn.Module):
    """Token and position embeddings, pre-norm blocks, a final LayerNorm and a tied head."""

    def __init__(self, mask: str = "buffer", bias: bool = False, vocab: int = 32) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, N_EMBD), wpe=nn.Embedding(BLOCK, N_EMBD),
            h=nn.ModuleList([Block(mask, bias) for _ in range(2)]), ln_f=LayerNorm(N_EMBD, bias=bias)))
        self.lm_head = nn.Linear(N_EMBD, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(0, idx.size(1), dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def _randomise(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 else 0.0))


def _check(model: nn.Module, shape: tuple[int, ...], x: torch.Tensor, dtype: str = "float32",
           blocks: bool = False) -> Document:
    """The family checks: parameter count, strict load into the exported code, outputs."""
    _randomise(model)
    doc = import_model(model, shape, dtype=dtype, blocks=blocks)
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    assert analysis.networks[doc.main.name].total_params == sum(p.numel() for p in model.parameters())
    source = generate(doc).source
    compile(source, "exported.py", "exec")  # valid Python as written to disk
    exported = exec_source(source)["build_model"]().eval()
    exported.load_state_dict(model.state_dict(), strict=True)
    assert set(exported.state_dict()) == set(model.state_dict())
    with torch.no_grad():
        assert (exported(x) - model.eval()(x)).abs().max().item() <= 1e-4
    return doc


def _tokens() -> torch.Tensor:
    return torch.randint(0, 32, (3, T), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("bias", [False, True], ids=["bias=False", "bias=True"])
@pytest.mark.parametrize("blocks", [False, True], ids=["flat", "blocks"])
def test_nanogpt_layernorm_with_optional_bias_is_a_layernorm_with_the_original_keys(bias: bool, blocks: bool) -> None:
    model = MiniGPT(bias=bias)
    doc = _check(model, (T,), _tokens(), "int64", blocks=blocks)
    keys = set(model.state_dict())
    assert "transformer.h.0.ln_1.weight" in keys and ("transformer.h.0.ln_1.bias" in keys) == bias
    net = doc.network("Block") if blocks else doc.main
    assert net is not None
    (ln,) = [n for n in net.nodes if n.id in ("ln_1", "transformer.h.0.ln_1")]
    assert ln.type == "LayerNorm" and ln.params.get("bias", True) == bias
    assert not [n for n in doc.main.nodes if n.type == "Parameter" and "ln" in n.id]  # no loose weights
    if blocks:
        assert "LayerNorm" not in doc.meta["import"]["blocks"]  # a layer, not a block of one node


def test_torch_layernorm_without_bias_maps_too() -> None:
    model = nn.Sequential(nn.Linear(N_EMBD, N_EMBD), nn.LayerNorm(N_EMBD, bias=False))
    doc = _check(model, (T, N_EMBD), torch.randn(3, T, N_EMBD))
    assert doc.main.node("1") is not None and doc.main.node("1").params["bias"] is False  # type: ignore[union-attr]
    assert "1.bias" not in model.state_dict()


@pytest.mark.parametrize("mask", ["buffer", "additive"])
def test_sdpa_with_a_registered_mask_sliced_to_the_sequence(mask: str) -> None:
    model = MiniGPT(mask=mask, bias=True)
    doc = _check(model, (T,), _tokens(), "int64")
    nodes = doc.main.node_map()
    buffer = nodes["transformer.h.0.attn.mask"]
    assert buffer.type == "Parameter" and buffer.params["kind"] == "buffer"
    assert buffer.params.get("dtype", "float32") == ("bool" if mask == "buffer" else "float32")
    (attn,) = [n for n in doc.main.nodes if n.type == "ScaledDotProductAttention" and n.id.startswith("transformer.h.0")]
    (wire,) = [e for e in doc.main.in_edges(attn.id) if e.dst_port == 3]  # the attn_mask port
    assert nodes[wire.src].type == "Index" and nodes[wire.src].params["index"].endswith(f":{T}, :{T}")
    assert attn.params["scale"] == pytest.approx(1 / math.sqrt(N_EMBD // N_HEAD))
    assert "transformer.h.0.attn.mask" in MiniGPT(mask=mask).state_dict()
    # a fresh build (training from scratch) starts with the model's own mask, not zeros
    assert buffer.params["init"] == ("tril" if mask == "buffer" else "causal_inf")
    fresh = exec_source(generate(doc).source)["build_model"]().state_dict()["transformer.h.1.attn.mask"]
    assert torch.equal(fresh, model.state_dict()["transformer.h.1.attn.mask"])


@pytest.mark.parametrize("mask", ["made", "made additive"])
def test_a_causal_mask_made_in_forward_is_is_causal(mask: str) -> None:
    doc = _check(MiniGPT(mask=mask), (T,), _tokens(), "int64")
    attention = [n for n in doc.main.nodes if n.type == "ScaledDotProductAttention"]
    assert len(attention) == 2 and all(n.params["is_causal"] is True for n in attention)
    assert all(len(doc.main.in_edges(n.id)) == 3 for n in attention)  # q, k, v: no mask input


class BandAttention(nn.Module):
    """A mask made in forward that is not causal: each position sees its two neighbours."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.size(1)
        band = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(-1).tril(1)
        return F.scaled_dot_product_attention(x, x, x, attn_mask=band)


def test_a_mask_made_in_forward_that_is_not_causal_is_refused_precisely() -> None:
    with pytest.raises(UnsupportedModelError) as err:
        import_model(BandAttention(), (T, N_EMBD))
    (problem,) = err.value.problems
    assert problem.startswith("F.scaled_dot_product_attention: an attn_mask made in forward from constants that "
                              "is not the causal mask")
    assert "register it as a buffer" in problem and "test_import_model_ops.py" in problem


class KeywordChildren(nn.Module):
    """Children registered under names that are Python keywords or no identifiers."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("lambda", nn.Linear(N_EMBD, N_EMBD))
        self.add_module("class", nn.Sequential(nn.Linear(N_EMBD, N_EMBD), nn.GELU()))
        self.add_module("1x1", nn.Conv1d(T, T, 1))
        self.add_module("my-layer", LayerNorm(N_EMBD, bias=False))
        self.heads = nn.ModuleDict({"def": nn.Linear(N_EMBD, 4), "not ok": nn.Linear(N_EMBD, 4)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, "lambda")(x)
        x = getattr(self, "class")(x)
        x = getattr(self, "1x1")(x)
        x = getattr(self, "my-layer")(x)
        return self.heads["def"](x) + self.heads["not ok"](x)


@pytest.mark.parametrize("blocks", [False, True], ids=["flat", "blocks"])
def test_children_named_with_keywords_keep_their_keys_in_valid_code(blocks: bool) -> None:
    model = KeywordChildren()
    doc = _check(model, (T, N_EMBD), torch.randn(3, T, N_EMBD), blocks=blocks)
    assert {"lambda.weight", "class.0.weight", "1x1.weight", "my-layer.weight", "heads.def.weight",
            "heads.not ok.weight"} <= set(model.state_dict())
    assert not doc.meta["import"]["key_map"]  # nothing renamed
    source = generate(doc).source
    assert 'getattr(self, "lambda")' in source and 'getattr(self, "class")[0]' in source


class FixedDropoutAttention(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(x, x, x, None, 0.25, True, scale=0.5)


def test_sdpa_keeps_dropout_p_and_scale_positional_or_keyword() -> None:
    # dropout_p > 0 applies even in eval mode in torch's function, so the outputs are
    # random: only the structure is imported here (verify=False)
    doc = import_model(FixedDropoutAttention(), (T, N_EMBD), verify=False)
    (attn,) = [n for n in doc.main.nodes if n.type == "ScaledDotProductAttention"]
    assert attn.params == {"dropout_p": 0.25, "is_causal": True, "scale": 0.5}


class SharedNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln = LayerNorm(N_EMBD, bias=True)
        self.fc = nn.Linear(N_EMBD, N_EMBD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.fc(self.ln(x)))


def test_a_functional_layernorm_called_twice_is_refused_like_any_shared_layer() -> None:
    with pytest.raises(UnsupportedModelError, match="the same module is called twice, sharing its weights"):
        import_model(SharedNorm(), (T, N_EMBD))
