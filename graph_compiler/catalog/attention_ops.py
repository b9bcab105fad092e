"""The pieces attention is written with by hand: scaled dot-product attention over
[B, heads, T, D] tensors, and masking scores before a softmax."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import no_cost, prod
from graph_compiler.catalog.merge import broadcast_shape
from graph_compiler.catalog.spec import NodeSpec, Param, Port, Shape, ShapeError, call_expr, fmt_shape, py

CAT = "Attention"

_SDPA_PARAMS = (
    Param("dropout_p", "float", 0.0, "attention dropout while training", min=0.0, max=1.0),
    Param("is_causal", "bool", False, "mask future positions (each query sees keys up to its own position)"),
    Param("scale", "float", None, "score scale (default 1 / sqrt(D))", nullable=True, min=0.0, max=1e6),
)


def _sdpa_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    q, k, v = ins[0], ins[1], ins[2]
    if len(q) < 3 or len(k) != len(q) or len(v) != len(q):
        raise ShapeError(f"ScaledDotProductAttention expects q, k, v as [B, ..., T, D] of one rank, gets "
                         f"{fmt_shape(q)}, {fmt_shape(k)}, {fmt_shape(v)}")
    if q[-1] != k[-1]:
        raise ShapeError(f"ScaledDotProductAttention: queries {fmt_shape(q)} and keys {fmt_shape(k)} "
                         "differ in their last dim")
    if k[-2] != v[-2]:
        raise ShapeError(f"ScaledDotProductAttention: keys {fmt_shape(k)} and values {fmt_shape(v)} "
                         "differ in length")
    if q[:-2] != k[:-2] or k[:-2] != v[:-2]:
        raise ShapeError(f"ScaledDotProductAttention: the leading dims of {fmt_shape(q)}, {fmt_shape(k)} "
                         f"and {fmt_shape(v)} differ")
    mask = ins[3] if len(ins) > 3 else None
    if mask is not None:
        if params["is_causal"]:
            raise ShapeError("ScaledDotProductAttention: give is_causal or a mask, not both", "is_causal")
        scores = (*q[:-1], k[-2])
        try:
            fits = len(mask) == len(q) and broadcast_shape("", "", [scores, mask]) == scores
        except ShapeError:
            fits = False
        if not fits:
            raise ShapeError(f"ScaledDotProductAttention: mask {fmt_shape(mask)} does not broadcast to the "
                             f"scores {fmt_shape(scores)} (queries x keys)")
    return [(*q[:-1], v[-1])]


def _sdpa_count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    # torch.utils.flop_counter: q @ k^T and attn @ v, 2 * m * n * k each; softmax is free.
    q, k, v = ins[0], ins[1], ins[2]
    lead, length, keys = prod(q[:-2]), q[-2], k[-2]
    return 0, 2 * lead * length * keys * q[-1] + 2 * lead * length * keys * v[-1]


def _sdpa_init(p: dict[str, Any]) -> str | None:
    # Dropout needs to know whether the model is training: a module does. Without it, the
    # plain functional call reads better.
    if p["dropout_p"] == 0.0:
        return None
    return call_expr("ScaledDotProductAttention", _SDPA_PARAMS, p)


def _sdpa_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    out = outs[0] or "_"
    qkv = [v or "None" for v in ins[:3]]
    mask = [f"attn_mask={ins[3]}"] if len(ins) > 3 and ins[3] else []
    if mod is not None:
        return [f"{out} = {mod}({', '.join(qkv + mask)})"]
    options = call_expr("f", _SDPA_PARAMS, p, skip=("dropout_p",))[2:-1]
    args = ", ".join(qkv + mask + ([options] if options else []))
    return [f"{out} = nn.functional.scaled_dot_product_attention({args})"]


def _masked_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    x, mask = ins[0], ins[1]
    if len(mask) != len(x):
        raise ShapeError(f"MaskedFill: mask {fmt_shape(mask)} and input {fmt_shape(x)} differ in rank")
    if params["crop"]:
        if len(x) < 2:
            raise ShapeError("MaskedFill: crop needs inputs with at least 2 dims", "crop")
        short = [i for i in (-2, -1) if mask[i] < x[i]]
        if short:
            raise ShapeError(f"MaskedFill: mask {fmt_shape(mask)} is smaller than input {fmt_shape(x)} in dim "
                             f"{len(x) + short[0]}; it must cover the longest sequence", "crop")
        mask = (*mask[:-2], x[-2], x[-1])
    out = broadcast_shape("MaskedFill", "mask", [x, mask])
    if out != tuple(x):
        raise ShapeError(f"MaskedFill: mask {fmt_shape(mask)} does not broadcast to input {fmt_shape(x)}")
    return [tuple(x)]


def _masked_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    x, mask = ins[0], ins[1]
    if p["crop"]:
        mask = f"{mask}[..., : {x}.size(-2), : {x}.size(-1)]"  # minGPT's bias[:, :, :T, :T]
    cond = f"{mask} == 0" if p["fill_where"] == "zero" else f"{mask} != 0"
    value = 'float("-inf")' if p["value"] is None else py(p["value"])
    return [f"{outs[0] or '_'} = {x}.masked_fill({cond}, {value})"]


SPECS = [
    NodeSpec(
        "ScaledDotProductAttention", CAT,
        "softmax(q k^T / sqrt(D)) v over [B, heads, T, D] queries, keys and values "
        "(torch's fused attention; is_causal for a GPT-style decoder).",
        params=_SDPA_PARAMS,
        inputs=(Port("q", "queries [B, ..., T, D]"), Port("k", "keys [B, ..., S, D]"),
                Port("v", "values [B, ..., S, Dv]"),
                Port("attn_mask", "added to the scores (-inf hides a key); broadcasts to [B, ..., T, S]",
                     optional=True)),
        init=_sdpa_init, forward=_sdpa_fwd, shape=_sdpa_shape, count=_sdpa_count,
        support=("ScaledDotProductAttention",),
        support_used=lambda p: ("ScaledDotProductAttention",) if p["dropout_p"] else (),
        aliases=("sdpa", "flash attention", "attention", "self-attention", "gpt", "causal"),
    ),
    NodeSpec(
        "MaskedFill", CAT,
        "Writes `value` (-inf by default) where the mask is 0 (or non-zero): masks attention scores before "
        "a Softmax. With crop, the mask is cut to the input's last two sizes, as minGPT's "
        "bias[:, :, :T, :T] is.",
        params=(Param("fill_where", "choice", "zero", "fill where the mask is 0 (a tril mask of ones) or "
                      "where it is non-zero", choices=("zero", "nonzero")),
                Param("value", "float", None, "the value written (empty: -inf)", nullable=True,
                      min=-1e30, max=1e30),
                Param("crop", "bool", True, "cut the mask to the input's last two sizes")),
        inputs=(Port("x", "the scores"), Port("mask", "e.g. a Parameter buffer with init tril")),
        forward=_masked_fwd, shape=_masked_shape, count=no_cost,
        aliases=("mask", "causal mask", "attention mask", "masked_fill", "gpt"),
    ),
]
