"""Every page of the web blueprint passes axe-core in a real headless Chromium, at a phone's
390 px and a desk's 1366 px: no violation of impact "serious" or "critical" (missing labels,
text too pale to read, broken landmarks…), no sideways scroll, Vietnamese on `<html lang>`.

The pages are not listed here: they are every GET page of the blueprint's routes
(`tests.web.pages.web_pages`), so a new page is checked the moment it is imported, and a page
whose address the test cannot build fails, naming the page and the parameter, instead of being
skipped. The commune is the demo a newcomer loads (`tests.web.pages.build_commune`), seen by
its site administrator, who sees every page with every button; the sign-in page and the error
page are checked signed out.

axe-core comes with the dev dependency `axe-core-python` (its bundled `axe.min.js`), injected
through selenium, which runs scripts over the DevTools protocol, outside the pages'
Content-Security-Policy. One browser and one server for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server import create_app
from tests.conftest import LiveServer, module_services
from tests.web.admin_commune import serving
from tests.web.browser import require_chromium, start_chromium
from tests.web.pages import (
    ADMIN_EMAIL,
    PASSWORD,
    DemoCommune,
    Page,
    Unreachable,
    address,
    build_commune,
    preview_import,
    web_pages,
)

require_chromium()
axe_core_python = pytest.importorskip("axe_core_python", reason="axe-core-python is not "
                                      "installed (pip install -e '.[dev]')")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow

AXE_SCRIPT = (Path(axe_core_python.__file__).parent / "axe.min.js").read_text("utf-8")
WIDTHS = (1366, 390)
HEIGHT = 900
BLOCKING = ("serious", "critical")
PAGES = web_pages()
# axe.run on the whole document; only the violations travel back.
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 160)}))}))),
  (error) => done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
"""


@dataclass
class Site:
    commune: DemoCommune
    server: LiveServer


