"""Lay out generated statements exactly as ``ruff format`` (Black style, 88 columns) would.

Generated code must pass ``ruff format --check`` without ruff being a runtime dependency,
so codegen builds each statement as one flat line and this module splits the ones that do
not fit. It knows only the small subset of Python codegen emits: assignments (one target or
a tuple of names), ``return``, bare calls, and expressions made of names, attributes,
calls, keyword arguments, lists, tuples, literals, subscripts and chains of one binary
operator. tests/test_codegen.py fuzzes it against the real ruff binary.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

LINE_LENGTH = 88
INDENT = 4


# ---------------------------------------------------------------- literals


def str_literal(text: str) -> str:
    """A double-quoted, ASCII-only Python string literal that ruff leaves as it is.

    Quotes and backslashes are escaped as hex so that ruff's quote normalisation never
    applies; anything outside printable ASCII (line breaks, U+2028, surrogates, emoji)
    becomes a lower-case escape, so the source holds only safe characters.
    """
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append("\\x22")
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def num_literal(value: float) -> str:
    """A number as ruff prints it (``1e16``, not ``1e+16``); inf/nan as float("inf")."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if math.isinf(value) or math.isnan(value):
        return f"float({str_literal(str(value))})"
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{exp.lstrip('+')}"
    return text


# ---------------------------------------------------------------- expression trees


@dataclass(frozen=True)
class Atom:
    """Text that is never split."""

    text: str


@dataclass(frozen=True)
class Group:
    """``head(items)``, ``[items]`` or ``(items)``: what ruff splits at its brackets."""

    head: str
    open: str
    items: tuple[Expr, ...]
    close: str
    one_tuple: bool = False  # ``(x,)`` keeps its comma even when flat
    # Call arguments and subscripts may sit on one line inside split brackets; a list or
    # tuple literal that splits always gets one item a line.
    hug: bool = True


@dataclass(frozen=True)
class Keyword:
    name: str
    value: Expr


@dataclass(frozen=True)
class Chain:
    """``a + b + c``: one operator between every operand."""

    op: str
    operands: tuple[Expr, ...]


Expr = Atom | Group | Keyword | Chain

_OPS = {ast.Add: "+", ast.Mult: "*", ast.Sub: "-", ast.Div: "/", ast.MatMult: "@"}
_COMPARE: dict[type, str] = {ast.Eq: "==", ast.NotEq: "!="}


def convert(node: ast.AST) -> Expr:
    """The layout tree of an expression (a subset of Python; the rest stays atomic)."""
    if isinstance(node, ast.Call):
        func = flat(convert(node.func))
        items = [convert(a) for a in node.args]
        items += [Keyword(k.arg or "", convert(k.value)) for k in node.keywords]
        return Group(func, "(", tuple(items), ")")
    if isinstance(node, ast.List):
        return Group("", "[", tuple(convert(e) for e in node.elts), "]", hug=False)
    if isinstance(node, ast.Tuple):
        elts = tuple(convert(e) for e in node.elts)
        return Group("", "(", elts, ")", len(elts) == 1, hug=False)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        op = _OPS[type(node.op)]
        operands: list[Expr] = []
        left = node.left
        if isinstance(left, ast.BinOp) and type(left.op) is type(node.op):
            inner = convert(left)
            assert isinstance(inner, Chain)
            operands.extend(inner.operands)
        else:
            operands.append(convert(left))
        operands.append(convert(node.right))
        return Chain(op, tuple(operands))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return Chain(_COMPARE[type(node.ops[0])], (convert(node.left), convert(node.comparators[0])))
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return Atom(str_literal(node.value))
        if isinstance(node.value, (int, float)):
            return Atom(num_literal(node.value))
        return Atom(repr(node.value))
    if isinstance(node, ast.Attribute):
        return Atom(f"{flat(convert(node.value))}.{node.attr}")
    if isinstance(node, ast.Subscript):
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        subs = tuple(Atom(_slice_text(p) if isinstance(p, ast.Slice) else ast.unparse(p)) for p in parts)
        return Group(flat(convert(node.value)), "[", subs, "]")
    return Atom(ast.unparse(node))


