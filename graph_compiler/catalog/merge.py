"""Layers that join or split tensors."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import non_batch_dim
from graph_compiler.catalog.spec import (
    REQUIRED,
    ForwardFn,
    NodeSpec,
    Param,
    Port,
    Shape,
    ShapeError,
    ShapeFn,
    fmt_shape,
)

CAT = "Merge & split"


def broadcast_shape(type_name: str, verb: str, ins: Sequence[Shape]) -> Shape:
    """The broadcast of equal-rank shapes, or a ShapeError naming the dim that differs."""
    # Equal ranks only: with batch 1 during analysis, [B, 4] + [B, 3, 4] would
    # broadcast fine here and fail (or mix samples) with a real batch.
    if len({len(s) for s in ins}) > 1:
        raise ShapeError(f"{type_name}: inputs have different ranks: " + ", ".join(fmt_shape(s) for s in ins))
    rank = max(len(s) for s in ins)
    out: list[int] = []
    for i in range(1, rank + 1):
        sizes = {s[-i] for s in ins if len(s) >= i} - {1}
        if len(sizes) > 1:
            shapes = " and ".join(fmt_shape(s) for s in ins)
            raise ShapeError(f"{type_name}: cannot {verb} {shapes} (sizes differ in dim {rank - i})")
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _broadcast(type_name: str, verb: str) -> ShapeFn:
    def shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
        return [broadcast_shape(type_name, verb, ins)]
    return shape


def _op_forward(op: str) -> ForwardFn:
    def forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
        return [f"{outs[0] or '_'} = {f' {op} '.join(v or 'None' for v in ins)}"]
    return forward


def _concat_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    ranks = {len(s) for s in ins}
    if len(ranks) != 1:
        raise ShapeError("Concat: inputs have different ranks: " + ", ".join(fmt_shape(s) for s in ins))
    rank = ranks.pop()
    dim = non_batch_dim(params["dim"], rank, "Concat", "joining along")
    for s in ins[1:]:
        for i in range(rank):
            if i != dim and s[i] != ins[0][i]:
                raise ShapeError(f"Concat: {fmt_shape(ins[0])} and {fmt_shape(s)} differ outside dim {params['dim']}")
    total = sum(s[dim] for s in ins)
    return [(*ins[0][:dim], total, *ins[0][dim + 1:])]


def _concat_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    return [f"{outs[0] or '_'} = torch.cat([{', '.join(v or 'None' for v in ins)}], dim={p['dim']})"]


def _chunk_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape, n = ins[0], params["chunks"]
    dim = non_batch_dim(params["dim"], len(shape), "Chunk", "splitting")
    if shape[dim] % n:
        raise ShapeError(f"Chunk: size {shape[dim]} of {fmt_shape(shape)} in dim {params['dim']} "
                         f"does not split into {n} equal chunks", "chunks")
    piece = (*shape[:dim], shape[dim] // n, *shape[dim + 1:])
    return [piece] * n


def _split_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape, sizes = ins[0], list(params["split_sizes"])
    if len(sizes) < 2:
        raise ShapeError(f"Split: split_sizes {sizes} gives one piece; list at least two sizes", "split_sizes")
    dim = non_batch_dim(params["dim"], len(shape), "Split", "splitting")
    if sum(sizes) != shape[dim]:
        raise ShapeError(f"Split: sizes {sizes} add up to {sum(sizes)}, but dim {params['dim']} of "
                         f"{fmt_shape(shape)} has {shape[dim]}", "split_sizes")
    return [(*shape[:dim], s, *shape[dim + 1:]) for s in sizes]


def _unpack(outs: Sequence[str | None]) -> str:
    return ", ".join(o or "_" for o in outs)


def _chunk_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    return [f"{_unpack(outs)} = torch.chunk({ins[0]}, {p['chunks']}, dim={p['dim']})"]


def _split_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    sizes = ", ".join(str(s) for s in p["split_sizes"])
    return [f"{_unpack(outs)} = torch.split({ins[0]}, [{sizes}], dim={p['dim']})"]


def _sizes_count(p: dict[str, Any]) -> int:
    return len(p["split_sizes"]) if isinstance(p.get("split_sizes"), (list, tuple)) else 2


_DIM = Param("dim", "int", 1, "dim to join or split along", min=-8, max=8)
_TWO = (Port("a"), Port("b"))

SPECS = [
    NodeSpec("Add", CAT, "Element-wise sum of all inputs (residual connections). Broadcasts.",
             inputs=_TWO, variadic=True, forward=_op_forward("+"), shape=_broadcast("Add", "add"),
             count=lambda p, i, o: (0, 0), aliases=("sum", "residual", "skip", "plus")),
    NodeSpec("Multiply", CAT, "Element-wise product of all inputs (gating). Broadcasts.",
             inputs=_TWO, variadic=True, forward=_op_forward("*"), shape=_broadcast("Multiply", "multiply"),
             count=lambda p, i, o: (0, 0), aliases=("product", "gate", "times")),
    NodeSpec("Concat", CAT, "Joins all inputs along dim (channels by default).",
             params=(_DIM,), inputs=_TWO, variadic=True, forward=_concat_forward, shape=_concat_shape,
             count=lambda p, i, o: (0, 0), input_dtype="any", output_dtype="same",
             aliases=("cat", "concatenate", "join", "stack")),
    NodeSpec("Chunk", CAT, "Splits into `chunks` equal pieces along dim, one per output port.",
             params=(Param("chunks", "int", 2, "number of pieces", min=2, max=64), _DIM),
             outputs=(Port("out0"), Port("out1")), forward=_chunk_forward, shape=_chunk_shape,
             count=lambda p, i, o: (0, 0), num_outputs=lambda p: p.get("chunks", 2),
             input_dtype="any", output_dtype="same", aliases=("split",)),
    NodeSpec("Split", CAT, "Splits into pieces of the given sizes along dim, one per output port.",
             params=(Param("split_sizes", "shape", REQUIRED, "size of each piece"), _DIM),
             outputs=(Port("out0"), Port("out1")), forward=_split_forward, shape=_split_shape,
             count=lambda p, i, o: (0, 0), num_outputs=_sizes_count,
             input_dtype="any", output_dtype="same", aliases=("chunk",)),
]
