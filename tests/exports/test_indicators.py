"""The indicator sheet (exports/reports/indicators.py, docs/reports.md §3) on a real database.

A small commune built through the project's own paths: household visits written as Collect
writes them (`sync.synthetic_households.serialise`) and synced, one child imported from a
list with neither sex nor date of birth, and a follow-up visit reporting a death. Its
categories are then opened, accepted, dismissed, ended and given plans at chosen moments through
the registry's own functions (`server.registry.categories`), so every figure below is worked out
by hand from the table `KIDS` and the `_categories` steps. The same commune is then recounted,
period by period and caller by caller, from the children export's rows
(`exports.registry_rows.iter_child_rows`) by code written apart from the report's.

One commune serves the module (the tests only read it, but for the plan route's, which adds a
case of 2024 that no other test counts).
"""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from exports.periods import current_quarter, parse_period
from exports.registry_rows import ChildRow, iter_child_rows
from exports.reports import ReportContext
from exports.reports.indicators import AGE_KEYS, build, load_config
from exports.xlsx_book import write_book
from server import create_app
from server.auth.principal import Principal, open_session, principal_for_user
from server.demo import load_demo
from server.models import Audit, Child, ChildCategoryEpisode, Form, User
from server.operations.submissions import SubmissionContext, receive_submission
from server.operations.users import create_user, grant_project_role
from server.registry import categories
from server.registry.access import RegistryAccess, is_sensitive_code
from server.registry.children_query import (
    CARE_FORMS,
    VIETNAM,
    ChildFilters,
    vietnam_day_start,
)
from server.registry.entities import entity_row
from server.registry.importer import Outcome, import_file
from server.registry.sync import sync_pending
from server.services import Services
from sync.categories import DerivedCategory, Reason, default_catalogue
from sync.instance import parse_instance
from sync.synthetic_households import CHILD_QUESTIONS, record_child, serialise
from sync.synthetic_people import draw_household
from sync.xform import primary_instance
from tests.conftest import XLSX_TYPE, module_services
from tests.registry.followup_helpers import FOLLOWUP, followup_xml
from tests.registry.helpers import TODAY
from tests.registry.import_helpers import csv_bytes
from xlsforms.sources.screening_rules import DOMAINS

PASSWORD = "Cây đa đầu làng năm 2026"
Q4 = "2026-Q4"
ARTICLE10 = [c.code for c in default_catalogue() if c.is_article10]
SENSITIVE_WORDS = sorted({word for c in default_catalogue() if c.sensitive
                          for word in (c.code, c.label_vi, c.label_en)})


@dataclass(frozen=True)
class Kid:
    name: str
    sex: str
    dob: str
    village: str
    carer: str  # the screening's `c_carer`
    support: str  # the screening's `g_support`


KIDS = [
    Kid("Lò Thị An", "F", "2015-05-01", "T01", "both_parents", ""),
    Kid("Lò Văn Bình", "M", "2020-01-10", "T01", "grandparent", "monthly_allowance"),
    Kid("Lò Thị Én", "F", "2018-02-02", "T01", "both_parents", "health_insurance_free"),
    Kid("Lò Thị Giang", "F", "2014-04-04", "T01", "mother_only", "counselling"),
    Kid("Lò Văn Khánh", "M", "2011-06-06", "T01", "both_parents", ""),
    Kid("Lò Văn Long", "M", "2009-02-02", "T01", "grandparent",
        "monthly_allowance school_fee_exempt"),
    Kid("Lò Thị Oanh", "F", "2017-01-01", "T01", "both_parents", "none"),
    Kid("Lò Thị Rau", "F", "2026-11-01", "T01", "both_parents", ""),
    Kid("Lò Văn Phúc", "M", "2014-08-08", "T01", "mother_only", ""),
    Kid("Quàng Thị Cúc", "F", "2012-03-03", "T05", "social_facility", "dont_know"),
    Kid("Quàng Văn Dũng", "M", "2016-07-07", "T05", "non_relative_family", "none"),
    Kid("Quàng Thị Hà", "F", "2013-01-01", "T05", "both_parents", "in_kind"),
    Kid("Quàng Văn Minh", "M", "2008-01-01", "T05", "other_relative", ""),
    Kid("Quàng Thị Nga", "F", "2019-09-09", "T05", "both_parents", ""),
]
QUANG = "Quàng Văn Quang"  # imported: no sex, no date of birth, no answers
PEOPLE = {"cp_officer": ("cp_officer", []), "cp_officer_t01": ("cp_officer", ["T01"]),
          "health_reviewer": ("health_reviewer", []),
          "commune_leader": ("commune_leader", [])}


