"""An officer works on children's pages in a real headless Chromium over real HTTP, at 1366 and
at 390 px wide: confirms a category with a reason, finds another child by a name typed without
marks, merges the two after comparing them and fixes the name by choosing the right value,
then closes an urgent flag through its confirmation page and finds it among the closed flags.
No page of the journey scrolls sideways (document.documentElement.scrollWidth).

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from server.db import utcnow
from server.models import Child, ChildCategoryEpisode, ChildMembership, ChildRecord
from server.models.registry import ChildStatus
from server.registry import categories
from server.registry.child_code import format_code
from tests.conftest import LiveServer
from tests.registry.helpers import strip_marks
from tests.web.browser import require_chromium, start_chromium
from tests.web.conftest import Registry
from tests.web.test_csp_in_chromium import csp_violations
from tests.web.test_pages_in_chromium import Officer

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

pytestmark = pytest.mark.slow

WIDE, NARROW = (1366, 900), (390, 844)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi", console=True)
    yield driver
    driver.quit()


def page_width(driver: WebDriver) -> int:
    return int(driver.execute_script("return document.documentElement.scrollWidth"))


def assert_fits(driver: WebDriver, where: str) -> None:
    inner = int(driver.execute_script("return window.innerWidth"))
    assert page_width(driver) <= inner, f"{where} is {page_width(driver)} px wide in {inner}"


def two_children_to_merge(registry: Registry) -> tuple[str, str]:
    """Two children of two different visits, neither carrying a personal ID (two valid IDs
    are never one child), outside the review queue's pair."""
    with registry.services.database.unit_of_work() as db:
        rows = db.execute(select(Child.id, ChildRecord.household_key)
                          .join(ChildMembership, ChildMembership.child_id == Child.id)
                          .join(ChildRecord, ChildRecord.id == ChildMembership.record_id)
                          .where(Child.project_id == registry.project_id,
                                 Child.status == ChildStatus.ACTIVE.value,
                                 Child.personal_id == "",
                                 Child.id.not_in([registry.original, registry.newcomer]))
                          .order_by(Child.number)).all()
    first = rows[0]
    second = next(row for row in rows if row[1] != first[1])
    return first[0], second[0]


@pytest.fixture
def officer(chromium: WebDriver, live_server: LiveServer, registry: Registry) -> Officer:
    chromium.get(f"{live_server.url}/healthz")
    chromium.delete_all_cookies()
    person = Officer(chromium, live_server, registry)
    person.sign_in(registry.person("cp_officer"))
    csp_violations(chromium)
    return person


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1366px", "390px"])
def test_an_officer_confirms_merges_fixes_a_name_and_closes_an_urgent_flag(
        officer: Officer, size: tuple[int, int]) -> None:
    driver, registry = officer.driver, officer.registry
    driver.set_window_size(*size)
    keep_id, other_id = two_children_to_merge(registry)
    with registry.services.database.unit_of_work() as db:
        categories.apply_codes(db, keep_id, ["PLAN-POOR"], source="test", by="sync",
                               now=utcnow())
        keep, other = db.get_one(Child, keep_id), db.get_one(Child, other_id)
        names = {keep_id: keep.full_name, other_id: other.full_name}
        other_code = format_code(other.number)

    # 1. Confirm the category, with a reason.
    officer.project_page(f"children/{keep_id}")
    assert_fits(driver, "the child's page")
    row = driver.find_element(By.ID, "category-PLAN-POOR")
    assert "Trẻ em thuộc hộ nghèo/cận nghèo" in row.text and "PLAN-POOR" in row.text
    row.find_element(By.CSS_SELECTOR, "#confirm-PLAN-POOR summary").click()
    driver.find_element(By.ID, "why-confirm-PLAN-POOR").send_keys("Có tên trong danh sách "
                                                                  "hộ nghèo 2026")
    officer.click(row.find_element(By.CSS_SELECTOR, "button.category-confirm"))
    assert "Đã xác nhận" in officer.text("done")
    assert driver.find_element(By.CSS_SELECTOR, "#category-PLAN-POOR .status").text == (
        "Đã xác nhận")
    with registry.services.database.unit_of_work() as db:
        assert db.scalars(select(ChildCategoryEpisode.status).where(
            ChildCategoryEpisode.child_id == keep_id)).one() == "confirmed"

    # 2. Find the other child by its name typed without marks, compare, merge.
    officer.click(driver.find_element(By.ID, "merge-link"))
    driver.find_element(By.ID, "merge-q").send_keys(strip_marks(names[other_id]).lower())
    officer.click(driver.find_element(By.ID, "merge-find"))
    assert_fits(driver, "the merge search")
    officer.click(driver.find_element(By.CSS_SELECTOR, f"#found-{other_code} a.compare"))
    side = driver.find_element(By.ID, "merge-side")
    assert names[keep_id] in side.text and names[other_id] in side.text
    assert_fits(driver, "the side-by-side")
    driver.find_element(By.ID, "merge-sure").click()
    officer.click(driver.find_element(By.ID, "merge-submit"))
    assert "Đã gộp" in officer.text("done")
    assert registry.child_status(other_id)[1] == keep_id or registry.child_status(
        keep_id)[1] == other_id

    # 3. The two names disagree: choose the one that is not in use, with a reason.
    box = driver.find_element(By.ID, "field-full_name")
    shown = officer.text("child-name").rsplit(" ", 1)[0]  # the name, then the code
    wanted = next(name for name in names.values() if name != shown)
    choice = next(item for item in box.find_elements(By.CSS_SELECTOR, "li.value")
                  if item.find_element(By.CLASS_NAME, "value-text").text == wanted)
    choice.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    box.find_element(By.ID, "why-field-full_name").send_keys("Theo giấy khai sinh")
    officer.click(box.find_element(By.CSS_SELECTOR, "button.field-choose"))
    assert "Đã dùng giá trị bạn chọn" in officer.text("done")
    assert officer.text("child-name").startswith(wanted)
    assert "Theo giấy khai sinh" in officer.text("field-full_name")
    assert_fits(driver, "the merged child's page")

    # 4. An urgent flag, closed only through its confirmation page, then among the closed.
    flag_id = registry.flag_on(keep_id, "HCDB-B")
    officer.click(driver.find_element(By.ID, "nav-flags"))
    assert_fits(driver, "the flags page")
    row = driver.find_element(By.ID, f"flag-{flag_id}")
    officer.click(row.find_element(By.CSS_SELECTOR, "a.close"))
    assert_fits(driver, "the confirmation page")
    driver.find_element(By.ID, "reason").send_keys("Đã đưa trẻ về nhà bà nội chăm sóc")
    driver.find_element(By.ID, "sure").click()
    officer.click(driver.find_element(By.ID, "confirm-submit"))
    assert "Đã đóng" in officer.text("done") and not officer.all(f"#flag-{flag_id}")
    officer.click(driver.find_element(By.ID, "closed-flags"))
    closed = driver.find_element(By.ID, f"flag-{flag_id}")
    assert "Đã đưa trẻ về nhà bà nội chăm sóc" in closed.text
    assert_fits(driver, "the closed flags")
    assert registry.flag_status(flag_id) == "closed"
    assert csp_violations(driver) == []
