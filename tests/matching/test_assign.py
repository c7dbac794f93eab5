import itertools
import random

from sync.matching.assign import assign_one_to_one


def _best_total(edges: dict[tuple[int, int], float]) -> float:
    rows = sorted({r for r, _ in edges})
    cols = sorted({c for _, c in edges})
    best = 0.0
    for choice in itertools.product([None, *cols], repeat=len(rows)):
        used = [c for c in choice if c is not None]
        if len(used) != len(set(used)) or any(
                c is not None and (r, c) not in edges for r, c in zip(rows, choice, strict=True)):
            continue
        best = max(best, sum(edges[(r, c)] for r, c in zip(rows, choice, strict=True)
                             if c is not None))
    return best


def test_each_registry_child_is_claimed_by_at_most_one_row() -> None:
    # twins: each row slightly prefers its own registry child
    edges = {("hung", "A"): 10.0, ("hung", "B"): 9.0, ("hùng", "A"): 9.5, ("hùng", "B"): 10.0}
    assert assign_one_to_one(edges) == {"hung": "A", "hùng": "B"}


def test_a_row_may_stay_unassigned_when_its_only_candidate_fits_another_row_better() -> None:
    assert assign_one_to_one({("x", "A"): 10.0, ("y", "A"): 9.0}) == {"x": "A"}


def test_the_assignment_maximises_the_total_not_each_rows_first_choice() -> None:
    edges = {("x", "A"): 5.0, ("x", "B"): 4.0, ("y", "A"): 5.0}
    assert assign_one_to_one(edges) == {"x": "B", "y": "A"}


def test_the_assignment_is_optimal_on_random_households() -> None:
    rng = random.Random(3)
    for _ in range(200):
        edges = {(r, c): rng.uniform(0.1, 10.0) for r in range(rng.randint(1, 4))
                 for c in range(rng.randint(1, 4)) if rng.random() < 0.7}
        result = assign_one_to_one(edges)
        assert len(set(result.values())) == len(result)
        assert abs(sum(edges[(r, c)] for r, c in result.items()) - _best_total(edges)) < 1e-9
