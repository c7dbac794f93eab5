"""The true population of the unseen registry: communes, villages, households and children.

Assumptions (each a parameter of `draw_commune`; sources in `bench.unseen.names`):

* Children are under 16 on the commune list's date (Law on Children 2016, Art. 1).
* Children per household that has children: 1 (36 %), 2 (44 %), 3 (14 %), 4 (5 %), 5 (1 %) in
  the lowlands, more in mountain communes (census 2019: average household 3.5 people, total
  fertility 2.09; higher among the Mông) **[U: the split by children is an assumption]**.
* One household in ten holds two families (grandparents, a son and his brother's family): the
  children are cousins, with the same family name, different mothers and close ages.
* Sex ratio at birth 112 boys per 100 girls (census 2019: 111.5).
* Twins: 1.2 % of deliveries (Monden, Pison & Smits, "Twin Peaks", *Human Reproduction* 36(6),
  2021: ~12 per 1,000 deliveries worldwide, lower in Asia; the brief asks 1–2 %).
* Personal IDs: issued at birth registration since the Đề án 06 rollout (2022), so most young
  children have one and fewer older ones; mountain communes fewer **[U]**.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from bench.unseen import names
from bench.unseen.personal_ids import issue

LIST_DATE = date(2026, 1, 12)  # the commune list was compiled then
CHILDREN_PER_HOUSEHOLD = {False: ((1, 36), (2, 44), (3, 14), (4, 5), (5, 1)),
                          True: ((1, 20), (2, 30), (3, 25), (4, 15), (5, 10))}
TWIN_RATE = 0.012
BOY_SHARE = 112 / 212


def weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([item for item, _ in table], [w for _, w in table])[0]


def zipf_choice(rng: random.Random, items: tuple[str, ...]) -> str:
    """Popular names first: weight 1/(rank+3), a gentle Zipf tail."""
    return rng.choices(items, [1 / (rank + 3) for rank in range(len(items))])[0]


@dataclass(frozen=True)
class Name:
    family: str
    middle: str
    given: str

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.family, self.middle, self.given) if part)


@dataclass
class Child:
    id: str
    name: Name
    sex: str  # "M" / "F"
    dob: date
    dob_known: str  # what the birth register holds: "day", "month" or "year"
    home_name: str
    personal_id: str
    household: Household
    mother: Name
    father: Name
    twin_of: str = ""


@dataclass
class Household:
    id: str
    village: str
    head: Name
    mountain: bool
    children: list[Child] = field(default_factory=list)


@dataclass
class Commune:
    code: str
    name: str
    province: str
    mountain: bool
    south: bool
    villages: list[str]
    households: list[Household] = field(default_factory=list)

    @property
    def children(self) -> list[Child]:
        return [child for household in self.households for child in household.children]


class People:
    """Draws names and children for one commune."""

    def __init__(self, rng: random.Random, commune: Commune, counter: list[int]) -> None:
        self.rng, self.commune, self.counter = rng, commune, counter

    def _family(self) -> str:
        rng, commune = self.rng, self.commune
        if commune.mountain and rng.random() < 0.85:
            return weighted(rng, names.MONG_CLANS if rng.random() < 0.6 else names.THAI_FAMILY)
        family = weighted(rng, names.KINH_FAMILY)
        return names.SOUTHERN_SPELLING.get(family, family) if commune.south else family

    def adult(self, sex: str, family: str = "") -> Name:
        rng, family = self.rng, family or self._family()
        if family in dict(names.MONG_CLANS):
            return Name(family, "A" if sex == "M" else "Thị",
                        rng.choice(names.MONG_BOY if sex == "M" else names.MONG_GIRL))
        middle = weighted(rng, names.MAN_MIDDLE if sex == "M" else names.WOMAN_MIDDLE)
        given = zipf_choice(rng, names.MAN_GIVEN if sex == "M" else names.WOMAN_GIVEN)
        return Name(family, middle, given)

    def child_name(self, family: str, sex: str, taken: set[str], given: str = "") -> Name:
        rng = self.rng
        pool: tuple[str, ...]
        if family in dict(names.MONG_CLANS):
            pool = names.MONG_BOY if sex == "M" else names.MONG_GIRL
            middle = "A" if sex == "M" else rng.choice(("Thị", "Thị", "Mỷ"))
        else:
            pool = names.BOY_GIVEN if sex == "M" else names.GIRL_GIVEN
            middle = weighted(rng, names.BOY_MIDDLE if sex == "M" else names.GIRL_MIDDLE)
            if rng.random() < 0.15:  # a two-word given name: Nguyễn Ngọc Bảo Anh
                middle = f"{middle} {rng.choice(('Bảo', 'Gia', 'Minh', 'Khánh', 'Tuệ'))}"
        while not given or given in taken:
            given = zipf_choice(rng, pool)
        taken.add(given)
        return Name(family, middle, given)

    def _dob_known(self) -> str:
        rng = self.rng
        if self.commune.mountain:
            return rng.choices(("day", "month", "year"), (70, 5, 25))[0]
        return rng.choices(("day", "month", "year"), (95, 1, 4))[0]

    def _personal_id(self, sex: str, dob: date) -> str:
        rng = self.rng
        share = 0.92 if dob.year >= 2021 else 0.75 if dob.year >= 2016 else 0.6
        if self.commune.mountain:
            share *= 0.8
        if rng.random() >= share:
            return ""
        province = (self.commune.province if rng.random() < 0.92
                    else rng.choice(names.WORK_PROVINCES))
        return issue(rng, province, sex, dob.year)

    def _new_id(self) -> str:
        self.counter[0] += 1
        return f"P{self.counter[0]:07d}"

    def family_unit(self, household: Household, mother: Name, father: Name,
                    taken: set[str], latest: date) -> None:
        """A mother's children, youngest born before `latest`, spaced 1.5–5 years."""
        rng = self.rng
        count = int(weighted(rng, tuple((str(n), w) for n, w in
                                        CHILDREN_PER_HOUSEHOLD[household.mountain])))
        born = latest - timedelta(days=rng.randrange(0, 16 * 365))
        for _ in range(count):
            if (LIST_DATE - born).days >= 16 * 365:
                break
            twins = rng.random() < TWIN_RATE
            self._birth(household, mother, father, taken, born, twins)
            born -= timedelta(days=rng.randrange(540, 1825))

    def _birth(self, household: Household, mother: Name, father: Name, taken: set[str],
               born: date, twins: bool) -> None:
        rng = self.rng
        pair = rng.choice(names.TWIN_PAIRS) if twins and rng.random() < 0.5 else ("", "")
        first: Child | None = None
        for given in pair if twins else ("",):
            sex = "M" if rng.random() < BOY_SHARE else "F"
            if first is not None and rng.random() < 0.6:
                sex = first.sex  # same-sex twins are the commoner kind
            name = self.child_name(father.family, sex, taken, given)
            if first is not None and name.family not in dict(names.MONG_CLANS):
                name = Name(name.family, first.name.middle, name.given)
            home = rng.choice(names.HOME_NAMES) if rng.random() < 0.45 else ""
            child = Child(self._new_id(), name, sex, born, self._dob_known(), home,
                          self._personal_id(sex, born), household, mother, father,
                          twin_of=first.id if first else "")
            household.children.append(child)
            first = first or child


