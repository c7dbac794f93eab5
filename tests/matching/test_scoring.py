import math

from sync.matching import MatchModel
from sync.matching.compare import Field
from sync.matching.constraints import Rule
from sync.matching.scoring import FIELDS, Scorer, fit_model
from sync.personal_id import make_personal_id
from tests.matching.builders import child, model


def test_the_shipped_model_has_a_version_thresholds_and_every_level() -> None:
    shipped = model()
    assert shipped.version and shipped.auto_link > shipped.review
    for field in FIELDS:
        assert shipped.weight(field, "missing") == 0.0
        assert all(m > 0 and u > 0 for m, u in shipped.m_u[field].values())
    m, u = shipped.m_u[Field.DOB]["exact"]
    assert shipped.weight(Field.DOB, "exact") == math.log2(m / u) > 0


def test_agreement_weighs_more_than_disagreement() -> None:
    shipped = model()
    for field, good, bad in [(Field.GIVEN_NAME, "exact", "different"), (Field.DOB, "exact",
                             "different"), (Field.PARENTS, "both_agree", "differ"),
                             (Field.PERSONAL_ID, "same", "different")]:
        assert shipped.weight(field, good) > 0 > shipped.weight(field, bad)


def test_the_total_is_the_sum_of_the_field_weights() -> None:
    pair = Scorer(model()).score(child("Nguyễn Văn An", submission="s2"), child("Nguyễn Văn An"))
    assert pair is not None and pair.comparison is not None
    assert math.isclose(pair.total, sum(pair.weights))
    assert len(pair.weights) == len(FIELDS)


def test_pruning_drops_hopeless_pairs_but_never_hides_a_rule() -> None:
    scorer = Scorer(model())
    incoming = child("Nguyễn Văn An", "2015-03-04", submission="s2")
    stranger = child("Lê Thị Mai", "2009-11-30", sex="F", mother="Ngô Thị Hà", father="Lê Văn Tư",
                     head="Lê Văn Tư", village="T08")
    assert scorer.score(incoming, stranger, floor=model().review) is None
    assert scorer.score(incoming, stranger) is not None  # no floor: scored
    pid = make_personal_id("001", "M", 2015, 7)
    conflict = scorer.score(child("Nguyễn Văn An", submission="s2", personal_id=pid),
                            child("Lê Thị Mai", "2015-03-04", personal_id=pid[:-2] + "99"),
                            floor=model().review)
    assert conflict is not None and conflict.rule is not None
    assert conflict.rule.rule is Rule.ID_CONFLICT and conflict.total == -math.inf


def test_weights_are_refitted_from_labelled_comparisons() -> None:
    scorer = Scorer(model())
    same = scorer.score(child("Nguyễn Văn An", submission="s2"), child("Nguyễn Văn An"))
    other = scorer.score(child("Lê Thị Mai", "2009-11-30", sex="F", submission="s2"),
                         child("Nguyễn Văn An"))
    assert same and other and same.comparison and other.comparison
    fitted = MatchModel.from_dict(fit_model([same.comparison] * 9, [other.comparison] * 9,
                                            version="test", auto_link=10, review=5,
                                            template=model()))
    assert fitted.version == "test" and (fitted.auto_link, fitted.review) == (10, 5)
    assert fitted.weight(Field.GIVEN_NAME, "exact") > 0 > fitted.weight(Field.GIVEN_NAME,
                                                                         "different")


def test_the_scorers_shortcuts_agree_with_the_comparison_functions() -> None:
    from bench.synthetic import generate
    from sync.matching import prepare
    from sync.matching.compare import compare

    data = generate(300, 300, seed=5)
    registry = [prepare(r) for r in data.registry]
    scorer = Scorer(model())
    for submission in data.stream[:60]:
        for incoming in (prepare(r) for r in submission):
            for pair in scorer.score_all(incoming, registry):
                if pair.comparison is not None:
                    assert pair.comparison == compare(incoming, pair.other)
