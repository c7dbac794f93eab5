"""The special-circumstance categories, loaded from `catalogue.json` into frozen values.

Codes are data, not code (docs/categories.md §5): Article 10 of the Law on Children may gain groups
(docs/categories.md §2 marks the count of 14 as unverified against later laws), so a new code is a
new JSON entry, never a migration or an `if`. Codes are never reused or renumbered; a retired
code stays with ``active: false``.

Each category carries what the rest of the registry needs to treat it right:

* ``group`` — ``article10`` (the legal HCĐB groups, Art. 10 order), ``plan`` (the commune
  plan's wider markers), ``risk``, ``ageout`` (16–22 still entitled, docs/categories.md §4);
* ``urgent`` / ``deadline_hours`` — Decree 56 Art. 26's 12-hour intervention clock
  (docs/categories.md §3, §6 rule 3);
* ``sensitive`` — hidden from list views and redacted exports, opening it is logged
  (docs/privacy.md §4); ``visible_on_phone`` — may reach the ``children`` entity list;
* ``confirmed_by`` — the role that confirms a provisional category (the health station for
  health and disability items, docs/categories.md §5);
* ``unverified`` — notes where docs/categories.md marks the legal fact unverified.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from sync.categories._schema import Fields
from sync.categories.errors import CatalogueInvalid, UnknownCategory

CATALOGUE_FILE = "catalogue.json"
_CODE = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)*$")
_SUBCODE = re.compile(r"^[A-Z]+\.[0-9]+$")


class Group(StrEnum):
    ARTICLE10 = "article10"
    PLAN = "plan"
    RISK = "risk"
    AGEOUT = "ageout"


class Role(StrEnum):
    """Who confirms a provisional category (docs/privacy.md §3 roles)."""

    CP_OFFICER = "cp_officer"
    HEALTH_REVIEWER = "health_reviewer"


@dataclass(frozen=True, slots=True)
class Subcode:
    """A Decree 56 sub-group, e.g. ``A.3`` (orphan living with relatives)."""

    code: str
    label_vi: str
    label_en: str


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    group: Group
    label_vi: str
    label_en: str
    legal_basis: tuple[str, ...]
    urgent: bool
    sensitive: bool
    visible_on_phone: bool
    confirmed_by: Role
    article10_point: str | None = None
    legal_wording_vi: str | None = None
    legal_wording_en: str | None = None
    deadline_hours: int | None = None
    active: bool = True
    valid_from: date | None = None
    subcodes: tuple[Subcode, ...] = ()
    unverified: tuple[str, ...] = ()

    @property
    def is_article10(self) -> bool:
        return self.group is Group.ARTICLE10

    def subcode(self, code: str) -> Subcode | None:
        return next((sub for sub in self.subcodes if sub.code == code), None)

    def deadline_after(self, moment: datetime) -> datetime | None:
        """When the Decree 56 Art. 26 clock runs out for information received at `moment`."""
        if self.deadline_hours is None:
            return None
        return moment + timedelta(hours=self.deadline_hours)


@dataclass(frozen=True)
class Catalogue:
    """Every category in catalogue order (Article 10 order first, then markers)."""

    categories: tuple[Category, ...]
    urgent_signal_deadline_hours: int
    unverified: tuple[str, ...] = ()
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions = {category.code: n for n, category in enumerate(self.categories)}
        if len(positions) != len(self.categories):
            raise CatalogueInvalid("duplicate category codes")
        object.__setattr__(self, "_positions", positions)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def __contains__(self, code: object) -> bool:
        return code in self._positions

    def get(self, code: str) -> Category:
        """The category with this code; `UnknownCategory` if there is none."""
        try:
            return self.categories[self._positions[code]]
        except KeyError:
            raise UnknownCategory(code) from None

    def order(self, code: str) -> int:
        """Position in the catalogue, for sorting codes the way reports list them."""
        self.get(code)
        return self._positions[code]

    def codes(self) -> tuple[str, ...]:
        return tuple(category.code for category in self.categories)

    def in_group(self, group: Group) -> tuple[Category, ...]:
        return tuple(category for category in self.categories if category.group is group)

    def article10(self) -> tuple[Category, ...]:
        """The legal HCĐB groups (Luật Trẻ em Art. 10), in the law's order."""
        return self.in_group(Group.ARTICLE10)

    def urgent(self) -> tuple[Category, ...]:
        return tuple(category for category in self.categories if category.urgent)

    def sensitive(self) -> tuple[Category, ...]:
        return tuple(category for category in self.categories if category.sensitive)

    def visible_on_phone(self) -> tuple[Category, ...]:
        return tuple(category for category in self.categories if category.visible_on_phone)

    def urgent_signal_deadline(self, moment: datetime) -> datetime:
        """Deadline for an urgent screening signal (no carer, immediate danger) at `moment`."""
        return moment + timedelta(hours=self.urgent_signal_deadline_hours)


