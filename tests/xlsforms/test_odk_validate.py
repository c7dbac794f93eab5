"""Every committed form compiles with pyxform and passes ODK Validate (JavaRosa).

`convert(validate=True)` raises on an invalid form; the `xls2xform` command would exit 0."""

from __future__ import annotations

import pytest
from pyxform.xls2xform import convert

import xlsforms

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_form_passes_odk_validate_without_warnings(form_id: str) -> None:
    warnings: list[str] = []
    result = convert(xlsform=xlsforms.form_path(form_id), validate=True, warnings=warnings)
    assert warnings == []
    assert f'id="{form_id}"' in result.xform
