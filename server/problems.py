"""Errors as values with ODK Central's numbered codes (lib/util/problem.js).

Domain code raises a `Problem`; each surface turns it into its own format at the edge: an
OpenRosaResponse for phones, Central's JSON `{"code", "message", "details"}` for the API, a
flash message for web pages. The HTTP status is the integer part of the code.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    def __init__(self, code: float | str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return int(self.code.split(".")[0])

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": float(self.code), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"Problem({self.code}, {self.message!r})"


# --- 400: the request is wrong -------------------------------------------------------------


def unparseable(format_: str, why: str) -> Problem:
    return Problem("400.1", f"Could not parse the given data as {format_}: {why}",
                   {"format": format_, "rawLength": None})


def missing_parameter(name: str) -> Problem:
    return Problem("400.2", f"Required parameter {name} missing.", {"field": name})


def missing_parameters(names: list[str]) -> Problem:
    return Problem("400.3", f"Required parameters missing: {', '.join(names)}.",
                   {"expected": names})


def unexpected_value(field: str, reason: str) -> Problem:
    return Problem("400.8", f"Unexpected {field} value; {reason}", {"field": field})


def invalid_header(name: str, value: str | None) -> Problem:
    return Problem("400.6", f"An expected header field ({name}) did not match the expected "
                   f"format (got: {value or '(nothing)'}).", {"field": name})


def missing_multipart_field(name: str) -> Problem:
    return Problem("400.7", f"Required multipart POST field {name} missing.", {"field": name})


def invalid_data_type(field: str, expected: str) -> Problem:
    return Problem("400.11", f"Invalid input data type: expected ({field}) to be ({expected})",
                   {"field": field, "expected": expected})


def xlsform_invalid(message: str, warnings: list[str] | None = None) -> Problem:
    return Problem("400.15", f"The given XLSForm file was not valid. Please see the error "
                   f"details for more information: {message}",
                   {"error": message, "warnings": warnings or []})


def xlsform_warnings(warnings: list[str]) -> Problem:
    return Problem("400.16", "The XLSForm is valid, but there are warnings. Resubmit with "
                   "ignoreWarnings=true to publish anyway.", {"warnings": {"xlsFormWarnings":
                   warnings}})


def weak_password(vietnamese: str, english: str, details: dict[str, Any]) -> Problem:
    # Central's 400.21 covers length only; the same code also says why a password was refused
    # as too easy to guess (`server.auth.passwords`), Vietnamese first.
    return Problem("400.21", f"{vietnamese} ({english})", details)


def unexpected_attribute(field: str, value: str) -> Problem:
    return Problem("400.8", f"Unexpected {field} value {value}.", {"field": field})


def multipart_parsing_failed(why: str = "") -> Problem:
    return Problem("400.39", "Multipart form content failed to parse." + (f" {why}" if why else ""))


def hostile_or_broken_xml(why: str) -> Problem:
    # Our own code beside Central's: Central parses leniently and stores broken XML; we refuse it
    # so the phone keeps its copy and the user sees why.
    return Problem("400.40", f"The submitted XML could not be accepted: {why}", {"reason": why})


def version_unchanged() -> Problem:
    return Problem("409.6", "The form you have uploaded attempts to change the version of a "
                   "form, but the version string is the same as the published version. Please "
                   "change the version string and try again.")


# --- 401/403: who you are, what you may do --------------------------------------------------


def auth_failed() -> Problem:
    return Problem("401.2", "Could not authenticate with the provided credentials.")


def https_only() -> Problem:
    return Problem("401.3", "This authentication method is only available over HTTPS")


def insufficient_rights() -> Problem:
    return Problem("403.1", "The authenticated actor does not have rights to perform that "
                   "action.")


def outside_villages(why_vi: str, why: str, villages: list[str], yours: list[str]) -> Problem:
    # Central's 403.1, with the reason, Vietnamese first: a manager limited to villages asked
    # for a role, an app user or a phone's token beyond them (`server.auth.grants`).
    return Problem("403.1", f"Không có quyền: {why_vi} (The authenticated actor does not have "
                   f"rights to perform that action: {why})",
                   {"villages": villages, "yourVillages": yours})


# --- 404: not found -------------------------------------------------------------------------


def not_found() -> Problem:
    return Problem("404.1", "Could not find the resource you were looking for.")


def stored_file_missing(name: str) -> Problem:
    """The row says the file arrived but the store has lost its bytes (`diemtua storage
    check`); sending the submission again restores it."""
    return Problem("404.1", f"The file {name} was received, but its stored copy is missing. "
                   "Send the submission again to restore it.", {"name": name})


def deprecated_id_not_found(deprecated_id: str) -> Problem:
    return Problem("404.5", "You tried to update an existing submission, but we can't find that "
                   f"submission to update ({deprecated_id})", {"deprecatedId": deprecated_id})


def form_version_not_found(version: str) -> Problem:
    return Problem("404.6", f"The form version specified in this submission '{version}' does "
                   "not exist.", {"version": version})


# --- 409: conflicts -------------------------------------------------------------------------


def conflicting_resubmission() -> Problem:
    return Problem("409.1", "A submission already exists with this ID, but with different XML. "
                   "Resubmissions to attach additional multimedia must resubmit an identical "
                   "xml_submission_file.")


def form_not_accepting() -> Problem:
    return Problem("409.2", "This form is not currently accepting submissions. Please talk to "
                   "your program staff if this is unexpected.")


def already_exists(table: str, fields: dict[str, Any]) -> Problem:
    described = ", ".join(f"{k} ({v})" for k, v in fields.items())
    return Problem("409.3", f"A resource already exists with {described}.",
                   {"table": table, "fields": list(fields), "values": list(fields.values())})


def deprecating_old_submission(deprecated_id: str | None) -> Problem:
    return Problem("409.9", "You tried to update a submission, but the copy you were editing "
                   f"({deprecated_id}) is now out of date. Please get the new version that has "
                   "been submitted, and make your edits again.", {"deprecatedId": deprecated_id})


def entity_version_conflict(current: int, given: int) -> Problem:
    return Problem("409.15", f"Current version of the Entity is '{current}' and you provided "
                   f"'{given}'. Please correct the version number or pass '?force=true'.",
                   {"current": current, "provided": given})


def deleted_submission() -> Problem:
    return Problem("409.18", "This submission has been deleted. You may not resubmit it.")


def registry_conflict(reason: str) -> Problem:
    # Our own code beside Central's 409s: the registry's rules refuse the change (deciding a
    # queue row twice, confirming an ended category, merging two different personal IDs).
    # Not 409.40: codes travel as JSON numbers, and 409.40 would read as Central's 409.4.
    return Problem("409.41", f"The registry cannot make this change: {reason}",
                   {"reason": reason})


def site_administrator_needed(vietnamese: str, english: str, reason: str,
                              actor_id: int) -> Problem:
    # Our own code beside Central's 409s (Central lets the last administrator go): the change
    # would delete one's own account or leave the site with no administrator
    # (`server.operations.users.SiteAdministratorNeeded`), Vietnamese first.
    return Problem("409.42", f"{vietnamese} ({english})",
                   {"reason": reason, "actorId": actor_id})


# --- 413: too big ---------------------------------------------------------------------------


def too_large(limit: int) -> Problem:
    return Problem("413.1", f"The request is larger than this server accepts ({limit} bytes). "
                   "Send the attachments in several parts.", {"limit": limit})


# --- 429: too many attempts -----------------------------------------------------------------


def too_many_failed_sign_ins(retry_after: int) -> Problem:
    # Our own code (Central has no throttle): `retryAfter` in seconds is also the response's
    # Retry-After header (`server.auth.sign_in`).
    minutes = max(1, -(-retry_after // 60))
    return Problem("429.1", f"Đăng nhập sai quá nhiều lần; vui lòng thử lại sau {minutes} phút. "
                   f"(Too many failed sign-ins; please try again in {minutes} minutes.)",
                   {"retryAfter": retry_after})


# --- 503: a part the server needs is down ---------------------------------------------------


def sign_in_unavailable(retry_after: int) -> Problem:
    # The sign-in throttle's store (Redis) cannot be reached: nothing was checked, nothing
    # saved; the caller tries again later (Retry-After), and no password guess gets through.
    return Problem("503.1", "Máy chủ tạm thời không kiểm tra được đăng nhập; chưa lưu gì, vui "
                   "lòng thử lại sau ít phút. (Sign-in cannot be checked right now; nothing was "
                   "saved. Please try again in a few minutes.)", {"retryAfter": retry_after})


def unavailable(part: str, retry_after: int) -> Problem:
    # Our own code beside 503.1: the database or the blob store is down (`server.outages`).
    # Nothing of the request was kept; the client sends it again after `retryAfter` seconds
    # (also the Retry-After header). Phones see the Vietnamese first (`server.openrosa.messages`).
    return Problem("503.2", "The server cannot store data right now; nothing was saved. Please "
                   "send again in a few minutes.", {"unavailable": part,
                                                     "retryAfter": retry_after})
