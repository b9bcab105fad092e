"""The model diff as text: the report `netwright diff` prints, and the short phrases the
designer's Compare overlay shows in tooltips and the status bar."""
from __future__ import annotations

import json
from typing import Any

from graph_compiler.diff import Delta, DocumentDiff, NetworkDiff, NodeChange, TieKey, jsonable



def _human(n: int) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, div in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= div:
            return f"{sign}{n / div:.2f}{unit}"
    return f"{sign}{n}"


def _signed(n: int | None, human: bool = False) -> str:
    if n is None:
        return "unknown"
    text = _human(n) if human else f"{n:,}"
    return text if n < 0 else f"+{text}"


def fmt_count(n: int | None, human: bool = False) -> str:
    """A total or count as printed; None (could not be inferred) is '?'."""
    if n is None:
        return "?"
    return _human(n) if human else f"{n:,}"


def _totals_line(params: Delta, flops: Delta, a_name: str, b_name: str, signed_only: bool) -> str:
    p_delta, f_delta = _signed(params.delta), _signed(flops.delta, True)
    if signed_only:
        text = f"params {p_delta}, FLOPs {f_delta}"
    else:
        text = (f"params {fmt_count(params.a)} -> {fmt_count(params.b)} ({p_delta}), "
                f"FLOPs {fmt_count(flops.a, True)} -> {fmt_count(flops.b, True)} ({f_delta})")
    reason = params.reason(a_name, b_name)
    return text if reason is None else f"{text}: {reason}"


def change_phrases(c: NodeChange, arrow: str = "->") -> list[str]:
    """What changed on a node, as short phrases ("type Linear -> Conv2d", "lr 0.1 -> 0.2"):
    the text report's and the app's overlay tooltips'."""
    what = []
    if c.renamed:
        what.append(f"renamed from {c.old_id}")
    if c.type:
        what.append(f"type {c.type[0]} {arrow} {c.type[1]}")
    if c.label:
        what.append(f"label {_value(c.label[0])} {arrow} {_value(c.label[1])}")
    what += [f"{k} {_value(a)} {arrow} {_value(b)}" for k, (a, b) in c.params.items()]
    return what


def _value(v: Any) -> str:
    """A value as the report prints it: strings quoted, objects (a block parameter
    reference) and lists as JSON, absent as (unset)."""
    if v is None:
        return "(unset)"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (dict, list, tuple, bool)):
        return json.dumps(jsonable(v))
    return str(v)


def _default(v: Any) -> str:
    """A declared default: null is a value here, not an unset one."""
    return "null" if v is None else _value(v)


def param_phrases(n: NetworkDiff, arrow: str = "->") -> list[tuple[str, str]]:
    """A network's block parameter changes as (sign, phrase): the text report's lines and
    the app's status bar."""
    out = [("~", f"block parameter {k} renamed to {v}") for k, v in n.params_renamed.items()]
    out += [("+", f"block parameter {k} = {_default(v)}") for k, v in n.params_added.items()]
    out += [("-", f"block parameter {k} (default {_default(v)})") for k, v in n.params_removed.items()]
    out += [("~", default_phrase(k, a, b, arrow)) for k, (a, b) in n.params_changed.items()]
    return out


def default_phrase(name: str, old: Any, new: Any, arrow: str = "->") -> str:
    return f"block parameter {name}: default {_default(old)} {arrow} {_default(new)}"


def tie_phrase(k: TieKey, arrow: str = "->") -> str:
    return f"tie {k[0]}.{k[1]} {arrow} {k[2]}.{k[3]}"


def _show(text: str) -> str:
    """A name as printed: control characters (a newline, a terminal escape) escaped, so a
    hostile id cannot forge lines of the report or drive the terminal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _follow_lines(n: NetworkDiff) -> list[str]:
    """The shapes and parameter counts that change in consequence, node by node."""
    follow = [nid for nid in n.matched.values() if nid in n.shapes or nid in n.counts]
    lines = ["  shapes and counts that follow:"] if follow else []
    for nid in follow:
        parts = []
        if nid in n.shapes:
            parts.append(f"{n.shapes[nid][0] or '?'} -> {n.shapes[nid][1] or '?'}")
        if nid in n.counts:
            a, b = n.counts[nid]
            parts.append(f"params {fmt_count(a)} -> {fmt_count(b)}")
        lines.append(f"    {nid}: " + ", ".join(parts))
    return lines


def format_text(d: DocumentDiff) -> str:
    """The human-readable report `netwright diff` prints."""
    lines = [f"--- {d.a}", f"+++ {d.b}"]
    if d.identical:
        lines.append("No differences (layout aside).")
        return "\n".join(_show(line) for line in lines)
    for n in d.networks:
        if n.status == "unchanged":
            if not (n.shapes or n.counts or n.params.delta or n.flops.delta):
                lines += ["", f"Network {n.name}: unchanged"]
                continue
            # No edit of its own, but a block it uses changed: say what that does here.
            lines += ["", f"Network {n.name}: no edits of its own; through the blocks it uses:"]
            lines += _follow_lines(n)
            lines.append("  " + _totals_line(n.params, n.flops, d.a, d.b, signed_only=False))
            continue
        if n.status in ("added", "removed"):
            where = "only in " + (d.b if n.status == "added" else d.a)
            count = len(n.added) + len(n.removed)
            lines += ["", f"Network {n.name}: {n.status} ({where}, {count} nodes)"]
        else:
            lines += ["", f"Network {n.name}"]
            lines += [f"  {sign} {text}" for sign, text in param_phrases(n)]
            for nid, s in n.removed.items():
                lines.append(f"  - {nid} ({n.types.get(nid, '')})  {s.shape or '?'}  {fmt_count(s.params)} params")
            for nid, s in n.added.items():
                lines.append(f"  + {nid} ({n.types.get(nid, '')})  {s.shape or '?'}  {fmt_count(s.params)} params")
            for c in n.changed:
                lines.append(f"  ~ {c.id}: " + ", ".join(change_phrases(c)))
            for r in n.rewired:
                lines.append(f"  ~ wire into {r.dst}:{r.dst_port} now from {r.src[0]}:{r.src[1]}"
                             f" (was {r.old_src[0]}:{r.old_src[1]})")
            for k in n.wires_removed:
                lines.append(f"  - wire {k[0]}:{k[1]} -> {k[2]}:{k[3]}")
            for k in n.wires_added:
                lines.append(f"  + wire {k[0]}:{k[1]} -> {k[2]}:{k[3]}")
            lines += [f"  + {tie_phrase(k)}" for k in n.ties_added]
            lines += [f"  - {tie_phrase(k)}" for k in n.ties_removed]
            lines += _follow_lines(n)
        lines.append("  " + _totals_line(n.params, n.flops, d.a, d.b, signed_only=False))
    if d.training:
        lines += ["", "Training"]
        for key, (a, b) in d.training.items():
            lines.append(f"  ~ {key}: {_value(a)} -> {_value(b)}")
    lines += ["", "Main network: " + _totals_line(d.params, d.flops, d.a, d.b, signed_only=True)]
    return "\n".join(_show(line) for line in lines)
