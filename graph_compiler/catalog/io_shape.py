"""Inputs, outputs and layers that only move data around."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import no_cost as _zero
from graph_compiler.catalog._helpers import non_batch_dim, norm_dim, prod, size
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.spec import (
    MAX_SIZE,
    REQUIRED,
    NodeSpec,
    Param,
    Shape,
    ShapeError,
    fmt_shape,
    py,
)

CAT = "Input & shape"


def _input_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    return [(1, *params["shape"])]


def _flatten_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    start = non_batch_dim(params["start_dim"], len(shape), "Flatten", "flattening", "start_dim")
    end = norm_dim(params["end_dim"], len(shape), "Flatten", "end_dim")
    if start > end:
        raise ShapeError(f"Flatten: start_dim {params['start_dim']} is after end_dim {params['end_dim']}", "start_dim")
    return [(*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:])]


def _unflatten_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    dim = non_batch_dim(params["dim"], len(shape), "Unflatten", "splitting")
    sizes = tuple(params["unflattened_size"])
    if not sizes:
        raise ShapeError("Unflatten: unflattened_size must list at least one size", "unflattened_size")
    if len(shape) - 1 + len(sizes) > 9:
        raise ShapeError(f"Unflatten: the result would have {len(shape) - 1 + len(sizes)} dims; "
                         "at most 9 (batch included) are supported", "unflattened_size")
    if prod(sizes) != shape[dim]:
        raise ShapeError(
            f"Unflatten: cannot split size {shape[dim]} of {fmt_shape(shape)} into "
            f"{list(sizes)} (product {prod(sizes)})", "unflattened_size")
    return [(*shape[:dim], *sizes, *shape[dim + 1:])]


def _reshape_target(params: dict[str, Any], shape: Shape) -> list[int]:
    """The per-sample target with each 0 replaced by the input's size at that position."""
    target = list(params["shape"])
    for i, d in enumerate(target):
        if d == 0:
            if i + 1 >= len(shape):
                raise ShapeError(f"Reshape: entry {i} is 0 (keep the input's size), but {fmt_shape(shape)} "
                                 f"has no dim {i + 1}", "shape")
            target[i] = shape[i + 1]
    return target


def _reshape_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    target = _reshape_target(params, shape)
    total = prod(shape[1:])
    known = prod(d for d in target if d != -1)
    if -1 in target:
        if total % known or total // known > MAX_SIZE:
            raise ShapeError(f"Reshape: cannot reshape {fmt_shape(shape)} to [B, {', '.join(map(str, target))}]", "shape")
        target[target.index(-1)] = total // known
    elif known != total:
        raise ShapeError(
            f"Reshape: cannot reshape {fmt_shape(shape)} ({total} values per sample) to "
            f"[B, {', '.join(map(str, target))}] ({known} values)", "shape")
    return [(shape[0], *target)]


def _reshape_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    # 0 entries read the size off the input, so the code works for any sequence length.
    x = ins[0]
    dims = "".join(f", {x}.shape[{i + 1}]" if d == 0 else f", {d}" for i, d in enumerate(p["shape"]))
    return [f"{outs[0] or '_'} = {x}.reshape({x}.shape[0]{dims})"]


def _permute_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    dims = params["dims"]
    dims = [dims] if isinstance(dims, int) else list(dims)
    rank = len(shape)
    if (len(dims) != rank or not all(-rank <= d < rank for d in dims)
            or sorted(d % rank for d in dims) != list(range(rank))):
        raise ShapeError(
            f"Permute: dims {dims} must be a permutation of 0..{len(shape) - 1} for {fmt_shape(shape)}", "dims")
    if dims[0] % len(shape) != 0:
        raise ShapeError("Permute: the batch dimension must stay first (dims[0] = 0)", "dims")
    return [tuple(shape[d] for d in dims)]


def _permute_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    dims = p["dims"]
    dims = [dims] if isinstance(dims, int) else list(dims)
    return [f"{outs[0] or '_'} = {ins[0]}.permute({', '.join(map(str, dims))})"]


def _mean_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    dim = non_batch_dim(params["dim"], len(shape), "Mean", "averaging over")
    if params["keepdim"]:
        return [(*shape[:dim], 1, *shape[dim + 1:])]
    return [(*shape[:dim], *shape[dim + 1:])]


