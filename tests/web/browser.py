"""Headless Chromium for the page tests, over real HTTP (`live_server`).

A test module calls `require_chromium()` before importing selenium, so it is skipped — only
when Chromium, chromedriver or selenium is missing (CI installs them) — rather than failing.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_chromium() -> None:
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"needs Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER})",
                    allow_module_level=True)


def start_chromium(*arguments: str, console: bool = False) -> Any:
    """A headless Chromium (a selenium `WebDriver`); `console` keeps the browser's console
    log, where Chromium reports what a Content-Security-Policy refused."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", *arguments):
        options.add_argument(argument)
    if console:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver
