"""Translations for what real model code does beyond plain layers: arithmetic with
constants, matmul, transpose, expand, indexing, arange positions, fused and masked
attention, learned tensors used directly in forward (class tokens, position tables,
layer scales, causal-mask buffers), and the newer activations and norms.

fx_convert looks a call up in ALL_FUNCTIONS / ALL_METHODS / ALL_MODULES, which merge
these with fx_ops' tables. Tensors a model owns outright reach the translators as
``ParamRef``s; the converter turns one into a Parameter node when it is used as a
tensor, and the causal-mask pattern ``x.masked_fill(self.bias[:, :, :T, :T] == 0, -inf)``
reads them directly.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

from graph_compiler.interop.fx_ops import (
    FUNCTIONS,
    Const,
    METHODS,
    MODULES,
    Port,
    Shape,
    Unsupported,
    _adaptive,
    _getattr,
    _getitem,
    _plain,
    arg,
    dim_index,
    tensor,
)
from graph_compiler.interop.fx_tensors import (
    Cropped,
    MaskTest,
    ParamRef,
    cut_port,
    cut_shape,
    index_text,
)

if TYPE_CHECKING:
    from graph_compiler.interop.fx_convert import Converter


# ---------------------------------------------------------------- arithmetic


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _binary(kind: str, scalar: str, rscalar: str) -> Callable[..., Any]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a, b = args[0], arg(args, kwargs, 1, "other")
        if isinstance(a, Shape) or isinstance(b, Shape):
            return Shape()  # arithmetic on sizes
        if kwargs.get("alpha", 1) != 1:
            raise Unsupported("alpha")
        # A model's own tensor, or a constant slice of one (``x + self.pe[:, :x.size(1)]``,
        # ``q * self.cos_cached[:T]``): a Parameter node, cut and given leading 1s up to
        # the other side's rank, as torch's broadcasting lines dims up from the right.
        if isinstance(a, (ParamRef, Cropped)):
            a = cut_port(conv, node, a, len(b.shape) if isinstance(b, Port) else None)
        if isinstance(b, (ParamRef, Cropped)):
            b = cut_port(conv, node, b, len(a.shape) if isinstance(a, Port) else None)
        if isinstance(a, Port) and isinstance(b, Port):
            return conv.add(node, kind, {}, [a, b])
        if isinstance(a, Port) and _number(b):
            return conv.add(node, "ScalarOp", {"op": scalar, "value": float(b)}, [a])
        if isinstance(b, Port) and _number(a):
            return conv.add(node, "ScalarOp", {"op": rscalar, "value": float(a)}, [b])
        raise Unsupported(f"combines {type(a).__name__} and {type(b).__name__}")
    return translate


def _pow(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, exponent = args[0], arg(args, kwargs, 1, "exponent")
    if not (isinstance(x, Port) and _number(exponent)):
        raise Unsupported("a power other than tensor ** number")
    return conv.add(node, "ScalarOp", {"op": "pow", "value": float(exponent)}, [x])


def _neg(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return conv.add(node, "ScalarOp", {"op": "mul", "value": -1.0}, [tensor(args[0])])


def _matmul(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = tensor(args[0]), tensor(arg(args, kwargs, 1, "other"))
    if len(a.shape) != len(b.shape) or len(a.shape) < 3:
        raise Unsupported("a matrix product of tensors with different ranks (or without a batch)")
    return conv.add(node, "Matmul", {}, [a, b])


# ---------------------------------------------------------------- shapes


def _transpose(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    rank = len(x.shape)
    d0, d1 = arg(args, kwargs, 1, "dim0"), arg(args, kwargs, 2, "dim1")
    if 0 in (dim_index(d0, rank), dim_index(d1, rank)):
        raise Unsupported("moves the batch dimension away from dim 0")
    if dim_index(d0, rank) == dim_index(d1, rank):
        return x
    return conv.add(node, "Transpose", {"dim0": d0, "dim1": d1}, [x])


def _expand(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    sizes = list(args[1:]) if len(args) > 1 else list(kwargs.get("size", ()))
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = list(sizes[0])
    if len(sizes) != len(x.shape):
        raise Unsupported("expand that adds dimensions")
    batch, rest = sizes[0], sizes[1:]
    like = batch.of if isinstance(batch, Shape) and batch.dim in (0, None) else None
    if like is None and batch not in (-1, 1):
        raise Unsupported("expand of the batch to a fixed size (use the batch of another tensor: x.size(0))")
    per_sample = [-1 if isinstance(s, Shape) else int(s) for s in rest]
    return conv.add(node, "Expand", {"size": per_sample}, [x, like])


def _getitem_any(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, index = args[0], args[1]
    items = index if isinstance(index, tuple) else (index,)
    if isinstance(value, ParamRef):
        if all(isinstance(i, slice) and i.start is None and i.step is None for i in items):
            return Cropped(value, index)  # self.bias[:, :, :T, :T]
        value = Cropped(value)
    if isinstance(value, Cropped):  # cos[None, :, None, :] of cos = self.freqs_cos[:T]
        base = cut_port(conv, node, value)
        if len(base.shape) > len(cut_shape(value)):  # the Parameter node's batch slot
            # a leading None of the model's indexing is that slot; otherwise it stays
            items = (slice(None), *(items[1:] if items and items[0] is None else items))
        shape = tuple(torch.empty(base.shape, device="meta")[items].shape)
        port = conv.add(node, "Index", {"index": index_text(items)}, [base])
        return Port(port.node, 0, shape)
    if isinstance(value, Port) and value.rnn is None:
        return conv.add(node, "Index", {"index": index_text(index)}, [value])
    return _getitem(conv, node, (value, index), kwargs)


_UNARY = ("abs", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "erf")


def _unary(op: str) -> Callable[..., Any]:
    """torch.rsqrt(x), x.sqrt(), ...: the catalog's UnaryOp (hand-written RMSNorm's rsqrt)."""
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("out") is not None:
            raise Unsupported("out=")
        return conv.add(node, "UnaryOp", {"op": op}, [tensor(args[0])])
    return translate


def _cast(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``x.float()``, ``y.type_as(x)``, ``x.to(x.dtype)`` on a tensor that is float32 already
    and stays float32 (Llama's RMSNorm: ``self._norm(x.float()).type_as(x)``): nothing to
    do, which the import notes. Other casts change what the graph computes: refused."""
    x = tensor(args[0])
    source = node.args[0].meta.get("tensor_meta") if hasattr(node.args[0], "meta") else None
    result = node.meta.get("tensor_meta")
    before = getattr(source, "dtype", None)
    after = getattr(result, "dtype", None)
    if before != torch.float32 or after != torch.float32:
        raise Unsupported(f"a dtype cast ({before} to {after}); the graph computes in float32")
    conv.note(node, f"dropped .{node.target}(), a cast of a float32 tensor to float32")
    return x


