"""The unseen-registry evaluation (bench/unseen_registry.py): its metrics on hand-made cases,
and a tiny draw imported through the real importer into the test database, end to end.

This guards the evaluation itself, not the matcher's quality: the figures are quoted from the
benchmark runs, never asserted here (the set is kept apart from tuning).
"""

import csv
from pathlib import Path

from bench.unseen import metrics
from bench.unseen.draw import DrawSpec, draw
from bench.unseen.evaluate import import_draw, read_truth, score
from bench.unseen.lists import IMPORT_COLUMNS
from bench.unseen.noise import strip_marks, telex_word
from bench.unseen.personal_ids import valid_for
from server.services import Services

TRUTH = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C"}


def test_a_perfect_prediction_scores_one() -> None:
    scores = metrics.pair_scores(dict(TRUTH), TRUTH)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
    assert scores.true == 4  # three pairs of A, one of B


def test_a_missed_link_lowers_recall_only() -> None:
    predicted = {**TRUTH, "a3": "new"}
    scores = metrics.pair_scores(predicted, TRUTH)
    assert scores.precision == 1.0
    assert scores.recall == 2 / 4


def test_a_refused_row_counts_its_pairs_as_missed() -> None:
    predicted = {row: child for row, child in TRUTH.items() if row != "b2"}
    assert metrics.pair_scores(predicted, TRUTH).recall == 3 / 4


def test_a_wrong_link_lowers_precision() -> None:
    predicted = {**TRUTH, "c1": "B"}
    scores = metrics.pair_scores(predicted, TRUTH)
    assert scores.recall == 1.0
    assert scores.precision == 4 / 6


def test_twins_in_one_child_are_counted_as_merged() -> None:
    twins = [("B", "C"), ("A", "Z")]  # Z has no row: not a pair the registry could merge
    assert metrics.twins_merged(dict(TRUTH), TRUTH, twins) == (0, 1)
    assert metrics.twins_merged({**TRUTH, "c1": "B"}, TRUTH, twins) == (1, 1)


def test_a_shared_valid_id_is_a_silent_miss_unless_linked_or_queued() -> None:
    predicted = {"r1": "X", "r2": "Y", "r3": "X"}
    ids = {"r1": "036215001234", "r2": "036215001234", "r3": "036215001234"}
    assert metrics.silent_id_misses(predicted, ids, set()) == [("r1", "r2"), ("r2", "r3")]
    assert metrics.silent_id_misses(predicted, ids, {("r2", "X")}) == []
    # Another row of child Y queued against X puts the two children side by side too.
    assert metrics.silent_id_misses({**predicted, "r4": "Y"}, ids, {("r4", "X")}) == []
    assert metrics.silent_id_misses({**predicted, "r2": "X"}, ids, set()) == []
    # A number the registry marked doubtful on one of the rows is in the data-quality report.
    assert metrics.silent_id_misses(predicted, ids, set(), {"r2"}) == []


def test_a_shared_id_across_communes_is_not_silent_once_a_commune_is_told() -> None:
    predicted = {"10/r1": "10/X", "20/r2": "20/Y", "10/r3": "10/Z"}
    ids = dict.fromkeys(predicted, "036215001234")
    # Each commune matches only its own children: commune 10's report listing its children
    # as holding a number of another commune tells the pairs across communes, not the one
    # inside commune 10; a row it does not list leaves its own pair across silent.
    assert metrics.silent_id_misses(predicted, ids, set(), elsewhere={"10/r1", "10/r3"}) == [
        ("10/r1", "10/r3")]
    assert metrics.silent_id_misses(predicted, ids, set(), elsewhere={"10/r1"}) == [
        ("10/r1", "10/r3"), ("10/r3", "20/r2")]
    assert metrics.silent_id_misses(predicted, ids, set()) == [
        ("10/r1", "10/r3"), ("10/r1", "20/r2"), ("10/r3", "20/r2")]


def test_missed_rows_are_counted_by_how_they_were_written() -> None:
    predicted = {**TRUTH, "a3": "new"}
    tags = {"a3": ["no_marks"], "a1": ["no_marks"]}
    counts = metrics.missed_by_tag(predicted, TRUTH, tags)
    assert counts["no_marks"] == (1, 2)
    assert counts["(all)"] == (1, 5)  # c1 has no other row: not counted


def test_personal_ids_are_judged_against_the_row_as_written() -> None:
    assert valid_for("036215001234", "M", "2015-03-02")
    assert not valid_for("036215001234", "F", "")  # 2 is a boy of the 2000s
    assert not valid_for("036215001234", "M", "2016")  # year digits say 2015
    assert not valid_for("36215001234", "M", "2015")  # Excel dropped the leading zero
    assert telex_word("Nguyễn") == "Nguyeenx" and strip_marks("Đặng") == "Dang"


def test_a_tiny_draw_goes_through_the_importer_and_is_scored(services: Services,
                                                             tmp_path: Path) -> None:
    spec = DrawSpec(children=120, seed=5, home_column=False)
    meta = draw(tmp_path / "draw", spec)
    again = draw(tmp_path / "again", spec)
    assert meta["communes"] == again["communes"]  # seeded
    first = tmp_path / "draw" / meta["communes"][0]["files"][0]
    with first.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == IMPORT_COLUMNS  # no truth in an import file

    seen = import_draw(services, tmp_path / "draw")
    result = score(seen, read_truth(tmp_path / "draw"))

    assert result["rows"] == meta["rows"] == result["placed"] + result["refused"]
    assert result["true_pairs"] > 50
    assert 0.0 < result["recall"] <= 1.0 and 0.0 < result["precision"] <= 1.0
    assert result["review_rows"] == len(seen.queued)
    assert result["missed_by_tag"]["(all)"][1] > 0
    assert result["records_per_s"] > 0 and result["peak_rss_mb"] > 0
