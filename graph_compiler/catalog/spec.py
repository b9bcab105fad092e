"""What a node type is: ports, typed parameters, and how to build, run and emit it.

A NodeSpec is the one description of a node type that validation, shape inference,
code generation, the designer's palette and inspector, and docs/nodes.md all read.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph_compiler.errors import NetwrightError
from graph_compiler.pyfmt import num_literal, str_literal

Shape = tuple[int, ...]


class ShapeError(NetwrightError):
    """A node cannot accept the shapes it is given (or its params contradict them)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

MAX_SIZE = 1 << 24  # any single size beyond 16M is a typo, not a network
MAX_LIST = 16  # longest list a param may hold (dims, sizes): more is a typo, or an attack


@dataclass(frozen=True)
class Param:
    """A typed parameter. ``kind`` is one of: int, float, bool, choice, ints (an int or a
    tuple of ``length`` ints), padding (ints or 'same'/'valid'), shape (a list of ints),
    str."""

    name: str
    kind: str
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    inferred: bool = False  # may be omitted: follows from the input shape
    positional: bool = False  # emitted positionally in the constructor
    length: int | None = None  # tuple length for ints
    allow_minus_one: bool = False  # shape: one -1 allowed (Reshape)
    allow_zero: bool = False  # shape: 0 = keep the input's size at this position (Reshape)
    nullable: bool = False  # None is a legal value
    always: bool = False  # emitted even when equal to the default (torch's default differs)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.inferred

    def bounds_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "" if self.min is None else _bound(self.min)
        hi = "" if self.max is None else _bound(self.max)
        if lo and hi:
            return f"{lo}..{hi}"
        if lo:
            return f">= {lo}"
        if hi:
            return f"<= {hi}"
        return ""

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Return (normalized value, None) or (None, message naming the problem)."""
        if value is None and self.nullable:
            return None, None
        checker = _CHECKERS[self.kind]
        return checker(self, value)


def _bound(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else f"{v:g}"


def short_repr(v: Any, limit: int = 60) -> str:
    """repr() cut to a readable length: a 10,000-entry list must not flood a message."""
    try:
        text = repr(v)
    except RecursionError:
        text = f"<deeply nested {type(v).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _allowed(p: Param) -> str:
    text = p.bounds_text()
    return f" (allowed {text})" if text else ""


def _range_msg(p: Param, v: Any) -> str | None:
    if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        return f"{p.name}={short_repr(v)} is out of range{_allowed(p)}"
    return None


def _check_int(p: Param, v: Any) -> tuple[Any, str | None]:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        v = int(v)
    if not _is_int(v):
        return None, f"{p.name} must be an integer{_allowed(p)}, got {short_repr(v)}"
    return v, _range_msg(p, v)


def _check_float(p: Param, v: Any) -> tuple[Any, str | None]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None, f"{p.name} must be a number{_allowed(p)}, got {short_repr(v)}"
    try:
        value = float(v)
    except OverflowError:  # an integer too large for a float
        return None, f"{p.name}={short_repr(v)} is out of range{_allowed(p)}"
    if not math.isfinite(value):
        return None, f"{p.name} must be finite{_allowed(p)}, got {short_repr(v)}"
    return value, _range_msg(p, value)


def _check_bool(p: Param, v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, bool):
        return None, f"{p.name} must be true or false, got {short_repr(v)}"
    return v, None


def _check_choice(p: Param, v: Any) -> tuple[Any, str | None]:
    ok = any(v == c and type(v) is type(c) for c in p.choices)
    if not ok:
        return None, f"{p.name}={short_repr(v)} is not allowed ({p.bounds_text()})"
    return v, None


def _check_str(p: Param, v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, str):
        return None, f"{p.name} must be a string, got {short_repr(v)}"
    return v, None


def _check_ints(p: Param, v: Any) -> tuple[Any, str | None]:
    if _is_int(v):
        return v, _range_msg(p, v)
    if isinstance(v, (list, tuple)) and 0 < len(v) <= MAX_LIST and all(_is_int(x) for x in v):
        if p.length is not None and len(v) != p.length:
            return None, (f"{p.name} must be one integer or {p.length} integers, "
                          f"got {short_repr(list(v))}")
        for x in v:
            msg = _range_msg(p, x)
            if msg:
                return None, msg
        return tuple(v), None
    n = p.length or "several"
    return None, f"{p.name} must be an integer or a list of {n} integers{_allowed(p)}, got {short_repr(v)}"


def _check_padding(p: Param, v: Any) -> tuple[Any, str | None]:
    if isinstance(v, str) and v in ("same", "valid"):
        return v, None
    value, msg = _check_ints(p, v)
    if msg and not (_is_int(v) or isinstance(v, (list, tuple))):
        msg = f"{p.name} must be 'same', 'valid' or {p.length or 'several'} integers, got {short_repr(v)}"
    return value, msg


def _check_shape(p: Param, v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, (list, tuple)) or not all(_is_int(x) for x in v):
        return None, f"{p.name} must be a list of integers, got {short_repr(v)}"
    if len(v) > 8:
        return None, f"{p.name} has {len(v)} dimensions; at most 8 are supported"
    minus = sum(1 for x in v if x == -1)
    for x in v:
        if (x == -1 and p.allow_minus_one and minus == 1) or (x == 0 and p.allow_zero):
            continue
        if x < 1 or x > MAX_SIZE:
            extra = " (one entry may be -1)" if p.allow_minus_one else ""
            extra += " (0 keeps the input's size)" if p.allow_zero else ""
            return None, f"{p.name} has size {x}; sizes must be 1..{MAX_SIZE}{extra}"
    return tuple(v), None


_CHECKERS: dict[str, Callable[[Param, Any], tuple[Any, str | None]]] = {
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "choice": _check_choice,
    "str": _check_str,
    "ints": _check_ints,
    "padding": _check_padding,
    "shape": _check_shape,
}


@dataclass(frozen=True)
class Port:
    name: str
    doc: str = ""
    optional: bool = False


# forward(mod, inputs, outputs, params) -> statements. ``outputs[i]`` is None when
# nothing reads output port i, so specs can skip work nobody uses.
ForwardFn = Callable[[str | None, Sequence[str | None], Sequence[str | None], dict[str, Any]], list[str]]
ShapeFn = Callable[[dict[str, Any], Sequence[Shape]], list[Shape]]
CountFn = Callable[[dict[str, Any], Sequence[Shape], Sequence[Shape]], tuple[int, int]]
ResolveFn = Callable[[dict[str, Any], Sequence[Shape]], dict[str, Any]]


@dataclass(frozen=True)
class NodeSpec:
    type: str
    category: str
    doc: str
    params: tuple[Param, ...] = ()
    inputs: tuple[Port, ...] = (Port("x"),)
    outputs: tuple[Port, ...] = (Port("out"),)
    variadic: bool = False  # accepts any number of inputs >= len(inputs)
    module: str | None = None  # constructor callable in generated code, e.g. "nn.Linear"
    init: Callable[[dict[str, Any]], str | None] | None = None  # custom constructor expr
    forward: ForwardFn | None = None
    resolve: ResolveFn | None = None
    shape: ShapeFn | None = None  # closed-form output shapes; None -> run on meta
    count: CountFn | None = None  # closed-form (params, flops); None -> run on meta
    support: tuple[str, ...] = ()  # helper definitions the generated file must contain
    # Which of ``support`` a node with these params uses, when that depends on them.
    support_used: Callable[[dict[str, Any]], tuple[str, ...]] | None = None
    input_dtype: str = "float"  # "float", "long" or "any"
    output_dtype: str = "float"  # "float", "same" (as input 0) or "param:<name>"
    num_outputs: Callable[[dict[str, Any]], int] | None = None
    # Output ports code generation names even when nothing reads them, because forward()
    # needs them to compute the others (an RNN's last step is sliced from its sequence).
    named_outputs: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()  # extra search words for the palette
    extra_docs: str = ""

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def output_count(self, params: dict[str, Any]) -> int:
        if self.num_outputs is not None:
            try:
                return max(1, int(self.num_outputs(params)))
            except (TypeError, ValueError, KeyError):
                return len(self.outputs)
        return len(self.outputs)

    def output_name(self, index: int) -> str:
        if index < len(self.outputs):
            return self.outputs[index].name
        return f"{self.outputs[-1].name.rstrip('0123456789')}{index}"

    def input_name(self, index: int) -> str:
        if index < len(self.inputs):
            return self.inputs[index].name
        return f"{self.inputs[-1].name.rstrip('0123456789')}{index}"

    def support_for(self, params: dict[str, Any]) -> tuple[str, ...]:
        """The support definitions the generated file needs for a node with these params."""
        return self.support if self.support_used is None else self.support_used(params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.default is not REQUIRED}

    def constructor(self, params: dict[str, Any]) -> str | None:
        """The constructor expression for this node in generated code."""
        if self.init is not None:
            return self.init(params)
        if self.module is None:
            return None
        return call_expr(self.module, self.params, params)

    def forward_lines(
        self, mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], params: dict[str, Any]
    ) -> list[str]:
        if self.forward is not None:
            return self.forward(mod, ins, outs, params)
        return [f"{outs[0] or '_'} = {mod}({', '.join(v or 'None' for v in ins)})"]


@dataclass(frozen=True)
class CodeRef:
    """A block parameter where generated code would write a param's value: the code
    writes ``text`` (the constructor argument's name) instead. Equal to no value, so it
    is always written; code that computes with the value fails, and the caller reports it."""

    text: str

    def __bool__(self) -> bool:
        raise TypeError("a block parameter has no truth value while code is generated")

    def __str__(self) -> str:  # an f-string writing the value writes the name
        return self.text


def py(value: Any) -> str:
    """A Python literal for a param value, spelled as ruff formats it: lists become
    tuples (as hand-written torch code has), strings are double-quoted and escaped."""
    if isinstance(value, CodeRef):
        return value.text
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return str_literal(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return num_literal(value)
    return repr(value)


def call_expr(func: str, specs: Sequence[Param], params: dict[str, Any], skip: Sequence[str] = ()) -> str:
    """func(positional..., kw=value for each param that differs from its default)."""
    args: list[str] = []
    for p in specs:
        if p.name in skip or p.name not in params:
            continue
        v = params[p.name]
        if p.positional:
            args.append(py(v))
        elif p.always or p.default is REQUIRED or not _same(v, p.default):
            args.append(f"{p.name}={py(v)}")
    return f"{func}({', '.join(args)})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        a = tuple(a)
    if isinstance(b, list):
        b = tuple(b)
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def fmt_shape(shape: Sequence[int] | None) -> str:
    """[B, 16, 8, 8]: the batch dimension shows as B."""
    if shape is None:
        return "?"
    if len(shape) == 0:
        return "[]"
    return "[" + ", ".join(["B", *(str(d) for d in shape[1:])]) + "]"


def pair(v: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) * n


@dataclass
class Registry:
    specs: dict[str, NodeSpec] = field(default_factory=dict)

    def add(self, spec: NodeSpec) -> NodeSpec:
        if spec.type in self.specs:
            raise ValueError(f"duplicate node type {spec.type}")
        self.specs[spec.type] = spec
        return spec

    def get(self, type_name: str) -> NodeSpec | None:
        return self.specs.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self.specs

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self.specs.values())

    def categories(self) -> dict[str, list[NodeSpec]]:
        out: dict[str, list[NodeSpec]] = {}
        for s in self.specs.values():
            out.setdefault(s.category, []).append(s)
        return out
