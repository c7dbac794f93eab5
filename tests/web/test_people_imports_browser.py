"""The administration pages in a real headless Chromium, over real HTTP: a site administrator
creates an account, gives it a role limited to one village by ticking a box, resets its
password, and the person signs in with the password shown; an officer imports a list with
errors, reads every problem of every row, imports the corrected list and finds the children
in the registry. Every page fits 1366 and 390 px without scrolling sideways.

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.registry.import_helpers import csv_bytes
from tests.web.admin_commune import ADMIN_EMAIL, INSIDE, AdminCommune, admin_commune, serving
from tests.web.browser import require_chromium, start_chromium
from tests.web.conftest import PASSWORD
from tests.web.test_csp_in_chromium import csp_violations
from tests.web.test_imports_page import corrected, with_errors
from tests.web.test_pages_in_chromium import Officer

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402

pytestmark = pytest.mark.slow

WIDE, NARROW = (1366, 900), (390, 844)


@pytest.fixture(scope="module")
def commune(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[AdminCommune]:
    with admin_commune(migrated_database, tmp_path_factory.mktemp("browser")) as built:
        yield built


@pytest.fixture(scope="module")
def server(commune: AdminCommune) -> Iterator[LiveServer]:
    with serving(commune.app) as live:
        yield live


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi", console=True)
    yield driver
    driver.quit()


class Person(Officer):
    """Someone at the keyboard (`Officer`'s opening, clicking and waiting), signing in with
    any password and typing into forms."""

    walking: tuple[int, int] = WIDE  # the window's size the journey is walked at

    def __init__(self, driver: WebDriver, server: LiveServer, commune: AdminCommune) -> None:
        super().__init__(driver, server, commune)  # type: ignore[arg-type]  # reads project_id
        self.commune = commune

    def find(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def type(self, element_id: str, text: str) -> None:
        field = self.find(element_id)
        field.clear()
        field.send_keys(text)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.open("/ui/login")
        self.type("email", email)
        self.type("password", password)
        self.click(self.find("login"))
        assert "/ui/login" not in self.driver.current_url, "the sign-in was refused"

    def sign_out(self) -> None:
        self.click(self.find("logout"))

    def fits_both_widths(self) -> None:
        """The page as it is, at 1366 then 390 px: never wider than the window."""
        for width, height in (WIDE, NARROW):
            self.driver.set_window_size(width, height)
            assert self.driver.execute_script("return window.innerWidth") <= width
            wider = self.driver.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth")
            assert not wider, f"{self.driver.current_url} scrolls sideways at {width} px"
        self.driver.set_window_size(*self.walking)


@pytest.fixture
def person(request: pytest.FixtureRequest, chromium: WebDriver, server: LiveServer,
           commune: AdminCommune) -> Person:
    """Someone walking the journey in a window of 1366 px, or of the width a test asks for
    (`indirect` parametrization)."""
    walking = getattr(request, "param", WIDE)
    chromium.get(f"{server.url}/healthz")
    chromium.delete_all_cookies()
    chromium.set_window_size(*walking)
    csp_violations(chromium)
    person = Person(chromium, server, commune)
    person.walking = walking
    return person


@pytest.mark.parametrize("person", [WIDE, NARROW], ids=["1366px", "390px"], indirect=True)
def test_an_administrator_creates_an_account_gives_it_a_village_and_resets_its_password(
        person: Person) -> None:
    commune = person.commune
    person.sign_in(ADMIN_EMAIL)
    person.open("/ui/users")
    person.fits_both_widths()
    email = commune.email("truong-thon")
    person.type("new-email", email)
    person.type("new-name", "Lò Văn Trưởng Thôn")
    person.click(person.find("create-submit"))
    first_password = person.find("new-password").text
    assert len(first_password) == 19
    person.fits_both_widths()

    person.open(f"/ui/p/{commune.project_id}/people")
    assert person.find("nav-people").get_attribute("aria-current") == "page"
    person.type("assign-email", email)
    Select(person.find("assign-role")).select_by_value("viewer")
    assert person.find("assign-some").is_selected()  # a limit unless "all" is chosen
    person.find(f"assign-v-{INSIDE}").click()
    person.click(person.find("assign-submit"))
    assert "Đã giao vai trò" in person.find("done").text
    row = person.find(f"role-{commune.actor_id(email)}-viewer")
    assert "Thôn Đông" in row.text and "Lò Văn Trưởng Thôn" in row.text
    assert commune.roles(email) == {"viewer": [INSIDE]}
    person.fits_both_widths()

    person.click(row.find_element(By.CSS_SELECTOR, "a.change"))
    person.fits_both_widths()
    person.open("/ui/users")
    person.click(person.find(f"user-{commune.actor_id(email)}")
                 .find_element(By.CSS_SELECTOR, "a.manage"))
    assert "Thôn Đông" in person.find("account-roles").text
    person.fits_both_widths()
    person.find("reset-confirm").click()
    person.click(person.find("reset-submit"))
    new_password = person.find("new-password").text
    assert new_password != first_password and len(new_password) == 19
    assert csp_violations(person.driver) == []

    person.sign_out()
    person.sign_in(email, new_password)
    assert person.driver.current_url.endswith(f"/ui/p/{commune.project_id}/dashboard")
    assert not person.all("#nav-people") and not person.all("#nav-users")


def test_an_officer_reads_every_problem_then_imports_the_corrected_list(
        person: Person, tmp_path: Path) -> None:
    commune = person.commune
    wrong, right = tmp_path / "danh-sach-tre.csv", tmp_path / "danh-sach-tre-da-sua.csv"
    wrong.write_bytes(csv_bytes(with_errors("TD")))
    right.write_bytes(csv_bytes(corrected("TD")))
    person.sign_in(commune.person("cp_officer"))
    person.open(f"/ui/p/{commune.project_id}/dashboard")
    person.click(person.find("nav-imports"))
    person.fits_both_widths()

    person.find("file").send_keys(str(wrong))
    person.click(person.find("preview-submit"))
    refused = {row.get_attribute("id"): [p.text for p in row.find_elements(
        By.CSS_SELECTOR, "li.problem")] for row in person.all("li.refused-row")}
    assert sorted(refused) == ["row-5"] and len(refused["row-5"]) == 2
    assert any("Thôn Không Có" in problem for problem in refused["row-5"])
    # Row 3's doubtful fields do not refuse it: it would be imported, and they are said.
    doubts = [d.text for d in person.driver.find_elements(By.CSS_SELECTOR, "tr#row-3 li.doubt")]
    assert len(doubts) == 3 and doubts[0].startswith("Cột sex:")
    assert person.find("count-created").text.startswith("3")
    person.fits_both_widths()
    assert not {"Nguyễn Thị Lan TD", "Vì Thị Hoa TD"} & set(commune.children())

    person.click(person.find("upload-again"))
    person.find("file").send_keys(str(right))
    person.click(person.find("preview-submit"))
    assert not person.all("li.refused-row")
    person.click(person.find("commit-submit"))
    assert "Đã nhập xong" in person.find("done").text
    codes = [link.text for link in person.all("a.child-link")]
    assert len(codes) == 4 and all(len(code) == 7 for code in codes)
    person.fits_both_widths()

    person.click(person.find("to-children"))
    names = {link.text for link in person.all("tr.child-row a")}
    assert {"Nguyễn Thị Lan TD", "Vì Thị Hoa TD", "Lò Văn Minh TD",
            "Quàng Văn Sửa TD"} <= names
    assert csp_violations(person.driver) == []
