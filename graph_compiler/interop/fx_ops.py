"""How torch modules, functions and tensor methods become Netwright catalog nodes.

Used by fx_import. Each translator gets the converter, the fx node and its arguments
(fx values replaced by what they mean in the graph: ``Port``s for tensors, ``Shape``
for sizes read off tensors, tuples of those) and adds catalog nodes, or raises
``Unsupported`` with a reason. Parameters come from the module's attributes under
torch's own argument names; values equal to the catalog's defaults are left out so
the file reads like one a person made.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from graph_compiler.interop.fx_convert import Converter


class Unsupported(Exception):
    """This node has no Netwright equivalent; the message says what exactly."""


@dataclass(frozen=True)
class Port:
    """A tensor in the graph: output ``port`` of Netwright node ``node``."""

    node: str
    port: int
    shape: tuple[int, ...]
    rnn: str | None = None  # set on a recurrent node's sequence output: its "last step" port exists


@dataclass(frozen=True)
class RnnState:
    """The hidden state returned by a recurrent layer: usable only as h[-1]."""

    node: str
    shape: tuple[int, ...]
    lstm: bool
    bidirectional: bool
    part: str = "h"  # "state" (an LSTM's (h, c) pair), "h" or "c"


@dataclass(frozen=True, eq=False)
class Const:
    """A tensor forward makes from constants alone (``torch.ones(T, T).tril()``), with its
    value on the traced batch: fine where a translator knows what it means (a causal
    attn_mask), and ``problem`` wherever a node needs it as a tensor."""

    value: torch.Tensor
    problem: str

    def __repr__(self) -> str:  # in messages: never the tensor's values
        return "a tensor made in forward from constants"


@dataclass(frozen=True)
class Shape:
    """A size read off a tensor (x.size(0), x.shape): only meaningful to view/reshape,
    whose target the converter reads from the traced output shape instead. ``of`` and
    ``dim`` say where it was read, when known (the batch of x for expand(B, ...))."""

    of: Port | None = None
    dim: int | None = None


# ---------------------------------------------------------------- small helpers


def compact(v: Any) -> Any:
    """(3, 3) -> 3: torch stores tuples where people write one number."""
    if isinstance(v, (tuple, list)):
        v = tuple(int(x) if isinstance(x, int) else x for x in v)
        return v[0] if v and all(x == v[0] for x in v) else list(v)
    return v


def arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if index < len(args) else default


def tensor(value: Any, what: str = "input") -> Port:
    if isinstance(value, Port):
        return value
    if isinstance(value, RnnState):
        raise Unsupported("uses a recurrent layer's hidden state other than as h[-1] of a one-way layer")
    if isinstance(value, Const):
        raise Unsupported(value.problem)
    raise Unsupported(f"takes a constant {what} ({value!r}); Netwright nodes combine tensors only")


def dim_index(dim: int, rank: int) -> int:
    if not -rank <= dim < rank:
        raise Unsupported(f"dim {dim} is out of range for a {rank}-D tensor")
    return dim % rank


def no_batch(dim: int, rank: int, what: str) -> int:
    d = dim_index(dim, rank)
    if d == 0:
        raise Unsupported(f"{what} along the batch dimension (dim 0)")
    return d


# ---------------------------------------------------------------- modules


def _conv(m: nn.Module) -> tuple[str, dict[str, Any]]:
    transposed = isinstance(m, nn.ConvTranspose2d)
    if m.padding_mode != "zeros" and transposed:
        raise Unsupported(f"padding_mode={m.padding_mode!r} on a transposed convolution")
    p: dict[str, Any] = {"out_channels": m.out_channels, "kernel_size": compact(m.kernel_size),
                         "stride": compact(m.stride), "padding": compact(m.padding),
                         "groups": m.groups, "bias": m.bias is not None, "dilation": compact(m.dilation)}
    if transposed:
        p["output_padding"] = compact(m.output_padding)
    else:
        p["padding_mode"] = m.padding_mode
    return type(m).__name__, p


def _pool(m: nn.Module) -> tuple[str, dict[str, Any]]:
    if getattr(m, "return_indices", False):
        raise Unsupported("return_indices=True")
    if getattr(m, "divisor_override", None) is not None:
        raise Unsupported("divisor_override")
    p = {"kernel_size": compact(m.kernel_size), "stride": compact(m.stride), "padding": compact(m.padding),
         "ceil_mode": m.ceil_mode}
    if p["stride"] == p["kernel_size"]:
        del p["stride"]  # torch stores the default (stride = kernel_size) explicitly
    if hasattr(m, "dilation"):
        p["dilation"] = compact(m.dilation)
    if hasattr(m, "count_include_pad"):
        p["count_include_pad"] = m.count_include_pad
    return type(m).__name__, p


def _adaptive(m: nn.Module) -> tuple[str, dict[str, Any]]:
    size = m.output_size
    if size is None or (isinstance(size, (tuple, list)) and None in size):
        raise Unsupported("an output_size with None (keep this dimension)")
    return type(m).__name__, {"output_size": compact(size)}


def _upsample(m: nn.Upsample) -> tuple[str, dict[str, Any]]:
    scale = m.scale_factor
    if m.size is not None or scale is None:
        raise Unsupported("a target size (Netwright's Upsample takes scale_factor)")
    if isinstance(scale, (tuple, list)):
        if len(set(scale)) != 1:
            raise Unsupported("different scale factors per dimension")
        scale = scale[0]
    if m.align_corners is not None or m.mode not in ("nearest", "linear", "bilinear", "bicubic"):
        raise Unsupported(f"mode={m.mode!r} with align_corners={m.align_corners}")
    return "Upsample", {"scale_factor": float(scale), "mode": m.mode}


def _batchnorm(m: nn.Module) -> tuple[str, dict[str, Any]]:
    if not m.track_running_stats or m.momentum is None:
        raise Unsupported("track_running_stats=False or momentum=None")
    return type(m).__name__, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}


def _layernorm(m: nn.LayerNorm) -> tuple[str, dict[str, Any]]:
    shape = list(m.normalized_shape)
    p: dict[str, Any] = {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
                         "bias": not m.elementwise_affine or m.bias is not None}
    if len(shape) > 1:
        p["normalized_shape"] = shape
    return "LayerNorm", p


def _rnn(m: nn.RNNBase) -> tuple[str, dict[str, Any]]:
    if not m.batch_first:
        raise Unsupported("batch_first=False (Netwright's recurrent layers take [B, T, features])")
    if getattr(m, "proj_size", 0):
        raise Unsupported("proj_size")
    p: dict[str, Any] = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
                         "bidirectional": m.bidirectional, "dropout": float(m.dropout), "bias": m.bias}
    if isinstance(m, nn.RNN) and type(m) is nn.RNN:
        p["nonlinearity"] = m.nonlinearity
    return type(m).__name__, p


def _mha(m: nn.MultiheadAttention) -> tuple[str, dict[str, Any]]:
    if not m.batch_first:
        raise Unsupported("batch_first=False (Netwright's attention takes [B, T, D])")
    if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise Unsupported("kdim/vdim, add_bias_kv or add_zero_attn")
    return "MultiheadAttention", {"num_heads": m.num_heads, "dropout": float(m.dropout),
                                  "bias": m.in_proj_bias is not None}


def _transformer_layer(m: Any) -> tuple[str, dict[str, Any]]:
    if not m.self_attn.batch_first:
        raise Unsupported("batch_first=False (Netwright's transformer layers take [B, T, D])")
    kind = getattr(m, "activation_relu_or_gelu", 0)
    activation = {1: "relu", 2: "gelu"}.get(kind)
    if activation is None:
        raise Unsupported("a feed-forward activation other than relu or gelu")
    if m.linear1.bias is None or m.norm1.eps != 1e-5:
        raise Unsupported("bias=False or layer_norm_eps other than 1e-5")
    return type(m).__name__, {
        "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": float(m.dropout.p), "activation": activation, "norm_first": m.norm_first,
    }


def _embedding(m: nn.Embedding) -> tuple[str, dict[str, Any]]:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise Unsupported("max_norm, scale_grad_by_freq or sparse")
    return "Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
                         "padding_idx": m.padding_idx}


def _softmax(m: nn.Module) -> tuple[str, dict[str, Any]]:
    if m.dim is None:
        raise Unsupported("dim=None (an implicit dimension)")
    return type(m).__name__, {"dim": m.dim}


def _flatten(m: nn.Flatten) -> tuple[str, dict[str, Any]]:
    if m.start_dim == 0:
        raise Unsupported("start_dim=0 (it would merge the batch)")
    return "Flatten", {"start_dim": m.start_dim, "end_dim": m.end_dim}


def _plain(name: str, *attrs: str) -> Callable[[nn.Module], tuple[str, dict[str, Any]]]:
    return lambda m: (name, {a: getattr(m, a) for a in attrs})


MODULES: dict[type, Callable[[Any], tuple[str, dict[str, Any]]]] = {
    nn.Linear: lambda m: ("Linear", {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive, nn.AdaptiveAvgPool2d: _adaptive,
    nn.Upsample: _upsample,
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm,
    nn.LayerNorm: _layernorm,
    nn.GroupNorm: lambda m: ("GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}),
    nn.RNN: _rnn, nn.LSTM: _rnn, nn.GRU: _rnn,
    nn.MultiheadAttention: _mha,
    nn.TransformerEncoderLayer: _transformer_layer, nn.TransformerDecoderLayer: _transformer_layer,
    nn.Embedding: _embedding,
    nn.Dropout: _plain("Dropout", "p"),
    nn.Flatten: _flatten,
    nn.Unflatten: lambda m: ("Unflatten", {"dim": m.dim, "unflattened_size": list(m.unflattened_size)}),
    nn.Identity: _plain("Identity"),
    nn.ReLU: _plain("ReLU"), nn.LeakyReLU: _plain("LeakyReLU", "negative_slope"),
    nn.PReLU: _plain("PReLU", "num_parameters"), nn.ELU: _plain("ELU", "alpha"),
    nn.GELU: _plain("GELU", "approximate"), nn.SiLU: _plain("SiLU"), nn.Mish: _plain("Mish"),
    nn.Sigmoid: _plain("Sigmoid"), nn.Tanh: _plain("Tanh"),
    nn.Softplus: _plain("Softplus", "beta", "threshold"),
    nn.Softmax: _softmax, nn.LogSoftmax: _softmax,
}

# ---------------------------------------------------------------- functions and methods

_ACTIVATIONS: dict[Any, tuple[str, tuple[tuple[str, Any], ...]]] = {
    # target -> (node type, (param name, default) in positional order after the input)
    F.relu: ("ReLU", ()), torch.relu: ("ReLU", ()), "relu": ("ReLU", ()),
    torch.sigmoid: ("Sigmoid", ()), F.sigmoid: ("Sigmoid", ()), "sigmoid": ("Sigmoid", ()),
    torch.tanh: ("Tanh", ()), F.tanh: ("Tanh", ()), "tanh": ("Tanh", ()),
    F.gelu: ("GELU", (("approximate", "none"),)), F.silu: ("SiLU", ()), F.mish: ("Mish", ()),
    F.elu: ("ELU", (("alpha", 1.0),)), F.leaky_relu: ("LeakyReLU", (("negative_slope", 0.01),)),
    F.softplus: ("Softplus", (("beta", 1.0), ("threshold", 20.0))),
    F.softmax: ("Softmax", (("dim", None),)), torch.softmax: ("Softmax", (("dim", None),)),
    "softmax": ("Softmax", (("dim", None),)),
    F.log_softmax: ("LogSoftmax", (("dim", None),)), torch.log_softmax: ("LogSoftmax", (("dim", None),)),
    "log_softmax": ("LogSoftmax", (("dim", None),)),
}


def _activation(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    kind, params = _ACTIVATIONS[node.target]
    values = {name: arg(args, kwargs, i + 1, name, default) for i, (name, default) in enumerate(params)}
    if "dim" in values and values["dim"] is None:
        raise Unsupported("softmax without dim (an implicit dimension)")
    return conv.add(node, kind, values, [tensor(args[0])])


def _merge(kind: str, symbol: str) -> Callable[..., Port]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a, b = args[0], arg(args, kwargs, 1, "other")
        if isinstance(a, Shape) or isinstance(b, Shape):
            return Shape()  # arithmetic on sizes, e.g. x.size(1) * x.size(2)
        if kwargs.get("alpha", 1) != 1:
            raise Unsupported("alpha")
        if not (isinstance(a, Port) and isinstance(b, Port)):
            const = b if isinstance(a, Port) else a
            raise Unsupported(f"`{symbol}` with the constant {const!r}; Netwright's {kind} combines tensors")
        return conv.add(node, kind, {}, [a, b])
    return translate


def _no_op(what: str) -> Callable[..., Any]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if any(isinstance(a, Shape) for a in args):
            return Shape()
        raise Unsupported(what)
    return translate


def _cat(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    inputs = [tensor(t) for t in args[0]]
    if len(inputs) == 1:  # torch.cat([x]) is x (DenseNet's first layer of each block)
        return inputs[0]
    dim = no_batch(arg(args, kwargs, 1, "dim", 0), len(inputs[0].shape), "concatenation")
    return conv.add(node, "Concat", {"dim": dim}, inputs)


def _flatten_fn(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    start = arg(args, kwargs, 1, "start_dim", 0)
    end = arg(args, kwargs, 2, "end_dim", -1)
    no_batch(start, len(x.shape), "flattening")
    return conv.add(node, "Flatten", {"start_dim": start, "end_dim": end}, [x])


def _reshape(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """view / reshape / squeeze / unsqueeze: the traced output shape says the target."""
    x = tensor(args[0])
    out = conv.shape_of(node)
    if out[0] != x.shape[0]:
        raise Unsupported(f"reshapes {list(x.shape)} to {list(out)}, changing the batch dimension")
    if out == x.shape:
        return x
    if len(out) == 2 and len(x.shape) > 2:
        return conv.add(node, "Flatten", {}, [x])  # x.view(x.size(0), -1) reads best as Flatten
    return conv.add(node, "Reshape", {"shape": list(out[1:])}, [x])


def _permute(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    rank = len(x.shape)
    if node.target in ("transpose", torch.transpose):
        a, b = dim_index(arg(args, kwargs, 1, "dim0"), rank), dim_index(arg(args, kwargs, 2, "dim1"), rank)
        dims = list(range(rank))
        dims[a], dims[b] = dims[b], dims[a]
    else:
        rest = args[1:] if len(args) > 1 else (kwargs.get("dims"),)
        dims = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else list(rest)
        dims = [dim_index(d, rank) for d in dims]
    if dims[0] != 0:
        raise Unsupported("moves the batch dimension away from dim 0")
    if dims == list(range(rank)):
        return x
    return conv.add(node, "Permute", {"dims": dims}, [x])


def _mean(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    dim = arg(args, kwargs, 1, "dim")
    keep = bool(arg(args, kwargs, 2, "keepdim", False))
    if dim is None:
        raise Unsupported("mean over every dimension (including the batch)")
    dims = [dim] if isinstance(dim, int) else list(dim)
    dims = sorted({no_batch(d, len(x.shape), "averaging") for d in dims}, reverse=True)
    out: Port = x
    # Averaging several dims = averaging one at a time (highest first keeps the indices valid).
    for i, d in enumerate(dims):
        out = conv.add(node, "Mean", {"dim": d, "keepdim": keep}, [out], suffix=str(i) if len(dims) > 1 else "")
    return out


def _chunk(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    dim = no_batch(arg(args, kwargs, 2, "dim", 0), len(x.shape), "splitting")
    sizes = [s[dim] for s in conv.shapes_of(node)]
    if len(set(sizes)) == 1 and len(sizes) > 1:
        return conv.add(node, "Chunk", {"chunks": len(sizes), "dim": dim}, [x], outputs=len(sizes))
    return conv.add(node, "Split", {"split_sizes": sizes, "dim": dim}, [x], outputs=len(sizes))


def _split(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = tensor(args[0])
    dim = no_batch(arg(args, kwargs, 2, "dim", 0), len(x.shape), "splitting")
    sizes = [s[dim] for s in conv.shapes_of(node)]
    return conv.add(node, "Split", {"split_sizes": sizes, "dim": dim}, [x], outputs=len(sizes))


def _dropout(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return conv.add(node, "Dropout", {"p": float(arg(args, kwargs, 1, "p", 0.5))}, [tensor(args[0])])


def _pool_fn(kind: str, names: tuple[tuple[str, Any], ...]) -> Callable[..., Port]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        values = {name: arg(args, kwargs, i + 1, name, default) for i, (name, default) in enumerate(names)}
        if values.pop("return_indices", False) or values.pop("divisor_override", None) is not None:
            raise Unsupported("return_indices or divisor_override")
        if values.get("stride") in ((), []):
            values["stride"] = None
        return conv.add(node, kind, {k: compact(v) for k, v in values.items()}, [tensor(args[0])])
    return translate


_MAX = (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1), ("ceil_mode", False),
        ("return_indices", False))
_AVG = (("kernel_size", None), ("stride", None), ("padding", 0), ("ceil_mode", False),
        ("count_include_pad", True), ("divisor_override", None))


def _adaptive_fn(kind: str) -> Callable[..., Port]:
    def translate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        size = arg(args, kwargs, 1, "output_size")
        if size is None or (isinstance(size, (tuple, list)) and None in size):
            raise Unsupported("an output_size with None")
        return conv.add(node, kind, {"output_size": compact(size)}, [tensor(args[0])])
    return translate


def _interpolate(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    scale = arg(args, kwargs, 2, "scale_factor")
    mode = arg(args, kwargs, 3, "mode", "nearest")
    if arg(args, kwargs, 1, "size") is not None or scale is None or arg(args, kwargs, 4, "align_corners"):
        raise Unsupported("interpolate to a size or with align_corners (Upsample takes scale_factor)")
    if isinstance(scale, (tuple, list)):
        if len(set(scale)) != 1:
            raise Unsupported("different scale factors per dimension")
        scale = scale[0]
    return conv.add(node, "Upsample", {"scale_factor": float(scale), "mode": mode}, [tensor(args[0])])


def _getitem(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, index = args[0], args[1]
    if isinstance(value, Shape):
        return Shape(value.of, index) if isinstance(index, int) else Shape()
    if isinstance(value, tuple):
        return value[index]
    if isinstance(value, RnnState):
        return _state_item(value, index)
    x = tensor(value)
    last = (slice(None), -1)
    if x.rnn is not None and isinstance(index, tuple) and (index == last or index == (*last, slice(None))):
        return Port(x.rnn, 1, conv.shape_of(node))  # out[:, -1]: the recurrent node's "last" port
    raise Unsupported("indexing or slicing a tensor (Netwright has no Index node; out[:, -1] of an "
                      "RNN / LSTM / GRU output is the one supported form)")


def _state_item(state: RnnState, index: Any) -> Any:
    """LSTM: (h, c) = state; GRU / RNN: h = state. h[-1] is the last layer's final step,
    which for a one-way layer is exactly the node's "last" port."""
    if state.part == "state" and index in (0, 1):
        return replace(state, part="h" if index == 0 else "c")
    if state.part == "h" and index == -1:
        if state.bidirectional:
            raise Unsupported("h[-1] of a bidirectional layer (that is only its backward direction)")
        return Port(state.node, 1, (state.shape[0], state.shape[-1]))
    raise Unsupported("uses a recurrent layer's hidden state other than as h[-1] of a one-way layer")


def _passthrough(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return Shape() if isinstance(args[0], Shape) else tensor(args[0])


def _shape(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Shape:
    of = args[0] if isinstance(args[0], Port) else None
    dim = arg(args, kwargs, 1, "dim")
    return Shape(of, dim if isinstance(dim, int) else None)


def _getattr(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args[1] in ("shape", "ndim", "device", "dtype"):
        return Shape(args[0] if isinstance(args[0], Port) and args[1] == "shape" else None)
    raise Unsupported(f"reads the tensor attribute .{args[1]}")


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    **{t: _activation for t in _ACTIVATIONS if not isinstance(t, str)},
    operator.add: _merge("Add", "+"), torch.add: _merge("Add", "+"),
    operator.mul: _merge("Multiply", "*"), torch.mul: _merge("Multiply", "*"),
    operator.sub: _no_op("`-` (subtraction): Netwright has Add and Multiply only"),
    operator.truediv: _no_op("`/` (division)"), operator.floordiv: _no_op("`//` (integer division)"),
    operator.neg: _no_op("negation"),
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    torch.flatten: _flatten_fn, torch.reshape: _reshape, torch.squeeze: _reshape, torch.unsqueeze: _reshape,
    torch.permute: _permute, torch.transpose: _permute,
    torch.mean: _mean, torch.chunk: _chunk, torch.split: _split,
    F.dropout: _dropout,
    F.max_pool1d: _pool_fn("MaxPool1d", _MAX), F.max_pool2d: _pool_fn("MaxPool2d", _MAX),
    F.avg_pool2d: _pool_fn("AvgPool2d", _AVG),
    F.adaptive_avg_pool1d: _adaptive_fn("AdaptiveAvgPool1d"),
    F.adaptive_avg_pool2d: _adaptive_fn("AdaptiveAvgPool2d"),
    F.interpolate: _interpolate,
    operator.getitem: _getitem, getattr: _getattr,
}

METHODS: dict[str, Callable[..., Any]] = {
    **{t: _activation for t in _ACTIVATIONS if isinstance(t, str)},
    "add": _merge("Add", "+"), "mul": _merge("Multiply", "*"),
    "view": _reshape, "reshape": _reshape, "squeeze": _reshape, "unsqueeze": _reshape,
    "flatten": _flatten_fn, "permute": _permute, "transpose": _permute,
    "mean": _mean, "chunk": _chunk, "split": _split,
    "contiguous": _passthrough, "size": _shape, "dim": _shape,
}


def _tanh_gelu(conv: Converter, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return conv.add(node, "GELU", {"approximate": "tanh"}, [tensor(args[0])])


# Functions model code defines itself, known by name (the import checks the outputs).
KNOWN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "new_gelu": _tanh_gelu, "gelu_new": _tanh_gelu, "gelu_tanh": _tanh_gelu,
}


def describe(node: Any) -> str:
    """How a person would name what an fx node calls: F.gelu, torch.sort, Tensor.abs()..."""
    if node.op == "call_method":
        return f"Tensor.{node.target}()"
    target = node.target
    name = getattr(target, "__name__", str(target))
    if getattr(target, "__module__", None) == "_operator":
        return f"operator.{name}"
    module = getattr(target, "__module__", None) or "torch"
    module = {"torch.nn.functional": "F", "torch._C._nn": "F", "torch._C._VariableFunctions": "torch"}.get(
        module, module)
    return f"{module}.{name}"


__all__ = ["FUNCTIONS", "KNOWN_FUNCTIONS", "METHODS", "MODULES", "Const", "Port", "RnnState", "Shape", "Unsupported", "arg",
           "compact", "describe"]


def special_module(m: nn.Module) -> Callable[[Any], tuple[str, dict[str, Any]]] | None:
    """Layers from libraries Netwright does not depend on, known by class name and
    attributes (torchvision's StochasticDepth, timm's DropPath)."""
    name = type(m).__name__
    if name == "StochasticDepth" and hasattr(m, "p") and hasattr(m, "mode"):
        return lambda mod: ("StochasticDepth", {"p": float(mod.p), "mode": str(mod.mode)})
    if name == "DropPath" and hasattr(m, "drop_prob"):
        return lambda mod: ("StochasticDepth", {"p": float(mod.drop_prob), "mode": "row"})
    if name == "LayerNorm2d" and isinstance(m, nn.LayerNorm) and len(m.normalized_shape) == 1:
        # torchvision's ConvNeXt: nn.LayerNorm over the channels of [B, C, H, W]
        return lambda mod: ("LayerNorm2d", {"num_channels": mod.normalized_shape[0], "eps": mod.eps,
                                            "elementwise_affine": mod.elementwise_affine})
    return None