def draw_commune(rng: random.Random, index: int, children: int, *, mountain: bool,
                 south: bool, province: str, counter: list[int], latest: date) -> Commune:
    """One commune with about `children` children born up to `latest` (the last visit)."""
    word = rng.sample(names.COMMUNE_WORDS, 2)
    pool = names.MOUNTAIN_VILLAGES if mountain else names.LOWLAND_VILLAGES
    villages = rng.sample(pool, rng.randint(5, min(10, len(pool))))
    commune = Commune(f"{10000 + 97 * index:05d}", f"Xã {word[0]} {word[1]}", province,
                      mountain, south, villages)
    people = People(rng, commune, counter)
    while len(commune.children) < children:
        number = len(commune.households) + 1
        father = people.adult("M")
        household = Household(f"{commune.code}-H{number:05d}", rng.choice(villages), father,
                              mountain)
        taken: set[str] = set()
        people.family_unit(household, people.adult("F"), father, taken, latest)
        if rng.random() < 0.10:  # the father's brother's family lives with them
            uncle = people.adult("M", father.family)
            people.family_unit(household, people.adult("F"), uncle, taken, latest)
            household.head = people.adult("M", father.family)  # the grandfather
        elif rng.random() < 0.08:  # the mother heads the household
            household.head = household.children[0].mother if household.children else father
        if household.children:
            commune.households.append(household)
    return commune
