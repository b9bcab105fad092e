"""Tensor plumbing that real model code uses: transpose, expand, indexing and slicing,
contiguous copies and position ids."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph_compiler.catalog._helpers import no_cost as _zero
from graph_compiler.catalog._helpers import non_batch_dim
from graph_compiler.catalog._helpers import same_shape as _same
from graph_compiler.catalog.spec import REQUIRED, NodeSpec, Param, Port, Shape, ShapeError, fmt_shape

CAT = "Input & shape"
MAX_INDEX_TEXT = 200


# ---------------------------------------------------------------- Index


@dataclass(frozen=True)
class IndexItem:
    """One entry of an index expression: ``kind`` is "int", "slice", "list", "ellipsis"
    or "none" (a new dim of size 1)."""

    kind: str
    value: tuple[int | None, ...] = ()

    def text(self) -> str:
        if self.kind == "int":
            return str(self.value[0])
        if self.kind == "list":
            return "[" + ", ".join(str(v) for v in self.value) + "]"
        if self.kind == "ellipsis":
            return "..."
        if self.kind == "none":
            return "None"
        start, stop, step = self.value
        text = f"{'' if start is None else start}:{'' if stop is None else stop}"
        return text if step is None else f"{text}:{step}"

    @property
    def consumes(self) -> bool:
        return self.kind in ("int", "slice", "list")


_INT = r"-?\d{1,9}"
_SLICE = re.compile(rf"^({_INT})?:({_INT})?(?::({_INT})?)?$")
_LIST = re.compile(rf"^\[\s*{_INT}(\s*,\s*{_INT})*\s*,?\s*\]$")


def parse_index(text: str) -> list[IndexItem]:
    """Parse numpy-style index text (``:, 0``, ``..., :8``, ``:, [-1], :``, ``:, None``).

    Only integers, slices, one integer list, ``...`` and ``None`` are accepted: the text
    is parsed here, never evaluated, and the generated code is rebuilt from the parse."""
    if len(text) > MAX_INDEX_TEXT:
        raise ShapeError(f"Index: index is {len(text)} characters long; at most {MAX_INDEX_TEXT}", "index")
    body = text.strip()
    if body.startswith("x[") and body.endswith("]"):  # people paste what they wrote: x[:, 0]
        body = body[2:-1]
    parts = re.findall(r"\[[^\[\]]*\]|[^,\[\]]+|,|\[|\]", body)
    items: list[IndexItem] = []
    current = ""
    pieces: list[str] = []
    for part in parts:
        if part == ",":
            pieces.append(current)
            current = ""
        else:
            current += part
    pieces.append(current)
    if len(pieces) > 1 and not pieces[-1].strip():
        pieces.pop()  # a trailing comma, as in x[0,]
    for raw in pieces:
        items.append(_parse_item(raw.strip(), text))
    if sum(1 for i in items if i.kind == "ellipsis") > 1:
        raise ShapeError("Index: at most one ... is allowed", "index")
    if sum(1 for i in items if i.kind == "list") > 1:
        raise ShapeError("Index: at most one [list] of positions is supported", "index")
    return items


def _parse_item(raw: str, text: str) -> IndexItem:
    if raw == "...":
        return IndexItem("ellipsis")
    if raw == "None":
        return IndexItem("none")
    if re.fullmatch(_INT, raw):
        return IndexItem("int", (int(raw),))
    compact = raw.replace(" ", "")
    m = _SLICE.match(compact)
    if m:
        start, stop, step = (None if g is None else int(g) for g in m.groups())
        if step is not None and step < 1:
            raise ShapeError(f"Index: slice step {step} must be positive", "index")
        return IndexItem("slice", (start, stop, step))
    if _LIST.match(raw):
        values = tuple(int(v) for v in re.findall(_INT, raw))
        return IndexItem("list", values)
    shown = raw if raw else "(empty)"
    raise ShapeError(f"Index: cannot read {shown!r} in {text.strip()!r}; use integers, slices like 1:5 or "
                     ":-1, one [list], ... or None", "index")


def expand_index(items: list[IndexItem], rank: int) -> list[IndexItem]:
    """The items with ``...`` replaced by full slices, and missing trailing dims filled."""
    used = sum(1 for i in items if i.consumes)
    if used > rank:
        raise ShapeError(f"Index: {used} indices for a {rank}-D tensor", "index")
    out: list[IndexItem] = []
    full = IndexItem("slice", (None, None, None))
    for item in items:
        if item.kind == "ellipsis":
            out += [full] * (rank - used)
        else:
            out.append(item)
    if not any(i.kind == "ellipsis" for i in items):
        out += [full] * (rank - used)
    return out


def _index_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    items = expand_index(parse_index(params["index"]), len(shape))
    first = items[0]
    if first.kind != "slice" or first.value not in ((None, None, None), (None, None, 1)):
        raise ShapeError("Index: the batch dimension must be kept whole (start the index with ':' or '...')",
                         "index")
    out: list[int] = []
    dim = 0
    for item in items:
        if item.kind == "none":
            out.append(1)
            continue
        size = shape[dim]
        if item.kind == "int":
            if not -size <= item.value[0] < size:  # type: ignore[operator]  # an "int" item holds ints
                raise ShapeError(f"Index: position {item.value[0]} is out of range for dim {dim} of "
                                 f"{fmt_shape(shape)} (size {size})", "index")
        elif item.kind == "list":
            bad = [v for v in item.value if not -size <= v < size]  # type: ignore[operator]  # a "list" item holds ints
            if bad:
                raise ShapeError(f"Index: position {bad[0]} is out of range for dim {dim} of "
                                 f"{fmt_shape(shape)} (size {size})", "index")
            out.append(len(item.value))
        else:
            n = len(range(size)[slice(*item.value)])
            if n == 0:
                raise ShapeError(f"Index: slice {item.text()} of dim {dim} of {fmt_shape(shape)} is empty", "index")
            out.append(n)
        dim += 1
    return [tuple(out)]


def index_text(items: list[IndexItem]) -> str:
    """The index as Python source, from the parse (never from the user's text)."""
    return ", ".join(i.text() for i in items)


def _index_forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    return [f"{outs[0] or '_'} = {ins[0]}[{index_text(parse_index(p['index']))}]"]


# ---------------------------------------------------------------- others


def _transpose_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = list(ins[0])
    a = non_batch_dim(params["dim0"], len(shape), "Transpose", "transposing", "dim0")
    b = non_batch_dim(params["dim1"], len(shape), "Transpose", "transposing", "dim1")
    shape[a], shape[b] = shape[b], shape[a]
    return [tuple(shape)]


def _transpose_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    return [f"{outs[0] or '_'} = {ins[0]}.transpose({p['dim0']}, {p['dim1']})"]


def _sizes(params: dict[str, Any]) -> list[int]:
    v = params["size"]
    return [v] if isinstance(v, int) else list(v)


def _expand_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape, sizes = ins[0], _sizes(params)
    if len(sizes) != len(shape) - 1:
        raise ShapeError(f"Expand: size lists {len(sizes)} dims, but {fmt_shape(shape)} has {len(shape) - 1} "
                         "besides the batch", "size")
    out = [ins[1][0] if len(ins) > 1 and ins[1] is not None else shape[0]]
    for i, (have, want) in enumerate(zip(shape[1:], sizes), start=1):
        if want == -1:
            out.append(have)
        elif want < 1:
            raise ShapeError(f"Expand: size {want} is not allowed (use -1 to keep a dim)", "size")
        elif have not in (1, want):
            raise ShapeError(f"Expand: dim {i} of {fmt_shape(shape)} has size {have}; only size-1 dims "
                             f"can be expanded (to {want})", "size")
        else:
            out.append(want)
    return [tuple(out)]


def _expand_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    batch = ins[1] if len(ins) > 1 and ins[1] else ins[0]
    sizes = "".join(f", {s}" for s in _sizes(p))
    return [f"{outs[0] or '_'} = {ins[0]}.expand({batch}.shape[0]{sizes})"]


def _positions_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    d = non_batch_dim(params["dim"], len(ins[0]), "Positions", "counting positions along")
    return [(1, ins[0][d])]


def _positions_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    x, out = ins[0], outs[0] or "_"
    # Two statements: a call chained on a call does not lay out like ruff when names are long.
    return [f"{out} = torch.arange({x}.shape[{p['dim']}], device={x}.device)", f"{out} = {out}.unsqueeze(0)"]


_REDUCE = ("sum", "amax", "amin", "prod", "std", "var", "logsumexp")


def _reduce_shape(params: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
    shape = ins[0]
    d = non_batch_dim(params["dim"], len(shape), "Reduce", "reducing over")
    if params["keepdim"]:
        return [(*shape[:d], 1, *shape[d + 1:])]
    return [(*shape[:d], *shape[d + 1:])]


def _reduce_fwd(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
    keep = ", keepdim=True" if p["keepdim"] else ""
    x, op = ins[0], p["op"]
    value = f"torch.logsumexp({x}, dim={p['dim']}{keep})" if op == "logsumexp" else f"{x}.{op}(dim={p['dim']}{keep})"
    return [f"{outs[0] or '_'} = {value}"]


SPECS = [
    NodeSpec(
        "Transpose", CAT, "Swaps two dims (not the batch), e.g. [B, T, heads, D] -> [B, heads, T, D].",
        params=(Param("dim0", "int", 1, "first dim", min=-8, max=8, always=True),
                Param("dim1", "int", 2, "second dim", min=-8, max=8, always=True)),
        forward=_transpose_fwd, shape=_transpose_shape, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("swap dims", "swapaxes", "permute"),
    ),
    NodeSpec(
        "Contiguous", CAT, "Lays the tensor out contiguously in memory (needed before .view after a transpose).",
        forward=lambda mod, ins, outs, p: [f"{outs[0] or '_'} = {ins[0]}.contiguous()"],
        shape=_same, count=_zero, input_dtype="any", output_dtype="same", aliases=("copy", "memory"),
    ),
    NodeSpec(
        "Expand", CAT,
        "Repeats size-1 dims without copying: `size` excludes the batch (-1 keeps a dim); the batch size "
        "comes from the optional `like` input (a class token expanded to the batch of the patches).",
        params=(Param("size", "ints", REQUIRED, "per-sample sizes, -1 keeps that dim", min=-1, max=1 << 24),),
        inputs=(Port("x"), Port("like", "a tensor whose batch size to expand to", optional=True)),
        forward=_expand_fwd, shape=_expand_shape, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("broadcast", "repeat", "class token"),
    ),
    NodeSpec(
        "Index", CAT,
        "Indexes or slices like Python: `:, 0` takes the first token, `:, -1` the last, `..., :8` the first 8 "
        "of the last dim, `:, [-1], :` keeps the indexed dim. The batch dim stays whole.",
        params=(Param("index", "str", REQUIRED, "the index, numpy-style: integers, a:b:c slices, one [list], "
                      "... and None"),),
        forward=_index_forward, shape=_index_shape, count=_zero, input_dtype="any", output_dtype="same",
        aliases=("slice", "select", "getitem", "take", "cls token", "last token"),
        extra_docs=("The index text is parsed, never evaluated: anything but integers, slices, one "
                    "list of integers, `...` and `None` is refused with a message naming the part "
                    "that cannot be read."),
    ),
    NodeSpec(
        "Reduce", CAT, "Sums (or takes the max, min, product, std, var or logsumexp) over one dim, e.g. dim=1 "
        "pools a [B, T, D] sequence to [B, D]. Mean has its own node.",
        params=(Param("op", "choice", "sum", "the reduction", choices=_REDUCE, always=True),
                Param("dim", "int", 1, "dim to reduce over", min=-8, max=8),
                Param("keepdim", "bool", False, "keep the reduced dim with size 1")),
        forward=_reduce_fwd, shape=_reduce_shape, count=_zero,
        aliases=("sum", "max", "min", "pool sequence", "amax", "logsumexp"),
    ),
    NodeSpec(
        "Positions", CAT, "Position ids 0..T-1 of the input's sequence dim, as a [1, T] int64 tensor "
        "(broadcasts over the batch); feed it to an Embedding for learned positions.",
        params=(Param("dim", "int", 1, "the sequence dim of the input", min=-8, max=8),),
        forward=_positions_fwd, shape=_positions_shape, count=_zero, input_dtype="any", output_dtype="long",
        aliases=("arange", "position ids", "positional", "gpt"),
    ),
]
