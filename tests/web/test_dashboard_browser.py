"""An officer reads the overview and downloads files in a real headless Chromium, over real
HTTP (`live_server`): the dashboard at 1366 and at 390 px wide never scrolls sideways, a
number opens the list of exactly that many children, and the downloads page's forms start the
API's children CSV and a report's XLSX, which arrive whole in the download folder.

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from server.models import Child
from server.models.registry import ChildStatus
from tests.conftest import LiveServer
from tests.web.browser import require_chromium, start_chromium
from tests.web.conftest import Registry
from tests.web.test_csp_in_chromium import csp_violations
from tests.web.test_dashboard import open_cases
from tests.web.test_pages_in_chromium import Officer

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow

WIDE, NARROW = (1366, 900), (390, 844)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def chromium(downloads: Path) -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi", console=True)
    # Chrome's download folder, set over the DevTools protocol (headless Chromium asks nobody).
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True})
    yield driver
    driver.quit()


def scrolls_sideways(driver: WebDriver) -> bool:
    return bool(driver.execute_script(
        "return document.documentElement.scrollWidth > window.innerWidth"))


def arrived(folder: Path, suffix: str, seconds: float = 20) -> Path:
    """The downloaded file once Chromium has finished writing it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        partial = [p for p in folder.iterdir() if p.suffix == ".crdownload"]
        if done and not partial:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} file arrived in {sorted(folder.iterdir())}")


@pytest.fixture
def officer(chromium: WebDriver, live_server: LiveServer, registry: Registry,
            downloads: Path) -> Officer:
    open_cases(registry)
    chromium.get(f"{live_server.url}/healthz")
    chromium.delete_all_cookies()
    for old in downloads.iterdir():
        old.unlink()
    chromium.set_window_size(*WIDE)
    person = Officer(chromium, live_server, registry)
    person.sign_in(registry.person("cp_officer"))
    csp_violations(chromium)
    return person


def test_the_dashboard_fits_1366_and_390_pixels_and_a_number_opens_its_children(
        officer: Officer) -> None:
    driver = officer.driver
    assert driver.current_url.endswith(f"/ui/p/{officer.registry.project_id}/dashboard")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Tổng quan"
    current = driver.find_element(By.CSS_SELECTOR, '#nav a[aria-current="page"]')
    assert current.get_attribute("id") == "nav-dashboard"
    for width, height in (WIDE, NARROW):
        driver.set_window_size(width, height)
        driver.refresh()
        assert driver.execute_script("return window.innerWidth") <= width
        assert not scrolls_sideways(driver), f"the page scrolls sideways at {width} px"
        charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart svg")
        assert len(charts) == 3 and all(c.size["width"] > 0 for c in charts)
    # At 390 px the table of villages scrolls inside its own box, the page does not.
    box = driver.find_element(By.CSS_SELECTOR, ".scroll")
    assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth",
                                 box)
    assert csp_violations(driver) == []

    link = driver.find_element(By.ID, "total-special")
    number = int(link.text)
    assert number > 0
    officer.click(link)
    assert "/children?special=true" in driver.current_url
    assert len(officer.all("tr.child-row")) == number
    assert not scrolls_sideways(driver), "the children list scrolls sideways at 390 px"
    assert officer.all("#active-filters .active-filter")


def test_the_downloads_page_starts_the_children_csv_and_a_report_xlsx(
        officer: Officer, downloads: Path) -> None:
    driver = officer.driver
    officer.click(driver.find_element(By.ID, "nav-exports"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Xuất dữ liệu"
    assert officer.all("#scope-full") and officer.all("#logged")
    driver.set_window_size(*NARROW)
    assert not scrolls_sideways(driver), "the downloads page scrolls sideways at 390 px"
    driver.set_window_size(*WIDE)
    assert csp_violations(driver) == []

    driver.find_element(By.ID, "download-csv").click()
    raw = arrived(downloads, ".csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # bom=true: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    with officer.registry.services.database.unit_of_work() as db:
        total = db.scalar(select(func.count()).select_from(Child).where(
            Child.project_id == officer.registry.project_id,
            Child.status == ChildStatus.ACTIVE.value))
    assert len(rows) == 1 + total  # a header, then every child

    driver.find_element(By.ID, "download-xlsx").click()
    children = openpyxl.load_workbook(arrived(downloads, ".xlsx"), read_only=True)
    assert children.sheetnames[0] == "Thông tin"
    assert sum(1 for _ in children.worksheets[1].iter_rows()) == 1 + total
    children.close()
    _empty(downloads)

    # Every report the page offers, as XLSX and as JSON, arrives whole.
    reports = officer.all("li.report")
    assert len(reports) == 6
    for report in reports:
        name = report.get_attribute("id").removeprefix("report-")
        report.find_element(By.CSS_SELECTOR, "button.download-xlsx").click()
        workbook = openpyxl.load_workbook(arrived(downloads, ".xlsx"), read_only=True)
        assert workbook.sheetnames[0] == "Thông tin" and len(workbook.sheetnames) > 1, name
        workbook.close()
        _empty(downloads)
    for name in [r.get_attribute("id").removeprefix("report-") for r in reports]:
        # JSON is for programs: the browser shows it in the tab, as Central's JSON.
        report = driver.find_element(By.ID, f"report-{name}")
        report.find_element(By.CSS_SELECTOR, "button.download-json").click()
        shown = f"/registry/reports/{name}?"
        WebDriverWait(driver, 20).until(
            lambda d, shown=shown: shown in d.current_url
            and d.execute_script("return document.readyState") == "complete")
        document = json.loads(driver.execute_script(
            "return (document.querySelector('pre') || document.body).innerText"))
        assert document["report"] == name
        driver.back()


def _empty(folder: Path) -> None:
    for old in folder.iterdir():
        old.unlink()
