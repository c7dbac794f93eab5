"""A small run of the benchmark: the matcher keeps its quality on fresh synthetic data.

The figures quoted in the note come from ``bench/matching.py`` (5k/50k/500k); this is a guard
that runs in a second, on a seed used neither for tuning (7) nor for the report (2026).
"""

from bench.matching import evaluate, load_registry, stream
from bench.synthetic import generate
from sync.matching.records import Sex
from sync.vietnamese import normalise_name
from tests.matching.builders import model


def test_the_generator_is_seeded_and_realistically_noisy() -> None:
    data = generate(2000, 1000, seed=11)
    again = generate(2000, 1000, seed=11)
    assert [r.full_name for r in data.registry] == [r.full_name for r in again.registry]
    names = [r.full_name for s in data.stream for r in s] + [r.full_name for r in data.registry]
    assert any(name.isascii() for name in names)  # typed without diacritics
    assert any("(" in name for name in names)  # nicknames
    assert any(normalise_name(n).norm != normalise_name(n).raw.lower() for n in names)
    assert any(r.dob and r.dob.month is None for r in data.registry)  # year only
    assert any(r.sex is Sex.UNKNOWN for s in data.stream for r in s)
    assert len(data.twin_pairs) >= 10


def test_automatic_links_stay_precise_and_twins_stay_apart() -> None:
    data = generate(3000, 1500, seed=11)
    outcome, _ = stream(data, load_registry(data), model())
    result = evaluate(data, outcome)
    assert result["precision"] >= 0.99
    assert result["recall"] >= 0.9
    assert result["twins_merged"] == 0
    assert result["matches_missed"] <= 0.02
