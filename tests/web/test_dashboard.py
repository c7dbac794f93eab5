"""The overview (dashboard) and the downloads page, through Flask's test client on a real
database (SQLite and PostgreSQL): every number opens the children it counts, a caller sees
only its villages and the categories it may read — in the tables, the charts' SVG and the
indicator sheet — and the page still shows its counts when the indicator sheet fails.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from exports.reports import report_names
from server.db import utcnow
from server.models import Child
from server.models.registry import ChildStatus
from server.registry import categories
from server.registry.access import is_sensitive_code
from server.web import views_dashboard, views_exports
from sync.categories import Role, default_catalogue
from tests.web.conftest import Registry, web_login

# A number the page shows, and the list it links to.
COUNT_LINK = re.compile(r'<a class="count"(?: id="([^"]+)")? href="([^"]+)">([\d.]+)</a>')
ROW = re.compile(r'<tr class="child-row">')
LIST_TOTAL = re.compile(r'<p id="count">([\d.]+) trẻ')
SENSITIVE = [c for c in default_catalogue() if is_sensitive_code(c.code)]


def children_by_village(registry: Registry) -> dict[str, list[str]]:
    with registry.services.database.unit_of_work() as db:
        rows = db.execute(select(Child.village_code, Child.id).where(
            Child.project_id == registry.project_id,
            Child.status == ChildStatus.ACTIVE.value).order_by(Child.village_code, Child.id))
        found: dict[str, list[str]] = {}
        for village, child_id in rows:
            found.setdefault(village, []).append(child_id)
        return found


def open_categories(registry: Registry, wanted: dict[str, list[str]]) -> None:
    """Open categories on children as a follow-up visit naming them would."""
    with registry.services.database.unit_of_work() as db:
        for child_id, codes in wanted.items():
            categories.apply_codes(db, child_id, codes, source="test", by="sync", now=utcnow())


@dataclass
class Cases:
    by_village: dict[str, list[str]]  # every current child, by village
    first: str  # the village of three children in categories
    second: str  # the village of two


def open_cases(registry: Registry) -> Cases:
    """Children of two villages in public, health and sensitive categories (some in two)."""
    by_village = children_by_village(registry)
    first, second = sorted(by_village, key=lambda v: (-len(by_village[v]), v))[:2]
    a, b, c = by_village[first][:3]
    d, e = by_village[second][:2]
    open_categories(registry, {a: ["HCDB-A", "HCDB-H"], b: ["HCDB-D"], c: ["HCDB-L"],
                               d: ["HCDB-A"], e: ["HCDB-E", "PLAN-POOR"]})
    return Cases(by_village, first, second)


@pytest.fixture
def cases(registry: Registry) -> Cases:
    return open_cases(registry)


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def count_links(text: str) -> list[tuple[str, str, int]]:
    """(id, list address, number) of every linked number on a page."""
    return [(found_id, html.unescape(href), int(number.replace(".", "")))
            for found_id, href, number in COUNT_LINK.findall(text)]


def listed(client: FlaskClient, href: str) -> int:
    """How many children the list shows (its rows, all on one page here) — and says."""
    text = page(client, href)
    rows = len(ROW.findall(text))
    total = LIST_TOTAL.search(text)
    assert total and int(total.group(1).replace(".", "")) == rows, href
    return rows


def dashboard(registry: Registry) -> str:
    return f"/ui/p/{registry.project_id}/dashboard"


def test_every_number_opens_the_list_of_exactly_the_children_it_counts(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    web_login(client, registry.person("cp_officer"))
    links = count_links(page(client, dashboard(registry)))
    hrefs = {href for _, href, _ in links}
    for expected in (f"category=HCDB-A&village={cases.first}", "special=true&sex=", "ageGroup=",
                     "support=", "flag=true", "category=HCDB-L"):
        assert any(expected in href for href in hrefs), expected
    by_id = {found_id: number for found_id, _, number in links if found_id}
    assert by_id["total-special"] == 5  # a, b, c, d and e; each counted once
    assert by_id["total-children"] == sum(len(ids) for ids in cases.by_village.values())
    for _, href, number in links:
        assert listed(client, href) == number, href


def test_a_cell_counts_the_children_of_its_village_in_its_category(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    web_login(client, registry.person("cp_officer"))
    text = page(client, dashboard(registry))
    row = text[text.index('id="row-HCDB-A"'):]
    row = row[:row.index("</tr>")]
    numbers = [int(n) for n in re.findall(r">(\d+)</(?:a|span)>", row)]
    villages = re.findall(r'<th scope="col" class="num">([^<]+)</th>', text)[:-1]
    assert len(numbers) == len(villages) + 1 and numbers[-1] == 2
    assert sorted(n for n in numbers[:-1] if n) == [1, 1] and sum(numbers[:-1]) == 2
    # The same figure in the chart's SVG: a bar linked to the list, and its text alternative.
    chart = text[text.index('<svg'):text.index('</svg>')]
    assert "category=HCDB-A" in html.unescape(chart) and "<desc" in chart
    assert "<script" not in text and "<style" not in text and " style=" not in text


@pytest.mark.parametrize("role", ["commune_leader", "health_reviewer", "viewer"])
def test_a_redacted_caller_sees_no_sensitive_code_or_label(
        client: FlaskClient, registry: Registry, cases: Cases,
        role: str) -> None:
    web_login(client, registry.person(role))
    for lang in ("vi", "en"):
        text = page(client, f"{dashboard(registry)}?lang={lang}")
        assert "HCDB-A" in text and "HCDB-H" in text  # public categories are there
        for category in SENSITIVE:
            if role == "health_reviewer" and category.confirmed_by is Role.HEALTH_REVIEWER:
                continue  # the health station reads the health categories it confirms
            for word in (category.code, category.label_vi, category.label_en):
                assert word not in html.unescape(text), (role, word)
        by_id = {i: n for i, _, n in count_links(text) if i}
        # The child in HCDB-L alone is absent; the one in HCDB-E is there by PLAN-POOR only.
        # The children in HCDB-L alone, and in HCDB-E and PLAN-POOR, are not in special
        # circumstances as far as these callers know.
        assert by_id["total-special"] == 3


def test_the_officer_sees_the_sensitive_categories_the_others_do_not(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    web_login(client, registry.person("cp_officer"))
    text = page(client, dashboard(registry))
    assert 'id="row-HCDB-L"' in text and "Trẻ em bị xâm hại tình dục" in text


def test_a_caller_limited_to_one_village_sees_only_that_village(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    first = cases.first
    others = [village for village in cases.by_village if village != first]
    web_login(client, registry.person("cp_officer", [first]))
    text = page(client, dashboard(registry))
    villages = re.findall(r'<th scope="col" class="num">([^<]+)</th>', text)
    assert len(villages) == 2  # the village, then the whole of what the caller sees
    links = count_links(text)
    assert links and all(f"village={other}" not in href for _, href, _ in links
                         for other in others)
    by_id = {i: n for i, _, n in links if i}
    assert by_id["total-children"] == len(cases.by_village[first])
    for _, href, number in links:
        assert listed(client, href) == number, href


def test_the_counts_stay_when_the_indicator_sheet_cannot_be_made(
        client: FlaskClient, registry: Registry, cases: Cases,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, context: object) -> None:
        raise RuntimeError("not today")

    monkeypatch.setattr(views_dashboard, "build_report", broken)
    web_login(client, registry.person("cp_officer"))
    text = page(client, dashboard(registry))
    assert 'id="indicators-unavailable"' in text and 'id="total-special"' in text
    assert 'id="chart-category"' in text and 'id="chart-targets"' not in text


def test_indicators_show_their_targets_in_words_and_in_vietnamese_numbers(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    web_login(client, registry.person("cp_officer"))
    text = page(client, dashboard(registry))
    card = text[text.index('id="indicator-special_supported"'):]
    card = card[:card.index("</li>")]
    assert "&gt; 95 %" in card and re.search(r"\d+(,\d)? %", card)
    assert ("Đạt mục tiêu" in card) != ("Chưa đạt mục tiêu" in card)
    assert 'id="chart-targets"' in text
    english = page(client, f"{dashboard(registry)}?lang=en")
    assert "&gt; 95%" in english and ("Target met" in english or "Target not met" in english)


def test_the_period_chooser_defaults_to_this_quarter_and_refuses_nonsense(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("cp_officer"))
    text = page(client, dashboard(registry))
    chosen = re.search(r'<option value="(\d{4}-Q\d)" selected>', text)
    assert chosen
    half = page(client, f"{dashboard(registry)}?period=2026-H2")
    assert '<option value="2026-H2" selected>' in half
    assert "reportedFrom=2026-07-01&amp;reportedTo=2026-12-31" in half
    wrong = client.get(f"{dashboard(registry)}?period=2026-Q5")
    assert wrong.status_code == 400 and "Kỳ báo cáo phải viết dạng" in wrong.get_data(
        as_text=True)


def test_signing_in_lands_on_the_dashboard_with_its_menu_entry_marked(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("viewer"))
    landing = client.get("/ui/")
    assert landing.headers["Location"].endswith(dashboard(registry))
    text = page(client, dashboard(registry))
    assert re.search(r'id="nav-dashboard" href="[^"]+" aria-current="page"', text)
    assert text.count('aria-current="page"') == 1
    assert 'id="nav-exports"' not in text  # a viewer has no downloads
    listing = page(client, "/ui/projects")  # the menu's "Xã": the list, even of one commune
    assert dashboard(registry) in listing


# --- the children list's filters -----------------------------------------------------------


def test_the_children_list_shows_its_filters_and_clears_them_one_by_one(
        client: FlaskClient, registry: Registry, cases: Cases) -> None:
    web_login(client, registry.person("cp_officer"))
    first = cases.first
    base = f"/ui/p/{registry.project_id}/children"
    text = page(client, f"{base}?special=true&village={first}&sex=M")
    shown = re.findall(r'data-filter="([^"]+)"', text)
    assert shown == ["village", "sex", "special"]
    clear_sex = re.search(r'data-filter="sex">[^<]*<a href="([^"]+)"', text)
    assert clear_sex
    assert html.unescape(clear_sex.group(1)) == f"{base}?village={first}&special=true"
    assert f'id="clear-filters" href="{base}"' in text


def test_a_filter_the_list_does_not_understand_gives_the_400_page(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("cp_officer"))
    for query in ("sex=X", "ageGroup=7-9", "category=HCDB-Z", "reportedFrom=hôm-qua",
                  "special=maybe"):
        response = client.get(f"/ui/p/{registry.project_id}/children?{query}")
        text = response.get_data(as_text=True)
        assert response.status_code == 400 and 'id="error"' in text, query
        assert f"Bộ lọc “{query.split('=')[0]}”" in text, query


# --- downloads ----------------------------------------------------------------------------


def exports(registry: Registry) -> str:
    return f"/ui/p/{registry.project_id}/exports"


def test_the_downloads_page_offers_the_api_files_and_says_full_or_redacted(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("cp_officer"))
    text = page(client, exports(registry))
    api = f"/v1/projects/{registry.project_id}/registry"
    assert f'action="{api}/children.csv"' in text and f'formaction="{api}/children.xlsx"' in text
    assert '<input type="hidden" name="bom" value="true">' in text
    for name in ("new-children", "by-category", "indicators", "national", "data-quality",
                 "audit"):
        assert f'action="{api}/reports/{name}.xlsx"' in text
        assert f'formaction="{api}/reports/{name}"' in text
    assert 'id="scope-full"' in text and 'id="logged"' in text
    assert 'id="nav-exports" href="' in text


def test_the_downloads_page_lists_every_report_there_is() -> None:
    assert sorted(views_exports.REPORTS) == sorted(report_names())


def test_the_health_station_downloads_the_redacted_registry(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("health_reviewer"))
    text = page(client, exports(registry))
    assert 'id="scope-redacted"' in text and 'id="scope-full"' not in text


def test_a_village_limited_officer_is_told_which_villages_it_downloads(
        client: FlaskClient, registry: Registry) -> None:
    village = registry.villages_with_children()[0]
    web_login(client, registry.person("cp_officer", [village]))
    text = page(client, exports(registry))
    assert 'id="scope-villages"' in text and 'id="scope-full"' in text
    assert text.count('<option value="T0') == 1


def test_a_viewer_gets_the_403_page_and_no_download_links(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("viewer"))
    response = client.get(exports(registry))
    assert response.status_code == 403 and 'id="error"' in response.get_data(as_text=True)
    children = page(client, f"/ui/p/{registry.project_id}/children")
    assert 'id="list-csv"' not in children


def test_an_exporter_downloads_the_list_it_is_looking_at(
        client: FlaskClient, registry: Registry) -> None:
    web_login(client, registry.person("commune_leader"))
    text = page(client, f"/ui/p/{registry.project_id}/children?special=true&sex=F")
    found = re.search(r'id="list-csv" href="([^"]+)"', text)
    assert found
    assert html.unescape(found.group(1)) == (
        f"/v1/projects/{registry.project_id}/registry/children.csv"
        "?sex=F&special=true&lang=vi&bom=true")