def _mean_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    keep = ", keepdim=True" if p["keepdim"] else ""
    return [f"{outs[0] or '_'} = {ins[0]}.mean(dim={p['dim']}{keep})"]


def _embedding_resolve(params: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
    pad = params.get("padding_idx")
    if pad is not None and not -params["num_embeddings"] <= pad < params["num_embeddings"]:
        raise ShapeError(f"Embedding: padding_idx={pad} must be within the vocabulary "
                         f"(0..{params['num_embeddings'] - 1})", "padding_idx")
    return params


def _embedding_count(params: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
    return params["num_embeddings"] * params["embedding_dim"], 0


def _dropout_p() -> Param:
    return Param("p", "float", 0.5, "probability of zeroing an element while training", min=0.0, max=1.0)


SPECS = [
    NodeSpec(
        "Input", CAT, "A model input. `shape` excludes the batch dimension.",
        params=(
            Param("shape", "shape", REQUIRED, "per-sample shape, without the batch dimension"),
            Param("dtype", "choice", "float32", "float32 for features, int64 for token ids",
                  choices=("float32", "int64")),
        ),
        inputs=(), shape=_input_shape, count=_zero, output_dtype="param:dtype",
        aliases=("data", "placeholder"),
    ),
    NodeSpec(
        "Output", CAT, "A model output: what forward() returns.",
        outputs=(), shape=_same, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("return", "result"),
    ),
    NodeSpec("Identity", CAT, "Passes its input through unchanged.", module="nn.Identity",
             shape=_same, count=_zero, input_dtype="any", output_dtype="same"),
    NodeSpec(
        "Flatten", CAT, "Flattens dims start_dim..end_dim into one (keeps the batch).",
        params=(Param("start_dim", "int", 1, "first dim to flatten", min=-8, max=8),
                Param("end_dim", "int", -1, "last dim to flatten", min=-8, max=8)),
        module="nn.Flatten", shape=_flatten_shape, count=_zero, input_dtype="any", output_dtype="same",
    ),
    NodeSpec(
        "Unflatten", CAT, "Splits one dim into several sizes.",
        params=(Param("dim", "int", 1, "dim to split", min=-8, max=8, positional=True),
                Param("unflattened_size", "shape", REQUIRED, "sizes to split it into", positional=True)),
        module="nn.Unflatten", shape=_unflatten_shape, count=_zero, input_dtype="any", output_dtype="same",
    ),
    NodeSpec(
        "Reshape", CAT, "Reshapes each sample; `shape` excludes the batch, one entry may be -1, and 0 keeps "
        "the input's size at that position (so [0, 12, 64] splits [B, T, 768] into heads for any T).",
        params=(Param("shape", "shape", REQUIRED, "new per-sample shape", allow_minus_one=True, allow_zero=True),),
        forward=_reshape_fwd, shape=_reshape_shape, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("view",),
    ),
    NodeSpec(
        "Permute", CAT, "Reorders dims (torch dims, batch included, which must stay at 0).",
        params=(Param("dims", "ints", REQUIRED, "new order of the dims, e.g. [0, 2, 1]", min=-8, max=8),),
        forward=_permute_fwd, shape=_permute_shape, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("transpose",),
    ),
    NodeSpec(
        "Mean", CAT, "Averages over one dim, e.g. dim=1 pools a [B, T, D] sequence to [B, D].",
        params=(Param("dim", "int", 1, "dim to average over", min=-8, max=8),
                Param("keepdim", "bool", False, "keep the averaged dim with size 1")),
        forward=_mean_fwd, shape=_mean_shape, count=_zero, aliases=("average", "pool sequence"),
    ),
    NodeSpec("Dropout", CAT, "Randomly zeroes elements while training.", params=(_dropout_p(),),
             module="nn.Dropout", shape=_same, count=_zero),
    NodeSpec(
        "Embedding", CAT, "Looks up a learned vector for each token id.",
        params=(size("num_embeddings", "vocabulary size"),
                size("embedding_dim", "size of each vector"),
                Param("padding_idx", "int", None, "id whose vector stays zero", nullable=True,
                      min=-(1 << 24), max=1 << 24)),
        module="nn.Embedding", resolve=_embedding_resolve,
        shape=lambda p, ins: [(*ins[0], p["embedding_dim"])], count=_embedding_count,
        input_dtype="long", aliases=("tokens", "lookup"),
    ),
]

__all__ = ["SPECS", "py"]
