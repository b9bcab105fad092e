"""Layered DAG layout, left to right (Sugiyama-style, kept small).

1. Layers by longest path from the sources; a source moves right to sit just before its
   first consumer, so a second input does not dangle far to the left.
2. Edges spanning several layers get dummy nodes (a "lane"), so long skip connections take
   part in ordering and do not get crossed needlessly.
3. Order within each layer by barycentre sweeps (down, then up, a few times). Port numbers
   break ties: a wire into an Add's second input sorts below the one into its first, so
   wires into a node never cross each other.
4. y by priority placement: lanes first, kept straight at the height of the port they
   leave (a skip connection is drawn as one curve, so a straight lane is what keeps it off
   the nodes it jumps over); then each node as near as it can get to lining its input
   port up with the port that feeds it, without overlapping what is already placed.
5. Given the size of the view it will be seen in, a layout much wider than that view is
   wrapped into bands, read like lines of text: the columns are cut where the fewest
   wires cross (in a chain, one), and the bands stack top to bottom. The number of bands
   is the one that lets the view show the whole graph at the largest scale; when no
   number shows it readably (at MIN_READABLE_SCALE), bands are as wide as the view is at
   that scale, so the reader scrolls down only, as through a page.

Node geometry lives here too (pure numbers, no Qt), so the canvas draws nodes the size that
the layout planned for.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

NODE_W = 180.0
HEADER_H = 26.0
PORT_STEP = 18.0
PORT_Y0 = HEADER_H + 14.0  # y of a node's first port, from its top
BODY_H = 46.0  # key params + shape / count lines
GRID = 20.0
DUMMY_H = 24.0  # the lane a long edge passes through
BAND_GAP = 56.0  # between wrapped bands: room for the wire that runs back to the left
# The smallest scale at which node titles, shapes and counts can be read; the canvas opens
# a file at this scale or larger (designer/canvas/view.py) and wraps a layout for it.
MIN_READABLE_SCALE = 0.8
COMFORT_SCALE = 0.9  # above this, a larger scale is not worth another band
VIEW_MARGIN = 40.0  # scene px the canvas leaves around a fitted graph
# The canvas of the default window on a 1366x768 laptop screen: what a shipped example is
# laid out for, and what auto-layout assumes when it is not told the real view size.
DEFAULT_VIEW: tuple[float, float] = (780.0, 470.0)

Size = tuple[float, float]
EdgeSpec = tuple[str, str] | tuple[str, str, int, int]  # (src, dst[, src_port, dst_port])
_PORT_EPS = 0.01  # ordering nudge per port index: far below the 1.0 between neighbours


def node_height(n_in: int, n_out: int) -> float:
    return HEADER_H + max(BODY_H, PORT_STEP * max(n_in, n_out, 1) + 10.0)


def port_y(index: int) -> float:
    """y of port ``index`` (input or output) from the node's top."""
    return PORT_Y0 + PORT_STEP * index


