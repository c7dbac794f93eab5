"""OpenRosa XML documents and headers, in one place (Central: lib/formats/openrosa.js).

Collect reads `<message>` as an *unprefixed* tag inside `OpenRosaResponse`, and shows its text
to the person holding the phone — so errors are written for them, in Vietnamese first.
"""

from __future__ import annotations

import re
from email.utils import formatdate
from xml.sax.saxutils import escape

from flask import Response, request

from server import problems
from server.context import services
from server.openrosa.messages import SUBMISSION_RECEIVED, phone_message

OPENROSA_VERSION = "1.0"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


# Paths only phones use: a wrong method there (405 from routing, before any blueprint is
# known) is still answered in OpenRosa XML.
_OPENROSA_PATH = re.compile(r"^(/v1/projects/\d+)?/(submission|formList)$|/manifest$")


def is_openrosa_request() -> bool:
    if request.blueprint == "openrosa":
        return True
    return request.url_rule is None and bool(_OPENROSA_PATH.search(request.path))


def openrosa_headers(response: Response) -> Response:
    """The headers Central adds to every OpenRosa answer (B-ep `openRosaBefore`).

    Without `X-OpenRosa-Version` Collect rejects a form list as "not OpenRosa" and silently
    drops a manifest; `X-OpenRosa-Accept-Content-Length` is where it learns when to split
    a submission into several POSTs (docs/openrosa.md §1, §7).
    """
    response.headers["X-OpenRosa-Version"] = OPENROSA_VERSION
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(
        services().settings.max_submission_bytes
    )
    response.headers["Content-Language"] = "vi"
    response.headers["Date"] = formatdate(usegmt=True)
    return response


def xml_response(body: str, status: int = 200) -> Response:
    """`text/xml`: Collect refuses a form list or manifest whose type lacks it (C-conn)."""
    response = Response(body.encode("utf-8"), status=status, content_type=XML_CONTENT_TYPE)
    return openrosa_headers(response)


def openrosa_message(text: str, status: int, nature: str = "") -> Response:
    body = (
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="0">'
        f'<message nature="{escape(nature)}">{escape(text)}</message>'
        "</OpenRosaResponse>"
    )
    return xml_response(body, status)


def submission_received() -> Response:
    """201 with Central's message: Collect counts only 201/202 as sent (never 200 or 204)."""
    return openrosa_message(SUBMISSION_RECEIVED, 201)


def no_content() -> Response:
    """The 204 Collect's HEAD pre-flight requires before it reads any header (C-conn)."""
    return openrosa_headers(Response(status=204))


def openrosa_problem(problem: problems.Problem) -> Response:
    response = openrosa_message(phone_message(problem), problem.http_status, nature="error")
    if problem.http_status == 401:
        add_auth_challenge(response)
    return response


def add_auth_challenge(response: Response) -> None:
    """Collect's authenticator throws on a 401 without a scheme it knows (okhttp-digest):
    always name Basic, so the phone prompts for credentials instead of a generic error.

    Over plain http Collect registers only Digest, so the challenge cannot help there; it is
    still sent, since a 401 without any challenge is what breaks clients (docs/openrosa.md §1).
    """
    response.headers["WWW-Authenticate"] = 'Basic realm="Diem Tua", charset="UTF-8"'
