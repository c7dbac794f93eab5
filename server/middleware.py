"""WSGI middleware: Central's app-user URLs, `/v1/key/<token>/…`, become ordinary `/v1/…`.

The token is kept in the environ for authentication and for building URLs that carry it
again, so every route exists once and works with both URL styles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from server.context import FIELD_KEY_ENVIRON

_KEY_PATH = re.compile(r"^/v1/key/([^/]+)(/.*)?$")


class FieldKeyPathMiddleware:
    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        match = _KEY_PATH.match(environ.get("PATH_INFO", ""))
        if match:
            environ[FIELD_KEY_ENVIRON] = match.group(1)
            environ["PATH_INFO"] = "/v1" + (match.group(2) or "/")
        return self.wsgi_app(environ, start_response)
