"""OpenRosa XML documents and headers, in one place (Central: lib/formats/openrosa.js).

Collect reads `<message>` as an *unprefixed* tag inside `OpenRosaResponse`, and shows its text
to the person holding the phone — so errors are written for them, in Vietnamese first.
"""

from __future__ import annotations

from email.utils import formatdate
from xml.sax.saxutils import escape

from flask import Response, request

from server import problems
from server.context import services
from server.openrosa.messages import phone_message

OPENROSA_VERSION = "1.0"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"


def is_openrosa_request() -> bool:
    return request.blueprint == "openrosa"


def openrosa_headers(response: Response) -> Response:
    response.headers["X-OpenRosa-Version"] = OPENROSA_VERSION
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(
        services().settings.max_submission_bytes
    )
    response.headers["Content-Language"] = "vi"
    response.headers["Date"] = formatdate(usegmt=True)
    return response


def xml_response(body: str, status: int = 200) -> Response:
    response = Response(body.encode("utf-8"), status=status, content_type=XML_CONTENT_TYPE)
    return openrosa_headers(response)


def openrosa_message(text: str, status: int, nature: str = "") -> Response:
    body = (
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="0">'
        f'<message nature="{escape(nature)}">{escape(text)}</message>'
        "</OpenRosaResponse>"
    )
    return xml_response(body, status)


def openrosa_problem(problem: problems.Problem) -> Response:
    response = openrosa_message(phone_message(problem), problem.http_status, nature="error")
    if problem.http_status == 401:
        add_auth_challenge(response)
    return response


def add_auth_challenge(response: Response) -> None:
    """Collect's authenticator throws on a 401 without a scheme it knows (okhttp-digest):
    always name Basic, so the phone prompts for credentials instead of a generic error."""
    response.headers["WWW-Authenticate"] = 'Basic realm="Diem Tua", charset="UTF-8"'