def utc(*parts: int) -> datetime:
    return datetime(*parts)  # naive UTC, as stored


# --- building the commune ---------------------------------------------------------------------


def _said(kid: Kid) -> dict[str, str]:
    """A child's answers with nothing that derives a category: parents alive and at home, in
    school, not working, no difficulty, no concern — then the carer and support of `kid`."""
    said = dict.fromkeys(CHILD_QUESTIONS, "")
    said.update(dict.fromkeys(DOMAINS, "none"))
    said.update({
        "c_full_name": kid.name, "c_sex": "male" if kid.sex == "M" else "female",
        "c_dob_known": "full", "c_dob": kid.dob, "c_birth_cert": "yes", "c_ethnic": "thai",
        "c_joined": "own_child", "c_migrant": "no", "c_sleep": "this_house",
        "c_school": "in_school", "c_works": "no", "c_mother_name": f"Mẹ của {kid.name}",
        "c_mother_status": "alive_with_child", "c_father_name": f"Bố của {kid.name}",
        "c_father_status": "alive_with_child", "c_carer": kid.carer,
        "c_carer_name": "Lò Thị Chăm", "c_care_registered": "yes", "d_cert": "no",
        "e_bhyt": "yes", "e_longterm": "no", "e_vacc": "yes", "f_concern": "no",
        "g_support": kid.support, "g_child_assent": "yes"})
    return said


def _visit(template: Any, village: str, kids: list[Kid], seed: int) -> bytes:
    """One household visit holding `kids` (one visit: never matched as one child)."""
    rng = random.Random(seed)
    family = draw_household(rng, village, TODAY)
    household: dict[str, str | None] = {
        "village": village, "consent_ok": "yes", "note_refused": None, "household": "",
        **family.household, "hh_poverty": "none", "n_children": str(len(kids))}
    children = [record_child(_said(kid), household, TODAY, str(uuid.uuid4())) for kid in kids]
    start = datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=9)
    household.update({
        "child_count": str(len(children)),
        "start": f"{start:%Y-%m-%dT%H:%M:%S}.000+07:00",
        "end": f"{start + timedelta(minutes=50):%Y-%m-%dT%H:%M:%S}.000+07:00",
        "today": TODAY.isoformat(), "deviceid": f"collect:TEST{village}", "enumerator": "",
        "z_followup": "no", "z_thanks": "", "meta": "", "instanceID": f"uuid:{uuid.uuid4()}",
        "instanceName": f"{village} – test", "z_comment": ""})
    return serialise(template, household, children)


def _submit(services: Services, form_id: str, xml: bytes, submitter: int) -> None:
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == form_id)).one()
        receive_submission(db, services.store, form, parse_instance(xml), xml, {},
                           SubmissionContext(submitter, "collect:test", "test"))


def _referral(code: str) -> DerivedCategory:
    return DerivedCategory(code, (Reason("f_concern", "Lo ngại", "Concern", confidential=True),),
                           referral=True)


