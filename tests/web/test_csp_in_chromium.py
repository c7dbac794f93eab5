"""The Content-Security-Policies hold in a real headless Chromium, over real HTTP: the
officers' pages keep their stylesheet and their forms, and Swagger UI at `/v1/docs` still
boots from its one inline script — with not a single CSP violation in the browser's console.

Skipped only when Chromium or chromedriver is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer
from tests.web.browser import require_chromium, start_chromium
from tests.web.conftest import PASSWORD, Registry

require_chromium()

from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    driver = start_chromium(console=True)
    yield driver
    driver.quit()


def csp_violations(driver: WebDriver) -> list[str]:
    """Console messages about the Content Security Policy since the last call."""
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"]]


def test_the_pages_keep_their_style_and_forms_under_the_policy(
        chromium: WebDriver, live_server: LiveServer, registry: Registry) -> None:
    chromium.get(f"{live_server.url}/healthz")
    chromium.delete_all_cookies()
    csp_violations(chromium)
    chromium.get(f"{live_server.url}/ui/login")
    chromium.find_element(By.ID, "email").send_keys(registry.person("cp_officer"))
    chromium.find_element(By.ID, "password").send_keys(PASSWORD)
    chromium.find_element(By.ID, "login").click()
    WebDriverWait(chromium, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    # The stylesheet applied (style-src 'self'): the top bar is the project's blue.
    top = chromium.find_element(By.ID, "top")
    assert top.value_of_css_property("background-color") == "rgba(11, 79, 138, 1)"
    for page in ("children", "review", "flags", "exports", f"children/{registry.any_child()}"):
        chromium.get(f"{live_server.url}/ui/p/{registry.project_id}/{page}")
        assert chromium.find_element(By.TAG_NAME, "h1").text
    assert csp_violations(chromium) == []


def test_swagger_ui_boots_under_its_own_policy(chromium: WebDriver,
                                               live_server: LiveServer) -> None:
    csp_violations(chromium)
    chromium.get(f"{live_server.url}/v1/docs")
    # Only the inline script (allowed by its hash) builds this: title and operations.
    WebDriverWait(chromium, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-tag"))
    assert "Điểm Tựa API" in chromium.find_element(By.CSS_SELECTOR, ".swagger-ui .title").text
    assert csp_violations(chromium) == []
