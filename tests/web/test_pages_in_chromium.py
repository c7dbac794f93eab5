"""An officer at the health station works through the registry in a real headless Chromium,
over real HTTP (`live_server`): signs in in Vietnamese, switches to English, decides a pair
and undoes it, acknowledges and closes a flag; a viewer gets no buttons.

One browser for the module; each test starts with no cookies. Skipped only when Chromium or
chromedriver is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer
from tests.registry.helpers import strip_marks
from tests.web.browser import require_chromium, start_chromium
from tests.web.conftest import PASSWORD, Registry

require_chromium()

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi")
    yield driver
    driver.quit()


class Officer:
    """The person at the keyboard: what they open, type and click."""

    def __init__(self, driver: WebDriver, server: LiveServer, registry: Registry) -> None:
        self.driver, self.url, self.registry = driver, server.url, registry

    def open(self, path: str) -> None:
        self.driver.get(f"{self.url}{path}")

    def project_page(self, page: str) -> None:
        self.open(f"/ui/p/{self.registry.project_id}/{page}")

    def sign_in(self, email: str) -> None:
        self.open("/")
        assert "/ui/login" in self.driver.current_url
        self.driver.find_element(By.ID, "email").send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.click(self.driver.find_element(By.ID, "login"))

    def click(self, element: WebElement) -> None:
        """Click a link or a button and wait for the next page (a form post, then its
        redirect), as a person waits before reading on."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()

        def next_page_loaded(driver: WebDriver) -> bool:
            try:
                page.is_enabled()
                return False  # still the old page
            except WebDriverException:
                # Stale, or (mid-navigation) "node does not belong to the document": gone.
                return bool(driver.execute_script("return document.readyState") == "complete")

        WebDriverWait(self.driver, 10).until(next_page_loaded)

    def text(self, element_id: str) -> str:
        return self.driver.find_element(By.ID, element_id).text

    def all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)


@pytest.fixture
def officer(chromium: WebDriver, live_server: LiveServer, registry: Registry) -> Officer:
    # Cookies belong to 127.0.0.1 whatever the port: clear those of the last test's server.
    chromium.get(f"{live_server.url}/healthz")
    chromium.delete_all_cookies()
    return Officer(chromium, live_server, registry)


def test_signing_in_in_vietnamese_then_reading_the_registry_in_english(
        officer: Officer) -> None:
    officer.sign_in(officer.registry.person("health_reviewer"))
    assert officer.driver.current_url.endswith(f"/ui/p/{officer.registry.project_id}/dashboard")
    officer.click(officer.driver.find_element(By.ID, "nav-children"))
    assert officer.driver.find_element(By.TAG_NAME, "h1").text == "Danh sách trẻ em"
    rows = officer.all("tr.child-row")
    assert rows
    first = rows[0].find_element(By.TAG_NAME, "a").text
    # A name typed without marks finds the child.
    officer.driver.find_element(By.ID, "q").send_keys(strip_marks(first).lower())
    officer.click(officer.driver.find_element(By.ID, "filter"))
    found = [row.find_element(By.TAG_NAME, "a").text for row in officer.all("tr.child-row")]
    assert first in found and len(found) < len(rows)

    officer.click(officer.driver.find_element(By.ID, "lang-en"))
    assert officer.driver.find_element(By.TAG_NAME, "h1").text == "Registry children"
    officer.click(officer.driver.find_element(By.ID, "nav-review"))  # the choice is remembered
    assert officer.driver.find_element(By.TAG_NAME, "h1").text == "Pairs waiting for review"
    assert officer.driver.find_element(By.ID, "lang-vi")


def test_same_child_merges_the_pair_and_undo_splits_it_again(officer: Officer) -> None:
    registry = officer.registry
    officer.sign_in(registry.person("cp_officer"))
    officer.project_page("review")
    pair = officer.driver.find_element(By.ID, f"pair-{registry.candidate_id}")
    assert "Điểm giống nhau" in pair.text and "Khác nhau" in pair.text
    officer.click(pair.find_element(By.CSS_SELECTOR, "button.decide-same"))

    assert "Đã gộp" in officer.text("done")
    assert not officer.all(f"#pair-{registry.candidate_id}")
    assert registry.child_status(registry.newcomer) == ("merged", registry.original)
    officer.project_page(f"children/{registry.newcomer}")  # the merged id leads to the child
    assert officer.driver.current_url.endswith(registry.original)
    assert registry.code_of(registry.newcomer) in officer.text("merged-from")  # by its code
    assert len(officer.all("tr.record-row")) >= 2 and "Cùng một trẻ" in officer.text("links")

    officer.project_page("review")
    officer.click(officer.driver.find_element(
        By.CSS_SELECTOR, f"#recent-{registry.candidate_id} button.undo"))
    assert "Đã hoàn tác" in officer.text("done")
    assert officer.all(f"#pair-{registry.candidate_id}")
    assert registry.child_status(registry.newcomer) == ("active", None)


def test_an_urgent_flag_is_acknowledged_then_closed_with_a_reason(officer: Officer) -> None:
    registry = officer.registry
    flag_id = registry.flag_on(registry.any_child(), "HCDB-B")  # abandoned: 12-hour deadline
    officer.sign_in(registry.person("cp_officer"))
    officer.project_page("flags")
    row = officer.driver.find_element(By.ID, f"flag-{flag_id}")
    assert "urgent" in (row.get_attribute("class") or "").split()
    assert "còn 11 giờ" in row.find_element(By.CLASS_NAME, "time-left").text
    assert officer.all("tr.flag-row")[0].get_attribute("id") == f"flag-{flag_id}"
    # An urgent flag is acknowledged and closed on a page that asks first.
    officer.click(row.find_element(By.CSS_SELECTOR, "a.acknowledge"))
    officer.driver.find_element(By.ID, "sure").click()
    officer.click(officer.driver.find_element(By.ID, "confirm-submit"))

    assert "Đã ghi nhận" in officer.text("done")
    row = officer.driver.find_element(By.ID, f"flag-{flag_id}")
    assert row.find_element(By.CLASS_NAME, "status").text == "Đang xử lý"
    assert registry.flag_status(flag_id) == "acknowledged"
    officer.click(row.find_element(By.CSS_SELECTOR, "a.close"))
    officer.driver.find_element(By.ID, "reason").send_keys("Đã đưa trẻ về nhà bà nội chăm sóc")
    officer.driver.find_element(By.ID, "sure").click()
    officer.click(officer.driver.find_element(By.ID, "confirm-submit"))
    assert "Đã đóng" in officer.text("done")
    assert not officer.all(f"#flag-{flag_id}")
    assert registry.flag_status(flag_id) == "closed"


def test_a_viewer_sees_the_queue_and_the_flags_without_any_button(officer: Officer) -> None:
    registry = officer.registry
    flag_id = registry.flag_on(registry.any_child(), "HCDB-A")
    officer.sign_in(registry.person("viewer"))
    officer.project_page("review")
    assert officer.all(f"#pair-{registry.candidate_id}") and officer.all("#view-only")
    assert not officer.all("button.decide-same, button.decide-not-same, button.undo")
    officer.project_page("flags")
    assert officer.all(f"#flag-{flag_id}")
    assert not officer.all(".acknowledge, .close")
