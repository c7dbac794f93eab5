"""A commune's submissions in a real headless Chromium, over real HTTP: a village phone sends a
household visit with a photo through the OpenRosa endpoint; the manager finds it in the list,
opens it — labels, not codes, and the photo shown through the page's own route — reviews it,
comments on it, and retries a visit whose registry sync failed; a viewer limited to one village
finds nothing of another village and no confidential answer. Every page fits 1366 and 390 px
without sideways scrolling, under the pages' Content-Security-Policy.

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from server.registry import sync as registry_sync
from tests.access.commune import INSIDE, OUTSIDE, PASSWORD
from tests.conftest import PNG_BYTES, module_services
from tests.web.browser import require_chromium, start_chromium
from tests.web.submissions_world import (
    CONCERN_WORDS,
    FORM_ID,
    PHOTO,
    SubmissionsWorld,
    build_world,
    visit_xml,
)
from tests.web.test_csp_in_chromium import csp_violations

require_chromium()

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow

WIDE, NARROW = (1366, 900), (390, 844)


@pytest.fixture(scope="module")
def world(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[SubmissionsWorld]:
    with module_services(migrated_database, tmp_path_factory.mktemp("browser")) as services:
        yield build_world(services)


@pytest.fixture(scope="module")
def server_url(world: SubmissionsWorld) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi", console=True)
    yield driver
    driver.quit()


class Person:
    """Someone at the keyboard: what they open, choose, type and click."""

    def __init__(self, driver: WebDriver, url: str, world: SubmissionsWorld) -> None:
        self.driver, self.url, self.world = driver, url, world

    def open(self, path: str) -> None:
        self.driver.get(f"{self.url}{path}")

    def sign_in(self, who: str) -> None:
        self.open("/ui/login")
        self.driver.find_element(By.ID, "email").send_keys(f"{who}@xa.test")
        self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.click(self.driver.find_element(By.ID, "login"))

    def click(self, element: WebElement) -> None:
        """Click and wait for the next page (a post, then its redirect)."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()

        def next_page_loaded(driver: WebDriver) -> bool:
            try:
                page.is_enabled()
                return False
            except WebDriverException:
                return bool(driver.execute_script("return document.readyState") == "complete")

        WebDriverWait(self.driver, 10).until(next_page_loaded)

    def by_id(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fits(self, what: str) -> None:
        """At 1366 and at 390 px wide the page never scrolls sideways."""
        for width, height in (WIDE, NARROW):
            self.driver.set_window_size(width, height)
            self.driver.refresh()
            assert self.driver.execute_script("return window.innerWidth") <= width
            assert not self.driver.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth"), (
                f"{what} scrolls sideways at {width} px")
        self.driver.set_window_size(*WIDE)
        self.driver.refresh()


@pytest.fixture
def person(chromium: WebDriver, server_url: str, world: SubmissionsWorld) -> Person:
    chromium.get(f"{server_url}/healthz")
    chromium.delete_all_cookies()
    chromium.set_window_size(*WIDE)
    csp_violations(chromium)
    return Person(chromium, server_url, world)


def phone_sends_a_visit(person: Person, village: str = INSIDE) -> str:
    """The village phone posts a visit with its photo to the live server, as Collect does."""
    instance_id = f"uuid:{uuid.uuid4()}"

    def post(path: str, body: bytes, headers: dict[str, str]) -> int:
        return requests.post(f"{person.url}{path}", data=body, headers=headers,
                             timeout=30).status_code

    sent = person.world.phone_post(post, village, visit_xml(village, instance_id=instance_id),
                                   {PHOTO: PNG_BYTES})
    assert sent == 201
    return instance_id


