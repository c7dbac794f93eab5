"""Tokens never reach a log line (README "Signing in").

Phones carry their app-user token in the URL, as ODK Central's clients do —
`/v1/key/<token>/…` and `?st=<token>` — and Central's API puts a session token in the path of
`DELETE /v1/sessions/<token>`. An access log keeps every URL, and anyone who reads the log
could act as that phone. So every log record of the process is rewritten as it is made,
whichever logger makes it (gunicorn's access and error logs, werkzeug's, ours, a library's):
the token becomes `[token]`, and so does any bare 64-character token in a message or a
traceback (`server.auth.principal.new_token`).

Searches go the same way: the registry's `?q=` (API and pages) is a child's name typed by an
officer, and application logs carry no child's name (docs/privacy.md §5): it becomes
`[search]`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

PLACEHOLDER = "[token]"
SEARCH_PLACEHOLDER = "[search]"
_SEARCH = re.compile(r"([?&;]q=)[^&#\s\"']+")
_TOKEN_ALPHABET = r"A-Za-z0-9!$"  # noqa: S105 (a character class, no secret)
_IN_URLS = (
    re.compile(r"(/v1/key/)[^/?#\s\"']+"),
    re.compile(r"([?&;]st=)[^&#\s\"']+"),
    # `current` is Central's alias for the caller's own session, not a token.
    re.compile(r"(/v1/sessions/)(?!current(?:[/?#\s\"']|$))[^/?#\s\"']+"),
)
_BARE = re.compile(rf"(?<![{_TOKEN_ALPHABET}])[{_TOKEN_ALPHABET}]{{64}}(?![{_TOKEN_ALPHABET}])")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _bare_token(match: re.Match[str]) -> str:
    # A SHA-256 digest (a stored token hash, a file's hash) is no secret and helps debugging.
    text = match.group(0)
    return text if _HEX_DIGEST.fullmatch(text) else PLACEHOLDER


def redact(text: str) -> str:
    """`text` with every token replaced by `[token]`, every search by `[search]`."""
    for pattern in _IN_URLS:
        text = pattern.sub(rf"\g<1>{PLACEHOLDER}", text)
    text = _SEARCH.sub(rf"\g<1>{SEARCH_PLACEHOLDER}", text)
    return _BARE.sub(_bare_token, text)


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, traceback and stack already written out, redacted."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging would print its arguments as they are
        message = f"{record.msg} {record.args!r}"
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_installed: list[Any] = []


def install_log_redaction() -> None:
    """Redact every log record this process makes from now on (once; later calls do nothing).

    A record factory rather than a handler filter: it reaches the records of every logger,
    whatever handlers gunicorn, werkzeug or an operator's logging setup attach.
    """
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redacted(make_record(*args, **kwargs))

    logging.setLogRecordFactory(_factory)
    _installed.append(_factory)
