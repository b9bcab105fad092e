"""Attention and transformer layers (batch-first, [B, T, D])."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graph_compiler.catalog._helpers import inferred, match_inferred, need_rank, size
from graph_compiler.catalog.spec import (
    CountFn,
    NodeSpec,
    Param,
    Port,
    ResolveFn,
    Shape,
    ShapeError,
    call_expr,
    fmt_shape,
)

CAT = "Attention"
_SEQ = "[B, T, D]"


def _heads_divide(type_name: str, d: int, heads: int, heads_param: str) -> None:
    if d % heads:
        raise ShapeError(f"{type_name}: model size {d} is not divisible by {heads_param}={heads}", heads_param)


def _causal(p: dict[str, Any], seq: str | None) -> str:
    return f"causal_mask({seq})"


def _mha_cost(e: int, bias: bool, b: int, t: int, s: int) -> tuple[int, int]:
    """nn.MultiheadAttention: in/out projections plus the two attention products, for
    queries of length t and keys of length s (torch.utils.flop_counter's count: masks and
    softmax are free, each product is 2 x m x n x k)."""
    n = 4 * e * e + (4 * e if bias else 0)
    flops = b * (2 * t * e * e + 2 * 2 * s * e * e + 2 * 2 * t * s * e + 2 * t * e * e)
    return n, flops


def _ff_cost(e: int, f: int, b: int, t: int) -> tuple[int, int]:
    """The feed-forward part of a transformer layer: Linear(e, f) then Linear(f, e)."""
    return e * f + f + f * e + e, b * 2 * (2 * t * e * f)


# ---------------------------------------------------------------- MultiheadAttention

_MHA_PARAMS = (
    inferred("embed_dim", "model size D (inferred)"),
    size("num_heads", "attention heads (must divide D)", default=1),
    Param("dropout", "float", 0.0, "dropout on attention weights", min=0.0, max=1.0),
    Param("bias", "bool", True, "learn projection biases"),
    Param("causal", "bool", False, "mask future positions (for language models)"),
)


def _mha_init(p: dict[str, Any]) -> str:
    return call_expr("nn.MultiheadAttention", _MHA_PARAMS, p, skip=("causal",))[:-1] + ", batch_first=True)"


def _mha_resolve(p: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    q = ins[0]
    need_rank("MultiheadAttention", q, (3,), _SEQ)
    p = match_inferred(p, "embed_dim", q[-1], "MultiheadAttention expects size {given}, gets " + fmt_shape(q))
    _heads_divide("MultiheadAttention", p["embed_dim"], p["num_heads"], "num_heads")
    k = ins[1] if len(ins) > 1 and ins[1] is not None else q
    v = ins[2] if len(ins) > 2 and ins[2] is not None else k
    for name, s in (("key", k), ("value", v)):
        if len(s) != 3 or s[-1] != p["embed_dim"]:
            raise ShapeError(f"MultiheadAttention: {name} {fmt_shape(s)} must be [B, S, {p['embed_dim']}]")
    if k[1] != v[1]:
        raise ShapeError(f"MultiheadAttention: key {fmt_shape(k)} and value {fmt_shape(v)} lengths differ")
    if p["causal"] and k[1] != q[1]:
        raise ShapeError("MultiheadAttention: a causal mask needs query and key of the same length", "causal")
    return p


def _mha_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    q = ins[0]
    k = ins[1] if len(ins) > 1 and ins[1] else q
    v = ins[2] if len(ins) > 2 and ins[2] else k
    mask = f", attn_mask={_causal(p, q)}" if p["causal"] else ""
    return [f"{outs[0] or '_'}, _ = {mod}({q}, {k}, {v}{mask}, need_weights=False)"]


def _mha_count(p: dict[str, Any], ins: Sequence[Shape | None], outs: Sequence[Shape]) -> tuple[int, int]:
    q = ins[0]
    k = ins[1] if len(ins) > 1 and ins[1] is not None else q
    assert q is not None and k is not None  # counts run only once the inputs have shapes
    return _mha_cost(p["embed_dim"], p["bias"], q[0], q[1], k[1])


# ---------------------------------------------------------------- transformer layers


def _layer_params(with_causal_default: bool) -> tuple[Param, ...]:
    return (
        inferred("d_model", "model size D (inferred)"),
        size("nhead", "attention heads (must divide D)", default=2),
        Param("dim_feedforward", "int", 2048, "hidden size of the feed-forward part", min=1, max=1 << 24),
        Param("dropout", "float", 0.1, "dropout rate", min=0.0, max=1.0),
        Param("activation", "choice", "relu", "feed-forward activation", choices=("relu", "gelu")),
        Param("norm_first", "bool", False, "pre-norm (more stable for deep stacks)"),
        Param("causal", "bool", with_causal_default, "mask future positions"),
    )


_ENC_PARAMS = _layer_params(False)
_DEC_PARAMS = _layer_params(True)


def _layer_init(cls: str, params: tuple[Param, ...]) -> Callable[[dict[str, Any]], str]:
    def init(p: dict[str, Any]) -> str:
        return call_expr(f"nn.{cls}", params, p, skip=("causal",))[:-1] + ", batch_first=True)"
    return init


def _layer_resolve(cls: str, n_inputs: int) -> ResolveFn:
    def resolve(p: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        need_rank(cls, ins[0], (3,), _SEQ)
        p = match_inferred(p, "d_model", ins[0][-1], cls + " expects d_model {given}, gets " + fmt_shape(ins[0]))
        _heads_divide(cls, p["d_model"], p["nhead"], "nhead")
        if n_inputs == 2:
            mem = ins[1]
            if len(mem) != 3 or mem[-1] != p["d_model"]:
                raise ShapeError(f"{cls}: memory {fmt_shape(mem)} must be [B, S, {p['d_model']}]")
        return p
    return resolve


def _enc_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    mask = f", src_mask={_causal(p, ins[0])}, is_causal=True" if p["causal"] else ""
    return [f"{outs[0] or '_'} = {mod}({ins[0]}{mask})"]


def _layer_count(n_inputs: int) -> CountFn:
    def count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
        e, (b, t) = p["d_model"], ins[0][:2]
        n, flops = _mha_cost(e, True, b, t, t)
        if n_inputs == 2:  # cross-attention to the memory
            n2, f2 = _mha_cost(e, True, b, t, ins[1][1])
            n, flops = n + n2, flops + f2
        n_ff, f_ff = _ff_cost(e, p["dim_feedforward"], b, t)
        norms = (n_inputs + 1) * 2 * e  # LayerNorm weight and bias after each sub-block
        return n + n_ff + norms, flops + f_ff
    return count


def _dec_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    mask = f", tgt_mask={_causal(p, ins[0])}, tgt_is_causal=True" if p["causal"] else ""
    return [f"{outs[0] or '_'} = {mod}({ins[0]}, {ins[1]}{mask})"]


def _pe_resolve(p: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    need_rank("PositionalEncoding", ins[0], (3,), _SEQ)
    p = match_inferred(p, "d_model", ins[0][-1], "PositionalEncoding expects d_model {given}, gets " + fmt_shape(ins[0]))
    if ins[0][1] > p["max_len"]:
        raise ShapeError(f"PositionalEncoding: sequence length {ins[0][1]} exceeds max_len={p['max_len']}", "max_len")
    return p


_PE_PARAMS = (
    inferred("d_model", "model size D (inferred)"),
    Param("max_len", "int", 512, "longest sequence supported", min=1, max=1 << 20),
    Param("kind", "choice", "sinusoidal", "fixed sinusoids or a learned table",
          choices=("sinusoidal", "learned")),
    Param("dropout", "float", 0.0, "dropout after adding positions", min=0.0, max=1.0),
)

SPECS = [
    NodeSpec(
        "MultiheadAttention", CAT,
        "Scaled dot-product attention. Feed port 0 only for self-attention, or query/key/value.",
        params=_MHA_PARAMS,
        inputs=(Port("query"), Port("key", "defaults to the query", optional=True),
                Port("value", "defaults to the key", optional=True)),
        init=_mha_init, forward=_mha_forward, resolve=_mha_resolve,
        shape=lambda p, ins: [ins[0]], count=_mha_count, support=("causal_mask",),
        aliases=("self-attention", "mha", "transformer"),
    ),
    NodeSpec(
        "TransformerEncoderLayer", CAT, "Self-attention plus feed-forward, with residuals and norms.",
        params=_ENC_PARAMS, init=_layer_init("TransformerEncoderLayer", _ENC_PARAMS),
        forward=_enc_forward, resolve=_layer_resolve("TransformerEncoderLayer", 1),
        shape=lambda p, ins: [ins[0]], count=_layer_count(1), support=("causal_mask",),
        aliases=("transformer", "encoder", "bert"),
    ),
    NodeSpec(
        "TransformerDecoderLayer", CAT,
        "Masked self-attention, cross-attention to memory, and feed-forward.",
        params=_DEC_PARAMS, inputs=(Port("tgt", "the sequence being decoded"), Port("memory", "the encoder output")),
        init=_layer_init("TransformerDecoderLayer", _DEC_PARAMS), forward=_dec_forward,
        resolve=_layer_resolve("TransformerDecoderLayer", 2),
        shape=lambda p, ins: [ins[0]], count=_layer_count(2), support=("causal_mask",),
        aliases=("transformer", "decoder", "gpt"),
    ),
    NodeSpec(
        "PositionalEncoding", CAT, "Adds position information to a [B, T, D] sequence.",
        params=_PE_PARAMS, module="PositionalEncoding", resolve=_pe_resolve,
        shape=lambda p, ins: [ins[0]],
        count=lambda p, i, o: (p["max_len"] * p["d_model"] if p["kind"] == "learned" else 0, 0),
        support=("PositionalEncoding",), aliases=("position", "transformer"),
    ),
]
