"""`make screenshots`: a picture of every page, in Vietnamese, as a phone (390 px) and a desk
(1366 px) show it, into docs/screenshots/<page>-<width>.png, with docs/screenshots/README.md
listing them. Both are generated: run it again after changing a page.

The server runs in this process (the app on a loopback port, as the page tests serve it) on a
temporary SQLite database and data folder, deleted afterwards, with the demo commune loaded as
`diemtua demo` loads it (`server.demo.load_demo`, 300 households, registry synced). The pages
and their addresses are the accessibility test's (`tests/web/pages.py`): every GET page of
the web blueprint, so a new page gets its screenshots with nothing added here. A page that
only redirects (`/`, `/ui/`) is listed, not pictured; the sign-in page is taken signed out.

Headless Chromium draws each page at the exact width (DevTools' device metrics) and captures
it whole, cut at `MAX_HEIGHT` px so a long list stays a readable picture. Pillow, when
installed, reduces each PNG to 256 colours (`_smaller`); it is not a dependency.

    .venv/bin/python tools/screenshots.py [--households 300] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server import create_app  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.services import Services  # noqa: E402
from tests.web.admin_commune import serving  # noqa: E402
from tests.web.browser import start_chromium  # noqa: E402
from tests.web.pages import (  # noqa: E402
    ADMIN_EMAIL,
    PASSWORD,
    DemoCommune,
    Page,
    address,
    build_commune,
    preview_import,
    web_pages,
)

WIDTHS = (390, 1366)
FIRST_HEIGHT = 900  # the window's height while a page loads and is measured
MAX_HEIGHT = 3000
PUBLIC_URL = "https://diemtua.example.org"


@dataclass
class Shot:
    name: str
    title: str  # the page's own <title>, or why it has no picture
    path: str  # the route, with its parameters
    files: list[str]


def _capture(driver: Any, width: int, target: Path) -> None:
    """The page shown, whole (at most `MAX_HEIGHT` px), at `width` px, as PNG."""
    metrics = {"width": width, "height": FIRST_HEIGHT, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = min(int(driver.execute_script(
        "return Math.ceil(document.documentElement.getBoundingClientRect().height)")),
        MAX_HEIGHT)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    target.write_bytes(_smaller(base64.b64decode(shot["data"])))


def _smaller(png: bytes) -> bytes:
    """With Pillow, the picture in 256 colours (no dithering: flat pages and text stay
    sharp), less than half the bytes of Chromium's PNG; without it, Chromium's PNG (already
    as small as lossless recompression makes it)."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, "PNG", optimize=True)
    return min(png, out.getvalue(), key=len)


def _open(driver: Any, url: str) -> None:
    driver.get(url)
    deadline = time.monotonic() + 20
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.05)


def _sign_in(driver: Any, base: str) -> None:
    _open(driver, f"{base}/ui/login")
    driver.find_element("id", "email").send_keys(ADMIN_EMAIL)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login").click()
    deadline = time.monotonic() + 20
    while "/ui/login" in driver.current_url:
        if time.monotonic() > deadline:
            raise RuntimeError("the administrator could not sign in")
        time.sleep(0.05)


def _shoot(driver: Any, name: str, url: str, path: str, out: Path) -> Shot:
    files = []
    for width in WIDTHS:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": FIRST_HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        _open(driver, url)
        if urlsplit(driver.current_url).path != urlsplit(url).path:
            shown = urlsplit(driver.current_url).path
            return Shot(name, f"(redirects to {shown})", path, [])
        file = f"{name}-{width}.png"
        _capture(driver, width, out / file)
        files.append(file)
    return Shot(name, driver.title, path, files)


def take(commune: DemoCommune, base: str, pages: list[Page], out: Path) -> list[Shot]:
    driver = start_chromium("--lang=vi", "--hide-scrollbars")
    try:
        shots = []
        login = next(page for page in pages if page.endpoint == "web.login")
        shots.append(_shoot(driver, login.name, f"{base}{login.rule}", login.rule, out))
        _sign_in(driver, base)
        for page in pages:
            if page is login:
                continue
            shots.append(_shoot(driver, page.name, f"{base}{address(page, commune)}", page.rule,
                                out))
            print(f"  {page.name}: {', '.join(shots[-1].files) or shots[-1].title}",
                  file=sys.stderr)
        path = f"/ui/p/{commune.project_id}/children/khong-co-tre-nay"
        shots.append(_shoot(driver, "error-not-found", f"{base}{path}", path, out))
        return shots
    finally:
        driver.quit()


def write_readme(shots: list[Shot], out: Path) -> None:
    lines = [
        "# Screenshots of the pages",
        "",
        "Generated by `make screenshots` (tools/screenshots.py): the demo commune "
        "(`diemtua demo`) seen by its site administrator, in Vietnamese, at 390 px (a phone) "
        f"and 1366 px (a desk), pages longer than {MAX_HEIGHT} px cut there. Do not edit: run "
        "it again.",
        "",
        "| page | title | route | 390 px | 1366 px |",
        "| --- | --- | --- | --- | --- |",
    ]
    for shot in shots:
        pictures = [f"[{file}]({file})" for file in shot.files] or ["—", "—"]
        title = shot.title.split(" · ")[0]  # without the app's name
        lines.append(f"| {shot.name} | {title} | `{shot.path}` | {' | '.join(pictures)} |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    arguments = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out: Path = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="diemtua-screenshots-"))
    try:
        url = f"sqlite:///{folder / 'diemtua.sqlite3'}"
        upgrade(url)
        services = Services.from_settings(load_settings({
            "DIEMTUA_DATA_DIR": str(folder / "data"), "DIEMTUA_DATABASE_URL": url,
            "DIEMTUA_SECRET_KEY": "screenshots",
            # The phones' QR codes and URLs name a server's address, not this run's port.
            "DIEMTUA_PUBLIC_URL": PUBLIC_URL}))
        print(f"Loading the demo ({arguments.households} households)…", file=sys.stderr)
        commune = build_commune(services, households=arguments.households)
        app = create_app({"services": services})
        preview_import(app, commune)
        with serving(app) as server:
            shots = take(commune, server.url, web_pages(app), out)
        services.database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    written = {file for shot in shots for file in shot.files}
    for old in out.glob("*.png"):
        if old.name not in written:  # a page that is gone
            old.unlink()
    write_readme(shots, out)
    size = sum((out / file).stat().st_size for file in written)
    print(f"{len(written)} screenshots in {out}, {size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
