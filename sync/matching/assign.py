"""One-to-one assignment of a submission's children to registry children.

Within one household submission every row is a different child, and each registry child can be
at most one of them. Choosing the assignment that maximises the total utility (instead of
letting every row take its own best candidate) is what keeps two siblings or twins from both
landing on one registry child (docs/matching.md §3.4).

The graphs are tiny (a household's rows against the few registry children above the review
line), so they are split into connected components; a component with one row takes its best
edge, and larger ones run the Hungarian algorithm (shortest augmenting paths, O(n²m)).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import TypeVar

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


def _hungarian(cost: list[list[float]]) -> list[int]:
    """Minimum-cost assignment of every row to a distinct column (rows <= columns)."""
    n, m = len(cost), len(cost[0])
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    owner, way = [0] * (m + 1), [0] * (m + 1)  # owner[j]: row (1-based) holding column j
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        best, used = [math.inf] * (m + 1), [False] * (m + 1)
        while owner[j0]:
            used[j0] = True
            i0, delta, j1 = owner[j0], math.inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < best[j]:
                        best[j], way[j] = reduced, j0
                    if best[j] < delta:
                        delta, j1 = best[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    best[j] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    result = [0] * n
    for j in range(1, m + 1):
        if owner[j]:
            result[owner[j] - 1] = j - 1
    return result


def _components(edges: Mapping[tuple[R, C], float]) -> list[list[tuple[R, C]]]:
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row, col in edges:
        parent[find(("r", row))] = find(("c", col))
    groups: dict[object, list[tuple[R, C]]] = {}
    for row, col in edges:
        groups.setdefault(find(("r", row)), []).append((row, col))
    return list(groups.values())


def assign_one_to_one(edges: Mapping[tuple[R, C], float]) -> dict[R, C]:
    """Rows to columns, each used at most once, maximising the summed utility.

    ``edges`` holds only allowed pairs, each with a positive utility; a row may stay
    unassigned (when its candidates are better used by other rows).
    """
    result: dict[R, C] = {}
    for component in _components(edges):
        rows = list(dict.fromkeys(r for r, _ in component))
        cols = list(dict.fromkeys(c for _, c in component))
        if len(rows) == 1 or len(cols) == 1:
            row, col = max(component, key=lambda e: edges[e])
            result[row] = col
            continue
        # Each row also gets a private "unassigned" column of utility 0; forbidden pairs cost
        # more than leaving a row unassigned ever could.
        forbidden = 1.0 + 2.0 * sum(edges[e] for e in component)
        cost = [[-edges[(r, c)] if (r, c) in edges else forbidden for c in cols]
                + [0.0 if k == i else forbidden for k in range(len(rows))]
                for i, r in enumerate(rows)]
        for i, j in enumerate(_hungarian(cost)):
            if j < len(cols):
                result[rows[i]] = cols[j]
    return result
