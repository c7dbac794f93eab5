"""Errors of the category layer, as values with stable codes.

Each surface (API, CLI, sync worker) turns them into its own format; the `code` is what a
caller branches on, the message is for people.
"""

from __future__ import annotations


class CategoryError(ValueError):
    """Base class: `code` names the problem for callers."""

    code = "category_error"


class CatalogueInvalid(CategoryError):
    """`catalogue.json` (or a catalogue given by a commune) breaks a rule of its schema."""

    code = "catalogue_invalid"


class UnknownCategory(CategoryError, KeyError):
    """A category code that the catalogue does not hold."""

    code = "unknown_category"

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown category code {code!r}")
        self.category_code = code

    def __str__(self) -> str:  # KeyError would quote the message again
        return str(self.args[0])


class RulesInvalid(CategoryError):
    """A form's rule file breaks the rule language or names an unknown category."""

    code = "rules_invalid"


class NoRulesForForm(CategoryError):
    """No rule file is declared for this form id (see `derive.FORM_RULES`)."""

    code = "no_rules_for_form"

    def __init__(self, form_id: str) -> None:
        super().__init__(f"no category rules are declared for form {form_id!r}")
        self.form_id = form_id


class InvalidTransition(CategoryError):
    """A status change the lifecycle does not allow (e.g. confirming an ended category)."""

    code = "invalid_transition"
