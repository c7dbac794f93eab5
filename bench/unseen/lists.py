"""Which child appears in which list, and the rows each list writes.

One commune's lists, imported in this order (README "registry import"):

1. ``01_danh_sach`` — the commune's list, compiled by an officer from the birth and household
   registers in January: nearly every child once, full marks mostly, some in capitals.
2. ``02_tai_khao_sat`` — the re-survey in June: collaborators at every household's door,
   writing what the family says (home names, no marks, ages instead of dates), and the
   babies born since.
3. ``03_tham_lan_2`` — second visits in November to one household in five, by another
   collaborator.
4. ``04_gui_lai`` — re-sent re-survey households, a field corrected (or not).
5. ``05_chuyen_den`` — movers: households that moved to another village of the commune, and
   households arrived from elsewhere (new to this commune's registry; a household that left
   simply stops appearing). Children who move between communes are in two projects, never
   one registry: the truth pairs are counted within a commune.

The ground truth (`TRUTH_COLUMNS`) goes to a side file; the import files never hold it.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bench.unseen import noise
from bench.unseen.noise import Profile
from bench.unseen.population import LIST_DATE, Child, Commune, Household

TODAY = date(2026, 11, 30)  # the day the lists are imported
IMPORT_COLUMNS = ["record_id", "source", "submission_id", "collaborator_id", "submitted_at",
                  "commune_code", "commune", "village", "household_head", "full_name", "sex",
                  "dob", "mother_name", "father_name", "guardian_name", "personal_id",
                  "special_circumstances"]
TRUTH_COLUMNS = ["commune_code", "file", "record_id", "child", "household", "twin_of", "sex",
                 "dob", "personal_id", "id_kind", "tags"]

COMMUNE_LIST = Profile(
    no_marks=0.06, telex=0.01, typo=0.03, upper=0.12, old_tone_style=0.25, home_instead=0.0,
    home_beside=0.03, given_first=0.0, drop_middle=0.01, surname_only=0.0, dob_year_only=0.0,
    dob_jan_first=0.5, dob_swap=0.02, dob_days_off=0.01, dob_year_off=0.01, sex_blank=0.01,
    id_written=0.8, id_mistyped=0.01, id_sex_digit=0.01, id_excel=0.05, id_twin_copy=0.05,
    mother=0.9, father=0.75)
DOORSTEP = Profile(
    no_marks=0.35, telex=0.05, typo=0.08, upper=0.03, old_tone_style=0.3, home_instead=0.06,
    home_beside=0.08, given_first=0.03, drop_middle=0.12, surname_only=0.01,
    dob_year_only=0.15, dob_jan_first=0.3, dob_swap=0.04, dob_days_off=0.04,
    dob_year_off=0.04, sex_blank=0.04, id_written=0.45, id_mistyped=0.03, id_sex_digit=0.02,
    id_excel=0.0, id_twin_copy=0.08, mother=0.75, father=0.5)
SECOND_VISIT = Profile(**{**DOORSTEP.__dict__, "no_marks": 0.45, "drop_middle": 0.18,
                          "home_instead": 0.08, "id_written": 0.35})
MOVERS = Profile(**{**DOORSTEP.__dict__, "id_written": 0.6, "dob_year_only": 0.1})


@dataclass
class Written:
    """One list's rows and their truth."""

    name: str
    rows: list[dict[str, str]] = field(default_factory=list)
    truth: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Plan:
    """What happens to each household between the lists."""

    arrived: set[str] = field(default_factory=set)  # not on the January list
    departed: set[str] = field(default_factory=set)  # gone before the re-survey
    moved: dict[str, str] = field(default_factory=dict)  # household → new village
    movers_in_resurvey: set[str] = field(default_factory=set)


