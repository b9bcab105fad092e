"""The torch.fx half of ``netwright import``: trace a module, then walk its graph and
turn every call into catalog nodes and wires (the translations live in fx_ops).

``Converter.run`` never stops at the first problem: an operation with no catalog node
is recorded with its source line and replaced by a stand-in of the traced shape, so
the nodes after it are checked too and one error can list everything.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import fx, nn

from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Edge, Network, Node
from graph_compiler.interop.fx_model_ops import (
    ALL_FUNCTIONS as FUNCTIONS,
)
from graph_compiler.interop.fx_model_ops import (
    ALL_METHODS as METHODS,
)
from graph_compiler.interop.fx_model_ops import (
    ALL_MODULES as MODULES,
)
from graph_compiler.interop.fx_model_ops import (
    READS_REFS,
)
from graph_compiler.interop.fx_ops import (
    KNOWN_FUNCTIONS,
    Const,
    Port,
    RnnState,
    Unsupported,
    arg,
    describe,
    special_module,
)
from graph_compiler.interop.fx_tensors import Cropped, ParamRef, cut_port, parameter_params
from graph_compiler.interop.fx_trace import TRACE_BATCH, ModelImportError, location

@dataclass(frozen=True)
class Problem:
    """One operation with no node: what it calls, why not, its source line, and the
    module whose forward makes the call (``layers.0.attention``)."""

    what: str
    reason: str
    where: str = ""
    scope: str = ""
    layer: bool = False  # the scope is the layer itself: nn.AvgPool1d (layers.0.pool)

    def within(self, qual: str) -> Problem:
        """The same problem seen from the module that holds ``qual``."""
        return replace(self, scope=f"{qual}.{self.scope}" if self.scope else qual)

    def text(self, scopes: Sequence[str] = ()) -> str:
        scopes = list(scopes) or ([self.scope] if self.scope else [])
        more = f" and {len(scopes) - 1} more" if len(scopes) > 1 else ""
        if self.layer and scopes:
            head, inside = f"{self.what} ({scopes[0]}{more})", ""
        else:
            head, inside = self.what, f" (in {scopes[0]}{more})" if scopes else ""
        return f"{head}: {self.reason}{inside}" + (f" [{self.where}]" if self.where else "")


def collapse(problems: Sequence[Problem | str]) -> list[str]:
    """One line per distinct problem: the same call at the same source line in N layers
    (a Llama's eight attention blocks) is one line naming the first and counting the rest."""
    scopes: dict[Problem | str, list[str]] = {}
    for p in problems:
        key = replace(p, scope="") if isinstance(p, Problem) else p
        found = scopes.setdefault(key, [])
        if isinstance(p, Problem) and p.scope and p.scope not in found:
            found.append(p.scope)
    return [key.text(found) if isinstance(key, Problem) else key for key, found in scopes.items()]


class UnsupportedModelError(ModelImportError):
    """The model uses operations the catalog cannot express; ``problems`` lists each with
    its source line and the module that makes the call, once however many layers repeat it."""

    def __init__(self, model: str, found: Sequence[Problem | str]) -> None:
        problems = collapse(found)
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"cannot import {model}: {len(problems)} operation(s) have no Netwright node:\n{listed}")
        self.problems = problems


class NotABlock(Exception):  # noqa: N818 - a signal to the importer, not an error users see
    """A candidate block class whose calls pass something other than tensors: import again
    with its instances traced through."""

    def __init__(self, cls: type) -> None:
        super().__init__(cls.__name__)
        self.cls = cls


@dataclass(frozen=True)
class _Opaque:
    """A value the graph cannot carry (attention weights, ...): fine unless used."""

    reason: str


@dataclass
class BlockCall:
    cls: type
    module: nn.Module
    qual: str
    shapes: list[tuple[int, ...]]
    dtypes: list[torch.dtype]


@dataclass
class Converted:
    network: Network
    origins: dict[str, str] = field(default_factory=dict)  # node id -> module path
    notes: list[str] = field(default_factory=list)  # what tracing specialised or dropped
    example: list[torch.Tensor] = field(default_factory=list)  # the batch it was traced on
    expected: Any = None  # the model's output on that batch


# ---------------------------------------------------------------- conversion


