"""A commune's manager sets the commune up in a real headless Chromium, over real HTTP: uploads
a broken XLSForm and reads why in plain words, uploads the project's own screening XLSForm with
`villages.csv`, publishes it, makes two phones for two villages, prints their cards (both with
their QR code; no menu on paper) and revokes one after ticking the confirmation box. Every page
fits 390 and 1366 px without scrolling sideways, under the pages' Content-Security-Policy.

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import LiveServer
from tests.web.browser import require_chromium, start_chromium
from tests.web.forms_phones_world import (  # noqa: F401 (fixtures)
    SCREENING,
    UNCLOSED_GROUP,
    Commune,
    commune_fixture,
    form_path,
    pages_app_fixture,
)
from tests.web.test_csp_in_chromium import csp_violations
from tests.web.test_dashboard_browser import NARROW, WIDE, scrolls_sideways
from tests.web.test_pages_in_chromium import Officer

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi", console=True)
    yield driver
    driver.quit()


@pytest.fixture
def app(commune: Commune) -> Flask:
    """The module's app, which `live_server` serves over real HTTP."""
    return commune.app


class Manager(Officer):
    """The person at the keyboard (`Officer`'s clicks and sign-in), on the forms and phones
    pages."""

    def __init__(self, driver: WebDriver, server: LiveServer) -> None:
        self.driver, self.url = driver, server.url

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def h1(self) -> str:
        return self.find("h1").text

    walking: tuple[int, int] = WIDE  # the window's size the journey is walked at

    def fits(self, what: str) -> None:
        """At 390 and 1366 px the page never scrolls sideways; then back to the journey's."""
        for width, height in (NARROW, WIDE):
            self.driver.set_window_size(width, height)
            assert self.driver.execute_script("return window.innerWidth") <= width
            assert not scrolls_sideways(self.driver), f"{what} scrolls sideways at {width} px"
        self.driver.set_window_size(*self.walking)

    def images_loaded(self, css: str) -> list[WebElement]:
        images = self.all(css)
        for image in images:
            WebDriverWait(self.driver, 10).until(lambda d, i=image: d.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", i))
        return images


@pytest.fixture(params=[WIDE, NARROW], ids=["1366px", "390px"])
def manager(request: pytest.FixtureRequest, chromium: WebDriver, live_server: LiveServer,
            commune: Commune) -> Manager:
    """The manager, walking the journey in a window of 1366 px, then of 390 px."""
    chromium.get(f"{live_server.url}/healthz")
    chromium.delete_all_cookies()
    chromium.set_window_size(*request.param)
    person = Manager(chromium, live_server)
    person.walking = request.param
    person.sign_in(commune.person("manager"))
    csp_violations(chromium)
    return person


def test_a_manager_sets_up_the_screening_form_and_two_phones(
        manager: Manager, tmp_path: Path) -> None:
    driver = manager.driver
    manager.click(manager.find("#nav-forms"))
    assert manager.h1() == "Biểu mẫu của xã"
    assert manager.find("#nav-forms").get_attribute("aria-current") == "page"
    manager.fits("the empty forms list")

    # A broken XLSForm: the reason in plain words, pyxform's text folded beneath it.
    broken = tmp_path / "bieu_mau_loi.xlsx"
    broken.write_bytes(UNCLOSED_GROUP)
    manager.find("#upload-file").send_keys(str(broken))
    manager.click(manager.find("#upload-submit"))
    problem = manager.find("#problem")
    assert "Lỗi ở dòng 3 của bảng tính." in problem.text
    assert "Nhóm “gia_dinh” được mở (begin_group)" in problem.text
    assert "Unmatched" not in problem.text  # folded away until asked for
    manager.find("#problem-details summary").click()
    assert "[row : 3] Unmatched 'begin_group'" in manager.find("#problem-details pre").text
    manager.fits("the refused upload")

    # The project's screening form, then the commune's village list on its draft.
    manager.find("#upload-file").send_keys(str(form_path(SCREENING)))
    manager.click(manager.find("#upload-submit"))
    assert "Đã tải lên biểu mẫu làm bản nháp" in manager.find("#done").text
    row = manager.find("[id='draft-files-villages.csv']")
    assert "CÒN THIẾU" in row.text and manager.all("#missing-files")
    assert manager.images_loaded("#draft-qr")
    manager.fits("the draft's page")
    villages = tmp_path / "thon.csv"
    villages.write_bytes(Path(form_path(SCREENING)).with_name("villages.csv").read_bytes())
    row.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(villages))
    manager.click(row.find_element(By.CSS_SELECTOR, "button.file-submit"))
    assert "Đã có" in manager.find("[id='draft-files-villages.csv']").text
    assert not manager.all("#missing-files")
    assert manager.find("#version").get_attribute("value")  # a version is suggested
    manager.click(manager.find("#publish-submit"))
    assert "Đã công bố" in manager.find("#done").text
    assert len(manager.all("tr.version-row")) == 1

    # Two phones, for Thôn Đông (T01) and Thôn Đoài (T02), given the screening form.
    manager.click(manager.find("#nav-phones"))
    assert manager.h1() == "Điện thoại thu thập"
    for name, village in (("Lò Thị Mai", "T01"), ("Quàng Văn Nam", "T02")):
        manager.find("#display-name").send_keys(name)
        manager.find(f"input[name=villages][value={village}]").click()
        assert manager.find(f"input[name=forms][value={SCREENING}]").is_selected()
        manager.click(manager.find("#create-phone"))
        assert "Đã tạo điện thoại" in manager.find("#done").text
        assert manager.h1() == name
        assert manager.images_loaded("#phone-qr")
        manager.fits("a phone's page")
        manager.click(driver.find_element(By.LINK_TEXT, "« Điện thoại thu thập"))
    assert len(manager.all("li.phone-row")) == 2
    manager.fits("the phones list")

    # The cards: one per phone, each with its QR code; on paper, no menu.
    manager.click(manager.find("#cards-link"))
    cards = manager.all("section.phone-card")
    assert len(cards) == 2
    assert {card.find_element(By.CSS_SELECTOR, ".card-name").text for card in cards} == {
        "Lò Thị Mai", "Quàng Văn Nam"}
    assert len(manager.images_loaded("img.card-qr")) == 2
    assert "Thôn Đông" in cards[0].text + cards[1].text
    assert "Cài ứng dụng ODK Collect" in cards[0].text
    manager.fits("the cards page")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not manager.find("#nav").is_displayed() and not manager.find("#top").is_displayed()
        assert not manager.find("#cards-help").is_displayed()
        assert all(card.is_displayed() for card in manager.all("section.phone-card"))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # Revoking asks for the box first: without it the browser does not even send the form.
    manager.click(driver.find_element(By.LINK_TEXT, "« Điện thoại thu thập"))
    manager.click(driver.find_element(By.LINK_TEXT, "Quàng Văn Nam"))
    page_url = driver.current_url
    manager.find("#revoke-submit").click()
    assert driver.current_url == page_url and manager.all("#revoke-confirm")
    manager.find("#revoke-confirm").click()
    manager.click(manager.find("#revoke-submit"))
    assert "Đã thu hồi điện thoại" in manager.find("#done").text
    revoked = manager.all("li.revoked-phone")
    assert len(revoked) == 1 and "Quàng Văn Nam" in revoked[0].text
    manager.click(manager.find("#cards-link"))
    assert [card.find_element(By.CSS_SELECTOR, ".card-name").text
            for card in manager.all("section.phone-card")] == ["Lò Thị Mai"]
    assert csp_violations(driver) == []


