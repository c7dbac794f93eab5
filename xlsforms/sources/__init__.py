"""Text sources of the XLSForms, one module per form (see xlsforms/README.md)."""

from __future__ import annotations

from xlsforms.sheet import Form
from xlsforms.sources import child_followup, household_screening

# Publishing order: the screening form declares the `children` entity list that the
# follow-up form reads, so it comes first.
SOURCES: dict[str, Form] = {
    form.form_id: form for form in (household_screening.FORM, child_followup.FORM)
}