def _subcode(data: object, where: str, prefix: str) -> Subcode:
    fields = Fields(data, where, CatalogueInvalid)
    sub = Subcode(fields.text("code"), fields.text("label_vi"), fields.text("label_en"))
    fields.done()
    if not _SUBCODE.match(sub.code) or not sub.code.startswith(prefix + "."):
        raise CatalogueInvalid(f"{where}.code: {sub.code!r} must look like {prefix}.1")
    return sub


def _category(data: object, where: str) -> Category:
    fields = Fields(data, where, CatalogueInvalid)
    code = fields.text("code")
    if not _CODE.match(code):
        raise fields.fail("code", f"{code!r} is not an upper-case code like HCDB-A")
    try:
        group = Group(fields.text("group"))
        role = Role(fields.text("confirmed_by"))
        valid_from_text = fields.optional_text("valid_from")
        valid_from = date.fromisoformat(valid_from_text) if valid_from_text else None
    except ValueError as error:
        raise CatalogueInvalid(f"{where}: {error}") from None
    prefix = code.rsplit("-", 1)[-1]
    category = Category(
        code=code,
        group=group,
        label_vi=fields.text("label_vi"),
        label_en=fields.text("label_en"),
        legal_basis=fields.texts("legal_basis"),
        urgent=fields.flag("urgent"),
        sensitive=fields.flag("sensitive"),
        visible_on_phone=fields.flag("visible_on_phone"),
        confirmed_by=role,
        article10_point=fields.optional_text("article10_point"),
        legal_wording_vi=fields.optional_text("legal_wording_vi"),
        legal_wording_en=fields.optional_text("legal_wording_en"),
        deadline_hours=fields.optional_int("deadline_hours"),
        active=fields.flag("active", default=True),
        valid_from=valid_from,
        subcodes=tuple(
            _subcode(sub, f"{where}.subcodes[{n}]", prefix)
            for n, sub in enumerate(fields.objects("subcodes", optional=True))
        ),
        unverified=fields.texts("unverified", optional=True),
    )
    fields.done()
    _check_category(category, where)
    return category


def _check_category(category: Category, where: str) -> None:
    """The invariants a hand edit could break."""
    if not category.legal_basis:
        raise CatalogueInvalid(f"{where}.legal_basis: at least one reference is required")
    if category.is_article10 != (category.article10_point is not None):
        raise CatalogueInvalid(f"{where}: article10_point is required for (and only for) article10")
    if category.urgent != (category.deadline_hours is not None):
        raise CatalogueInvalid(f"{where}: an urgent category needs deadline_hours (and only it)")
    if category.deadline_hours is not None and category.deadline_hours <= 0:
        raise CatalogueInvalid(f"{where}.deadline_hours: must be positive")
    if category.sensitive and category.visible_on_phone:
        # docs/privacy.md §4: sensitive categories never leave the officer's screens.
        raise CatalogueInvalid(f"{where}: a sensitive category cannot be visible on phones")
    if len({sub.code for sub in category.subcodes}) != len(category.subcodes):
        raise CatalogueInvalid(f"{where}.subcodes: duplicate sub-codes")


def parse_catalogue(data: object, *, source: str = CATALOGUE_FILE) -> Catalogue:
    """Validate already-decoded JSON into a `Catalogue` (raises `CatalogueInvalid`)."""
    fields = Fields(data, source, CatalogueInvalid)
    fields.optional_text("about")
    categories = tuple(
        _category(item, f"{source}.categories[{n}]")
        for n, item in enumerate(fields.objects("categories"))
    )
    hours = fields.optional_int("urgent_signal_deadline_hours")
    if hours is None or hours <= 0:
        raise fields.fail("urgent_signal_deadline_hours", "a positive number of hours is required")
    fields.text("urgent_signal_basis")
    unverified = fields.texts("unverified", optional=True)
    fields.done()
    codes = [category.code for category in categories]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise CatalogueInvalid(f"{source}: duplicate codes {', '.join(duplicates)}")
    points = [c.article10_point for c in categories if c.article10_point is not None]
    if len(set(points)) != len(points):
        raise CatalogueInvalid(f"{source}: two categories claim the same Article 10 point")
    return Catalogue(categories, hours, unverified)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read a catalogue file; the packaged `catalogue.json` when `path` is None."""
    if path is None:
        text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text("utf-8")
        source = CATALOGUE_FILE
    else:
        text, source = path.read_text("utf-8"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogueInvalid(f"{source}: not JSON ({error})") from None
    return parse_catalogue(data, source=source)


@cache
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read once per process."""
    return load_catalogue()
