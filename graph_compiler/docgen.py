"""docs/nodes.md, generated from the catalog so the reference can never drift from the code.

    python -m graph_compiler.docgen            write docs/nodes.md
    python -m graph_compiler.docgen --check    exit 1 if docs/nodes.md is out of date

`make docs` runs the first; tests/test_docgen.py runs the second's comparison.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph_compiler.catalog import CATEGORY_ORDER, REGISTRY, NodeSpec, Param
from graph_compiler.catalog.spec import MAX_SIZE, REQUIRED

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "nodes.md"

_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "`true` or `false`",
    "choice": "one of the listed values",
    "ints": "an integer, or a list with one integer per spatial dim (`[3, 5]`)",
    "padding": "like `ints`, or `\"same\"` / `\"valid\"`",
    "shape": "a list of sizes, without the batch dim",
    "str": "a string",
}

_DTYPES = {"long": "int64 token ids", "float": "float values", "any": "any dtype"}


def _json(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _kind(p: Param) -> str:
    if p.kind in ("ints", "padding") and p.length:
        return f"{p.kind} ({p.length})"
    return p.kind


def _default(p: Param) -> str:
    if p.inferred and (p.default is REQUIRED or p.default is None):
        return "inferred"
    if p.default is REQUIRED:
        return "**required**"
    return _code(_json(p.default))


def _number(v: float, kind: str) -> str:
    if kind != "float" or float(v).is_integer():
        return str(int(v))
    return f"{v:g}"


def _range(p: Param) -> str:
    # Upper bounds at the catalog's sanity limit (16M sizes) are noise to a reader.
    lo = None if p.min is None or p.min <= -MAX_SIZE else _number(p.min, p.kind)
    hi = None if p.max is None or p.max >= MAX_SIZE else _number(p.max, p.kind)
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return ""


def _bounds(p: Param) -> str:
    if p.kind == "choice":
        return ", ".join(_code(_json(c)) for c in p.choices)
    parts = []
    if p.kind not in ("bool", "str"):
        text = _range(p)
        if text:
            parts.append(text)
    if p.kind == "shape" and p.allow_minus_one:
        parts.append("one entry may be -1")
    if p.kind == "shape" and p.allow_zero:
        parts.append("0 keeps the input's size")
    if p.nullable and p.default is not None:
        parts.append("or `null`")
    return ", ".join(parts)


def _params_table(spec: NodeSpec) -> list[str]:
    if not spec.params:
        return ["No parameters."]
    rows = ["| Parameter | Kind | Default | Allowed | Inferred | Description |",
            "|---|---|---|---|---|---|"]
    for p in spec.params:
        rows.append("| " + " | ".join([
            _code(p.name), _kind(p), _default(p), _cell(_bounds(p)),
            "yes" if p.inferred else "", _cell(p.doc),
        ]) + " |")
    return rows


def _ports(spec: NodeSpec) -> tuple[str, str]:
    ins: list[str] = []
    for i, port in enumerate(spec.inputs):
        text = f"{i} {_code(port.name)}"
        notes = [n for n in (port.doc, "optional" if port.optional else "") if n]
        if notes:
            text += f" ({'; '.join(notes)})"
        ins.append(text)
    if spec.variadic:
        ins.append(f"{len(spec.inputs)}, {len(spec.inputs) + 1}, ... (any number of further inputs)")
    outs: list[str] = []
    for i, port in enumerate(spec.outputs):
        outs.append(f"{i} {_code(port.name)}" + (f" ({port.doc})" if port.doc else ""))
    if spec.num_outputs is not None:
        outs.append("... (one port per piece)")
    return (", ".join(ins) or "none"), (", ".join(outs) or "none")


def _torch_name(spec: NodeSpec) -> str | None:
    """The class the generated code constructs for this node, if any."""
    if spec.module:
        return spec.module
    if spec.init is not None:
        try:
            text = spec.init(spec.defaults())
        except Exception:  # noqa: BLE001 - documentation only; the table still renders
            return None
        if text:
            match = re.match(r"[\w.]+", text)
            return match.group(0) if match else None
    return None


def _anchor(type_name: str) -> str:
    return type_name.lower()


def _spec_section(spec: NodeSpec) -> list[str]:
    ins, outs = _ports(spec)
    lines = [f"### {spec.type}", "", spec.doc.strip(), ""]
    facts = [f"- **Inputs:** {ins}", f"- **Outputs:** {outs}"]
    if spec.input_dtype != "float" and spec.inputs:
        facts.append(f"- **Accepts:** {_DTYPES.get(spec.input_dtype, spec.input_dtype)}")
    torch_name = _torch_name(spec)
    if spec.type == "Input":
        facts.append("- **Code:** an argument of `forward()`, in document order")
    elif spec.type == "Output":
        facts.append("- **Code:** a value `forward()` returns (several Outputs return a tuple)")
    elif torch_name:
        torch_class = torch_name.startswith(("nn.", "torch."))
        where = "torch" if torch_class else "helper class copied into the generated file"
        facts.append(f"- **Code:** {_code(torch_name)} ({where})")
    else:
        facts.append("- **Code:** written inline in `forward()`")
    if spec.aliases:
        facts.append("- **Search words:** " + ", ".join(spec.aliases))
    lines += facts + [""] + _params_table(spec) + [""]
    if spec.extra_docs.strip():
        lines += [spec.extra_docs.strip(), ""]
    return lines


def _categories() -> list[tuple[str, list[NodeSpec]]]:
    cats = REGISTRY.categories()
    ordered = [c for c in CATEGORY_ORDER if c in cats] + sorted(c for c in cats if c not in CATEGORY_ORDER)
    return [(c, cats[c]) for c in ordered]


def generate() -> str:
    """The full text of docs/nodes.md."""
    out = [
        "# Node reference",
        "",
        ("<!-- Generated by `python -m graph_compiler.docgen` (`make docs`) from graph_compiler/catalog."
         " Do not edit by hand. -->"),
        "",
        (f"Every node type Netwright knows ({len(REGISTRY.specs)} in all), by palette category."
         " Parameter names are torch's argument names; a parameter left out of a file takes its default."
         " Shapes include the batch dim and print as `[B, ...]`."
         " The file format itself is described in [file-format.md](file-format.md)."),
        "",
        ("**Inferred** parameters follow from the input shape (for example `Linear.in_features`):"
         " leave them out and Netwright fills them in; give one and it is checked against the input."),
        "",
        "Parameter kinds: " + "; ".join(f"**{k}** is {v}" for k, v in _KINDS.items()) + ".",
        "",
        "## Contents",
        "",
    ]
    for cat, specs in _categories():
        links = ", ".join(f"[{s.type}](#{_anchor(s.type)})" for s in specs)
        out.append(f"- **{cat}:** {links}")
    if "Blocks" in CATEGORY_ORDER:
        out.append("- **Blocks:** [networks used as nodes](#blocks)")
    out.append("")
    for cat, specs in _categories():
        out += [f"## {cat}", ""]
        for spec in specs:
            out += _spec_section(spec)
    out += [
        "## Blocks",
        "",
        ("Any other network in the same document can be used as a node: set the node's `type` to the"
         " network's name. The block's Input nodes become its input ports and its Output nodes its output"
         " ports, both in document order. A block node takes no parameters; its inputs must match the"
         " shapes and dtypes of the block's Input nodes (the batch dim aside). A network cannot use itself,"
         " directly or through other blocks."),
        "",
    ]
    return "\n".join(out).rstrip("\n") + "\n"


def is_stale(path: Path = DEFAULT_OUTPUT) -> bool:
    try:
        return path.read_text(encoding="utf-8") != generate()
    except OSError:
        return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graph_compiler.docgen", description="Write docs/nodes.md from the catalog.")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the file is out of date; write nothing")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="file to write (default: docs/nodes.md)")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if is_stale(args.output):
            print(f"{args.output} is out of date with the catalog; run `make docs`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    old = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if old == text:
        print(f"{args.output} is already up to date")
        return 0
    from graph_compiler.atomic import atomic_write

    atomic_write(args.output, text.encode("utf-8"))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
