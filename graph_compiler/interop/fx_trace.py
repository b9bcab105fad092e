"""Tracing a user's module with torch.fx, specialised on the given input shapes.

torch.fx records forward() symbolically, which refuses any Python ``if`` / ``assert`` on
a traced value. Real models branch on sizes (``assert t <= block_size``, ``if x.size(1)
!= C``): those depend only on the input shape the user gave, so the tracer evaluates
them on an example batch of that shape and keeps the branch taken, noting it.
Conditions on tensor values stay refused. ``torch._assert`` size checks and the guards
fx adds for arguments left at their defaults are dropped, with a note for the former.
"""
from __future__ import annotations

import inspect
import linecache
import operator
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from graph_compiler.interop import InteropError
from graph_compiler.interop.fx_model_ops import ALL_MODULES as MODULES
from graph_compiler.interop.fx_ops import KNOWN_FUNCTIONS, special_module

TRACE_BATCH = 2  # not 1, so a reshape that folds the batch into another dim shows up
_TORCH_DIR = os.path.dirname(torch.__file__)
# Reading these gives sizes, never tensor values: a condition built only from them
# (and constants) depends on the input shape alone.
_SIZE_METHODS = {"size", "dim", "numel", "nelement", "ndimension"}
_SIZE_ATTRS = {"shape", "ndim", "dtype", "device", "is_cuda"}
_ASSERTS = {torch._assert, getattr(torch, "_assert_async", torch._assert)}


class ModelImportError(InteropError):
    """The model cannot be loaded, traced or reproduced."""


class DataDependentError(ModelImportError):
    """forward() branches on tensor values: no single graph can represent it."""


class _Tracer(fx.Tracer):
    """Catalog modules and block classes stay whole; everything else is traced through.
    Conditions on sizes are evaluated on the example inputs."""

    def __init__(self, leaves: set[type], example: list[torch.Tensor], wrap: tuple[Any, ...] = ()) -> None:
        super().__init__(autowrap_functions=wrap)
        self.leaves = leaves
        self.example = example
        # fx's own stack recording symbolises whole tracebacks (seconds of imports on first
        # use); the innermost user frame is all the messages need (see _user_frame).
        self.record_stack_traces = False
        self.proxy_buffer_attributes = True  # self.bias[:, :, :T, :T] stays in the graph
        self.notes: list[str] = []
        self._env: dict[fx.Node, Any] = {}
        self._sizes: set[fx.Node] = set()  # x.size() / x.shape nodes

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if type(m) in MODULES or type(m) in self.leaves or special_module(m) is not None:
            return True
        if isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            return False
        return m.__module__.startswith("torch.nn")  # other torch layers: reported as unsupported

    def create_proxy(self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **kw: Any) -> Any:
        """Sizes other than the batch come back as plain ints (the graph is specialised on
        the given input shape); the batch size stays symbolic, so view(B, ...) and
        expand(B, ...) keep following the batch."""
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **kw)
        node = proxy.node
        node.stack_trace = _user_frame()
        if kind == "call_method" and target == "size":
            if len(args) > 1 or "dim" in kwargs:
                dim = args[1] if len(args) > 1 else kwargs["dim"]
                return self._size_item(node, args[0].node, dim) if isinstance(dim, int) else proxy
            self._sizes.add(node)
        elif kind == "call_function" and target is getattr and args[1] == "shape":
            self._sizes.add(node)
        elif kind == "call_function" and target is operator.getitem and isinstance(args[0], fx.Proxy) \
                and args[0].node in self._sizes and isinstance(args[1], int):
            return self._size_item(node, args[0].node.args[0], args[1])
        elif kind == "call_method" and target in ("dim", "ndimension"):
            self._note(node)
            return self._value(args[0].node).dim()
        return proxy

    def _size_item(self, node: fx.Node, tensor: Any, dim: int) -> Any:
        value = self._value(tensor)
        if dim % value.dim() == 0:
            return fx.Proxy(node, self)
        self._note(node)
        return int(value.shape[dim])

    def _note(self, node: fx.Node) -> None:
        where = location(node)
        self.notes.append("specialised on the input shape (sizes read as constants)"
                          + (f" at {where}" if where else ""))

    def to_bool(self, obj: fx.Proxy) -> bool:
        node = obj.node
        if not _shape_only(node):
            where = location(node)
            raise DataDependentError(
                "forward() uses a tensor's values in Python control flow (if / while / assert on data)"
                + (f" at {where}" if where else "")
                + "; a graph cannot branch on data, so rewrite it with tensor operations such as "
                "torch.where, or import a model without this branch")
        value = bool(self._value(node))
        where = location(node)
        self.notes.append(f"specialised on the input shape: a size condition is {value}"
                          + (f" at {where}" if where else ""))
        return value

    def _value(self, node: fx.Node) -> Any:
        """The value of ``node`` on the example inputs, running the graph traced so far
        (each node once: values are kept for later questions)."""
        # fx patches nn.Module.__call__ while tracing; run the real modules without it
        # (the context manager fx itself uses for the same purpose).
        from torch.fx._symbolic_trace import _maybe_revert_all_patches

        if node in self._env:
            return self._env[node]
        with torch.no_grad(), _maybe_revert_all_patches():
            self._fill(node)
        return self._env[node]

    def _fill(self, node: fx.Node) -> None:
        for n in self.graph.nodes:
            if n not in self._env:
                self._env[n] = self._run(n)
            if n is node:
                break

    def _run(self, n: fx.Node) -> Any:
        args = fx.node.map_arg(n.args, lambda a: self._env[a])
        kwargs = fx.node.map_arg(n.kwargs, lambda a: self._env[a])
        if n.op == "placeholder":
            index = sum(1 for m in self._env if m.op == "placeholder")
            return self.example[index] if index < len(self.example) else (n.args[0] if n.args else None)
        if n.op == "get_attr":
            return _attr(self.root, str(n.target))
        if n.op == "call_module":
            return self.root.get_submodule(str(n.target))(*args, **kwargs)
        if n.op == "call_function":
            return n.target(*args, **kwargs)  # type: ignore[operator]  # call_function targets are callables
        if n.op == "call_method":
            return getattr(args[0], str(n.target))(*args[1:], **kwargs)
        return None


