"""The small vocabulary the form sources are written in: bilingual text, survey rows,
choice lists and a form (its four XLSForm sheets).

A source module builds plain rows (column name → cell text); `xlsforms.build` writes them
to .xlsx with the columns in `SURVEY_COLUMNS` order. Vietnamese is always the default
language, so every translatable cell is a `T(vi, en)` pair and expands to two columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sync.field_policy import NAMESPACE, Sensitivity

VI = "Vietnamese (vi)"
EN = "English (en)"
LANGUAGES = (VI, EN)
ENTITY_LIST = "children"

# The field policy (docs/access.md "Declaring a form's sensitive fields"): custom bind
# columns that pyxform writes as `diemtua:*` attributes of the question's (or group's)
# <bind>, under the prefix the settings sheet's `namespaces` column declares.
SENSITIVITY_COLUMN = "bind::diemtua:sensitivity"
VILLAGE_COLUMN = "bind::diemtua:village"
NAMESPACES = f'diemtua="{NAMESPACE}"'


@dataclass(frozen=True)
class T:
    """One text in both languages: Vietnamese first (the form's default), then English."""

    vi: str
    en: str


Row = dict[str, str]


@dataclass(frozen=True)
class Check:
    """A constraint with its message, for constraints shared between questions."""

    expression: str
    message: T


# Column order of the survey sheet. Only the columns a form uses are written.
SURVEY_COLUMNS: tuple[str, ...] = (
    "type",
    "name",
    f"label::{VI}",
    f"label::{EN}",
    f"hint::{VI}",
    f"hint::{EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{VI}",
    f"constraint_message::{EN}",
    "appearance",
    "calculation",
    "trigger",
    "repeat_count",
    "choice_filter",
    "parameters",
    "save_to",
    SENSITIVITY_COLUMN,
    VILLAGE_COLUMN,
)
CHOICES_COLUMNS: tuple[str, ...] = ("list_name", "name", f"label::{VI}", f"label::{EN}")
SETTINGS_COLUMNS: tuple[str, ...] = (
    "form_title",
    "form_id",
    "version",
    "default_language",
    "instance_name",
    "namespaces",
)
ENTITIES_COLUMNS: tuple[str, ...] = ("list_name", "label", "entity_id", "create_if", "update_if")
TRANSLATABLE = ("label", "hint", "constraint_message")


def q(
    type_: str,
    name: str | None = None,
    label: T | None = None,
    *,
    hint: T | None = None,
    required: bool = False,
    relevant: str | None = None,
    constraint: str | None = None,
    constraint_message: T | None = None,
    check: Check | None = None,
    appearance: str | None = None,
    calculation: str | None = None,
    trigger: str | None = None,
    repeat_count: str | None = None,
    choice_filter: str | None = None,
    parameters: str | None = None,
    save_to: str | None = None,
    sensitivity: Sensitivity | None = None,
    village: bool = False,
) -> Row:
    """One survey row. A constraint without a message in both languages is refused here,
    so no phone ever shows a bare "Sorry, this response is invalid!".

    `sensitivity` declares who may read the answer (on a `begin_group`: everything inside
    it); `village` marks the answer that names the submission's village."""
    if check is not None:
        constraint, constraint_message = check.expression, check.message
    if constraint and constraint_message is None:
        raise ValueError(f"{name}: a constraint needs a constraint_message in vi and en")
    row: Row = {"type": type_}
    if name:
        row["name"] = name
    texts = {"label": label, "hint": hint, "constraint_message": constraint_message}
    plain = {
        "required": "yes" if required else None,
        "relevant": relevant,
        "constraint": constraint,
        "appearance": appearance,
        "calculation": calculation,
        "trigger": trigger,
        "repeat_count": repeat_count,
        "choice_filter": choice_filter,
        "parameters": parameters,
        "save_to": save_to,
        SENSITIVITY_COLUMN: Sensitivity(sensitivity).value if sensitivity else None,
        VILLAGE_COLUMN: "yes" if village else None,
    }
    for column, text in texts.items():
        if text is not None:
            row[f"{column}::{VI}"] = text.vi
            row[f"{column}::{EN}"] = text.en
    for column, value in plain.items():
        if value:
            row[column] = value
    return row


def calc(
    name: str,
    calculation: str,
    *,
    save_to: str | None = None,
    sensitivity: Sensitivity | None = None,
) -> Row:
    return q("calculate", name, calculation=calculation, save_to=save_to, sensitivity=sensitivity)


def choice_list(list_name: str, items: Iterable[tuple[str, str, str]]) -> list[Row]:
    """Choice rows from (name, Vietnamese label, English label) triples."""
    return [
        {"list_name": list_name, "name": name, f"label::{VI}": vi, f"label::{EN}": en}
        for name, vi, en in items
    ]


@dataclass(frozen=True)
class Form:
    """An XLSForm: the rows of its sheets. `title` is Vietnamese (settings has one title)."""

    form_id: str
    title: str
    version: str
    instance_name: str
    survey: list[Row]
    choices: list[Row]
    entities: list[Row] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.form_id}.xlsx"

    def settings(self) -> list[Row]:
        """The settings row; the `diemtua` namespace is declared exactly when a survey row
        uses one of its columns (without it pyxform writes an unbound prefix: no readable XML)."""
        row = {
            "form_title": self.title,
            "form_id": self.form_id,
            "version": self.version,
            "default_language": VI,
            "instance_name": self.instance_name,
        }
        if any(SENSITIVITY_COLUMN in r or VILLAGE_COLUMN in r for r in self.survey):
            row["namespaces"] = NAMESPACES
        return [row]

    def sheets(self) -> dict[str, tuple[tuple[str, ...], list[Row]]]:
        """Sheet name → (column order, rows), in the order the workbook lists them."""
        sheets = {
            "survey": (SURVEY_COLUMNS, self.survey),
            "choices": (CHOICES_COLUMNS, self.choices),
            "settings": (SETTINGS_COLUMNS, self.settings()),
        }
        if self.entities:
            sheets["entities"] = (ENTITIES_COLUMNS, self.entities)
        return sheets


def used_columns(order: tuple[str, ...], rows: Iterable[Mapping[str, str]]) -> list[str]:
    """The columns of `order` that some row fills; unknown columns are an error."""
    rows = list(rows)
    seen = {column for row in rows for column in row}
    unknown = seen - set(order)
    if unknown:
        raise ValueError(f"unknown XLSForm columns: {sorted(unknown)}")
    return [column for column in order if column in seen]