def _simple(node: ast.expr) -> bool:
    """What ruff leaves unspaced in a slice: names, literals, and their negations."""
    if isinstance(node, ast.UnaryOp):
        return _simple(node.operand)
    return isinstance(node, (ast.Name, ast.Constant))


def _slice_text(s: ast.Slice) -> str:
    """``a:b:c`` as ruff writes it: with a complex bound, the colons are spaced like a
    binary operator (``x[: t.size(-1)]``, ``x[i + 1 :]``)."""
    bounds = [s.lower, s.upper, s.step]
    texts = ["" if b is None else flat(convert(b)) for b in bounds]
    if s.step is None:
        texts.pop()
    if all(b is None or _simple(b) for b in bounds):
        return ":".join(texts)
    out = texts[0]
    for before, text in zip(texts, texts[1:]):
        out += (" :" if before else ":") + (f" {text}" if text else "")
    return out


def flat(e: Expr) -> str:
    if isinstance(e, Atom):
        return e.text
    if isinstance(e, Keyword):
        return f"{e.name}={flat(e.value)}"
    if isinstance(e, Chain):
        return f" {e.op} ".join(flat(o) for o in e.operands)
    inner = ", ".join(flat(i) for i in e.items)
    if e.one_tuple:
        inner += ","
    return f"{e.head}{e.open}{inner}{e.close}"


def _fits(indent: int, text: str) -> bool:
    return indent + len(text) <= LINE_LENGTH


def _splittable(e: Expr) -> bool:
    return isinstance(e, Group) and bool(e.items)


def _open(e: Group) -> str:
    return e.head + e.open


def _items(items: tuple[Expr, ...], indent: int, one_tuple: bool = False, hug: bool = True) -> list[str]:
    """The inside of split brackets: on one line if it fits (arguments only), else one
    item a line with a trailing comma (a lone item gets none, unless it is a 1-tuple)."""
    joined = ", ".join(flat(i) for i in items) + ("," if one_tuple else "")
    if hug and _fits(indent, joined):
        return [" " * indent + joined]
    if len(items) == 1:
        return _item(items[0], indent, "," if one_tuple else "")
    lines: list[str] = []
    for item in items:
        lines += _item(item, indent, ",")
    return lines


def _item(e: Expr, indent: int, suffix: str, prefix: str = "") -> list[str]:
    text = prefix + flat(e) + suffix
    if _fits(indent, text):
        return [" " * indent + text]
    if isinstance(e, Keyword):
        return _item(e.value, indent, suffix, prefix + e.name + "=")
    if isinstance(e, Group) and e.items:
        return _split(e, indent, prefix, suffix)
    if isinstance(e, Chain) and not prefix:
        return _chain(e, indent, suffix)
    return [" " * indent + text]


def _split(e: Group, indent: int, prefix: str, suffix: str) -> list[str]:
    pad = " " * indent
    return [
        pad + prefix + _open(e),
        *_items(e.items, indent + INDENT, e.one_tuple, e.hug),
        pad + e.close + suffix,
    ]


def _chain(e: Chain, indent: int, suffix: str = "") -> list[str]:
    # One operand a line, each split at its own brackets if it still does not fit.
    lines = _item(e.operands[0], indent, "")
    for o in e.operands[1:]:
        lines += _item(o, indent, "", prefix=f"{e.op} ")
    lines[-1] += suffix
    return lines


def _parenthesized(e: Expr, indent: int, prefix: str) -> list[str]:
    """``prefix(`` / the value one level in / ``)``."""
    pad = " " * indent
    inner = indent + INDENT
    if isinstance(e, Chain) and not _fits(inner, flat(e)):
        body = _chain(e, inner)
    else:
        body = _item(e, inner, "")
    return [pad + prefix + "(", *body, pad + ")"]


