"""The few graph algorithms analysis needs, on plain dicts.

networkx is a fine library but costs ~0.15 s to import and a few microseconds per call in
wrappers; analysis runs on every edit and must stay well under 50 ms for 1,000 nodes, so
it uses these instead. Every function is linear in nodes + edges and iterative (no
recursion limit on long chains).
"""
from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def topological_order(nodes: Sequence[N], succ: Mapping[N, Iterable[N]]) -> list[N]:
    """Kahn's algorithm; ties go to the node that comes first in ``nodes``, so the order
    follows the document where the edges allow. Nodes on cycles are left out (and so is
    everything downstream of them that cannot be reached otherwise)."""
    position = {n: i for i, n in enumerate(nodes)}
    indegree = dict.fromkeys(nodes, 0)
    for n in nodes:
        for m in succ.get(n, ()):
            if m in indegree:
                indegree[m] += 1
    heap = [position[n] for n in nodes if indegree[n] == 0]
    heapq.heapify(heap)
    order: list[N] = []
    while heap:
        n = nodes[heapq.heappop(heap)]
        order.append(n)
        for m in succ.get(n, ()):
            if m in indegree:
                indegree[m] -= 1
                if indegree[m] == 0:
                    heapq.heappush(heap, position[m])
    return order


def strongly_connected(nodes: Sequence[N], succ: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    stack: list[N] = []
    out: list[list[N]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[N, Iterable[N]]] = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                comp: list[N] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def cycles(nodes: Sequence[N], succ: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """One cycle through each strongly connected component that has one (self-loops
    included), each starting at its node that comes first in ``nodes``."""
    position = {n: i for i, n in enumerate(nodes)}
    found: list[list[N]] = []
    for comp in strongly_connected(nodes, succ):
        members = set(comp)
        start = min(comp, key=lambda n: position.get(n, len(position)))
        if len(comp) == 1 and start not in set(succ.get(start, ())):
            continue
        found.append(_cycle_from(start, members, succ))
    found.sort(key=lambda c: position.get(c[0], len(position)))
    return found


def _cycle_from(start: N, members: set[N], succ: Mapping[N, Iterable[N]]) -> list[N]:
    """A shortest cycle through ``start`` inside one strongly connected component (BFS)."""
    parent: dict[N, N] = {}
    queue = [start]
    seen = {start}
    for v in queue:
        for w in succ.get(v, ()):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            if w in members and w not in seen:
                seen.add(w)
                parent[w] = v
                queue.append(w)
    return [start]  # unreachable for a real component


def ancestors_of(targets: Iterable[N], pred: Mapping[N, Iterable[N]]) -> set[N]:
    """``targets`` and every node with a path to one of them."""
    seen = set(targets)
    stack = list(seen)
    while stack:
        v = stack.pop()
        for u in pred.get(v, ()):
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return seen
