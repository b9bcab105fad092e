"""`netwright import` on what people write in their own model files, beyond the published
families: children named like builtins or ``self``, constant slices of registered buffers
used in arithmetic (sinusoidal positions, rotary caches), hand-written RMSNorm, and the
messages for what still cannot be imported.

Each model is checked like the families: parameter count, the original state_dict loading
with strict=True into the exported code (keys unchanged), and eval outputs within 1e-4.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.cli import main
from graph_compiler.codegen import generate
from graph_compiler.compile import exec_source
from graph_compiler.interop.fx_import import UnsupportedModelError, import_model, import_state_dict
from tests.test_import_model_ops import BLOCK, T, _check, _randomise

D = 8


class OddNames(nn.Module):
    """Children whose names are legal attributes but also builtins, soft keywords, ruff's
    ambiguous letters, underscores or longer than a generated identifier."""

    def __init__(self) -> None:
        super().__init__()
        self.self = nn.Linear(D, 16)
        self.input = nn.Linear(16, 16)
        self.type_ = nn.Linear(16, 16)
        self.add_module("match", nn.Linear(16, 16))
        self.l = nn.Linear(16, 16)  # noqa: E741
        self._proj = nn.Linear(16, 16)
        self.a_rather_long_submodule_name_for_the_output = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.self(x))
        x = self.input(x)
        x = self.l(self.match(self.type_(x)))
        return self.a_rather_long_submodule_name_for_the_output(self._proj(x))


def test_children_named_like_builtins_or_self_keep_their_keys() -> None:
    model = OddNames()
    doc = _check(model, (D,), torch.randn(4, D))
    assert {"self.weight", "input.weight", "match.weight", "l.weight", "_proj.weight",
            "a_rather_long_submodule_name_for_the_output.weight"} <= set(model.state_dict())
    assert not doc.meta["import"]["key_map"]
    assert not [n for n in doc.meta["import"]["notes"] if "renamed" in n]


class PositionalEncoding(nn.Module):
    """The PyTorch tutorial's sinusoidal positions: a buffer sliced to the sequence."""

    def __init__(self, d: int = 16, max_len: int = 64) -> None:
        super().__init__()
        pe = torch.zeros(1, max_len, d)
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[0, :, 0::2] = torch.sin(pos * div)
        pe[0, :, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, : x.size(1)]


class TutorialLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(32, 16)
        self.pos = PositionalEncoding()
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pos(self.emb(x)).mean(1))


