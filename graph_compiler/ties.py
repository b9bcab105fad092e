"""Tied weights: one node's parameter is another node's very tensor.

GPT-2's output head reuses the token embedding (``lm_head.weight`` is ``wte.weight``).
A network lists such ties (document.Tie); analysis checks them here (both nodes exist,
the parameters exist, their shapes match, no chains) and counts a tied parameter once,
at the node it is tied to. Code generation makes the sharing real
(``self.lm_head.weight = self.wte.weight``), so the state dict holds both keys, one
tensor, and the weight files store it once (shared_tensors.py).

Parameter shapes come from building the two layers on torch's meta device (exact, no
memory), only for networks that have ties.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Network, Tie

if TYPE_CHECKING:
    from graph_compiler.analysis import NodeInfo

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SHAPES: dict[tuple[str, str], dict[str, tuple[int, ...]]] = {}


def param_shapes(type_name: str, params: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """name -> shape of every parameter of a catalog node with resolved params."""
    key = (type_name, repr(params))
    hit = _SHAPES.get(key)
    if hit is not None:
        return hit
    import torch

    from graph_compiler.catalog.support import namespace

    spec = REGISTRY.get(type_name)
    ctor = spec.constructor(params) if spec is not None else None
    shapes: dict[str, tuple[int, ...]] = {}
    if ctor is not None:
        with torch.device("meta"):
            module = eval(ctor, dict(namespace()))  # noqa: S307 - catalog text from checked params
        if isinstance(module, torch.nn.Module):
            shapes = {k: tuple(v.shape) for k, v in module.named_parameters()}
    if len(_SHAPES) > 10_000:
        _SHAPES.clear()
    _SHAPES[key] = shapes
    return shapes


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def apply_ties(net: Network, infos: dict[str, NodeInfo]) -> list[tuple[str | None, str]]:
    """Check the network's ties and count each tied parameter once; returns (node, message)
    for every problem. Adjusts ``infos`` in place: the tying node's parameter count drops
    by the shared tensor, and both nodes get a note saying what they share."""
    problems: list[tuple[str | None, str]] = []
    tied: dict[tuple[str, str], Tie] = {}
    for tie in net.ties:
        where = f"tie {tie.text()}"
        missing = [n for n in (tie.node, tie.to_node) if n not in infos]
        if missing:
            at = tie.node if tie.node in infos else tie.to_node if tie.to_node in infos else None
            problems.append((at, f"{where}: there is no node {missing[0]!r} in {net.name}"))
            continue
        if (tie.node, tie.param) == (tie.to_node, tie.to_param):
            problems.append((tie.node, f"{where}: a parameter cannot be tied to itself"))
            continue
        if (tie.node, tie.param) in tied:
            problems.append((tie.node, f"{where}: {tie.node}.{tie.param} is already tied to "
                                       f"{tied[(tie.node, tie.param)].to_node}"))
            continue
        tied[(tie.node, tie.param)] = tie
    for tie in list(tied.values()):
        origin = tied.get((tie.to_node, tie.to_param))
        if origin is not None:
            problems.append((tie.node, f"tie {tie.text()}: {tie.to_node}.{tie.to_param} is itself tied to "
                                       f"{origin.to_node}.{origin.to_param}; tie to that one instead"))
            del tied[(tie.node, tie.param)]
    for tie in tied.values():
        problem = _check(tie, infos)
        if problem is not None:
            problems.append(problem)
    return problems


def _check(tie: Tie, infos: dict[str, NodeInfo]) -> tuple[str | None, str] | None:
    where = f"tie {tie.text()}"
    a, b = infos[tie.node], infos[tie.to_node]
    for info, param in ((a, tie.param), (b, tie.to_param)):
        if REGISTRY.get(info.type) is None or info.type in ("Input", "Output", "Parameter"):
            return info.id, (f"{where}: {info.id} is a {info.type}; ties join the parameters of layers "
                             "(Linear, Embedding, Conv2d...) in the same network")
        if not _PATH.fullmatch(param):
            return info.id, f"{where}: {param!r} is not a parameter name"
    if a.outputs is None or b.outputs is None:
        return None  # the nodes have errors of their own; their sizes are not known
    shapes_a, shapes_b = param_shapes(a.type, a.params), param_shapes(b.type, b.params)
    for info, param, shapes in ((a, tie.param, shapes_a), (b, tie.to_param, shapes_b)):
        if param not in shapes:
            known = ", ".join(shapes) or "none"
            return info.id, f"{where}: {info.id} ({info.type}) has no parameter {param!r} (it has: {known})"
    sa, sb = shapes_a[tie.param], shapes_b[tie.to_param]
    if sa != sb:
        return tie.node, (f"{where}: shapes differ: {tie.node}.{tie.param} is {_fmt(sa)}, "
                          f"{tie.to_node}.{tie.to_param} is {_fmt(sb)}")
    numel = 1
    for d in sa:
        numel *= d
    a.n_params -= numel
    a.notes.append(f"{tie.param} tied to {tie.to_node}.{tie.to_param} (counted there)")
    b.notes.append(f"{tie.to_param} shared with {tie.node}.{tie.param}")
    return None


def tie_lines(net: Network, modules: dict[str, str]) -> list[str]:
    """``self.lm_head.weight = self.wte.weight`` for each tie, in file order; ``modules``
    gives each node's module expression (``self.transformer.h[0].attn`` when nested).
    Called for networks that analysed without errors, so every name is a checked
    parameter path."""
    lines = []
    for tie in net.ties:
        if tie.node in modules and tie.to_node in modules:
            lines.append(f"{modules[tie.node]}.{tie.param} = {modules[tie.to_node]}.{tie.to_param}")
    return lines


__all__ = ["apply_ties", "param_shapes", "tie_lines"]