def test_a_site_administrator_creates_a_commune_and_lands_on_its_forms(
        chromium: WebDriver, live_server: LiveServer, commune: Commune) -> None:
    """The journey's first step (docs/pages.md, "Communes"), at both widths."""
    from server.operations.users import create_user
    from tests.web.conftest import PASSWORD

    email = f"quan-tri-{commune.project_id}@xa-bieu-mau.test"
    with commune.uow() as db:
        create_user(db, email, PASSWORD, role="admin", display_name="Quản trị viên")
    for width, height in (NARROW, WIDE):
        chromium.get(f"{live_server.url}/healthz")
        chromium.delete_all_cookies()
        chromium.set_window_size(width, height)
        admin = Manager(chromium, live_server)
        admin.sign_in(email)
        admin.open("/ui/projects")
        assert not scrolls_sideways(chromium)
        name = f"Xã Tân Phú {width}"
        admin.find("#commune-name").send_keys(name)
        admin.find("#commune-code").send_keys("00007")
        admin.click(admin.find("form.stacked button[type=submit]"))
        assert admin.h1() == "Biểu mẫu của xã"
        assert "/forms" in chromium.current_url
        assert not scrolls_sideways(chromium), f"the new commune's forms at {width} px"
        admin.click(admin.find("#nav-projects"))
        assert name in admin.find("ul.projects").text
    assert csp_violations(chromium) == []