class Writer:
    """Renders visits of one commune into rows."""

    def __init__(self, rng: random.Random, commune: Commune, home_column: bool) -> None:
        self.rng, self.commune, self.home_column = rng, commune, home_column
        self.by_id = {child.id: child for child in commune.children}

    def village(self, name: str, exact: bool) -> str:
        if exact:
            return name
        roll = self.rng.random()
        if roll < 0.25:
            return noise.strip_marks(name)
        if roll < 0.35:
            return name.lower()
        if roll < 0.40:
            return name.split(" ", 1)[1]
        return name

    def row(self, out: Written, tag: str, child: Child, p: Profile, visit: date,
            village: str, submission: str, collaborator: str, head: str) -> dict[str, str]:
        rng = self.rng
        home = child.home_name
        full, home_cell, tags = noise.write_name(rng, child.name.family, child.name.middle,
                                                 child.name.given, home, p,
                                                 home_column=self.home_column)
        dob, dob_tags = noise.write_dob(rng, child.dob, child.dob_known, visit, p)
        sex = "" if rng.random() < p.sex_blank else rng.choice(
            {"M": ("Nam", "Nam", "M"), "F": ("Nữ", "Nữ", "F")}[child.sex])
        twin = self.by_id[child.twin_of].personal_id if child.twin_of in self.by_id else ""
        twin = twin or next((c.personal_id for c in child.household.children
                             if c.twin_of == child.id), "")
        number, kind = noise.write_personal_id(rng, child.personal_id, twin, p)
        record_id = f"{tag}-{len(out.rows) + 1:06d}"
        row = {"record_id": record_id, "source": "", "submission_id": submission,
               "collaborator_id": collaborator, "submitted_at": visit.isoformat(),
               "commune_code": self.commune.code, "commune": self.commune.name,
               "village": village, "household_head": head, "full_name": full,
               "sex": sex, "dob": dob,
               "mother_name": noise.write_adult(rng, child.mother.full, p)
               if rng.random() < p.mother else "",
               "father_name": noise.write_adult(rng, child.father.full, p)
               if rng.random() < p.father else "",
               "guardian_name": "", "personal_id": number, "special_circumstances": ""}
        if self.home_column:
            row["home_name"] = home_cell
        out.rows.append(row)
        out.truth.append({
            "commune_code": self.commune.code, "file": out.name, "record_id": record_id,
            "child": child.id, "household": child.household.id, "twin_of": child.twin_of,
            "sex": {"Nam": "M", "M": "M", "Nữ": "F", "F": "F"}.get(sex, ""), "dob": dob,
            "personal_id": number.replace(" ", ""), "id_kind": kind,
            "tags": ";".join(tags + dob_tags)})
        return row

    def visit(self, out: Written, tag: str, household: Household, p: Profile, when: date,
              village: str, *, keep: float = 0.97, exact_village: bool = False) -> None:
        """One household visit: its children born by then, as one submission."""
        rng = self.rng
        submission = f"{tag}-{household.id}-{when:%m%d}"
        collaborator = f"CTV-{self.commune.villages.index(village) + 1:02d}" \
            if village in self.commune.villages else "CTV-00"
        head = noise.write_adult(rng, household.head.full, p)
        written = self.village(village, exact_village)
        for child in household.children:
            if child.dob <= when - timedelta(days=3) and rng.random() < keep:
                self.row(out, tag, child, p, when, written, submission, collaborator, head)


def plan(rng: random.Random, commune: Commune) -> Plan:
    result = Plan()
    for household in commune.households:
        roll = rng.random()
        if roll < 0.03:
            result.arrived.add(household.id)
        elif roll < 0.05:
            result.departed.add(household.id)
        elif roll < 0.09 and len(commune.villages) > 1:
            result.moved[household.id] = rng.choice(
                [v for v in commune.villages if v != household.village])
            if rng.random() < 0.5:
                result.movers_in_resurvey.add(household.id)
    return result


def _day(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(days))


