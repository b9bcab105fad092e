"""Copy / paste as JSON text, so a selection pastes between windows and into a text editor.

The clipboard holds {"format": "netwright-selection", "nodes": [...], "edges": [...],
"ties": [...], "blocks": [...]}: the nodes, the wires and tied weights between them, and the
definitions of any blocks they use (so a block pastes into a file that lacks it). A whole Netwright file pastes too (its
main network). Parsing reuses the file loader, so clipboard text is checked exactly as
strictly as a file is.
"""
from __future__ import annotations

import json
from typing import Any

from designer.ops import IdAllocator
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import (
    FORMAT,
    VERSION,
    Document,
    Edge,
    Network,
    Node,
    Tie,
    edge_to_dict,
    from_dict,
    network_to_dict,
    node_to_dict,
    tie_to_dict,
)
from graph_compiler.errors import DocumentError

CLIP_FORMAT = "netwright-selection"
MAX_CLIP_CHARS = 16 * 1024 * 1024


def used_blocks(doc: Document, nodes: list[Node]) -> list[Network]:
    """Networks used as blocks by these nodes, transitively, in document order."""
    names = set(doc.network_names())
    want: set[str] = set()
    stack = [n.type for n in nodes]
    while stack:
        t = stack.pop()
        if t in want or t not in names or t in REGISTRY:
            continue
        want.add(t)
        net = doc.network(t)
        if net is not None:
            stack.extend(n.type for n in net.nodes)
    return [n for n in doc.networks if n.name in want]


def copy_json(doc: Document, net: Network, ids: list[str]) -> str:
    chosen = set(ids)
    nodes = [n for n in net.nodes if n.id in chosen]
    edges = [e for e in net.edges if e.src in chosen and e.dst in chosen]
    data: dict[str, Any] = {
        "format": CLIP_FORMAT, "version": VERSION, "network": net.name,
        "nodes": [node_to_dict(n) for n in nodes], "edges": [edge_to_dict(e) for e in edges],
    }
    ties = [t for t in net.ties if t.node in chosen and t.to_node in chosen]
    if ties:  # a tie with one end outside the selection has nothing to share with
        data["ties"] = [tie_to_dict(t) for t in ties]
    blocks = [b for b in used_blocks(doc, nodes) if b.name != net.name]
    if blocks:
        data["blocks"] = [network_to_dict(b) for b in blocks]
    return json.dumps(data, indent=2, ensure_ascii=False)


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse_clipboard(text: str) -> tuple[list[Node], list[Edge], list[Tie], list[Network]]:
    """(nodes, edges, ties, block networks) from clipboard text; DocumentError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise DocumentError("the clipboard is empty")
    if len(text) > MAX_CLIP_CHARS:
        raise DocumentError("the clipboard text is too large to be a Netwright selection")
    try:
        raw = json.loads(text, parse_constant=_reject)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"the clipboard is not Netwright nodes: invalid JSON at line "
                            f"{exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise DocumentError(f"the clipboard is not Netwright nodes: {exc or 'nested too deeply'}") from None
    fmt = raw.get("format") if isinstance(raw, dict) else None
    try:
        if fmt == FORMAT:
            doc = from_dict(raw)
        elif fmt == CLIP_FORMAT:
            blocks = raw.get("blocks", [])
            if not isinstance(blocks, list):
                raise DocumentError("'blocks' must be a list")
            clip: dict[str, Any] = {"name": "clipboard", "nodes": raw.get("nodes", []),
                                    "edges": raw.get("edges", [])}
            if "ties" in raw:
                clip["ties"] = raw["ties"]
            wrapped = {"format": FORMAT, "version": VERSION, "networks": [clip, *blocks]}
            doc = from_dict(wrapped)
        else:
            raise DocumentError("the clipboard does not hold Netwright nodes "
                                f"(expected 'format': {CLIP_FORMAT!r})")
    except RecursionError:
        raise DocumentError("the clipboard text is nested too deeply") from None
    except DocumentError as exc:
        raise DocumentError(f"cannot paste: {exc}") from None
    nodes, edges, ties = doc.networks[0].nodes, doc.networks[0].edges, doc.networks[0].ties
    seen: set[str] = set()
    for n in nodes:
        if n.id in seen:
            raise DocumentError(f"cannot paste: two nodes are called {n.id!r}")
        seen.add(n.id)
    for e in edges:
        if e.src not in seen or e.dst not in seen:
            raise DocumentError(f"cannot paste: wire {e.src} -> {e.dst} refers to a node "
                                "that is not in the clipboard")
    for t in ties:
        if t.node not in seen or t.to_node not in seen:
            raise DocumentError(f"cannot paste: tie {t.node}.{t.param} -> {t.to_node}.{t.to_param} refers "
                                "to a node that is not in the clipboard")
    return nodes, edges, ties, doc.networks[1:]


def prepare_paste(doc: Document, net: Network, taken: set[str], text: str,
                  offset: tuple[float, float], at: tuple[float, float] | None
                  ) -> tuple[list[Node], list[Edge], list[Tie], list[Network]]:
    """(new nodes with fresh ids, their edges and ties, block networks the document lacks).
    ``at`` puts the pasted group's top-left corner there instead of offsetting it."""
    nodes, edges, ties, block_nets = parse_clipboard(text)
    if not nodes:
        raise DocumentError("the clipboard holds no nodes")
    known = set(doc.network_names()) | {b.name for b in block_nets}
    for n in nodes:
        if n.type == net.name:
            raise DocumentError(f"cannot paste {n.id}: {net.name} cannot contain itself as a block")
        if n.type not in REGISTRY and n.type not in known:
            raise DocumentError(f"cannot paste {n.id}: unknown node type {n.type!r}")
    if at is not None:
        offset = (at[0] - min(n.pos[0] for n in nodes), at[1] - min(n.pos[1] for n in nodes))
    alloc = IdAllocator(taken)
    rename = {n.id: alloc.new(n.type, prefer=n.id) for n in nodes}
    new_nodes = [Node(rename[n.id], n.type, n.params, (n.pos[0] + offset[0], n.pos[1] + offset[1]),
                      n.label, n.extra) for n in nodes]
    new_edges = [Edge(rename[e.src], rename[e.dst], e.src_port, e.dst_port, e.extra) for e in edges]
    new_ties = [Tie(rename[t.node], t.param, rename[t.to_node], t.to_param, dict(t.extra)) for t in ties]
    missing = [b for b in block_nets if doc.network(b.name) is None and b.name not in REGISTRY]
    return new_nodes, new_edges, new_ties, missing
