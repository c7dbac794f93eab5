"""Security headers on every answer the server gives (README, "Security headers").

Three Content-Security-Policies, chosen by *who made the answer*, never by its Content-Type
(a phone may upload an attachment it calls `text/html`):

* the web pages (`/ui/…`, the `web` blueprint's HTML): scripts and styles only from our own
  files, no inline script, no plugins, forms post only to us, never framed;
* Swagger UI (`/v1/docs`): flask-restx's page carries one inline script, one `<style>` and one
  `style=` attribute; the policy allows exactly those, by their SHA-256, and nothing else inline;
* everything else — JSON, XML, CSV, zips, submission XML and attachments, images, error
  bodies — is locked: nothing may load, and `sandbox` gives the document an opaque origin, so
  even a browser that renders a phone's XML or an uploaded HTML file runs no script as us.

Every answer also carries `nosniff`, `Referrer-Policy: same-origin` (page URLs hold search
filters and child ids; same-origin keeps the `Origin`/`Referer` our own form posts send, which
`no-referrer` would turn into `Origin: null`), and `X-Frame-Options: DENY` for browsers older
than `frame-ancestors`. Every answer except static assets carries `Cache-Control: no-store`:
nearly all carry personal data, and the few that don't are not worth a list of exceptions.
Phones lose nothing by it: Collect downloads a media file (the `children.csv` entity list
included) only when the manifest's hash changed, and that hash is the file's own md5, so a
cached copy could never be revalidated into a 304 anyway; a client that still sends
`If-None-Match` still gets its 304.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import TypeVar

from werkzeug.wrappers import Response

R = TypeVar("R", bound=Response)

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
               "object-src 'none'")
LOCKED_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

# Swagger UI's own needs: its bundle and stylesheet from /swaggerui/, the spec fetched from
# /v1/swagger.json, icons and fonts inlined as data: URIs in its CSS, and "Try it out" calls.
_DOCS_POLICY = ("default-src 'none'; script-src 'self' {scripts}; "
                "style-src 'self' 'unsafe-hashes' {styles}; img-src 'self' data:; "
                "font-src 'self' data:; connect-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

PAGE_BLUEPRINT = "web"
DOCS_ENDPOINT = "api_v1.doc"
STATIC_ENDPOINTS = frozenset({"static", "web.static", "restx_doc.static"})

_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_INLINE_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle=(?:"([^"]*)"|'([^']*)')""", re.I)


def source_hash(text: str) -> str:
    """A CSP hash source for inline text, as browsers compute it (SHA-256 of the UTF-8)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _sources(texts: Iterable[str]) -> str:
    """One hash source per distinct text, sorted so the header is the same on every answer."""
    return " ".join(sorted({source_hash(text) for text in texts}))


def docs_policy(html: str) -> str:
    """The policy for the Swagger UI page: its own inline script and styles, by hash.

    The page is flask-restx's template filled with our configuration alone (no request data
    reaches it), so hashing what it holds allows exactly flask-restx's code, and follows it
    when a new flask-restx version changes that code.
    """
    scripts = _sources(_INLINE_SCRIPT.findall(html))
    styles = _sources([*_INLINE_STYLE.findall(html),
                       *(double or single for double, single in _STYLE_ATTRIBUTE.findall(html))])
    return _DOCS_POLICY.format(scripts=scripts, styles=styles)


def content_policy(response: Response, blueprint: str | None, endpoint: str | None) -> str:
    """Which CSP an answer gets: by the code that made it, never by its declared type."""
    if response.mimetype == "text/html":
        if blueprint == PAGE_BLUEPRINT and endpoint not in STATIC_ENDPOINTS:
            return PAGE_POLICY
        if endpoint == DOCS_ENDPOINT:
            return docs_policy(response.get_data(as_text=True))
    return LOCKED_POLICY


def add_security_headers(response: R, blueprint: str | None, endpoint: str | None) -> R:
    """Set the headers above on `response`; a stricter `Cache-Control` set by a view stays."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_policy(response, blueprint, endpoint)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if endpoint not in STATIC_ENDPOINTS and "no-store" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = "no-store"
    return response