def _attr(root: nn.Module, path: str) -> Any:
    value: Any = root
    for part in path.split("."):
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class TensorMeta:
    """What the converter reads of a traced value (fx's own TensorMetadata imports its
    symbolic-shapes machinery, seconds on first use)."""

    shape: tuple[int, ...]
    dtype: torch.dtype


class _ShapeProp(fx.Interpreter):
    """torch.fx's ShapeProp (tensor_meta on every node), without the traceback it prints
    when a layer fails: the caller turns that failure into one message."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        found = False

        def meta(value: Any) -> Any:
            nonlocal found
            if isinstance(value, torch.Tensor):
                found = True
                return TensorMeta(tuple(value.shape), value.dtype)
            return value

        described = fx.node.map_aggregate(result, meta)
        if found:
            n.meta["tensor_meta"] = described
        if isinstance(result, torch.Tensor) and _made_of_constants(n):
            n.meta["constant"] = result  # the same for every input: a causal mask made in forward
        return result


def _made_of_constants(n: fx.Node) -> bool:
    """A call on constants, sizes fixed by the input shape, and tensors' device / dtype only."""
    if n.op not in ("call_function", "call_method"):
        return False
    return all("constant" in a.meta or (a.op == "call_function" and a.target is getattr
                                        and a.args[1] in ("device", "dtype")) for a in n.all_input_nodes)


def _user_frame() -> str:
    """The innermost frame of the model's own code, as fx formats stack traces."""
    frame = sys._getframe(2)
    while frame is not None:
        file = frame.f_code.co_filename
        if not file.startswith(_TORCH_DIR) and "graph_compiler" not in file and not file.startswith("<"):
            code = linecache.getline(file, frame.f_lineno).strip()
            return f'File "{file}", line {frame.f_lineno}, in {frame.f_code.co_name}\n    {code}\n'
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop
    return ""


