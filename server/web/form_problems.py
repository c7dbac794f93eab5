"""Why an upload or a publication was refused, in plain words for the commune's officer.

pyxform explains a broken XLSForm in English jargon ("Unmatched 'begin_group'", "[row : 3]");
the forms page says the same in a sentence of the page's language and keeps the original text
below it (in a `<details>`), which is what a trainer or the support line asks for. A message
this module does not recognise still shows, with a general sentence: never a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.operations.forms import VERSION_MAX_LENGTH
from server.problems import Problem
from server.web.i18n import t


@dataclass(frozen=True)
class Explained:
    """A refusal as the page shows it: sentences in the page's language, the original text,
    and pyxform's warnings (then the same file may be sent again, accepting them)."""

    sentences: list[str]
    technical: str
    warnings: list[str] = field(default_factory=list)

    @property
    def may_accept_warnings(self) -> bool:
        return bool(self.warnings)


def _quoted(match: re.Match[str], group: int = 1) -> dict[str, str]:
    return {"name": match.group(group)}


# pyxform's messages (pyxform 4), most specific first: (pattern, i18n key, values).
_PYXFORM: list[tuple[re.Pattern[str], str, Callable[[re.Match[str]], dict[str, str]]]] = [
    (re.compile(r"Unmatched 'begin_(group|repeat)'.*?for the name '([^']*)'"),
     "xlsform.unclosed", lambda m: {"kind": m.group(1), "name": m.group(2)}),
    (re.compile(r"Unmatched 'end_(group|repeat)'"), "xlsform.unopened",
     lambda m: {"kind": m.group(1)}),
    (re.compile(r"Unknown question type '([^']*)'"), "xlsform.unknown_type", _quoted),
    (re.compile(r"'name' value '([^']*)' is invalid\. Questions, groups, and repeats must be "
                r"unique"), "xlsform.duplicate_name", _quoted),
    (re.compile(r"Names must begin with a letter"), "xlsform.bad_name", lambda m: {}),
    (re.compile(r"Could not find the name '([^']*)'"), "xlsform.unknown_reference",
     lambda m: {"name": m.group(1), "reference": "${" + m.group(1) + "}"}),
    (re.compile(r"List name not in choices sheet: (\S+)"), "xlsform.unknown_list", _quoted),
    (re.compile(r"There should be a choices sheet"), "xlsform.no_choices", lambda m: {}),
    (re.compile(r"Choice names must be unique"), "xlsform.duplicate_choice", lambda m: {}),
    (re.compile(r"Question or group with no name"), "xlsform.no_name", lambda m: {}),
    (re.compile(r"survey element named '([^']*)' has no label"), "xlsform.no_label", _quoted),
    (re.compile(r"Missing calculation"), "xlsform.no_calculation", lambda m: {}),
    (re.compile(r"You must have a sheet named 'survey'"), "xlsform.no_survey", lambda m: {}),
    (re.compile(r"required column headers were not found: '([^']*)'"),
     "xlsform.missing_column", _quoted),
    (re.compile(r"not recognized as a supported type|could not be read as an XLSForm"),
     "xlsform.unreadable", lambda m: {}),
]
# Why `check_version` refused a version typed on the page (`details.refused`).
_VERSION_REFUSED = {"too_long": "publish.version_too_long",
                    "control_character": "publish.version_control"}
_ROW = re.compile(r"\[row : (\d+)\]")
_SHEET = re.compile(r"On the '(\w+)' sheet")


def _pyxform_sentences(message: str) -> list[str]:
    sentences = []
    row = _ROW.search(message)
    if row:
        sheet = _SHEET.search(message)
        sentences.append(t("xlsform.row_on_sheet", row=row.group(1), sheet=sheet.group(1))
                         if sheet else t("xlsform.row", row=row.group(1)))
    for pattern, key, values in _PYXFORM:
        found = pattern.search(message)
        if found:
            sentences.append(t(key, **values(found)))
            return sentences
    sentences.append(t("xlsform.other"))
    return sentences


def _warnings(problem: Problem) -> list[str]:
    listed: Any = problem.details.get("warnings")
    if isinstance(listed, dict):
        listed = listed.get("xlsFormWarnings")
    return [str(item) for item in listed] if isinstance(listed, list) else []


def explain(problem: Problem, *, form_id: str = "") -> Explained:
    """`problem` (an upload's or a publication's refusal) in the page's words."""
    code, message = problem.code, problem.message
    details = problem.details
    if code == "400.15":
        return Explained(_pyxform_sentences(str(details.get("error", message))), message)
    if code == "400.16":
        warnings = _warnings(problem)
        return Explained([t("upload.warnings", count=len(warnings))], message, warnings)
    if code == "409.3":
        values = details.get("values") or []
        existing = str(values[-1]) if values else form_id
        return Explained([t("upload.exists", form_id=existing)], message)
    if code == "409.6":
        return Explained([t("publish.version_used")], message)
    if code == "400.8" and details.get("field") == "version" and "refused" in details:
        key = _VERSION_REFUSED.get(str(details["refused"]), "publish.version_invalid")
        return Explained([t(key, limit=VERSION_MAX_LENGTH)], message)
    if code == "400.8":
        key = {"xmlFormId": "upload.other_form", "formId": "upload.reserved_id",
               "diemtua:sensitivity": "upload.sensitivity",
               "version": "publish.no_version"}.get(str(details.get("field")), "upload.invalid")
        return Explained([t(key, form_id=form_id)], message)
    if code == "400.1":
        key = "upload.namespace" if "diemtua" in message else "upload.not_xform"
        return Explained([t(key)], message)
    if problem.http_status == 404:
        return Explained([t("attachment.unknown")], message)
    return Explained([t("upload.invalid")], message)


def sentence(key: str, **values: object) -> Explained:
    """A refusal the page itself decided (no file chosen, no box ticked): no technical text."""
    return Explained([t(key, **values)], "")