def _categories(services: Services, ids: dict[str, str]) -> None:
    """Every category of the commune, opened at chosen moments (see the module docstring)."""
    by, why = "actor:test", "Cán bộ kiểm tra"
    with services.database.unit_of_work() as db:
        def open_(name: str, code: str, at: datetime) -> None:
            categories.apply_codes(db, ids[name], [code], source="test", by=by, now=at)

        def refer(name: str, code: str, at: datetime) -> None:
            categories.apply_derived_categories(db, ids[name], [_referral(code)],
                                                source="test", by=by, now=at)

        open_("Lò Văn Bình", "HCDB-A", utc(2026, 8, 1, 3))
        # 23:00 on 30 September in Vietnam: the third quarter.
        open_("Lò Thị Én", "HCDB-B", utc(2026, 9, 30, 16))
        refer("Lò Thị Giang", "HCDB-L", utc(2026, 11, 1, 2))
        categories.accept_referral(db, ids["Lò Thị Giang"], "HCDB-L", by=by, why=why,
                                   now=utc(2026, 11, 2, 2))
        # Opened 1 November (Vietnam): due by 8 November, approved on the 20th: late.
        categories.approve_plan(db, ids["Lò Thị Giang"], "HCDB-L", by=by, why=why,
                                at=vietnam_day_start(date(2026, 11, 20)))
        open_("Lò Văn Khánh", "HCDB-E", utc(2026, 10, 10, 3))
        # A trafficking referral the officer dismissed: never a category, nor a case.
        refer("Lò Văn Khánh", "HCDB-M", utc(2026, 10, 15, 3))
        categories.end(db, ids["Lò Văn Khánh"], "HCDB-M", by=by, why=why,
                       now=utc(2026, 10, 16, 3))
        open_("Lò Văn Long", "HCDB-A", utc(2026, 1, 5, 3))
        open_("Lò Văn Long", "AGEOUT-16-22", utc(2026, 10, 1, 5))
        open_("Lò Thị Oanh", "HCDB-D", utc(2026, 1, 1, 3))
        categories.end(db, ids["Lò Thị Oanh"], "HCDB-D", by=by, why=why,
                       now=utc(2026, 11, 15, 5))
        open_("Lò Văn Phúc", "HCDB-B", utc(2026, 11, 10, 3))  # no plan
        open_("Quàng Thị Cúc", "HCDB-C", utc(2026, 5, 1, 3))
        # 01:00 on 1 October in Vietnam: the fourth quarter. Plan on the 7th day: in time.
        open_("Quàng Văn Dũng", "HCDB-B", utc(2026, 9, 30, 18))
        categories.approve_plan(db, ids["Quàng Văn Dũng"], "HCDB-B", by=by, why=why,
                                at=vietnam_day_start(date(2026, 10, 8)))
        refer("Quàng Thị Hà", "HCDB-M", utc(2026, 12, 1, 1))
        categories.accept_referral(db, ids["Quàng Thị Hà"], "HCDB-M", by=by, why=why,
                                   now=utc(2026, 12, 1, 5))
        categories.approve_plan(db, ids["Quàng Thị Hà"], "HCDB-M", by=by, why=why,
                                at=vietnam_day_start(date(2026, 12, 3)))
        open_("Quàng Văn Minh", "AGEOUT-16-22", utc(2026, 2, 1, 3))
        open_("Quàng Thị Nga", "HCDB-D", utc(2026, 3, 3, 3))
        open_(QUANG, "HCDB-H", utc(2026, 10, 20, 3))


def _report_death(services: Services, child_id: str, submitter: int) -> None:
    """A follow-up visit saying the child died, as the child_followup form writes it."""
    with services.database.unit_of_work() as db:
        entity = entity_row(db, db.get_one(Child, child_id))
    row = {"name": entity.id, "label": entity.label, "__version": str(entity.version),
           **entity.properties}
    _submit(services, FOLLOWUP, followup_xml(row, "died", died="2026-10-20").encode(), submitter)
    sync_pending(services.database.sessions)


@dataclass
class Place:
    services: Services
    client: FlaskClient
    project_id: int
    ids: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)


