"""The review page explains a pair truthfully (server/web/explain.py): two records with the same
valid personal ID are never called possible twins, the personal ID is a row of the
side-by-side, the score is placed against the thresholds in words (read from the model that
decided, else from the model file), and headers name no internal record number."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import ChildRecord, MatchCandidate
from server.web.explain import Person, number, personal_id_text, plain, same_valid_personal_id
from sync.matching import MatchModel
from sync.personal_id import make_personal_id
from tests.web.conftest import Registry, web_login

TWIN_EXPLANATION = {"rule": "POSSIBLE_TWIN", "total": 20.8,
                    "thresholds": {"auto_link": 21.25, "review": 20.5},
                    "fields": [{"field": "given_name", "level": "different", "weight": -6.0},
                               {"field": "dob", "level": "exact", "weight": 5.5}]}


@pytest.fixture
def vietnamese(app: Flask) -> Iterator[None]:
    with app.test_request_context("/?lang=vi"):
        yield


@pytest.fixture
def english(app: Flask) -> Iterator[None]:
    with app.test_request_context("/?lang=en"):
        yield


def _girl(pid: str | None, dob: str = "2015-03-04") -> Person:
    return Person(pid, "F", dob)


def test_the_same_valid_personal_id_means_both_valid_and_equal(vietnamese: None) -> None:
    pid = make_personal_id("001", "F", 2015, 123)
    assert same_valid_personal_id(_girl(pid), _girl(pid))
    assert not same_valid_personal_id(_girl(pid), _girl(make_personal_id("001", "F", 2015, 124)))
    assert not same_valid_personal_id(_girl(pid), _girl(None))
    # The number says a girl born in 2015: on a boy's record it is not valid for him.
    assert not same_valid_personal_id(_girl(pid), Person(pid, "M", "2015-03-04"))
    assert personal_id_text(Person(pid, "M", "2015")) == f"{pid} (không hợp lệ)"
    assert personal_id_text(_girl(pid)) == pid and personal_id_text(_girl("")) == "—"


@pytest.mark.parametrize("rule", ["POSSIBLE_TWIN", "TWIN_SHARED_ID"])
def test_a_pair_sharing_a_valid_personal_id_is_never_called_twins(vietnamese: None,
                                                                  rule: str) -> None:
    explanation = {**TWIN_EXPLANATION, "rule": rule}
    shared = plain(explanation, [rule], 20.8, same_valid_id=True)
    said = " ".join([shared.rule or "", *shared.reasons])
    assert "sinh đôi" not in said and "Cùng mã định danh hợp lệ" in said
    twins = plain(explanation, [rule], 20.8, same_valid_id=False)
    assert "sinh đôi" in (twins.rule or "")
    assert twins.disagreed == ["Tên: khác"] and twins.agreed == ["Ngày sinh: giống hệt"]


def test_the_score_is_placed_against_both_thresholds_in_words(vietnamese: None) -> None:
    limits = {"thresholds": {"auto_link": 80, "review": 50}}
    between = plain(limits, score=58)
    assert between.score == "Điểm giống nhau: 58"
    assert between.thresholds == ("dưới ngưỡng tự nối 80, trên ngưỡng đưa vào rà soát 50")
    assert "dưới ngưỡng đưa vào rà soát 50" in (plain(limits, score=41.5).thresholds or "")
    assert plain(limits, score=41.5).score == "Điểm giống nhau: 41,5"
    linked = plain(limits, score=90).thresholds or ""
    assert linked.startswith("trên ngưỡng tự nối 80") and "quy tắc" not in linked
    held = plain({**limits, "rule": "GIVEN_NAME_DIFFERS"}, score=90).thresholds or ""
    assert "quy tắc dưới đây cần người xác nhận" in held


def test_without_thresholds_in_the_explanation_the_model_files_are_said(
        vietnamese: None) -> None:
    model = MatchModel.load()
    said = plain({"fields": []}, score=model.review).thresholds or ""
    assert f"ngưỡng tự nối {number(model.auto_link)}" in said
    assert f"ngưỡng đưa vào rà soát {number(model.review)}" in said
    assert plain({"rule": "reviewer_merge"}).thresholds is None  # no score, nothing to place


def test_numbers_follow_the_page_language(english: None) -> None:
    said = plain({"thresholds": {"auto_link": 21.25, "review": 20.5}}, score=20.812)
    assert said.score == "Similarity score: 20.81"
    assert said.thresholds == ("below the automatic-link threshold 21.25, above the review "
                               "threshold 20.5")


# --- the page ----------------------------------------------------------------------------------


def _pair(client: FlaskClient, registry: Registry) -> str:
    """The text of the queue row's box (the queue holds this one pair)."""
    html = client.get(f"/ui/p/{registry.project_id}/review").get_data(as_text=True)
    start = html.index(f'id="pair-{registry.candidate_id}"')
    return re.sub(r"<[^>]+>", " ", html[start:html.index('class="paging"', start)])


def test_the_review_page_says_what_the_personal_id_shows(client: FlaskClient,
                                                         registry: Registry) -> None:
    """The queued re-report gave the child's own valid ID under another given name: the page
    shows the number on both sides and says "same personal ID", not "twins"; once the report's
    number is gone, twins are possible again and the page says so."""
    web_login(client, registry.person("cp_officer"))
    with registry.services.database.unit_of_work() as db:
        row = db.get_one(MatchCandidate, registry.candidate_id)
        record = db.get_one(ChildRecord, row.record_id)
        # Twin evidence against an identical valid ID: the matcher's own rule for it.
        assert (row.explanation or {}).get("rule") == "TWIN_SHARED_ID"
        pid = record.personal_id
    assert pid
    text = _pair(client, registry)
    assert text.count(pid) == 2 and "Mã định danh" in text
    assert "sinh đôi" not in text and "Cùng mã định danh hợp lệ" in text
    assert not re.search(r"hồ sơ \d+", text, re.IGNORECASE) and "Báo cáo mới" in text
    assert "ngưỡng tự nối" in text and "ngưỡng đưa vào rà soát" in text

    with registry.services.database.unit_of_work() as db:
        record = db.scalars(select(ChildRecord).where(
            ChildRecord.id == db.get_one(MatchCandidate, registry.candidate_id).record_id)).one()
        record.personal_id = ""  # a report without the number (test data: records never change)
    text = _pair(client, registry)
    assert "sinh đôi" in text and "Cùng mã định danh hợp lệ" not in text