def _shape_only(node: fx.Node) -> bool:
    """Whether a value is computed from sizes and constants only, never tensor data."""
    seen: dict[fx.Node, bool] = {}

    def visit(n: fx.Node) -> bool:
        if n in seen:
            return seen[n]
        if n.op == "call_method" and n.target in _SIZE_METHODS:
            ok = True
        elif n.op == "call_function" and n.target is getattr and n.args[1] in _SIZE_ATTRS:
            ok = True
        elif n.op == "call_function" and n.target is len:
            ok = True
        elif n.op in ("placeholder", "get_attr", "call_module"):
            ok = False
        else:
            ok = all(visit(a) for a in n.all_input_nodes)
        seen[n] = ok
        return ok

    return visit(node)


class _GraphOnly(fx.GraphModule):
    """The traced graph with the model's modules and tensors under their own paths, run
    only by fx.Interpreter. fx's generated forward() is never made: fx writes a child
    named with a Python keyword (``self.add_module("class", ...)``) as ``self.class``,
    which is not Python, though the model itself is fine."""

    def recompile(self) -> Any:
        return None


@dataclass
class Traced:
    """A traced module with shapes propagated, what tracing specialised, and the example
    batch with the model's own output on it (what the imported graph must reproduce)."""

    gm: fx.GraphModule
    notes: list[str]
    example: list[torch.Tensor]
    output: Any