def _build(services: Services) -> Place:
    summary = load_demo(services, households=0, today=TODAY, revisits=False,
                        admin_password=PASSWORD)
    project_id = summary.project_id
    phone = {p.village: p.actor_id for p in summary.phones}
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == "household_screening")).one()
        assert form.current_def is not None
        template = primary_instance(form.current_def.xml)
    for seed, village in enumerate(("T01", "T05")):
        kids = [kid for kid in KIDS if kid.village == village]
        _submit(services, "household_screening", _visit(template, village, kids, seed),
                phone[village])
    with services.database.unit_of_work() as db:
        report = import_file(db, project_id, csv_bytes([
            {"record_id": "q1", "village": "T05", "full_name": QUANG}]), source="so-2026")
        assert report.count(Outcome.CREATED) == 1
    sync_pending(services.database.sessions)
    with services.database.unit_of_work() as db:
        ids = {c.full_name: c.id for c in db.scalars(select(Child).where(
            Child.project_id == project_id))}
        assert set(ids) == {kid.name for kid in KIDS} | {QUANG}
        assert not db.scalars(select(ChildCategoryEpisode)).all(), "answers derived a category"
    _report_death(services, ids["Quàng Thị Nga"], phone["T05"])
    _categories(services, ids)
    place = Place(services, create_app({"services": services, "TESTING": True}).test_client(),
                  project_id, ids)
    with services.database.unit_of_work() as db:
        for name, (role, villages) in PEOPLE.items():
            user = create_user(db, f"{name}@xa.test", PASSWORD, display_name=name)
            grant_project_role(db, project_id, user.actor_id, role).villages = villages
            place.tokens[name] = open_session(db, user.actor, 24).token or ""
        admin = db.scalars(select(User).where(User.role == "admin")).one()
        place.tokens["admin"] = open_session(db, admin.actor, 24).token or ""
    return place


