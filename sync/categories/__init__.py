"""Special-circumstance categories: the catalogue, the per-form rules, derivation, status.

Plain Python (no Flask, no database): the sync worker derives provisional categories from
each screened child (`provisional_categories`), the registry applies them to the child's
category episodes (`apply_derived`) and raises the flags `flags_to_raise` returns. Codes and
their legal facts live in `catalogue.json`; each form's rules in one JSON file
(`derive.FORM_RULES`). See README.md in this folder for the decisions.
"""

from sync.categories.catalogue import (
    Catalogue,
    Category,
    Group,
    Role,
    Subcode,
    default_catalogue,
    load_catalogue,
)
from sync.categories.derive import (
    FORM_RULES,
    DerivedCategory,
    Reason,
    forms_with_rules,
    provisional_categories,
    provisional_categories_each,
    ruleset_for,
)
from sync.categories.errors import (
    CatalogueInvalid,
    CategoryError,
    InvalidTransition,
    NoRulesForForm,
    RulesInvalid,
    UnknownCategory,
)
from sync.categories.status import (
    CategoryStatus,
    ChildCategory,
    FlagKind,
    FlagSpec,
    HistoryEntry,
    apply_derived,
    flags_to_raise,
    open_category,
    phone_codes,
)

__all__ = [
    "FORM_RULES",
    "Catalogue",
    "CatalogueInvalid",
    "Category",
    "CategoryError",
    "CategoryStatus",
    "ChildCategory",
    "DerivedCategory",
    "FlagKind",
    "FlagSpec",
    "Group",
    "HistoryEntry",
    "InvalidTransition",
    "NoRulesForForm",
    "Reason",
    "Role",
    "RulesInvalid",
    "Subcode",
    "UnknownCategory",
    "apply_derived",
    "default_catalogue",
    "flags_to_raise",
    "forms_with_rules",
    "load_catalogue",
    "open_category",
    "phone_codes",
    "provisional_categories",
    "provisional_categories_each",
    "ruleset_for",
]