# ---------------------------------------------------------------- statements


def _assign(target: ast.expr, value: Expr, indent: int) -> list[str]:
    pad = " " * indent
    is_tuple = isinstance(target, ast.Tuple) and len(target.elts) > 1
    names = [flat(convert(t)) for t in target.elts] if isinstance(target, ast.Tuple) else []
    tgt = ", ".join(names) if isinstance(target, ast.Tuple) else flat(convert(target))
    if is_tuple and not _fits(indent, f"{tgt} = ("):
        # The targets alone do not fit: ruff splits them first, one per line.
        head = [pad + "(", *[f"{pad}{' ' * INDENT}{n}," for n in names]]
        rest = _assign_value(")", value, indent, False)
        return head + rest
    return _assign_value(tgt, value, indent, is_tuple)


def _assign_value(tgt: str, value: Expr, indent: int, tuple_target: bool) -> list[str]:
    pad = " " * indent
    prefix = f"{tgt} = "
    if _fits(indent, prefix + flat(value)):
        return [pad + prefix + flat(value)]
    if isinstance(value, Chain):
        return _parenthesized(value, indent, prefix)
    if _splittable(value):
        assert isinstance(value, Group)
        if _fits(indent, prefix + _open(value)):
            return _split(value, indent, prefix, "")
        inner = indent + INDENT
        first = flat(value) if _fits(inner, flat(value)) else _open(value)
        if tuple_target or (_fits(indent, prefix + "(") and _fits(inner, first)):
            return _parenthesized(value, indent, prefix)
        return _split(value, indent, prefix, "")
    # Unsplittable: parenthesised only where that makes it fit.
    if _fits(indent, prefix + "(") and _fits(indent + INDENT, flat(value)):
        return _parenthesized(value, indent, prefix)
    return [pad + prefix + flat(value)]


def _return(value: ast.expr | None, indent: int) -> list[str]:
    pad = " " * indent
    if value is None:
        return [pad + "return"]
    if isinstance(value, ast.Tuple) and len(value.elts) > 1:
        # ruff always puts one value a line in a split implicit tuple.
        items = [convert(e) for e in value.elts]
        body = [line for i in items for line in _item(i, indent + INDENT, ",")]
        return [pad + "return (", *body, pad + ")"]
    e = convert(value)
    if isinstance(e, Chain):
        return _parenthesized(e, indent, "return ")
    return _item(e, indent, "", "return ")


def layout(stmt: str, indent: int) -> list[str]:
    """One statement (flat source) -> its lines as ruff would format them, indented."""
    if _fits(indent, stmt):
        return [" " * indent + stmt]
    node = ast.parse(stmt).body[0]
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        return _assign(node.targets[0], convert(node.value), indent)
    if isinstance(node, ast.Return):
        return _return(node.value, indent)
    if isinstance(node, ast.Expr):
        return _item(convert(node.value), indent, "")
    return [" " * indent + stmt]


def def_lines(name: str, params: list[str], returns: str, indent: int) -> list[str]:
    """``def name(params) -> returns:``, split the way ruff splits signatures."""
    pad = " " * indent
    flat_line = f"def {name}({', '.join(params)}) -> {returns}:"
    if _fits(indent, flat_line):
        return [pad + flat_line]
    inner = indent + INDENT
    joined = ", ".join(params)
    if _fits(inner, joined):
        body = [" " * inner + joined]
    else:
        body = [f"{' ' * inner}{p}," for p in params]
    return [f"{pad}def {name}(", *body, f"{pad}) -> {returns}:"]


def with_comment(lines: list[str], note: str, indent: int) -> list[str]:
    """Attach ``# note`` to a statement: trailing if it fits, else on its own line above
    (a too-long trailing comment would make ruff split the statement)."""
    if not note:
        return lines
    if len(lines) == 1 and len(lines[0]) + 4 + len(note) <= LINE_LENGTH:
        return [f"{lines[0]}  # {note}"]
    return [f"{' ' * indent}# {note}", *lines]
