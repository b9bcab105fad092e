"""A model's own tensors in the imported graph: parameters and buffers read in
``forward`` (``ParamRef``), constant slices of them (``Cropped``: T is fixed by the
imported input shape), and the Parameter node plus Index node that stand for either."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from graph_compiler.interop.fx_ops import Port, Shape, Unsupported

if TYPE_CHECKING:
    from graph_compiler.interop.fx_convert import Converter


@dataclass(frozen=True)
class ParamRef:
    """A parameter or buffer read in forward (``self.class_token``): ``qual`` is its
    path, ``value`` the tensor itself (on the meta device for a structure-only import)."""

    qual: str
    value: torch.Tensor
    buffer: bool
    persistent: bool = True

    def __repr__(self) -> str:  # in messages: the tensor's name, never its values
        return f"{'buffer' if self.buffer else 'parameter'} {self.qual}"


@dataclass(frozen=True)
class Cropped:
    """``self.bias[:, :, :T, :T]``: a buffer cut to the sequence length."""

    ref: ParamRef
    index: Any = None  # the slices, for a node that takes the cut mask as it is

    def __repr__(self) -> str:
        return f"a slice of {self.ref!r}"


@dataclass(frozen=True)
class MaskTest:
    """``mask == 0`` (where="zero") or ``mask != 0`` / a bool mask (where="nonzero")."""

    source: ParamRef | Cropped | Port
    where: str


def parameter_params(ref: ParamRef) -> dict[str, Any]:
    """The Parameter node that recreates a model's tensor: same shape, same kind, and an
    init that reproduces it where it is a constant (a layer scale, a causal mask)."""
    value = ref.value
    shape = [int(d) for d in value.shape] or [1]
    p: dict[str, Any] = {"shape": shape, "batch_dim": shape[0] == 1 and len(shape) > 1}
    if ref.buffer:
        p["kind"] = "buffer"
    if value.dtype == torch.bool:
        p["dtype"] = "bool"
    p["init"] = "zeros"
    if value.is_meta or value.numel() == 0:
        return p
    flat = value.detach().float()
    first = float(flat.reshape(-1)[0])
    if value.dim() >= 2 and torch.equal(flat, torch.ones_like(flat).tril()):
        p["init"] = "tril"
    elif value.dim() >= 2 and torch.equal(flat, torch.full_like(flat, float("-inf")).triu(1)):
        p["init"] = "causal_inf"
    elif bool((flat == first).all()) and math.isfinite(first):
        p["init"] = {0.0: "zeros", 1.0: "ones"}.get(first, "constant")
        if p["init"] == "constant":
            p["value"] = first
    elif not ref.buffer:
        p["init"] = "normal"
        p["std"] = round(float(flat.std()), 6) if flat.numel() > 1 else 0.02
    else:
        # A table computed in __init__ (rotary cos / sin, sinusoidal positions) that no
        # init recreates: the graph keeps it in its state dict, even where the model
        # does not (import_state_dict adds it from the model).
        return p
    if ref.buffer and not ref.persistent:
        p["persistent"] = False
    return p


def index_text(index: Any) -> str:
    items = index if isinstance(index, tuple) else (index,)
    parts: list[str] = []
    for item in items:
        if item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, bool) or not isinstance(item, (int, slice, list)):
            raise Unsupported(f"an index by {type(item).__name__} (Index takes integers, slices and one list)")
        elif isinstance(item, int):
            parts.append(str(item))
        elif isinstance(item, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in item):
                raise Unsupported("an index list of anything but integers")
            parts.append("[" + ", ".join(map(str, item)) + "]")
        else:
            if any(isinstance(v, Shape) for v in (item.start, item.stop, item.step)):
                raise Unsupported("a slice bounded by the batch size")
            start = "" if item.start is None else str(item.start)
            stop = "" if item.stop is None else str(item.stop)
            parts.append(f"{start}:{stop}" + ("" if item.step is None else f":{item.step}"))
    if not parts or parts[0] not in (":", "..."):
        raise Unsupported("indexing the batch dimension (dim 0)")
    return ", ".join(parts)


def cut_shape(value: Cropped) -> tuple[int, ...]:
    """The shape of the model's tensor as forward cuts it."""
    if value.index is None:
        return tuple(value.ref.value.shape)
    return tuple(torch.empty(value.ref.value.shape, device="meta")[value.index].shape)


def cut_port(conv: Converter, node: Any, value: ParamRef | Cropped, rank: int | None = None) -> Port:
    """A model's tensor as a Parameter node, cut by an Index node where forward cuts it
    (``self.mask[:, :, :T, :T]``, ``self.pe[:, :T]``), with leading 1s up to ``rank``:
    the graph's broadcasting takes equal ranks, so ``self.mask[:T, :T]`` beside scores
    of [B, heads, T, T] becomes [1, 1, T, T]. T is fixed by the imported input shape,
    so the cut is a constant."""
    cropped = value if isinstance(value, Cropped) else Cropped(value)
    ref = cropped.ref
    whole = conv.parameter(node, ref)
    index = cropped.index
    items = [] if index is None else list(index if isinstance(index, tuple) else (index,))
    items += [slice(None)] * (ref.value.dim() - len(items))
    if len(whole.shape) > ref.value.dim():  # the Parameter node's batch slot
        items.insert(0, slice(None))
    if rank is not None:
        missing = rank - len(whole.shape)
        if missing < 0:
            raise Unsupported(f"uses {value!r}, of {len(whole.shape)} dims, with a tensor of {rank}")
        items[1:1] = [None] * missing
    if all(isinstance(i, slice) and i == slice(None) for i in items):
        return whole
    cut = torch.empty(whole.shape, device="meta")[tuple(items)].shape
    port = conv.add(node, "Index", {"index": index_text(tuple(items))}, [whole], base=f"{ref.qual}_cut")
    return Port(port.node, 0, tuple(cut))


__all__ = ["Cropped", "MaskTest", "ParamRef", "cut_port", "cut_shape", "index_text", "parameter_params"]