@pytest.fixture(scope="module")
def place(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    with module_services(migrated_database, tmp_path_factory.mktemp("indicators")) as services:
        yield _build(services)


# --- asking for the report --------------------------------------------------------------------


def _principal(place: Place, who: str) -> Principal:
    email = "admin@example.org" if who == "admin" else f"{who}@xa.test"
    with place.services.database.unit_of_work() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        return principal_for_user(db, user)


def report(place: Place, who: str = "cp_officer", period: str = Q4, *,
           filters: ChildFilters | None = None, language: str = "vi") -> Any:
    """`build` called as the report routes call it: the caller's access, full or redacted."""
    principal = _principal(place, who)
    access = RegistryAccess.of(principal, place.project_id)
    with place.services.database.read_snapshot() as session:
        context = ReportContext(
            session, place.project_id, "Xã Thử", principal, access,
            redacted=not access.sees_everything, period=parse_period(period),
            today=datetime.now(VIETNAM).date(), now=datetime.now(),
            language=language, filters=filters or ChildFilters())
        return build(context), context


def indicator(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in document["indicators"] if item["id"] == name)


def figures(document: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {item["id"]: (item["value"], item["denominator"], item["percent"], item["met"],
                         item["unknown"]) for item in document["indicators"]}


# --- (a) the known commune --------------------------------------------------------------------


def test_every_figure_of_the_fourth_quarter_as_worked_out_by_hand(place: Place) -> None:
    result, _ = report(place)
    doc = result.document
    assert (doc["period"], doc["from"], doc["to"], doc["redacted"]) == (
        Q4, "2026-10-01", "2026-12-31", False)
    # Alive, born by 31 December and under 16 (Quang: no date, counted): not Long (17), Minh
    # (18) or Nga (died).
    assert figures(doc) == {
        "child_population": (12, None, None, None, 1),
        # Bình A, Én B, Giang L, Khánh E, Phúc B, Cúc C, Dũng B, Hà M, Quang H: not Oanh (D
        # ended on 15 November), not Long (A, but 17).
        "special_circumstances": (9, 12, 75.0, None, None),
        # Supported: Bình, Én, Giang, Hà. Unknown: Khánh, Phúc, Quang (no answer), Cúc
        # ("don't know"). Dũng answered "none".
        "special_supported": (4, 9, 44.4, False, 4),
        # Dũng (1 October in Vietnam) and Phúc; Én's (30 September) is the third quarter's.
        "abandoned_found": (2, None, None, None, None),
        "abandoned_in_alternative_care": (1, 2, 50.0, False, 0),
        "orphans_in_alternative_care": (2, 2, 100.0, True, 0),
        # Dũng and Hà in time, Giang late, Phúc without a plan; not Khánh's dismissed M.
        "abuse_cases_plan_in_time": (2, 4, 50.0, False, None),
        "conflict_with_law": (1, None, None, None, None),
        "drug_use": (0, None, None, None, None),
        # Long (allowance) and Minh (no answer).
        "allowance_16_22": (1, 2, 50.0, None, 1),
    }
    population = indicator(doc, "child_population")["breakdown"]
    assert population["sex"] == {"M": 4, "F": 7, "U": 1}
    assert population["ageGroup"] == {"0-6": 1, "6-11": 4, "11-16": 6, "16-18": 0, "18+": 0,
                                      "unknown": 1}
    assert {k: v for k, v in population["village"].items() if v} == {"T01": 8, "T05": 4}
    special = indicator(doc, "special_circumstances")
    assert special["breakdown"]["category"] == {
        **dict.fromkeys(ARTICLE10, 0), "HCDB-A": 1, "HCDB-B": 3, "HCDB-C": 1, "HCDB-E": 1,
        "HCDB-H": 1, "HCDB-L": 1, "HCDB-M": 1}
    assert special["denominatorBreakdown"]["village"]["T01"] == 8
    plans = indicator(doc, "abuse_cases_plan_in_time")
    assert plans["details"] == {"inTime": 2, "late": 1, "noPlan": 1, "deadlineDays": 7,
                                "codes": ["HCDB-L", "HCDB-B", "HCDB-M"]}
    assert plans["breakdown"]["category"] == {**dict.fromkeys(ARTICLE10, 0), "HCDB-B": 1,
                                              "HCDB-M": 1}
    orphans = indicator(doc, "orphans_in_alternative_care")["breakdown"]["care"]
    assert orphans == {**dict.fromkeys([*CARE_FORMS, "unknown"], 0), "kin": 1, "facility": 1}
    abandoned = indicator(doc, "abandoned_in_alternative_care")["denominatorBreakdown"]["care"]
    assert (abandoned["non_kin"], abandoned["parents"]) == (1, 1)
    assert doc["childFriendly"]["points"] == 0 and doc["childFriendly"]["max"] == 125
    assert doc["planDeadlineDays"] == load_config().plan_deadline_days == 7
    assert doc["planDeadlineUnverified"]


def test_periods_are_vietnamese_calendar_quarters(place: Place) -> None:
    """An episode opened at 18:00 UTC on 30 September is 1 October in Vietnam: the fourth
    quarter's; at 16:00 UTC it is still the third's. Ages count on the period's last day."""
    q3 = report(place, period="2026-Q3")[0].document
    # Rau is not yet born on 30 September; Oanh's D is still open, Dũng's B not yet.
    assert figures(q3)["child_population"][0] == 11
    assert figures(q3)["special_circumstances"][:2] == (4, 11)  # Bình, Én, Cúc, Oanh
    assert figures(q3)["abandoned_found"][0] == 1  # Én
    assert indicator(q3, "abuse_cases_plan_in_time")["details"]["noPlan"] == 1
    q4 = report(place)[0].document
    assert indicator(q4, "abandoned_found")["breakdown"]["village"]["T05"] == 1  # Dũng
    year = report(place, period="2026")[0].document
    assert figures(year)["abandoned_found"][0] == 3


def test_a_part_with_no_case_earns_its_points_and_a_part_met_earns_its_own(
        place: Place) -> None:
    # Early 2025: nobody is in special circumstances yet, and no case opened.
    empty = report(place, period="2025-Q1")[0].document
    assert figures(empty)["special_supported"] == (0, 0, None, None, 0)
    assert empty["childFriendly"]["points"] == 125
    assert all(part["noCases"] for part in empty["childFriendly"]["parts"])
    # T05 alone: both its cases (Dũng, Hà) have their plans in time, 1 of 4 is supported.
    t05 = report(place, filters=ChildFilters(village="T05"))[0].document
    parts = {part["id"]: part for part in t05["childFriendly"]["parts"]}
    assert (parts["plans_in_time"]["points"], parts["supported"]["points"]) == (75, 0)
    assert parts["supported"]["percent"] == 25.0
    assert list(indicator(t05, "child_population")["breakdown"]["village"]) == ["T05"]


# --- (d) who asks -----------------------------------------------------------------------------


def _book_cells(result: Any, context: ReportContext) -> list[str]:
    data = io.BytesIO()
    write_book(data, result.about, result.sheets)
    book = load_workbook(io.BytesIO(data.getvalue()), read_only=True)
    return [str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for value in row if value is not None]


def test_the_health_station_gets_no_sensitive_indicator_code_or_count(place: Place) -> None:
    result, context = report(place, "health_reviewer")
    doc = result.document
    assert doc["redacted"] is True and "childFriendly" not in doc and doc["notes"]
    assert [item["id"] for item in doc["indicators"]] == [
        "child_population", "special_circumstances", "special_supported", "abandoned_found",
        "abandoned_in_alternative_care", "orphans_in_alternative_care", "allowance_16_22"]
    # Giang (L), Khánh (E) and Hà (M) are counted by nothing it may name.
    assert figures(doc)["special_circumstances"][:2] == (6, 12)
    assert figures(doc)["special_supported"][:2] == (2, 6)
    text = repr(doc) + " ".join(_book_cells(result, context))
    assert [word for word in SENSITIVE_WORDS if word in text] == []
    assert "Tiêu chí 6" not in [sheet.title for sheet in result.sheets]


def test_an_officer_limited_to_t01_counts_t01_only(place: Place) -> None:
    doc = report(place, "cp_officer_t01")[0].document
    assert doc["redacted"] is False
    assert figures(doc)["child_population"][0] == 8
    assert figures(doc)["special_circumstances"][:2] == (5, 8)  # Bình, Én, Giang, Khánh, Phúc
    assert indicator(doc, "abuse_cases_plan_in_time")["details"]["inTime"] == 0
    for item in doc["indicators"]:
        assert set(item["breakdown"]["village"]) == {"T01"}


# --- (b) the same figures, recounted from the export's rows -----------------------------------


def _dismissed(place: Place) -> set[tuple[str, str, datetime]]:
    """Referrals the officer dismissed, read from the episodes' histories."""
    with place.services.database.unit_of_work() as db:
        return {(e.child_id, e.code, e.opened_at) for e in db.scalars(
            select(ChildCategoryEpisode).where(ChildCategoryEpisode.status == "ended"))
            if all(h["status"] in ("referred", "ended") for h in e.history)}


def _age_key(row: ChildRow, on: date) -> str:
    age = row.age_on(on)
    if age is None:
        return "unknown"
    return next((key for key, top in (("0-6", 6), ("6-11", 11), ("11-16", 16), ("16-18", 18))
                 if age < top), "18+")


def _supported(row: ChildRow) -> bool:
    return any(code not in ("none", "dont_know") for code in row.support)


def _care(row: ChildRow) -> str:
    return next((form for form, codes in CARE_FORMS.items() if row.care_arrangement in codes),
                "unknown")


def recount(rows: list[ChildRow], period: str, dismissed: set[Any], redacted: bool,
            days: int) -> dict[str, tuple[int, int, int, dict[str, int]]]:
    """Each indicator's (value, denominator, unknown, by village), counted child by child."""
    span = parse_period(period)
    start, end = span.start_utc, span.end_utc
    counts: dict[str, list[Any]] = {}

    def add(name: str, row: ChildRow, counted: bool, unknown: bool = False) -> None:
        entry = counts.setdefault(name, [0, 0, 0, {}])
        entry[1] += 1
        entry[0] += counted
        entry[2] += unknown
        if counted:
            entry[3][row.village_code] = entry[3].get(row.village_code, 0) + 1

    for row in rows:
        episodes = [e for e in row.episodes if (row.id, e.code, e.opened_at) not in dismissed
                    and e.status != "referred" and not (redacted and is_sensitive_code(e.code))]
        open_codes = {e.code for e in episodes if e.opened_at < end
                      and (e.status != "ended" or (e.ended_at and e.ended_at >= end))}
        age = row.age_on(span.last)
        child = row.vital_status == "active" and (age is None or 0 <= age < 16)
        unknown_support = row.support in ((), ("dont_know",))
        alternative = _care(row) in ("kin", "non_kin", "adoption", "facility")
        if child:
            add("child_population", row, True, _age_key(row, span.last) == "unknown")
            if open_codes & set(ARTICLE10):
                add("special_circumstances", row, True)
                add("special_supported", row, _supported(row), unknown_support)
            if open_codes & {"HCDB-A", "HCDB-C"}:
                add("orphans_in_alternative_care", row, alternative, _care(row) == "unknown")
            for code, name in (("HCDB-E", "conflict_with_law"), ("HCDB-G", "drug_use")):
                if code in open_codes:
                    add(name, row, True)
        if row.vital_status == "active" and "AGEOUT-16-22" in open_codes:
            add("allowance_16_22", row, "monthly_allowance" in row.support, unknown_support)
        for e in episodes:
            if not start <= e.opened_at < end:
                continue
            if e.code == "HCDB-B":
                add("abandoned_found", row, True)
                add("abandoned_in_alternative_care", row, alternative, _care(row) == "unknown")
            if e.code in ("HCDB-L", "HCDB-B", "HCDB-M"):
                opened_day = (e.opened_at + timedelta(hours=7)).date()
                approved = e.plan_approved_at
                timely = approved is not None and (approved + timedelta(hours=7)).date() <= (
                    opened_day + timedelta(days=days))
                add("abuse_cases_plan_in_time", row, timely)
    return {name: (value, total, unknown, by_village)
            for name, (value, total, unknown, by_village) in counts.items()}


CALLERS = ("admin", "cp_officer", "health_reviewer", "cp_officer_t01", "commune_leader")
PERIODS = ("2024-Q2", "2025-Q1", "2026-Q3", Q4, "2026-H2", "2026")


@pytest.mark.parametrize("who", CALLERS)
def test_every_figure_equals_a_recount_of_the_childrens_export(place: Place, who: str) -> None:
    dismissed = _dismissed(place)
    days = load_config().plan_deadline_days
    principal = _principal(place, who)
    access = RegistryAccess.of(principal, place.project_id)
    filter_sets = (ChildFilters(), ChildFilters(village="T05"), ChildFilters(sex="F"))
    for filters in filter_sets:
        with place.services.database.read_snapshot() as session:
            rows = list(iter_child_rows(session, place.project_id, access, filters))
        for period in (*PERIODS, current_quarter().name):
            doc = report(place, who, period, filters=filters)[0].document
            expected = recount(rows, period, dismissed, not access.sees_everything, days)
            for item in doc["indicators"]:
                value, total, unknown, by_village = expected.get(item["id"], (0, 0, 0, {}))
                if item["id"] == "special_circumstances":
                    total = expected.get("child_population", (0,))[0]
                found = (item["value"], item["denominator"], item["unknown"],
                         {k: v for k, v in item["breakdown"]["village"].items() if v})
                want = (value, total if item["denominator"] is not None else None,
                        unknown if item["unknown"] is not None else None, by_village)
                assert found == want, (who, filters, period, item["id"])


# --- the sheets and the route -----------------------------------------------------------------


def test_the_sheets_say_the_same_in_vietnamese_or_english(place: Place) -> None:
    result, _ = report(place)
    titles = [sheet.title for sheet in result.sheets]
    assert titles[0] == "Chỉ tiêu" and titles[-1] == "Tiêu chí 6"
    summary = {row[0]: list(row) for row in result.sheets[0].rows}
    assert summary["special_supported"][2:] == [4, 9, 44.4, 4, "> 95 %", "Chưa đạt"]
    assert summary["orphans_in_alternative_care"][7] == "Đạt"
    assert summary["child_population"][7] == ""  # no target
    by_age = {row[0]: row for row in result.sheets[2].rows}
    assert list(by_age) == list(AGE_KEYS)
    english = report(place, language="en")[0]
    assert english.sheets[0].title == "Indicators"
    assert list(english.sheets[0].rows)[2][7] == "Not met"


def test_the_report_route_answers_the_same_document(place: Place) -> None:
    base = f"/v1/projects/{place.project_id}/registry/reports/indicators"
    headers = {"Authorization": f"Bearer {place.tokens['cp_officer']}"}
    answer = place.client.get(base, query_string={"period": Q4}, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.json
    assert body is not None
    built, _ = report(place)
    assert body["indicators"] == built.document["indicators"]
    book = place.client.get(base + ".xlsx", query_string={"period": Q4}, headers={
        "Authorization": f"Bearer {place.tokens['health_reviewer']}"})
    assert book.status_code == 200 and book.mimetype == XLSX_TYPE
    workbook = load_workbook(io.BytesIO(book.data), read_only=True)
    text = " ".join(str(v) for sheet in workbook.worksheets
                    for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    assert [word for word in SENSITIVE_WORDS if word in text] == []


def test_a_plan_approved_through_the_api_counts_from_its_vietnamese_day(place: Place) -> None:
    """A case of May 2024 (no other test counts it): approved on its 7th day, in time."""
    child = place.ids["Lò Thị An"]
    with place.services.database.unit_of_work() as db:
        categories.apply_codes(db, child, ["HCDB-B"], source="test", by="actor:test",
                               now=utc(2024, 5, 1, 20))  # 2 May in Vietnam
    url = (f"/v1/projects/{place.project_id}/registry/children/{child}/categories/HCDB-B/"
           "plan")

    def post(who: str, body: dict[str, str]) -> Any:
        return place.client.post(url, json=body, headers={
            "Authorization": f"Bearer {place.tokens[who]}"})

    tomorrow = (datetime.now(VIETNAM).date() + timedelta(days=1)).isoformat()
    assert post("cp_officer", {"approvedOn": tomorrow, "why": "Đã duyệt"}).status_code == 400
    assert post("cp_officer", {"approvedOn": "2024-05-09"}).status_code == 400  # no why
    assert post("health_reviewer", {"approvedOn": "2024-05-09",
                                    "why": "x"}).status_code == 403
    before = report(place, period="2024-Q2")[0].document
    assert indicator(before, "abuse_cases_plan_in_time")["details"]["noPlan"] == 1
    answer = post("cp_officer", {"approvedOn": "2024-05-09", "why": "UBND xã đã phê duyệt"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with place.services.database.unit_of_work() as db:
        episode = db.scalars(select(ChildCategoryEpisode).where(
            ChildCategoryEpisode.child_id == child, ChildCategoryEpisode.code == "HCDB-B")).one()
        assert episode.plan_approved_at == utc(2024, 5, 8, 17)  # 9 May, 00:00 in Vietnam
        audit = db.scalars(select(Audit).where(Audit.action == "registry.category.plan")).one()
        assert audit.actee == f"child:{child}"
        assert audit.details == {"projectId": place.project_id, "code": "HCDB-B",
                                 "approvedOn": "2024-05-09"}
        categories.end(db, child, "HCDB-B", by="actor:test", why="Đã ổn định",
                       now=utc(2024, 6, 1))
    after = report(place, period="2024-Q2")[0].document
    assert indicator(after, "abuse_cases_plan_in_time")["details"] == {
        "inTime": 1, "late": 0, "noPlan": 0, "deadlineDays": 7,
        "codes": ["HCDB-L", "HCDB-B", "HCDB-M"]}
    # The ended case is counted where it was opened, not at the period's end.
    assert figures(after)["special_circumstances"][0] == 0
