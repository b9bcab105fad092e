"""Layered DAG layout, left to right (Sugiyama-style, kept small).

1. Layers by longest path from the sources; a source moves right to sit just before its
   first consumer, so a second input does not dangle far to the left.
2. Edges spanning several layers get dummy nodes, so long skip connections take part in
   ordering and do not get crossed needlessly.
3. Order within each layer by barycentre sweeps (down, then up, a few times).
4. x from the layer, y by placing each node near the mean of its neighbours without overlap.

Node geometry lives here too (pure numbers, no Qt), so the canvas draws nodes the size that
the layout planned for.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

NODE_W = 180.0
HEADER_H = 26.0
PORT_STEP = 18.0
BODY_H = 46.0  # key params + shape / count lines
GRID = 20.0
DUMMY_H = 24.0  # the lane a long edge passes through

Size = tuple[float, float]


def node_height(n_in: int, n_out: int) -> float:
    return HEADER_H + max(BODY_H, PORT_STEP * max(n_in, n_out, 1) + 10.0)


def layered_layout(
    nodes: Sequence[str], edges: Iterable[tuple[str, str]], sizes: dict[str, Size] | None = None,
    x_gap: float = 80.0, y_gap: float = 40.0, sweeps: int = 4,
) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node; nodes never overlap."""
    sizes = sizes or {}
    order_of = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        if a in order_of and b in order_of and a != b:
            succ[a].append(b)
            pred[b].append(a)

    topo = _topo(nodes, succ, pred, order_of)
    rank = {n: i for i, n in enumerate(topo)}
    # Ignore edges that go backwards in the order (only in a broken, cyclic graph).
    fwd_pred = {n: [p for p in pred[n] if rank[p] < rank[n]] for n in topo}
    fwd_succ = {n: [s for s in succ[n] if rank[s] > rank[n]] for n in topo}
    layer: dict[str, int] = {}
    for n in topo:
        layer[n] = max((layer[p] + 1 for p in fwd_pred[n]), default=0)
    for n in reversed(topo):
        if not fwd_pred[n] and fwd_succ[n]:
            layer[n] = max(layer[n], min(layer[s] for s in fwd_succ[n]) - 1)

    # Dummy chains for long edges: ("~", a, b, k) tuples never clash with string ids.
    up: dict[object, list[object]] = defaultdict(list)
    down: dict[object, list[object]] = defaultdict(list)
    layers: dict[int, list[object]] = defaultdict(list)
    for n in topo:
        layers[layer[n]].append(n)
    for a in topo:
        for b in fwd_succ[a]:
            prev: object = a
            for k in range(layer[a] + 1, layer[b]):
                d = ("~", a, b, k)
                layers[k].append(d)
                down[prev].append(d)
                up[d].append(prev)
                prev = d
            down[prev].append(b)
            up[b].append(prev)

    n_layers = max(layers) + 1 if layers else 0
    pos = {v: float(i) for li in range(n_layers) for i, v in enumerate(layers[li])}
    for sweep in range(sweeps):
        rng = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        nbrs = up if sweep % 2 == 0 else down
        for li in rng:
            row = layers[li]
            bary = {v: (sum(pos[u] for u in nbrs[v]) / len(nbrs[v]) if nbrs[v] else pos[v]) for v in row}
            # On a tie a long edge's dummy goes first (above): skip connections then
            # run over the top of the main path instead of hiding behind its nodes.
            row.sort(key=lambda v: (bary[v], isinstance(v, str)))
            for i, v in enumerate(row):
                pos[v] = float(i)

    out: dict[str, tuple[float, float]] = {}
    centre: dict[object, float] = {}
    x = 0.0
    for li in range(n_layers):
        row = layers[li]
        real = [v for v in row if isinstance(v, str)]
        if not real:
            continue
        width = max(sizes.get(v, (NODE_W, 0.0))[0] for v in real)
        # Desired centre: mean of already placed predecessors (keeps chains straight).
        # Dummies take a thin band of space so a long wire has a free lane.
        want: dict[object, float | None] = {}
        for v in row:
            preds = fwd_pred[v] if isinstance(v, str) else up[v]
            ps = [centre[p] for p in preds if p in centre]
            want[v] = sum(ps) / len(ps) if ps else None
        heights = [sizes.get(v, (NODE_W, node_height(1, 1)))[1] if isinstance(v, str) else DUMMY_H
                   for v in row]
        total = sum(heights) + y_gap * (len(row) - 1)
        stack = -total / 2  # where the node would sit in a plain centred column
        y = float("-inf")  # the lowest free top after the nodes placed so far
        for v, h in zip(row, heights):
            w = want[v]
            top = max(y, stack if w is None else w - h / 2)
            y = top + h + y_gap
            stack += h + y_gap
            centre[v] = top + h / 2
            if isinstance(v, str):
                out[v] = (x, top)
        x += width + x_gap
    return out


def _topo(nodes: Sequence[str], succ: dict[str, list[str]], pred: dict[str, list[str]],
          order_of: dict[str, int]) -> list[str]:
    """Kahn's order (document order breaks ties); nodes on cycles follow in document order."""
    indeg = {n: len(pred[n]) for n in nodes}
    ready = [n for n in nodes if indeg[n] == 0]
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(ready):
        n = ready[i]
        i += 1
        out.append(n)
        seen.add(n)
        for s in succ[n]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    out.extend(n for n in nodes if n not in seen)
    return out