class Converter:
    """One traced module -> one Netwright network (nodes, wires, ids, problems)."""

    def __init__(self, gm: fx.GraphModule, name: str, block_classes: set[type],
                 block_name: Callable[[BlockCall], str], source: nn.Module) -> None:
        self.gm = gm
        self.source = source  # the traced module itself: fx copies buffers as persistent ones
        self.block_classes = block_classes
        self.block_name = block_name  # converts one block instance, names its network
        self._block_nets: set[str] = set()
        self.result = Converted(Network(name))
        self.problems: list[Problem | str] = []
        self._taken: set[str] = set()
        self._owners: dict[str, fx.Node] = {}  # module path -> the call that owns its weights
        self._params: dict[str, Port] = {}  # tensor path -> its Parameter node
        self._inputs: list[Port] = []

    # -- helpers for fx_ops
    def shape_of(self, node: fx.Node) -> tuple[int, ...]:
        meta = node.meta.get("tensor_meta")
        return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else ()

    def shapes_of(self, node: fx.Node) -> list[tuple[int, ...]]:
        meta = node.meta.get("tensor_meta")
        if isinstance(meta, (tuple, list)) and not hasattr(meta, "shape"):  # TensorMetadata is a tuple too
            return [tuple(m.shape) for m in meta if hasattr(m, "shape")]
        return [self.shape_of(node)]

    def add(self, node: fx.Node, kind: str, params: dict[str, Any], inputs: Sequence[Port | None],
            suffix: str = "", outputs: int = 1, base: str | None = None, qual: str | None = None) -> Any:
        """Add a node fed by ``inputs`` (in port order; None leaves a port empty); returns
        its output Port, or a tuple of Ports when it has several outputs."""
        if kind not in REGISTRY and kind not in self._block_nets:
            raise Unsupported(f"no catalog node for this yet ({kind})")
        nid = self._unique(base or self._base_id(node) + (f"_{suffix}" if suffix else ""))
        self.result.network.nodes.append(Node(nid, kind, _clean(kind, params)))
        for port, src in enumerate(inputs):
            if src is not None:
                self.result.network.edges.append(Edge(src.node, nid, src.port, port))
        if qual is not None:
            self.result.origins[nid] = qual
        shapes = self.shapes_of(node)
        ports = tuple(Port(nid, i, shapes[i] if i < len(shapes) else ()) for i in range(outputs))
        return ports if outputs > 1 else ports[0]

    def _base_id(self, node: fx.Node) -> str:
        """A layer keeps its module path (``layer1.0.conv1``), so the generated code
        rebuilds the same hierarchy; other calls are named inside the module whose
        forward makes them (``layer1.0.add``)."""
        if node.op == "call_module":
            return str(node.target)
        base = re.sub(r"_\d+$", "", node.name) or node.name
        stack = node.meta.get("nn_module_stack") or {}
        scope = str(list(stack.values())[-1][0]) if stack else ""
        return f"{scope}.{base}" if scope else base

    def _unique(self, base: str) -> str:
        name, i = base, 2
        while name in self._taken:
            name, i = f"{base}_{i}", i + 1
        self._taken.add(name)
        return name

    # -- the walk
    def run(self, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype]) -> Converted:
        values: dict[fx.Node, Any] = {}
        inputs = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        for node, shape, dtype in zip(inputs, shapes, dtypes):
            nid = self._unique(re.sub(r"\W", "_", str(node.target).lstrip("*")) or "x")
            params = {"shape": list(shape)} | ({"dtype": "int64"} if dtype == torch.int64 else {})
            self.result.network.nodes.append(Node(nid, "Input", params))
            values[node] = Port(nid, 0, (TRACE_BATCH, *shape))
            self._inputs.append(values[node])
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "output":
                self._outputs(node.args[0], values)
                continue
            args = fx.node.map_arg(node.args, lambda n: values[n])
            kwargs = fx.node.map_arg(node.kwargs, lambda n: values[n])
            if _contains(args, kwargs, _Failed):
                values[node] = _Failed()
                continue
            try:
                if node.op in ("call_function", "call_method", "call_module") and node.target not in READS_REFS:
                    args, kwargs = self._materialise(node, args, kwargs)
                values[node] = self._translate(node, args, kwargs)
            except Unsupported as exc:
                constant = node.meta.get("constant")
                if isinstance(constant, torch.Tensor):  # a problem only where a node needs it as a tensor
                    values[node] = Const(constant, "uses a tensor made in forward from constants "
                                         f"({self._problem(node, str(exc)).text()}); register it as a buffer instead")
                    continue
                # Taking apart a stand-in's result (sort(x).values) only echoes its problem.
                accessor = node.op == "call_function" and node.target in (getattr, operator.getitem)
                if not (accessor and _contains(args, kwargs, Port, lambda p: p.node == "?")):
                    self.problems.append(self._problem(node, str(exc)))
                values[node] = self._stand_in(node)
        return self.result

    def own(self, qual: str, node: fx.Node) -> None:
        """``node`` becomes the node of module ``qual``'s weights; a second call of the same
        module would share them, which Netwright nodes do not."""
        if self._owners.setdefault(qual, node) is not node:
            raise Unsupported("the same module is called twice, sharing its weights; each Netwright "
                              "node owns its own weights")
        read = next((t for t in self._params if t.startswith(qual + ".")), None)
        if read is not None:
            raise Unsupported(_read_and_owned(read, qual))

    def note(self, node: fx.Node, text: str) -> None:
        """Something the import left out or assumed, with its source line."""
        where = location(node)
        self.result.notes.append(text + (f" at {where}" if where else ""))

    def input_ports(self) -> list[Port]:
        return list(self._inputs)

    def _param_ref(self, qual: str) -> ParamRef:
        owner, _, name = qual.rpartition(".")
        module = self.gm.get_submodule(owner) if owner else self.gm
        value = getattr(module, name)
        if not isinstance(value, torch.Tensor) or qual.startswith("_tensor_constant"):
            raise Unsupported("a constant tensor made in forward (torch.tensor, torch.ones, ...); "
                              "register it as a buffer or parameter instead")
        buffer = not isinstance(value, nn.Parameter)
        holder = self.source.get_submodule(owner) if owner else self.source
        return ParamRef(qual, value, buffer, persistent=name not in holder._non_persistent_buffers_set)

    def parameter(self, node: fx.Node, ref: ParamRef) -> Port:
        """The Parameter node for a model's own tensor (one per tensor, however often used)."""
        if ref.qual not in self._params:
            parts = ref.qual.split(".")
            layer = next((q for q in (".".join(parts[:i]) for i in range(1, len(parts))) if q in self._owners), None)
            if layer is not None:
                raise Unsupported(_read_and_owned(ref.qual, layer))
            params = parameter_params(ref)
            shape = tuple(params["shape"]) if params["batch_dim"] else (1, *params["shape"])
            port = self.add(node, "Parameter", params, [], base=ref.qual, qual=ref.qual)
            self._params[ref.qual] = Port(port.node, 0, shape)
        return self._params[ref.qual]

    def _materialise(self, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # A block call keeps a slice of a buffer as it is, so the block is traced through
        # (its input would otherwise be a tensor without a batch).
        block = node.op == "call_module" and type(self.gm.get_submodule(str(node.target))) in self.block_classes

        def swap(v: Any) -> Any:
            if isinstance(v, ParamRef) or (isinstance(v, Cropped) and not block):
                return cut_port(self, node, v)
            return v
        return fx.node.map_aggregate(args, swap), fx.node.map_aggregate(kwargs, swap)

    def _stand_in(self, node: fx.Node) -> Any:
        """After a problem, a stand-in of the traced shape lets the nodes downstream be
        checked too, so one error lists every problem (the graph is never built)."""
        meta = node.meta.get("tensor_meta")
        if meta is None:
            return _Failed()
        if hasattr(meta, "shape"):
            return Port("?", 0, tuple(meta.shape))
        return tuple(Port("?", i, s) for i, s in enumerate(self.shapes_of(node)))

    def _problem(self, node: fx.Node, reason: str) -> Problem:
        stack = node.meta.get("nn_module_stack") or {}
        scope = str(list(stack.values())[-1][0]) if stack else ""
        if node.op == "call_module":
            what = _module_name(self.gm.get_submodule(str(node.target)))
            return Problem(what, reason, location(node), str(node.target), layer=True)
        if node.op == "get_attr":
            what = f"the parameter or buffer self.{node.target} used directly in forward"
        else:
            what = describe(node)
        return Problem(what, reason, location(node), scope)

    def _translate(self, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if node.op == "call_module":
            return self._module(node, args, kwargs)
        if node.op == "call_function" and node.target in FUNCTIONS:
            return FUNCTIONS[node.target](self, node, args, kwargs)
        known = KNOWN_FUNCTIONS.get(getattr(node.target, "__name__", ""))
        if node.op == "call_function" and known is not None:
            return known(self, node, args, kwargs)
        if node.op == "call_method" and node.target in METHODS:
            return METHODS[node.target](self, node, args, kwargs)
        if node.op == "get_attr":
            return self._param_ref(str(node.target))
        raise Unsupported("no catalog node does this")

    def _module(self, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        qual = str(node.target)
        mod = self.gm.get_submodule(qual)
        if any(True for _ in mod.parameters()) or any(True for _ in mod.buffers()):
            self.own(qual, node)
        if type(mod) in self.block_classes:
            if not all(isinstance(a, Port) for a in args):
                raise NotABlock(type(mod))  # a list of tensors (DenseNet's layers): trace through it
            ports = [_port(a) for a in args]
            if kwargs:
                raise Unsupported("keyword arguments to a block")
            net = self.block_name(BlockCall(type(mod), mod, qual, [p.shape[1:] for p in ports],
                                            [_dtype(self.gm, node, i) for i in range(len(ports))]))
            self._block_nets.add(net)
            n_out = len(self.shapes_of(node))
            return self.add(node, net, {}, ports, outputs=n_out, qual=qual)
        if isinstance(mod, nn.TransformerEncoder):
            return self._encoder_stack(node, mod, args, kwargs, qual)
        translate = MODULES.get(type(mod)) or special_module(mod)
        if translate is None:
            raise Unsupported("no catalog node for this layer")
        kind, params = translate(mod)
        if isinstance(mod, nn.MultiheadAttention):
            return self._attention(node, kind, params, args, kwargs, qual)
        if isinstance(mod, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
            _no_masks(kwargs, args[2:] if isinstance(mod, nn.TransformerDecoderLayer) else args[1:])
            return self.add(node, kind, params, [_port(a) for a in args[:2 if kind.endswith("DecoderLayer") else 1]],
                            qual=qual)
        if isinstance(mod, nn.RNNBase):
            if len(args) > 1 or kwargs:
                raise Unsupported("an initial hidden state (Netwright's recurrent layers start from zeros)")
            x = _port(args[0])
            seq = self.add(node, kind, params, [x], outputs=2, qual=qual)[0]
            seq = Port(seq.node, 0, self.shapes_of(node)[0], rnn=seq.node)
            state = RnnState(seq.node, seq.shape, isinstance(mod, nn.LSTM), mod.bidirectional,
                             "state" if isinstance(mod, nn.LSTM) else "h")
            return (seq, state)
        if kwargs or len(args) != 1:
            raise Unsupported("extra arguments in the call")
        return self.add(node, kind, params, [_port(args[0])], qual=qual)

    def _attention(self, node: fx.Node, kind: str, params: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                   qual: str) -> tuple[Any, ...]:
        # forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
        # is_causal): masks have no catalog equivalent (a causal mask is the node's causal option).
        q, k, v = (arg(args, kwargs, i, name) for i, name in enumerate(("query", "key", "value")))
        if any(arg(args, kwargs, i, name) not in (None, False)
               for i, name in ((3, "key_padding_mask"), (5, "attn_mask"), (7, "is_causal"))):
            raise Unsupported("an attention mask (use the catalog's causal option instead)")
        inputs = [_port(q)] + ([] if k == q and v == q else [_port(k)] + ([] if v == k else [_port(v)]))
        out = self.add(node, kind, params, inputs, qual=qual)
        return (Port(out.node, 0, self.shapes_of(node)[0]), _Opaque("uses the attention weights"))

    def _encoder_stack(self, node: fx.Node, mod: nn.TransformerEncoder, args: tuple[Any, ...], kwargs: dict[str, Any],
                       qual: str) -> Port:
        """nn.TransformerEncoder = its layers one after another (plus its final norm)."""
        _no_masks(kwargs, args[1:])
        x = _port(args[0])
        for i, layer in enumerate(mod.layers):
            kind, params = MODULES[type(layer)](layer)
            x = self.add(node, kind, params, [x], base=f"{qual}.layers.{i}", qual=f"{qual}.layers.{i}")
        if mod.norm is not None:
            if type(mod.norm) not in MODULES:
                raise Unsupported("a final norm that is not a catalog layer")
            kind, params = MODULES[type(mod.norm)](mod.norm)
            x = self.add(node, kind, params, [x], base=f"{qual}.norm", qual=f"{qual}.norm")
        return x

    def _outputs(self, result: Any, values: dict[fx.Node, Any]) -> None:
        flat: list[tuple[str, Any]] = []

        def walk(value: Any, key: str) -> None:
            if isinstance(value, (tuple, list)):
                for i, v in enumerate(value):
                    walk(v, f"{key}{i}")
            elif isinstance(value, dict):  # no operation is at fault: one line, not a list of ops
                raise ModelImportError(
                    f"cannot import {self.result.network.name}: the model returns a dict (keys "
                    f"{', '.join(map(str, value))}); a network returns a tensor or a tuple of tensors, so import a "
                    "wrapper whose forward returns them as a tuple")
            elif value is None:  # forward(idx, targets=None) -> (logits, loss=None)
                self.result.notes.append(f"left out output {key}, which is None for these inputs")
            else:
                flat.append((key, value))

        walk(result, "out")
        for key, value in flat:
            value = values[value] if isinstance(value, fx.Node) else value
            if isinstance(value, _Failed):
                continue
            if not isinstance(value, Port):
                self.problems.append(f"the model returns {type(value).__name__} {key}, not a tensor")
                continue
            nid = self._unique(key if len(flat) > 1 else "out")
            self.result.network.nodes.append(Node(nid, "Output"))
            self.result.network.edges.append(Edge(value.node, nid, value.port, 0))


def _read_and_owned(tensor: str, layer: str) -> str:
    return (f"reads {tensor} directly, though layer {layer} owns it; each Netwright node owns its own "
            "weights (compute with the layer's output, or keep the tensor in a module of its own)")


class _Failed:
    """The value of a node that could not be converted (already reported)."""


def _contains(args: Any, kwargs: Any, kind: type, test: Any = None) -> bool:
    found = False

    def look(v: Any) -> Any:
        nonlocal found
        found = found or (isinstance(v, kind) and (test is None or test(v)))
        return v

    for value in (args, kwargs):
        _walk(value, look)
    return found


def _walk(value: Any, fn: Any) -> None:
    if isinstance(value, (tuple, list)):
        for v in value:
            _walk(v, fn)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, fn)
    else:
        fn(value)


def _port(value: Any) -> Port:
    if isinstance(value, _Opaque):
        raise Unsupported(value.reason)
    if isinstance(value, Const):
        raise Unsupported(value.problem)
    if not isinstance(value, Port):
        raise Unsupported(f"takes {type(value).__name__} {value!r} where a tensor was expected")
    return value


def _no_masks(kwargs: dict[str, Any], extra_args: Iterable[Any]) -> None:
    if any(v is not None and v is not False for v in [*kwargs.values(), *extra_args]):
        raise Unsupported("masks or is_causal passed in the call (set the catalog's causal option instead)")


def _dtype(gm: fx.GraphModule, node: fx.Node, index: int) -> torch.dtype:
    arg = node.args[index]
    meta = arg.meta.get("tensor_meta") if isinstance(arg, fx.Node) else None
    return meta.dtype if meta is not None and hasattr(meta, "dtype") else torch.float32


def _module_name(mod: nn.Module) -> str:
    cls = type(mod)
    module = "nn" if cls.__module__.startswith("torch.nn") else cls.__module__
    return f"{module}.{cls.__name__}"


def _clean(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Leave out what equals the catalog's default: the file lists only real choices."""
    spec = REGISTRY.get(kind)
    if spec is None:
        return params
    out = {}
    for key, value in params.items():
        p = spec.param(key)
        value = list(value) if isinstance(value, tuple) else value
        default = list(p.default) if p is not None and isinstance(p.default, tuple) else getattr(p, "default", None)
        if p is not None and value == default and type(value) is type(default):
            continue
        out[key] = value
    return out



__all__ = ["BlockCall", "Converted", "Converter", "ModelImportError", "NotABlock", "Problem", "UnsupportedModelError",
           "collapse"]