def test_the_manager_finds_opens_reviews_and_comments_on_a_phones_visit(
        person: Person) -> None:
    visit = phone_sends_a_visit(person)
    person.sign_in("manager")
    person.click(person.by_id("nav-submissions"))
    assert person.driver.find_element(By.TAG_NAME, "h1").text == "Các bản gửi từ điện thoại"
    Select(person.by_id("form")).select_by_value(FORM_ID)
    person.click(person.by_id("filter"))
    row = person.driver.find_element(By.CSS_SELECTOR, f'tr[data-instance="{visit}"]')
    assert person.world.phones[INSIDE].name in row.text and "Thôn Đông" in row.text
    person.fits("the submissions list")
    # At 390 px the rows are cards, each value headed by its column's name.
    person.driver.set_window_size(*NARROW)
    row = person.driver.find_element(By.CSS_SELECTOR, f'tr[data-instance="{visit}"]')
    cell = row.find_elements(By.TAG_NAME, "td")[1]
    assert person.driver.execute_script(
        "return [getComputedStyle(arguments[0]).display,"
        " getComputedStyle(arguments[0], ':before').content]", cell) == [
        "block", '"Người gửi: "']
    person.click(row.find_element(By.CSS_SELECTOR, "a.open"))
    person.driver.set_window_size(*WIDE)

    answers = person.driver.find_element(By.CSS_SELECTOR, "dl.answers").text
    assert "Mái nhà\nMái ngói" in answers and "tile" not in answers
    assert "Thành viên 2" in answers and "Không đi học" in answers
    photo = person.driver.find_element(By.CSS_SELECTOR, "img.photo")
    assert person.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", photo) == 1
    assert "/v1/" not in (photo.get_attribute("src") or "")
    person.fits("a submission")
    assert csp_violations(person.driver) == []

    Select(person.by_id("reviewState")).select_by_value("approved")
    person.click(person.by_id("set-review"))
    assert "Đã lưu tình trạng duyệt" in person.by_id("done").text
    assert person.by_id("review-state").text == "Đã duyệt"
    person.by_id("body").send_keys("Đã xem ảnh, hộ cần hỗ trợ sửa mái")
    person.click(person.by_id("add-comment"))
    assert "Đã thêm ý kiến" in person.by_id("done").text
    assert "Đã xem ảnh, hộ cần hỗ trợ sửa mái" in person.by_id("comments").text

    person.click(person.driver.find_element(By.LINK_TEXT, "English"))
    answers = person.driver.find_element(By.CSS_SELECTOR, "dl.answers").text
    assert "Roof\nTiled roof" in answers and person.by_id("review-state").text == "Approved"


def test_a_failed_sync_shows_why_and_the_retry_button_puts_it_back(
        person: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    world = person.world
    visit = world.new_visit(INSIDE)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("c_dob_value: 2015-13-40 is not a date")

    with monkeypatch.context() as patch:
        patch.setattr(registry_sync, "map_instance", broken)
        assert world.sync().failed == 1
    person.sign_in("manager_t01")
    person.open(world.page_of(visit, "household_screening"))
    assert person.by_id("sync-state").text.startswith("Lỗi khi vào sổ")
    assert "sổ trẻ em không xử lý được" in person.by_id("sync-reason").text
    person.fits("a failed submission")
    person.click(person.by_id("retry"))
    assert "hàng chờ" in person.by_id("done").text
    assert person.by_id("sync-state").text.startswith("Đang chờ vào sổ")
    assert not person.all("#retry")

    assert world.sync().submissions == 1  # what the server's worker does next
    person.driver.refresh()
    assert person.by_id("sync-state").text.startswith("Đã vào sổ")


def test_a_viewer_of_one_village_finds_no_other_village_and_no_confidential_answer(
        person: Person) -> None:
    world = person.world
    person.sign_in("viewer_t01")
    person.open(world.page_of(world.photo_visits[OUTSIDE]))
    assert "Không tìm thấy" in person.by_id("error").text
    person.open(world.page_of(world.photo_visits[OUTSIDE]) + f"/files/{PHOTO}")
    assert "Không tìm thấy" in person.by_id("error").text

    person.open(world.page_of(world.photo_visits[INSIDE]))
    page = person.driver.find_element(By.ID, "main").text
    assert "Lò Văn Páo" in page and CONCERN_WORDS not in page and "bảo mật" not in page
    assert not person.all("#review-form") and person.all("#comment-form")
    person.open(world.page_of(world.commune.visit_inside, "household_screening"))
    page = person.driver.find_element(By.ID, "main").text
    assert "Lò Thị Mai" in page and "Nghi bị xâm hại tình dục" not in page
    person.fits("a redacted submission")

    person.open(world.ui(f"?form={FORM_ID}"))
    listed = [row.get_attribute("data-instance") for row in person.all("tr.submission-row")]
    assert world.photo_visits[INSIDE] in listed and world.photo_visits[OUTSIDE] not in listed
    assert csp_violations(person.driver) == []