def write_commune(rng: random.Random, commune: Commune, *,
                  home_column: bool) -> list[Written]:
    """The five lists of one commune, in import order."""
    writer, p = Writer(rng, commune, home_column), plan(rng, commune)
    lists = [Written(name) for name in ("01_danh_sach", "02_tai_khao_sat", "03_tham_lan_2",
                                        "04_gui_lai", "05_chuyen_den")]
    book_numbers = rng.random() < 0.7  # the list carries the household book's number
    for household in commune.households:
        if household.id in p.arrived:
            continue
        submission = f"SHK-{household.id}" if book_numbers else ""
        head = noise.write_adult(rng, household.head.full, COMMUNE_LIST)
        for child in household.children:
            if child.dob <= LIST_DATE - timedelta(days=20) and rng.random() < 0.94:
                writer.row(lists[0], "DS", child, COMMUNE_LIST, LIST_DATE, household.village,
                           submission, "CB-XA", head)
    resurveyed = []
    for household in commune.households:
        if household.id in p.arrived or household.id in p.departed:
            continue
        if household.id in p.moved and household.id not in p.movers_in_resurvey:
            continue
        if rng.random() < 0.92:
            village = p.moved.get(household.id, household.village)
            writer.visit(lists[1], "KS", household, DOORSTEP,
                         _day(rng, date(2026, 6, 1), 30), village)
            resurveyed.append(household)
    for household in resurveyed:
        if rng.random() < 0.2:
            writer.visit(lists[2], "TH", household, SECOND_VISIT,
                         _day(rng, date(2026, 11, 2), 27),
                         p.moved.get(household.id, household.village), keep=0.95)
    _resubmissions(rng, lists[1], lists[3], writer)
    for household in commune.households:
        moved_late = household.id in p.moved and household.id not in p.movers_in_resurvey
        if household.id in p.arrived or moved_late:
            writer.visit(lists[4], "CD", household, MOVERS, _day(rng, date(2026, 11, 24), 4),
                         p.moved.get(household.id, household.village))
    return lists


def _resubmissions(rng: random.Random, source: Written, out: Written, writer: Writer) -> None:
    """One re-survey visit in twelve sent again: the same rows under new ids, one field fixed
    (the name written properly, the date of birth, the personal ID) or none."""
    visits: dict[str, list[int]] = {}
    for i, row in enumerate(source.rows):
        visits.setdefault(row["submission_id"], []).append(i)
    for submission, indexes in visits.items():
        if rng.random() >= 1 / 12:
            continue
        fix = rng.choice(("name", "dob", "id", "none"))
        for i in indexes:
            row, truth = dict(source.rows[i]), dict(source.truth[i])
            child = writer.by_id[truth["child"]]
            if fix == "name":
                row["full_name"], truth["tags"] = child.name.full, "fixed_name"
            elif fix == "dob":
                row["dob"], truth["dob"] = child.dob.isoformat(), child.dob.isoformat()
                truth["tags"] = "fixed_dob"
            elif fix == "id" and child.personal_id:
                row["personal_id"] = truth["personal_id"] = child.personal_id
                truth["id_kind"], truth["tags"] = "valid", "fixed_id"
            record_id = f"GL-{len(out.rows) + 1:06d}"
            row.update(record_id=record_id, submission_id=f"GL-{submission}",
                       submitted_at=date(2026, 11, 26).isoformat())
            truth.update(file=out.name, record_id=record_id)
            out.rows.append(row)
            out.truth.append(truth)


def save(lists: list[Written], folder: Path, header: list[str]) -> list[Path]:
    """Each list as a CSV import file; returns their paths in import order."""
    paths = []
    for written in lists:
        path = folder / f"{written.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            out = csv.DictWriter(handle, fieldnames=header)
            out.writeheader()
            out.writerows(written.rows)
        paths.append(path)
    return paths


def truth_rows(lists: list[Written]) -> Iterator[dict[str, str]]:
    for written in lists:
        yield from written.truth