def _arange(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """torch.arange(0, T) position ids: T is the length of an input's sequence."""
    if len(args) == 1:
        start, end, step = 0, args[0], 1
    else:
        start, end, step = args[0], args[1], args[2] if len(args) > 2 else 1
    if kwargs.get("dtype") not in (None, torch.long) or start != 0 or step != 1 or not isinstance(end, int):
        raise Unsupported("arange other than the position ids 0..T-1 of a sequence")
    for port in conv.input_ports():
        for dim in range(1, len(port.shape)):
            if port.shape[dim] == end:
                ids = conv.add(node, "Positions", {"dim": dim}, [port])
                # The node gives [1, T] (batch first, as every tensor in a graph), so
                # minGPT's arange(0, t).unsqueeze(0) is the node itself.
                return Port(ids.node, ids.port, (1, end))
    raise Unsupported(f"arange({end}) matches no input's sequence length")


def _sdpa(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    q, k, v = (_as_port(conv, node, arg(args, kwargs, i, n)) for i, n in enumerate(("query", "key", "value")))
    if arg(args, kwargs, 7, "enable_gqa", False):
        raise Unsupported("enable_gqa")
    dropout = arg(args, kwargs, 4, "dropout_p", 0.0)
    if not _number(dropout):
        raise Unsupported("a dropout_p that is not a number")
    params: dict[str, Any] = {"dropout_p": float(dropout), "is_causal": bool(arg(args, kwargs, 5, "is_causal", False))}
    scale = arg(args, kwargs, 6, "scale")
    if scale is not None:
        if not _number(scale):
            raise Unsupported("a scale that is not a number")
        params["scale"] = float(scale)
    inputs = [q, k, v]
    mask = arg(args, kwargs, 3, "attn_mask")
    if mask is not None:
        if params["is_causal"]:
            raise Unsupported("both attn_mask and is_causal (torch refuses that too)")
        if isinstance(mask, Const):  # made in forward from constants: only the causal mask has a node
            if not _is_causal_mask(mask.value, q.shape[-2], k.shape[-2]):
                raise Unsupported("an attn_mask made in forward from constants that is not the causal mask "
                                  "(register it as a buffer with self.register_buffer, so the graph can hold it)")
            params["is_causal"] = True
        else:
            inputs.append(_mask_port(conv, node, mask, len(q.shape)))
    return conv.add(node, "ScaledDotProductAttention", params, inputs)


def _as_port(conv: Converter, node: Any, value: Any) -> Port:
    return cut_port(conv, node, value) if isinstance(value, (ParamRef, Cropped)) else tensor(value)


def _mask_port(conv: Converter, node: Any, mask: Any, rank: int) -> Port:
    """An attn_mask tensor: a computed one as it is, a model's buffer as a Parameter node,
    cut by an Index node where forward cuts it (cut_port)."""
    if isinstance(mask, MaskTest):
        raise Unsupported("a comparison (mask == 0) as attn_mask; pass the mask itself")
    if not isinstance(mask, (Cropped, ParamRef)):
        return tensor(mask, "attn_mask")
    return cut_port(conv, node, mask, rank)


def _is_causal_mask(value: torch.Tensor, length: int, keys: int) -> bool:
    """Whether a constant mask is exactly is_causal's: bool tril (True: may look), or 0 on
    and below the diagonal and -inf above it."""
    if value.dim() < 2 or tuple(value.shape[-2:]) != (length, keys) or value.numel() != length * keys:
        return False
    tril = torch.ones(length, keys, dtype=torch.bool).tril()
    flat = value.reshape(length, keys).cpu()
    if flat.dtype == torch.bool:
        return torch.equal(flat, tril)
    return torch.equal(flat.float(), torch.zeros(length, keys).masked_fill(~tril, float("-inf")))


def _compare(where: str) -> Callable[..., Any]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a, b = args[0], args[1]
        if isinstance(a, (ParamRef, Cropped, Port)) and b == 0:
            return MaskTest(a, where)
        if isinstance(a, Shape) or isinstance(b, Shape):
            return Shape()
        raise Unsupported("a comparison other than mask == 0 / mask != 0")
    return translate


def _masked_fill(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, mask, value = tensor(args[0]), arg(args, kwargs, 1, "mask"), arg(args, kwargs, 2, "value")
    if not _number(value):
        raise Unsupported("a fill value that is not a number")
    where, crop = "nonzero", False
    if isinstance(mask, MaskTest):
        where, mask = mask.where, mask.source
    if isinstance(mask, Cropped):
        crop, mask = True, mask.ref
    port = conv.parameter(node, mask) if isinstance(mask, ParamRef) else tensor(mask, "mask")
    params: dict[str, Any] = {"fill_where": where, "crop": crop}
    if not (math.isinf(value) and value < 0):
        params["value"] = float(value)
    return conv.add(node, "MaskedFill", params, [x, port])


def _reduce(op: str) -> Callable[..., Any]:
    """x.sum(dim) / torch.amax(x, dim) ...: one Reduce node per dim (highest first)."""
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        x = tensor(args[0])
        dim, keep = arg(args, kwargs, 1, "dim"), bool(arg(args, kwargs, 2, "keepdim", False))
        if dim is None or op in ("std", "var") and kwargs.get("correction", 1) != 1:
            raise Unsupported(f"{op} over every dimension (including the batch), or with a correction")
        dims = sorted({dim_index(d, len(x.shape)) for d in ([dim] if isinstance(dim, int) else dim)}, reverse=True)
        if 0 in dims:
            raise Unsupported(f"{op} over the batch dimension (dim 0)")
        out: Port = x
        for i, d in enumerate(dims):
            out = conv.add(node, "Reduce", {"op": op, "dim": d, "keepdim": keep}, [out],
                           suffix=str(i) if len(dims) > 1 else "")
        return out
    return translate


def _identity(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return tensor(args[0])


def _tensor_attr(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``self.weight.shape`` is a constant (nanoGPT's LayerNorm passes it to F.layer_norm);
    any other attribute of a model's tensor makes it a Parameter node first."""
    value = args[0]
    if isinstance(value, ParamRef):
        if args[1] == "shape":
            return tuple(int(d) for d in value.value.shape)
        value = conv.parameter(node, value)
    return _getattr(conv, node, (value, *args[1:]), kwargs)


def _layer_norm(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``F.layer_norm(x, shape, self.weight, self.bias, eps)`` in a module of its own
    (nanoGPT's LayerNorm with an optional bias): a LayerNorm node named after that module,
    so its weights keep their keys (``ln_1.weight``, and no ``ln_1.bias`` without a bias)."""
    x = tensor(args[0])
    shape = arg(args, kwargs, 1, "normalized_shape")
    weight, bias = arg(args, kwargs, 2, "weight"), arg(args, kwargs, 3, "bias")
    eps = arg(args, kwargs, 4, "eps", 1e-5)
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(isinstance(d, int) for d in shape) or not _number(eps):
        raise Unsupported("a normalized_shape or eps that is not a constant")
    params: dict[str, Any] = {"eps": float(eps)}
    if len(shape) > 1:
        params["normalized_shape"] = list(shape)
    if weight is None:
        if bias is not None:
            raise Unsupported("a bias without a weight")
        return conv.add(node, "LayerNorm", {**params, "elementwise_affine": False}, [x])
    if not isinstance(weight, ParamRef) or not (bias is None or isinstance(bias, ParamRef)):
        raise Unsupported("a weight or bias computed in forward (LayerNorm learns its own)")
    owner, _, name = weight.qual.rpartition(".")
    if name != "weight" or (bias is not None and bias.qual != f"{owner}.bias"):
        raise Unsupported(f"weights named {weight.qual}{'' if bias is None else ' / ' + bias.qual} (LayerNorm "
                          "keeps them as <module>.weight and <module>.bias)")
    if not owner:
        raise Unsupported("the weight of the module being imported itself (a LayerNorm needs a module of its "
                          "own: import the model that uses it)")
    module = conv.gm.get_submodule(owner)
    own = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
    if own != {"weight"} | ({"bias"} if bias is not None else set()):
        raise Unsupported(f"{owner} holds tensors besides LayerNorm's weight and bias ({', '.join(sorted(own))})")
    if tuple(weight.value.shape) != tuple(shape):
        raise Unsupported(f"a weight of shape {list(weight.value.shape)} for normalized_shape {list(shape)}")
    if bias is None:
        params["bias"] = False
    conv.own(owner, node)
    return conv.add(node, "LayerNorm", params, [x], base=owner, qual=owner)


# ---------------------------------------------------------------- modules


def _instancenorm(m: nn.Module) -> tuple[str, dict[str, Any]]:
    return type(m).__name__, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine,
                              "track_running_stats": m.track_running_stats}


def _rmsnorm(m: nn.RMSNorm) -> tuple[str, dict[str, Any]]:
    return "RMSNorm", {"normalized_shape": list(m.normalized_shape), "eps": m.eps,
                       "elementwise_affine": m.elementwise_affine}


def _adaptive_max(m: nn.Module) -> tuple[str, dict[str, Any]]:
    if m.return_indices:
        raise Unsupported("return_indices=True")
    return _adaptive(m)


MORE_MODULES: dict[type, Callable[[Any], tuple[str, dict[str, Any]]]] = {
    nn.ReLU6: _plain("ReLU6"), nn.Hardswish: _plain("Hardswish"), nn.Hardsigmoid: _plain("Hardsigmoid"),
    nn.SELU: _plain("SELU"), nn.CELU: _plain("CELU", "alpha"), nn.Hardtanh: _plain("Hardtanh", "min_val", "max_val"),
    nn.GLU: _plain("GLU", "dim"), nn.Dropout2d: _plain("Dropout2d", "p"),
    nn.ChannelShuffle: _plain("ChannelShuffle", "groups"),
    nn.AdaptiveMaxPool1d: _adaptive_max, nn.AdaptiveMaxPool2d: _adaptive_max,
    nn.InstanceNorm1d: _instancenorm, nn.InstanceNorm2d: _instancenorm, nn.RMSNorm: _rmsnorm,
}

MORE_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    operator.add: _binary("Add", "add", "add"), torch.add: _binary("Add", "add", "add"),
    operator.mul: _binary("Multiply", "mul", "mul"), torch.mul: _binary("Multiply", "mul", "mul"),
    operator.sub: _binary("Subtract", "sub", "rsub"), torch.sub: _binary("Subtract", "sub", "rsub"),
    operator.truediv: _binary("Divide", "div", "rdiv"), torch.div: _binary("Divide", "div", "rdiv"),
    operator.pow: _pow, torch.pow: _pow, operator.neg: _neg,
    operator.matmul: _matmul, torch.matmul: _matmul, torch.bmm: _matmul,
    torch.transpose: _transpose, operator.getitem: _getitem_any,
    torch.arange: _arange, F.scaled_dot_product_attention: _sdpa, F.layer_norm: _layer_norm,
    getattr: _tensor_attr,
    operator.eq: _compare("zero"), operator.ne: _compare("nonzero"),
    torch.masked_fill: _masked_fill,
    torch.sum: _reduce("sum"), torch.amax: _reduce("amax"), torch.amin: _reduce("amin"),
    torch.prod: _reduce("prod"), torch.std: _reduce("std"), torch.var: _reduce("var"),
    torch.logsumexp: _reduce("logsumexp"),
    **{getattr(torch, op): _unary(op) for op in _UNARY},
    F.relu6: lambda conv, node, args, kwargs: conv.add(node, "ReLU6", {}, [tensor(args[0])]),
    F.hardswish: lambda conv, node, args, kwargs: conv.add(node, "Hardswish", {}, [tensor(args[0])]),
    F.hardsigmoid: lambda conv, node, args, kwargs: conv.add(node, "Hardsigmoid", {}, [tensor(args[0])]),
}

MORE_METHODS: dict[str, Callable[..., Any]] = {
    "add": _binary("Add", "add", "add"), "mul": _binary("Multiply", "mul", "mul"),
    "sub": _binary("Subtract", "sub", "rsub"), "div": _binary("Divide", "div", "rdiv"),
    "pow": _pow, "neg": _neg, "matmul": _matmul, "transpose": _transpose, "expand": _expand,
    "masked_fill": _masked_fill, "eq": _compare("zero"), "ne": _compare("nonzero"),
    "contiguous": _identity, "float": _cast, "type_as": _cast, "to": _cast,
    **{op: _unary(op) for op in _UNARY},
    **{op: _reduce(op) for op in ("sum", "amax", "amin", "prod", "std", "var", "logsumexp")},
}

ALL_MODULES = {**MODULES, **MORE_MODULES}
ALL_FUNCTIONS = {**FUNCTIONS, **MORE_FUNCTIONS}
ALL_METHODS = {**METHODS, **MORE_METHODS}

# Ops whose translators read ParamRefs themselves; elsewhere a ParamRef becomes a node.
READS_REFS = {operator.getitem, operator.eq, operator.ne, torch.masked_fill, "masked_fill", "eq", "ne",
              F.layer_norm, getattr, F.scaled_dot_product_attention,
              operator.add, torch.add, operator.mul, torch.mul, operator.sub, torch.sub, operator.truediv,
              torch.div, "add", "mul", "sub", "div"}

__all__ = ["ALL_FUNCTIONS", "ALL_METHODS", "ALL_MODULES", "READS_REFS"]