def test_a_sliced_position_buffer_added_to_the_input_is_a_cut_parameter() -> None:
    model = TutorialLM()
    doc = _check(model, (10,), torch.randint(0, 32, (3, 10)), dtype="int64")
    (pe,) = [n for n in doc.main.nodes if n.type == "Parameter"]
    assert pe.id == "pos.pe" and pe.params["kind"] == "buffer"
    cuts = [n for n in doc.main.nodes if n.type == "Index"]
    assert [n.params["index"] for n in cuts] == [":, :10, :"]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    """Hugging Face Llama's rotary cache (transformers' LlamaRotaryEmbedding before 4.38):
    non-persistent cos / sin tables, sliced to the sequence."""

    def __init__(self, dim: int, base: int = 10000, max_pos: int = 64) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        t = torch.arange(max_pos).float()
        emb = torch.cat((torch.outer(t, inv_freq), torch.outer(t, inv_freq)), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(self, x: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cos_cached[:seq_len], self.sin_cached[:seq_len]


class RotaryAttention(nn.Module):
    def __init__(self, d: int = 16, h: int = 2) -> None:
        super().__init__()
        self.h, self.hd = h, d // h
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.rotary_emb = Rotary(self.hd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        cos, sin = self.rotary_emb(v, seq_len=T)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class RotaryStack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([RotaryAttention(), RotaryAttention()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer(x)
        return x


@pytest.mark.parametrize("blocks", [False, True], ids=["flat", "blocks"])
def test_hf_rotary_cos_sin_slices_multiply_the_heads(blocks: bool) -> None:
    model = RotaryStack()
    _randomise(model)
    x = torch.randn(3, 12, 16)
    doc = import_model(model, (12, 16), blocks=blocks)
    kept = [f"layers.{i}.rotary_emb.{n}_cached" for i in (0, 1) for n in ("cos", "sin")]
    assert doc.meta["import"]["buffers"] == kept
    assert any("persistent=False" in note for note in doc.meta["import"]["notes"])
    analysis = Analyzer().analyze(doc)
    assert analysis.ok and analysis.networks[doc.main.name].total_params == sum(p.numel() for p in model.parameters())
    exported = exec_source(generate(doc).source)["build_model"]().eval()
    # The graph saves the cos / sin tables the model computes: the original keys, plus those.
    exported.load_state_dict(import_state_dict(model, doc), strict=True)
    assert set(exported.state_dict()) == set(model.state_dict()) | set(kept)
    with torch.no_grad():
        assert (exported(x) - model.eval()(x)).abs().max().item() <= 1e-4


class MetaRMSNorm(nn.Module):
    """Meta's Llama RMSNorm, verbatim (llama/model.py)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self._norm(x.float()).type_as(x)
        return output * self.weight


class SqrtRMSNorm(nn.Module):
    """The other common spelling: divide by torch.sqrt."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * (x / torch.sqrt(torch.mean(x**2, dim=-1, keepdim=True) + self.eps))


class NormedMLP(nn.Module):
    def __init__(self, norm: type[nn.Module]) -> None:
        super().__init__()
        self.fc = nn.Linear(D, 16)
        self.norm = norm(16)
        self.out = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(self.fc(x)))


@pytest.mark.parametrize("norm", [MetaRMSNorm, SqrtRMSNorm], ids=["rsqrt", "sqrt"])
def test_hand_written_rmsnorm_keeps_its_weight_key(norm: type[nn.Module]) -> None:
    model = NormedMLP(norm)
    doc = _check(model, (5, D), torch.randn(3, 5, D))
    assert "norm.weight" in model.state_dict()
    ops = {n.params["op"] for n in doc.main.nodes if n.type == "UnaryOp"}
    assert ops == {"rsqrt" if norm is MetaRMSNorm else "sqrt"}
    casts = [note for note in doc.meta["import"]["notes"] if note.startswith("dropped .")]
    if norm is MetaRMSNorm:
        assert [c.split(" at ")[0] for c in casts] == ["dropped .float(), a cast of a float32 tensor to float32",
                                                       "dropped .type_as(), a cast of a float32 tensor to float32"]
        assert all("test_import_user_code.py" in c for c in casts)
    else:
        assert not casts


class TokenCast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.float())


def test_a_cast_that_changes_the_dtype_is_refused_in_one_line() -> None:
    with pytest.raises(UnsupportedModelError) as err:
        import_model(TokenCast(), (4,), dtype="int64")
    (problem,) = err.value.problems
    assert problem.startswith("Tensor.float(): a dtype cast (torch.int64 to torch.float32); the graph computes in "
                              "float32 [test_import_user_code.py:")


def meta_rotary(xq: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Meta Llama's apply_rotary_emb (real-valued form): unbind and stack have no node."""
    xq_r, xq_i = xq.float().reshape(xq.shape[:-1] + (-1, 2)).unbind(-1)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack([xq_r * cos - xq_i * sin, xq_r * sin + xq_i * cos], dim=-1).flatten(3)
    return out.type_as(xq)


class MetaAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.wq = nn.Linear(16, 16, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return meta_rotary(self.wq(x).view(b, t, 2, 8), cos, sin).view(b, t, 16)


class MetaBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attention = MetaAttention()
        self.attention_norm = MetaRMSNorm(16)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        return x + self.attention(self.attention_norm(x), cos, sin)


class MetaLlama(nn.Module):
    def __init__(self, n: int = 4) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(32, 16)
        self.layers = nn.ModuleList([MetaBlock() for _ in range(n)])
        freqs = torch.outer(torch.arange(32).float(), 1.0 / 10000 ** (torch.arange(0, 8, 2).float() / 8))
        self.register_buffer("freqs_cos", torch.cos(freqs), persistent=False)
        self.register_buffer("freqs_sin", torch.sin(freqs), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.tok_embeddings(tokens)
        seqlen = tokens.shape[1]
        cos, sin = self.freqs_cos[:seqlen], self.freqs_sin[:seqlen]
        for layer in self.layers:
            h = layer(h, cos, sin)
        return h


@pytest.mark.parametrize("blocks", [False, True], ids=["flat", "blocks"])
def test_what_repeats_in_every_layer_is_listed_once_with_its_module_path(blocks: bool) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        import_model(MetaLlama(), (T,), dtype="int64", blocks=blocks)
    line = inspect.getsourcelines(meta_rotary)[1]
    assert err.value.problems == [
        "Tensor.unbind(): no catalog node does this (in layers.0.attention and 3 more) "
        f"[test_import_user_code.py:{line + 2}: xq_r, xq_i = xq.float().reshape(xq.shape[:-1] + (-1, 2)).unbind(-1)]",
        "torch.stack: no catalog node does this (in layers.0.attention and 3 more) "
        f"[test_import_user_code.py:{line + 4}: out = torch.stack([xq_r * cos - xq_i * sin, xq_r * sin + xq_i * cos], "
        "dim=-1).flatten(3)]"]
    assert "tensor(" not in str(err.value) and len(str(err.value)) < 600


def test_token_data_without_a_task_gets_token_advice_for_an_embedding_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An imported Embedding model trained on integer windows in an npz without "task":
    the windows load as float features, and the advice is to name the task (setting the
    Input to float32 would break the Embedding)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "tok.npz", x=rng.integers(0, 32, size=(64, 10)), y=rng.integers(0, 3, size=64))
    doc = import_model(TutorialLM(), (10,), dtype="int64")
    doc.training = {"dataset": {"npz": "tok.npz"}, "epochs": 1, "batch_size": 16}
    graph = tmp_path / "tut.json"
    document.save(doc, graph)
    assert main(["train", str(graph), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert ("the Input of network 'TutorialLM' takes int64 token ids but dataset 'tok' has float features (the Input "
            "feeds Embedding 'emb', which needs token ids); the dataset's x holds integers, read as float "
            "features for task 'classification': set the dataset's \"task\" to \"sequence_classification\" (one "
            "label per sequence) or \"language_model\" (next-token targets), so integer x stays int64 token ids") in err
    assert "set the Input's dtype" not in err
    doc.training["dataset"] = {"npz": "tok.npz", "task": "sequence_classification"}
    document.save(doc, graph)
    assert main(["train", str(graph), "--quiet"]) == 0


class HiddenMask(nn.Module):
    """A causal mask registered with persistent=False: not in the state dict, and the
    graph's buffer must not be either (its tril init recreates it)."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)
        self.register_buffer("mask", torch.ones(BLOCK, BLOCK, dtype=torch.bool).tril(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(16, dim=2)
        q, k, v = (q.view(B, T, 2, 8).transpose(1, 2), k.view(B, T, 2, 8).transpose(1, 2),
                   v.view(B, T, 2, 8).transpose(1, 2))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask[:T, :T])
        return y.transpose(1, 2).reshape(B, T, C)


def test_a_non_persistent_mask_buffer_stays_out_of_the_state_dict() -> None:
    doc = _check(HiddenMask(), (T, 16), torch.randn(3, T, 16))
    (mask,) = [n for n in doc.main.nodes if n.type == "Parameter"]
    assert mask.params["persistent"] is False and mask.params["init"] == "tril"
    assert "buffers" not in doc.meta["import"]


class ReadsItsLayersBias(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + self.fc.bias


def test_a_layers_own_tensor_read_directly_is_refused_not_renamed() -> None:
    with pytest.raises(UnsupportedModelError) as err:
        import_model(ReadsItsLayersBias(), (4,))
    (problem,) = err.value.problems
    line = inspect.getsourcelines(ReadsItsLayersBias.forward)[1] + 1
    assert problem == ("operator.add: reads fc.bias directly, though layer fc owns it; each Netwright node owns its "
                       "own weights (compute with the layer's output, or keep the tensor in a module of its own) "
                       f"[test_import_user_code.py:{line}: return self.fc(x) + self.fc.bias]")
