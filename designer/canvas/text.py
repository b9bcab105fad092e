"""The short texts a node shows: key params ('16 ch, 3x3'), counts ('1.2k'), shapes.
Pure functions, no Qt."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph_compiler.analysis import TensorType
from graph_compiler.catalog import REGISTRY, fmt_shape

_SHAPE_TEXTS: dict[TensorType, str] = {}


def shape_text(t: TensorType) -> str:
    """``str(t)``, remembered: a big graph shows the same few shapes on thousands of
    nodes and wires, and formatting one costs several times looking it up."""
    text = _SHAPE_TEXTS.get(t)
    if text is None:
        if len(_SHAPE_TEXTS) > 10_000:
            _SHAPE_TEXTS.clear()
        text = _SHAPE_TEXTS[t] = str(t)
    return text


def fmt_count(n: int) -> str:
    if n < 1000:
        return str(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.1f}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return str(n)


def _k(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        if len(set(v)) == 1:
            v = v[0]
        else:
            return "x".join(str(x) for x in v)
    return f"{v}x{v}" if isinstance(v, int) else str(v)


def _k1(v: Any) -> str:
    return str(v[0]) if isinstance(v, (list, tuple)) and len(set(v)) == 1 else str(v)


def _stride(p: dict[str, Any], nd: int = 2) -> str:
    s = p.get("stride")
    if s in (None, 1, [1] * nd, (1,) * nd) or s == p.get("kernel_size"):
        return ""
    return f", /{_k1(s)}"


def _conv(p: dict[str, Any]) -> str:
    return f"{p.get('out_channels', '?')} ch, {_k(p.get('kernel_size', '?'))}{_stride(p)}"


def _batched(sizes: Any) -> str:
    """A target shape after the batch dimension, as the node shows it: [B, 4, -1]."""
    return "[B, " + ", ".join(map(str, sizes)) + "]"


_RULES: dict[str, Callable[[dict[str, Any]], str]] = {
    "Input": lambda p: ("[" + ", ".join(map(str, p.get("shape", []))) + "]"
                        + (" int64" if p.get("dtype") == "int64" else "")),
    "Linear": lambda p: f"{p.get('in_features', '?')} → {p.get('out_features', '?')}",
    "Conv1d": _conv, "Conv2d": _conv, "ConvTranspose2d": _conv,
    "MaxPool1d": lambda p: f"{_k1(p.get('kernel_size', '?'))}{_stride(p, 1)}",
    "MaxPool2d": lambda p: f"{_k(p.get('kernel_size', '?'))}{_stride(p)}",
    "AvgPool2d": lambda p: f"{_k(p.get('kernel_size', '?'))}{_stride(p)}",
    "AdaptiveAvgPool1d": lambda p: f"→ {_k1(p.get('output_size', 1))}",
    "AdaptiveAvgPool2d": lambda p: f"→ {_k(p.get('output_size', 1))}",
    "Dropout": lambda p: f"p={p.get('p', 0.5)}",
    "Embedding": lambda p: f"{p.get('num_embeddings', '?')} × {p.get('embedding_dim', '?')}",
    "RNN": lambda p: f"{p.get('hidden_size', '?')} hidden",
    "LSTM": lambda p: f"{p.get('hidden_size', '?')} hidden" + (", bi" if p.get("bidirectional") else ""),
    "MultiheadAttention": lambda p: f"{p.get('num_heads', 1)} heads",
    "TransformerEncoderLayer": lambda p: f"{p.get('nhead', '?')} heads, ff {p.get('dim_feedforward', '?')}",
    "Concat": lambda p: f"dim {p.get('dim', 1)}",
    "Chunk": lambda p: f"{p.get('chunks', 2)} pieces, dim {p.get('dim', 1)}",
    "Reshape": lambda p: _batched(p.get("shape", [])),
    "Upsample": lambda p: f"×{p.get('scale_factor', 2)} {p.get('mode', 'nearest')}",
    "LeakyReLU": lambda p: f"slope {p.get('negative_slope', 0.01)}",
    "GroupNorm": lambda p: f"{p.get('num_groups', 1)} groups",
}
_RULES["GRU"] = _RULES["LSTM"]
_RULES["TransformerDecoderLayer"] = _RULES["TransformerEncoderLayer"]

_SCALAR = {"add": "x + {v}", "sub": "x - {v}", "mul": "x × {v}", "div": "x / {v}", "rsub": "{v} - x",
           "rdiv": "{v} / x", "pow": "x ^ {v}"}

# The nodes imported models use (tensor plumbing, learned tensors, attention pieces).
_RULES.update({
    # Same face as their kin above.
    "AdaptiveMaxPool1d": _RULES["AdaptiveAvgPool1d"],
    "AdaptiveMaxPool2d": _RULES["AdaptiveAvgPool2d"],
    "Dropout2d": _RULES["Dropout"],
    "StochasticDepth": lambda p: f"p={p.get('p', 0.5)}, {p.get('mode', 'row')}",
    "ChannelShuffle": lambda p: f"{p.get('groups', 2)} groups",
    "Transpose": lambda p: f"{p.get('dim0', 1)} ↔ {p.get('dim1', 2)}",
    "Permute": lambda p: "(" + ", ".join(map(str, p.get("dims", []))) + ")",
    "Index": lambda p: f"[{p.get('index', '')}]",
    "Expand": lambda p: _batched(p.get("size", [])),
    "Parameter": lambda p: ("[" + ", ".join(map(str, p.get("shape", []))) + "]"
                            + (" buffer" if p.get("kind") == "buffer" else "")),
    "ScalarOp": lambda p: _SCALAR.get(p.get("op", "mul"), "?").format(v=p.get("value", 1.0)),
    "UnaryOp": lambda p: str(p.get("op", "neg")),
    "Reduce": lambda p: f"{p.get('op', 'sum')}, dim {p.get('dim', 1)}",
    "Mean": lambda p: f"dim {p.get('dim', 1)}",
    "Softmax": lambda p: f"dim {p.get('dim', -1)}",
    "ScaledDotProductAttention": lambda p: "causal" if p.get("is_causal") else "",
    "MaskedFill": lambda p: "mask == 0" if p.get("fill_where", "zero") == "zero" else "mask != 0",
    "Split": lambda p: ", ".join(map(str, p.get("split_sizes", []))) + f" on dim {p.get('dim', 1)}",
    "Upsample": lambda p: (f"→ {_k(p['size'])}" if p.get("size") is not None
                           else f"×{p.get('scale_factor', 2)}") + f" {p.get('mode', 'nearest')}",
})


def key_params(type_name: str, params: dict[str, Any]) -> str:
    """A one-line summary of the params that matter; '' when there is nothing to say."""
    rule = _RULES.get(type_name)
    if rule is None:
        if type_name in REGISTRY:
            return ""
        # A block node: its parameter values, which tell its uses apart.
        return block_key(params)
    try:
        return rule(params)
    except Exception:  # noqa: BLE001 - a bad param value must not break painting
        return ""


def short_param_name(name: str, level: int = 1) -> str:
    """Level 1: ``in_channels`` -> ``in_ch`` (each word but the first cut to two letters,
    digits kept); level 2: ``ic`` (initials, digits kept). A one-word name stays whole."""
    words = [w for w in name.split("_") if w]
    if len(words) < 2 or level <= 0:
        return name
    if level >= 2:
        return "".join(w[0] + "".join(ch for ch in w[1:] if ch.isdigit()) for w in words)
    cut = [w[:2] + "".join(ch for ch in w[2:] if ch.isdigit()) for w in words[1:]]
    return "_".join([words[0], *cut])


def block_key(params: dict[str, Any], short: int = 0) -> str:
    """A block node's parameter values (``in_channels=16, stride=2``); ``short`` 1 or 2:
    with the names shortened (see short_param_name), for a node too narrow for the full
    line (its tooltip has that)."""
    return ", ".join(f"{short_param_name(k, short)}={_k1(v)}" for k, v in params.items())


def shapes_text(shapes: list[tuple[int, ...]] | None) -> str:
    if not shapes:
        return ""
    return "  ".join(fmt_shape(s) for s in shapes)
