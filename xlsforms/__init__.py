"""The XLSForms phones fill in, and where to find them.

`diemtua demo` and tests publish them from here; the .xlsx files are built from the text
sources in `xlsforms/sources/` by `python -m xlsforms.build` (see xlsforms/README.md).
"""

from __future__ import annotations

from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent

# Publishing order: household_screening declares the `children` entity list that
# child_followup reads.
FORM_IDS: tuple[str, ...] = ("household_screening", "child_followup")

# The demo commune's village list, attached to both forms as `villages.csv`. A real
# commune uploads its own file under the same name.
VILLAGES_CSV = FORMS_DIR / "villages.csv"

ENTITY_LIST = "children"

# Media each form expects, by attachment name. `children.csv` is not a file here: the
# server serves the `children` entity list under that name.
ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "household_screening": ("villages.csv",),
    "child_followup": ("villages.csv", f"{ENTITY_LIST}.csv"),
}


def form_path(form_id: str) -> Path:
    """The committed .xlsx of a form, by form_id."""
    if form_id not in FORM_IDS:
        raise KeyError(f"unknown form {form_id!r}; known: {', '.join(FORM_IDS)}")
    return FORMS_DIR / f"{form_id}.xlsx"


FORMS: tuple[Path, ...] = tuple(form_path(form_id) for form_id in FORM_IDS)

__all__ = [
    "ATTACHMENTS",
    "ENTITY_LIST",
    "FORMS",
    "FORMS_DIR",
    "FORM_IDS",
    "VILLAGES_CSV",
    "form_path",
]