def layered_layout(
    nodes: Sequence[str], edges: Iterable[EdgeSpec], sizes: dict[str, Size] | None = None,
    x_gap: float = 100.0, y_gap: float = 40.0, sweeps: int = 4,
    view: tuple[float, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node; nodes never overlap. ``x_gap`` leaves room
    between columns for a wire's shape label ("[B, 128, 16, 16]") clear of both ports.
    ``view``: the (width, height) in pixels of the view the graph will be seen in; a
    layout too wide for it is wrapped into bands (step 5 above). None: one band."""
    sizes = sizes or {}
    order_of = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    links: list[tuple[str, str, int, int]] = []
    for e in edges:
        a, b = e[0], e[1]
        sp, dp = (int(e[2]), int(e[3])) if len(e) == 4 else (0, 0)
        if a in order_of and b in order_of and a != b:
            succ[a].append(b)
            pred[b].append(a)
            links.append((a, b, sp, dp))

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

    # Dummy chains for long edges: ("~", a, b, sp, dp, k) tuples never clash with string ids.
    # up[v] / down[v]: (neighbour, port at the neighbour's end, port at v's end).
    up: dict[object, list[tuple[object, int, int]]] = defaultdict(list)
    down: dict[object, list[tuple[object, int, int]]] = defaultdict(list)
    layers: dict[int, list[object]] = defaultdict(list)
    for n in topo:
        layers[layer[n]].append(n)
    for a, b, sp, dp in links:
        if rank[a] >= rank[b]:
            continue
        prev: object = a
        prev_port = sp
        for k in range(layer[a] + 1, layer[b]):
            d = ("~", a, b, sp, dp, k)
            layers[k].append(d)
            down[prev].append((d, 0, prev_port))
            up[d].append((prev, prev_port, 0))
            prev, prev_port = d, 0
        down[prev].append((b, dp, prev_port))
        up[b].append((prev, prev_port, dp))

    n_layers = max(layers) + 1 if layers else 0
    pos = {v: float(i) for li in range(n_layers) for i, v in enumerate(layers[li])}
    for sweep in range(sweeps):
        rng = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        nbrs = up if sweep % 2 == 0 else down
        for li in rng:
            row = layers[li]
            bary = {v: (sum(pos[u] + _PORT_EPS * port for u, port, _ in nbrs[v]) / len(nbrs[v])
                        if nbrs[v] else pos[v]) for v in row}
            row.sort(key=lambda v: bary[v])  # stable: a tie keeps the order it had
            for i, v in enumerate(row):
                pos[v] = float(i)

    def height(v: object) -> float:
        return sizes.get(v, (NODE_W, node_height(1, 1)))[1] if isinstance(v, str) else DUMMY_H

    top: dict[object, float] = {}

    def wire_y(v: object, port: int) -> float:
        """Where a wire leaves (or enters) v: a port of a node, the middle of a lane."""
        return top[v] + (port_y(port) if isinstance(v, str) else DUMMY_H / 2)

    def own_offset(v: object, port: int) -> float:
        return port_y(port) if isinstance(v, str) else DUMMY_H / 2

    out: dict[str, tuple[float, float]] = {}
    floating: set[object] = set()  # sources placed before anything said where they belong
    columns: list[tuple[int, float, float]] = []  # (layer, x, width) of layers with nodes
    x = 0.0
    for li in range(n_layers):
        row = layers[li]
        real = [v for v in row if isinstance(v, str)]
        wants: list[float | None] = []
        prios: list[int] = []
        for v in row:
            ins = [(u, sp, dp) for u, sp, dp in up[v] if u in top]
            lanes = [i for i in ins if not isinstance(i[0], str)]
            # A lane coming in is kept straight: it decides alone. A floating source does
            # not pull its consumer off the main path (the source follows it later).
            use = lanes or [i for i in ins if i[0] not in floating] or ins
            wants.append(_mean([wire_y(u, sp) - own_offset(v, dp) for u, sp, dp in use]))
            prios.append(3 if not isinstance(v, str) else (2 if lanes else (1 if ins else 0)))
            if not ins and isinstance(v, str):
                floating.add(v)
        for v, t in zip(row, _place_row([height(v) for v in row], wants, prios, y_gap)):
            top[v] = t
            if isinstance(v, str):
                out[v] = (x, t)
        if real:  # a layer of lanes only takes no width
            width = max(sizes.get(v, (NODE_W, 0.0))[0] for v in real)
            columns.append((li, x, width))
            x += width + x_gap

    # Sources move level with the port they feed (the lane they start, if any), where
    # their neighbours in the layer leave room.
    for li in range(n_layers):
        row = layers[li]
        if not any(v in floating for v in row):
            continue
        wants, prios = [], []
        for v in row:
            outs = [(w, dp, sp) for w, dp, sp in down[v] if w in top]
            lanes = [o for o in outs if not isinstance(o[0], str)]
            want = _mean([top[w] + own_offset(w, dp) - own_offset(v, sp) for w, dp, sp in lanes or outs])
            movable = v in floating and want is not None
            wants.append(want if movable else top[v])
            prios.append(0 if movable else 1)
        for v, t in zip(row, _place_row([height(v) for v in row], wants, prios, y_gap)):
            top[v] = t
            if isinstance(v, str):
                out[v] = (out[v][0], t)
    if view is not None and len(columns) > 1:
        fwd = [(layer[a], layer[b]) for a, b, _, _ in links if rank[a] < rank[b]]
        out = _wrap(out, layer, columns, fwd, lambda n: height(n), view)
    return out


Band = list[int]  # indices into the column list


def _wrap(out: dict[str, tuple[float, float]], layer: dict[str, int],
          columns: list[tuple[int, float, float]], fwd: list[tuple[int, int]],
          height: Callable[[str], float], view: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """``out`` re-flowed into bands that suit a ``view``-sized window (step 5)."""
    vw, vh = view[0] - 2 * VIEW_MARGIN, view[1] - 2 * VIEW_MARGIN
    if vw <= 0 or vh <= 0:
        return out
    by_layer: dict[int, list[str]] = defaultdict(list)
    for n, li in layer.items():
        by_layer[li].append(n)

    # crossing[c]: wires that a cut before column c would send from one band to the next.
    starts = [0] * (columns[-1][0] + 2)
    for a, b in fwd:
        starts[a + 1] += 1
        starts[b + 1] -= 1
    running, open_at = 0, []
    for v in starts:
        running += v
        open_at.append(running)
    crossing = [open_at[li] for li, _, _ in columns]

    def cuts_for(limit: float) -> list[int]:
        """Columns packed into bands at most ``limit`` wide, as words into lines; a band
        ends early (by up to 40% of its columns) where fewer wires would cross."""
        cuts: list[int] = []
        start = 0
        while True:
            x0 = columns[start][1]
            end = start + 1  # the band is columns[start:end]
            while end < len(columns) and columns[end][1] + columns[end][2] - x0 <= limit:
                end += 1
            if end >= len(columns):
                return cuts
            m = end - start
            lo = start + max(1, math.ceil(0.6 * m))
            end = min(range(lo, end + 1), key=lambda c: (crossing[c], -c))
            cuts.append(end)
            start = end

    def flow(cuts: list[int]) -> tuple[dict[str, tuple[float, float]], float, float]:
        bounds = [0, *cuts, len(columns)]
        placed: dict[str, tuple[float, float]] = {}
        width, floor = 0.0, 0.0
        for j in range(len(bounds) - 1):
            cols = columns[bounds[j]:bounds[j + 1]]
            x0 = cols[0][1]
            width = max(width, cols[-1][1] + cols[-1][2] - x0)
            members = [n for li, _, _ in cols for n in by_layer[li] if n in out]
            top = min(out[n][1] for n in members)
            bottom = max(out[n][1] + height(n) for n in members)
            dy = (floor + (BAND_GAP if j else 0.0)) - top
            for n in members:
                placed[n] = (out[n][0] - x0, out[n][1] + dy)
            floor = bottom + dy
        return placed, width, floor

    # Band widths to try: every whole number of columns up to twice what the view shows
    # readably, and one band (a 10k-node chain tries a handful, not thousands).
    total = columns[-1][1] + columns[-1][2]
    limits = sorted({x + w for _, x, w in columns if x + w <= 2 * vw / MIN_READABLE_SCALE} | {total},
                    reverse=True)
    options = []
    for limit in limits:
        cuts = cuts_for(limit)
        placed, w, h = flow(cuts)
        options.append((len(cuts) + 1, placed, w, min(vw / w, vh / h, 1.0)))
    best = options[0]
    for opt in options[1:]:  # another band must buy a clearly larger scale
        if min(opt[3], COMFORT_SCALE) > min(best[3], COMFORT_SCALE) * 1.03:
            best = opt
    if best[3] < MIN_READABLE_SCALE:
        # Not readable whole: bands as wide as the view at a readable scale, scrolled down.
        fitting = [o for o in options if o[2] * MIN_READABLE_SCALE <= vw]
        best = fitting[0] if fitting else options[-1]
    if best[0] == 1:
        return out
    # Keep the first node where it was, as a person would start a graph.
    first = next(iter(out))
    dx, dy = out[first][0] - best[1][first][0], out[first][1] - best[1][first][1]
    return {n: (p[0] + dx, p[1] + dy) for n, p in best[1].items()}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _place_row(heights: list[float], wants: list[float | None], prios: list[int],
               gap: float) -> list[float]:
    """Tops for one layer, in its order, without overlap: the highest priority first, each
    as near its wanted top as the items already placed allow (leaving room for the rest).
    Items that want nothing stack as a column centred on 0."""
    n = len(heights)
    total = sum(heights) + gap * (n - 1)
    stack, want = -total / 2, list(wants)
    for i in range(n):
        if want[i] is None:
            want[i] = stack
        stack += heights[i] + gap
    placed: dict[int, float] = {}
    for i in sorted(range(n), key=lambda i: (-prios[i], i)):
        lo, hi = float("-inf"), float("inf")
        need = 0.0
        for j in range(i - 1, -1, -1):
            if j in placed:
                lo = placed[j] + heights[j] + gap + need
                break
            need += heights[j] + gap
        need = 0.0
        for j in range(i + 1, n):
            if j in placed:
                hi = placed[j] - gap - heights[i] - need
                break
            need += heights[j] + gap
        w = want[i]
        assert w is not None
        placed[i] = max(lo, min(w, hi)) if lo <= hi else lo
    tops, floor = [], float("-inf")
    for i in range(n):  # belt and braces: never overlap, whatever the rounding
        t = max(placed[i], floor)
        tops.append(t)
        floor = t + heights[i] + gap
    return tops


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