@pytest.fixture(scope="module")
def site(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with module_services(migrated_database, tmp_path_factory.mktemp("a11y")) as services:
        commune = build_commune(services)
        app = create_app({"services": services, "TESTING": True})
        preview_import(app, commune)
        with serving(app) as server:
            yield Site(commune, server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium("--lang=vi")
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _load(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def _sign_in(driver: WebDriver, site: Site) -> None:
    _load(driver, f"{site.server.url}/ui/login")
    driver.find_element(By.ID, "email").send_keys(ADMIN_EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 20).until(lambda d: "/ui/login" not in d.current_url)


@pytest.fixture
def admin(chromium: WebDriver, site: Site) -> WebDriver:
    """The browser signed in as the site administrator (once; again after a signed-out
    test cleared the cookies)."""
    _load(chromium, f"{site.server.url}/ui/projects")
    if "/ui/login" in chromium.current_url:
        _sign_in(chromium, site)
    return chromium


@pytest.fixture
def anonymous(chromium: WebDriver, site: Site) -> WebDriver:
    _load(chromium, f"{site.server.url}/healthz")
    chromium.delete_all_cookies()
    return chromium


def status_of(driver: WebDriver) -> int:
    """The HTTP status of the page shown (after its redirects), from Navigation Timing."""
    return int(driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus"))


def problems_at(driver: WebDriver, width: int) -> list[str]:
    """What is wrong with the page shown, at `width` px: axe's serious and critical
    violations (rule, help, the elements), sideways scroll, the language."""
    driver.set_window_size(width, HEIGHT)
    found = []
    inner = driver.execute_script("return window.innerWidth")
    if inner > width:
        found.append(f"the window is {inner} px wide, not {width}")
    if driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth"):
        wide = driver.execute_script("return document.documentElement.scrollWidth")
        found.append(f"scrolls sideways: {wide} px of content in {inner} px")
    lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    if lang != "vi":
        found.append(f'<html lang="{lang}">, not "vi"')
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        driver.execute_script(AXE_SCRIPT)
    for violation in driver.execute_async_script(RUN_AXE):
        if violation["impact"] not in BLOCKING:
            continue
        nodes = "".join(f"\n      {node['target']}   {node['html']}"
                        for node in violation["nodes"])
        found.append(f"{violation['impact']} {violation['id']}: {violation['help']}{nodes}")
    return [f"at {width} px: {problem}" for problem in found]


def audit(driver: WebDriver, what: str) -> None:
    found = [problem for width in WIDTHS for problem in problems_at(driver, width)]
    assert not found, f"{what} ({driver.current_url}):\n  " + "\n  ".join(found)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_page_passes_axe_fits_a_phone_and_speaks_vietnamese(
        admin: WebDriver, site: Site, page: Page) -> None:
    try:
        path = address(page, site.commune)
    except Unreachable as unreachable:
        pytest.fail(f"cannot open the page {unreachable}", pytrace=False)
    _load(admin, f"{site.server.url}{path}")
    assert "/ui/login" not in admin.current_url, f"{path} sent the administrator to sign in"
    assert admin.execute_script("return document.contentType") == "text/html", (
        f"{page.endpoint} answers a file, not a page: list it in "
        "tests/web/pages.py FILE_ENDPOINTS")
    status = status_of(admin)
    assert status == 200, (
        f"{path} answers {status}, an error page: give it the data it needs in "
        "tests/web/pages.py")
    audit(admin, page.endpoint)


def _refused_sign_in(driver: WebDriver, site: Site) -> None:
    _load(driver, f"{site.server.url}/ui/login")
    driver.find_element(By.ID, "email").send_keys("khong.co@xa-hoa-binh.test")
    driver.find_element(By.ID, "password").send_keys("sai mật khẩu rồi")
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "error"))


SIGNED_OUT: dict[str, Any] = {
    "sign-in": lambda driver, site: _load(driver, f"{site.server.url}/ui/login"),
    "sign-in-refused": _refused_sign_in,
    "not-found": lambda driver, site: _load(driver, f"{site.server.url}/ui/khong-co-trang-nay"),
}


@pytest.mark.parametrize("state", SIGNED_OUT)
def test_the_sign_in_and_error_pages_pass_axe_signed_out(
        anonymous: WebDriver, site: Site, state: str) -> None:
    SIGNED_OUT[state](anonymous, site)
    assert status_of(anonymous) == {"not-found": 404, "sign-in-refused": 401}.get(state, 200)
    if state != "not-found":
        assert anonymous.find_element(By.ID, "login")
    audit(anonymous, state)


def test_an_error_page_inside_a_commune_passes_axe(admin: WebDriver, site: Site) -> None:
    _load(admin, f"{site.server.url}/ui/p/{site.commune.project_id}/children/khong-co-tre-nay")
    assert status_of(admin) == 404
    audit(admin, "not-found, signed in")


def test_the_audit_sees_a_missing_label_an_image_without_text_and_a_wide_box(
        anonymous: WebDriver, site: Site) -> None:
    """The checks can fail: the sign-in page, spoiled on purpose in the browser."""
    _load(anonymous, f"{site.server.url}/ui/login")
    anonymous.execute_script("""
        const main = document.querySelector("main");
        main.insertAdjacentHTML("beforeend", '<input type="text" name="x"><img src="/x.png">');
        const wide = document.createElement("div");
        wide.style.width = "2000px";
        wide.textContent = "rộng";
        main.append(wide);
        document.documentElement.lang = "en";""")
    found = "\n".join(problems_at(anonymous, 390))
    for expected in ("critical label:", "critical image-alt:", "scrolls sideways",
                     '<html lang="en">'):
        assert expected in found, found


def test_a_page_whose_address_cannot_be_built_is_not_skipped(site: Site) -> None:
    """The discovery finds the pages everyone knows, and an unknown parameter stops the test
    (the per-page test fails with this message) rather than skipping the page."""
    endpoints = {page.endpoint for page in PAGES}
    assert {"web.login", "web.dashboard", "web.children", "web.child", "web.review_queue",
            "web.flags", "web.exports", "web.projects"} <= endpoints
    assert not endpoints & {"web.static", "web.unknown_page", "web.submission_file"}
    new = Page("web.new_page", "/ui/p/<int:project_id>/things/<int:thing_id>",
               ("project_id", "thing_id"))
    with pytest.raises(Unreachable, match=r"web\.new_page .*thing_id"):
        address(new, site.commune)
