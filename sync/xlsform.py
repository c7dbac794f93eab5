"""XLSForm → XForm, in-process with pyxform; its errors become messages a person can act on."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert


class XlsFormError(ValueError):
    def __init__(self, message: str, warnings: list[str]) -> None:
        super().__init__(message)
        self.warnings = warnings


@dataclass(frozen=True)
class ConvertedForm:
    xml: str
    warnings: list[str]
    # CSV of choices from the `external_choices` sheet (select_one_external), if any.
    itemsets_csv: str | None


def convert_xlsform(data: bytes, validate: bool = False) -> ConvertedForm:
    """Convert; `validate=True` also runs ODK Validate (JavaRosa) and needs Java."""
    warnings: list[str] = []
    try:
        result = convert(data, warnings=warnings, validate=validate)
    except PyXFormError as exc:
        raise XlsFormError(str(exc), warnings) from exc
    except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        # pyxform raises plain exceptions for workbooks it cannot read at all (a truncated
        # .xlsx, or any file starting like a zip, reaches openpyxl and fails there).
        raise XlsFormError(f"the file could not be read as an XLSForm ({exc})", warnings) from exc
    return ConvertedForm(xml=result.xform, warnings=list(result.warnings),
                         itemsets_csv=result.itemsets)
