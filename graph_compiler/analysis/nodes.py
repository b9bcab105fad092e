"""Checking and inferring one node: params, input dtypes, output shapes, parameters, FLOPs.

Closed-form catalog rules first; torch's meta device for specs without rules (and for
every node in reference mode). Blocks (networks used as nodes) report their network's totals."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph_compiler.analysis.results import MAX_NODE_PARAMS, MAX_VALUES, NetworkInfo, TensorType
from graph_compiler.catalog import NodeSpec, Shape, ShapeError
from graph_compiler.catalog.spec import REQUIRED, short_repr
from graph_compiler.document import Network


@dataclass
class _Result:
    params: dict[str, Any]
    outputs: list[TensorType] | None
    n_params: int
    flops: int
    problems: list[tuple[str, str | None]]  # (message, param)
    use: NetworkInfo | None = None  # a parameterised block's network, analysed for this use


class BlockSpec:
    """A network used as a node: its Input nodes are the ports in, its Outputs the ports out.

    ``network`` and ``context`` (the blocks, recursive and all network names it was
    analysed with) let a parameterised block be analysed again per use; ``gen`` changes
    whenever its own network was re-analysed, so results cached per use go stale with it."""

    def __init__(self, info: NetworkInfo, network: Network | None = None, gen: int = 0,
                 context: tuple[dict[str, BlockSpec], set[str], set[str]] | None = None) -> None:
        self.info = info
        self.type = info.name
        self.network = network
        self.gen = gen
        self.context = context

    @property
    def params(self) -> dict[str, Any]:
        """Declared block parameters (name -> default); {} for a plain block."""
        return self.network.params if self.network is not None else {}

    def fingerprint(self) -> tuple[Any, ...]:
        ins = tuple(str(t) if t else None for t in self.info.input_types())
        outs = tuple((t.shape, t.dtype) if t else None for t in self.info.output_types())
        return (self.info.name, ins, outs, self.info.total_params, self.info.flops, self.info.ok)


# ---------------------------------------------------------------- helpers


def _freeze(params: dict[str, Any]) -> Any:
    """A cache key for param values. repr() is exact for JSON values (1, 1.0 and True
    differ) and several times faster than json.dumps; dicts that differ only in key order
    merely miss the cache."""
    try:
        return repr(params)
    except RecursionError:
        return object()  # never equal to anything: recompute


def _n_outputs(spec: NodeSpec | BlockSpec, params: dict[str, Any]) -> int:
    if isinstance(spec, BlockSpec):
        return len(spec.info.outputs)
    if spec.num_outputs is not None:
        checked = check_params(spec, params)[0]
        return spec.output_count(checked)
    return len(spec.outputs)


def _n_inputs(spec: NodeSpec | BlockSpec) -> str:
    if isinstance(spec, BlockSpec):
        return str(len(spec.info.inputs))
    return f"{len(spec.inputs)} or more" if spec.variadic else str(len(spec.inputs))


def _has_input(spec: NodeSpec | BlockSpec, port: int) -> bool:
    if isinstance(spec, BlockSpec):
        return port < len(spec.info.inputs)
    return spec.variadic or port < len(spec.inputs)


def _n_required_inputs(spec: NodeSpec | BlockSpec) -> int:
    if isinstance(spec, BlockSpec):
        return len(spec.info.inputs)
    return sum(1 for p in spec.inputs if not p.optional)


def _input_name(spec: NodeSpec | BlockSpec, port: int) -> str:
    if isinstance(spec, BlockSpec):
        return spec.info.inputs[port] if port < len(spec.info.inputs) else f"in{port}"
    return spec.input_name(port)


def check_params(spec: NodeSpec, raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Defaults filled, values normalised, and a message for every bad param."""
    problems: list[tuple[str, str | None]] = []
    params: dict[str, Any] = {}
    for key in raw:
        if spec.param(key) is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            problems.append((f"unknown parameter {short_repr(key)} for {spec.type} (known: {known})", str(key)))
    for p in spec.params:
        if p.name in raw and not (raw[p.name] is None and p.inferred):
            value, msg = p.check(raw[p.name])
            if msg:
                problems.append((f"{spec.type}: {msg}", p.name))
            else:
                params[p.name] = value
        elif p.default is not REQUIRED:
            params[p.name] = p.default
        elif not p.inferred:
            problems.append((f"{spec.type}: required parameter {p.name!r} is missing ({p.doc})", p.name))
    return params, problems


def _out_dtype(spec: NodeSpec, params: dict[str, Any], ins: Sequence[TensorType | None]) -> str:
    if spec.output_dtype == "same":
        return ins[0].dtype if ins and ins[0] else "float"
    if spec.output_dtype.startswith("param:"):
        return "long" if params.get(spec.output_dtype[6:]) == "int64" else "float"
    return spec.output_dtype


def _dtype_problem(spec: NodeSpec, ins: Sequence[TensorType]) -> str | None:
    if spec.input_dtype == "any":
        if spec.output_dtype == "same" and len({t.dtype for t in ins}) > 1:
            return f"{spec.type}: inputs mix int64 and float values ({', '.join(map(str, ins))})"
        return None
    for t in ins:
        if t.dtype == spec.input_dtype:
            continue
        if t.dtype == "long":
            return f"{spec.type} expects float values, gets int64 token ids {t}; add an Embedding?"
        return f"{spec.type} expects int64 token ids, gets float values {t}; set the Input's dtype to int64"
    return None