def trace(module: nn.Module, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype],
          leaves: set[type], label: str) -> Traced:
    """Trace ``module`` on a random batch of the given shapes (see Traced)."""
    example = example_inputs(module, shapes, dtypes, TRACE_BATCH)
    _check_arity(module, shapes, label)
    tracer = _Tracer(leaves, example, _known_functions(module))
    try:
        graph = tracer.trace(module, concrete_args=_defaults_beyond(module, len(shapes)))
    except DataDependentError as exc:
        raise DataDependentError(f"cannot import {label}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - fx raises many types for untraceable code
        _check_runs(module, example, shapes, label)  # a wrong input shape explains it best
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelImportError(
            f"cannot trace {label} with torch.fx{traceback_location(exc)}: {type(exc).__name__}: {first}"
        ) from None
    notes = tracer.notes + _drop_guards(graph, len(shapes))
    gm = _GraphOnly(tracer.root, graph)
    gm.graph.eliminate_dead_code()
    with torch.no_grad():
        try:
            output = _ShapeProp(gm).run(*example)
        except Exception:  # noqa: BLE001 - the user's layers raise whatever they raise
            _check_runs(module, example, shapes, label)
            raise
    return Traced(gm, notes, example, output)


def _known_functions(module: nn.Module) -> tuple[Any, ...]:
    """Helper functions the model's code defines under a well-known name (nanoGPT's
    new_gelu): recorded as one call, mapped to its catalog node, and checked by the
    output comparison like everything else."""
    found: dict[int, Any] = {}
    for sub in module.modules():
        namespace = vars(sys.modules.get(type(sub).__module__, object()))
        for name in KNOWN_FUNCTIONS:
            fn = namespace.get(name)
            if inspect.isfunction(fn):
                found[id(fn)] = fn
    return tuple(found.values())


def _check_arity(module: nn.Module, shapes: list[tuple[int, ...]], label: str) -> None:
    n_required = _required_inputs(module)
    if not n_required <= len(shapes) <= n_required + _optional_inputs(module):
        names = ", ".join(_forward_params(module)[:max(n_required, 1)])
        raise ModelImportError(f"{label}.forward takes {n_required} input(s) ({names}) but {len(shapes)} "
                               "input shape(s) were given")


def _check_runs(module: nn.Module, example: list[torch.Tensor], shapes: list[tuple[int, ...]], label: str) -> None:
    """When tracing fails: a clear message if the model does not even run on inputs of
    the given shape (a wrong --input-shape), rather than fx's."""
    with torch.no_grad():
        try:
            module(*example)
        except Exception as exc:  # noqa: BLE001 - whatever the user's forward raises
            dims = ", ".join(f"[B, {', '.join(map(str, s))}]" for s in shapes)
            text = str(exc).strip() or type(exc).__name__
            raise ModelImportError(f"{label} does not run on inputs {dims}{traceback_location(exc)}: "
                                   f"{text.splitlines()[0]}; check --input-shape / --dtype") from None


def _forward_params(module: nn.Module) -> list[str]:
    return [p.name for p in inspect.signature(module.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _required_inputs(module: nn.Module) -> int:
    return sum(1 for p in inspect.signature(module.forward).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def _optional_inputs(module: nn.Module) -> int:
    return len(_forward_params(module)) - _required_inputs(module)


def _defaults_beyond(module: nn.Module, n_inputs: int) -> dict[str, Any] | None:
    """forward(idx, targets=None): arguments after the given inputs keep their defaults
    and are left out of the graph."""
    params = list(inspect.signature(module.forward).parameters.values())[n_inputs:]
    fixed = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return fixed or None


def _drop_guards(graph: fx.Graph, n_inputs: int) -> list[str]:
    """Remove the placeholders of arguments left at their defaults (and fx's guards on
    them), and torch._assert size checks, which a graph of fixed shapes makes moot."""
    notes: list[str] = []
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    for extra in placeholders[n_inputs:]:
        for user in list(extra.users):  # fx's guards: _assert_is_none(x) or _assert(x == value)
            for guard in list(user.users):
                if guard.op == "call_function" and guard.target in _ASSERTS:
                    graph.erase_node(guard)
            if user.op == "call_function" and not user.users:
                graph.erase_node(user)
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target in _ASSERTS:
            where = location(node)
            notes.append("dropped a torch._assert check" + (f" at {where}" if where else ""))
            graph.erase_node(node)
    for extra in placeholders[n_inputs:]:
        if extra.users:  # a default value the graph still reads: fx passes it as the constant
            extra.replace_all_uses_with(extra.args[0] if extra.args else None)
        graph.erase_node(extra)
    return notes


def example_inputs(module: nn.Module, shapes: Sequence[tuple[int, ...]], dtypes: Sequence[torch.dtype],
                   batch: int, seed: int = 0) -> list[torch.Tensor]:
    """A random batch for the model's inputs (token ids within its smallest vocabulary)."""
    g = torch.Generator().manual_seed(seed)
    vocab = min((m.num_embeddings for m in module.modules() if isinstance(m, nn.Embedding)), default=2)
    inputs = [torch.randint(0, vocab, (batch, *s), generator=g) if d == torch.int64
              else torch.randn(batch, *s, generator=g) for s, d in zip(shapes, dtypes)]
    if on_meta(module):  # a model too big to materialise: structure only
        inputs = [t.to("meta") for t in inputs]
    return inputs


def on_meta(module: nn.Module) -> bool:
    """Whether the model was built on the meta device (shapes without values)."""
    return any(t.is_meta for t in module.parameters()) or any(t.is_meta for t in module.buffers())


def traceback_location(exc: BaseException) -> str:
    """ at file.py:12 for the user's innermost frame of an exception."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if not file.startswith(_TORCH_DIR) and "graph_compiler" not in file:
            where = f" at {Path(file).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def location(node: fx.Node) -> str:
    """file.py:12: code, from the fx node's recorded stack (the user's last frame)."""
    trace_text = node.stack_trace or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]+\n\s*([^\n]*)', trace_text)
    user = [f for f in frames if not f[0].startswith(_TORCH_DIR) and "graph_compiler" not in f[0]]
    if not user:
        return ""
    file, line, code = user[-1]
    return f"{Path(file).name}:{line}: {code.strip()}"


__all__ = ["TRACE_BATCH", "DataDependentError", "Traced", "ModelImportError", "example_inputs", "location", "on_meta", "trace",
           "traceback_location"]