def _evaluate(spec: NodeSpec, raw: dict[str, Any], in_types: list[TensorType | None], upstream_ok: bool,
              use_meta: bool = False) -> _Result:
    params, problems = check_params(spec, raw)
    if problems or not upstream_ok:
        return _Result(params, None, 0, 0, problems)
    ins = [t for t in in_types if t is not None]
    msg = _dtype_problem(spec, ins)
    if msg:
        return _Result(params, None, 0, 0, [(msg, None)])
    # Unfed optional ports stay None, so port numbers keep their meaning (MHA's value).
    shapes: list[Any] = [t.shape if t is not None else None for t in in_types]
    try:
        if spec.resolve is not None:
            params = spec.resolve(params, shapes)
        runs_torch = spec.module is not None or spec.init is not None or spec.forward is not None
        if spec.shape is not None and spec.count is not None and not (use_meta and runs_torch):
            out_shapes = spec.shape(params, shapes)
            n_params, flops = spec.count(params, shapes, out_shapes)
        else:
            if spec.shape is not None:
                spec.shape(params, shapes)  # its message is clearer than torch's
            out_shapes, n_params, flops = meta_run(spec, params, in_types)
    except ShapeError as exc:
        return _Result(params, None, 0, 0, [(str(exc), exc.param)])
    except Exception as exc:  # noqa: BLE001 - a bug in a rule must not crash the designer
        return _failed(params, f"{spec.type}: internal error while inferring shapes ({type(exc).__name__}: "
                               f"{short_repr(str(exc), 120)}); please report this")
    dtype = _out_dtype(spec, params, ins)
    outputs = [TensorType(tuple(s), dtype) for s in out_shapes]
    for t in outputs:
        values = 1
        for d in t.shape[1:]:
            values *= d
        if values > MAX_VALUES:
            return _failed(params, f"{spec.type}: output {t} has {values:,} values per sample "
                                   f"(more than {MAX_VALUES:,}); is a size a typo?")
    if n_params > MAX_NODE_PARAMS:
        return _failed(params, f"{spec.type}: {n_params:,} parameters (more than {MAX_NODE_PARAMS:,}) "
                               "would not fit in memory; is a size a typo?")
    return _Result(params, outputs, n_params, flops, [])


def _failed(params: dict[str, Any], message: str, param: str | None = None) -> _Result:
    return _Result(params, None, 0, 0, [(message, param)])


def _eval_block(spec: BlockSpec, raw: dict[str, Any], in_types: list[TensorType | None],
                upstream_ok: bool) -> _Result:
    """A block without parameters: one fixed face, its own network's input and output types."""
    problems: list[tuple[str, str | None]] = []
    for k in raw:
        problems.append((f"unknown parameter {short_repr(k)}: a block node takes no parameters", str(k)))
    info = spec.info
    if not info.ok:
        problems.append((f"block {spec.type!r} has errors; fix that network first", None))
    if problems or not upstream_ok:
        return _Result({}, None, 0, 0, problems)
    declared = info.input_types()
    for port, (want, got) in enumerate(zip(declared, in_types)):
        if want is None or got is None:
            continue
        if want.shape[1:] != got.shape[1:] or want.dtype != got.dtype:
            kind = "" if want.dtype == got.dtype else f" ({want.dtype} vs {got.dtype})"
            message = (f"block {spec.type!r} expects {want} on port {port} "
                       f"(its Input {info.inputs[port]!r}), gets {got}{kind}")
            problems.append((message, None))
    outs = info.output_types()
    if problems or any(o is None for o in outs):
        return _Result({}, None, 0, 0, problems)
    batch = in_types[0].shape[0] if in_types and in_types[0] else 1
    outputs = [TensorType((batch, *o.shape[1:]), o.dtype) for o in outs if o is not None]
    return _Result({}, outputs, info.total_params, info.flops, [])


def meta_run(spec: NodeSpec, params: dict[str, Any],
             ins: Sequence[TensorType | None]) -> tuple[list[Shape], int, int]:
    """Build the node on the meta device and run it: exact shapes, params and FLOPs.

    The reference for the closed-form rules, and the fallback for specs without them.
    The first call in a process imports torch and sets up the flop counter (~3 s)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from graph_compiler.catalog.support import namespace

    ns = dict(namespace())
    try:
        ctor = spec.constructor(params)
        with torch.device("meta"):
            module = eval(ctor, ns) if ctor else None
        local: dict[str, Any] = {"m": module}
        in_names: list[str | None] = []
        for i, t in enumerate(ins):
            if t is None:
                in_names.append(None)  # an unfed optional port, as codegen passes it
                continue
            dtype = torch.long if t.dtype == "long" else torch.float32
            local[f"in{i}"] = torch.empty(t.shape, dtype=dtype, device="meta")
            in_names.append(f"in{i}")
        n_out = spec.output_count(params)
        out_names = [f"out{i}" for i in range(n_out)]
        lines = spec.forward_lines("m" if module is not None else None, in_names, out_names,
                                   params)
        if isinstance(module, torch.nn.Module):
            module.eval()
        with FlopCounterMode(display=False) as counter:
            exec("\n".join(lines), ns, local)  # noqa: S102 - catalog text, not user text
        outs = [tuple(local[o].shape) for o in out_names]
        n_params = _meta_params(module)
        return outs, n_params, int(counter.get_total_flops())
    except ShapeError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch's own complaint, made readable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(f"{spec.type}: {first}") from None


def _meta_params(module: Any) -> int:
    """Parameters of what a constructor built: a module, a bare nn.Parameter, or a buffer."""
    import torch

    if isinstance(module, torch.nn.Module):
        return sum(p.numel() for p in module.parameters())
    return module.numel() if isinstance(module, torch.nn.Parameter) else 0
