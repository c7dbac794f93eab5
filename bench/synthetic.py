"""Seeded generator of Vietnamese child records and their re-reports, with ground truth.

A province of communes (~5,000 children each, ten villages), households with a head, a mother,
a father, siblings and twins (3 % of births, some named apart only by diacritics: Hưng/Hùng).
The **registry** is a first survey: one report per child, except that some households forgot
one twin. The **stream** is a re-survey in household submissions: re-reports (a child missing
now and then, newborns, households that moved village or commune), new households (some with a
namesake of a child in the same village), and second visits to a household already reported in
the stream. Every report passes through a collaborator with typing habits (no diacritics,
old-style tone marks, NFD, capitals, Telex residue, southern spellings of Hoàng and Vũ) and
per-record noise (typos, a dropped middle name, nicknames, swapped or partial dates, missing
personal ID and parents). The rates are in ``NOISE``; they are guesses, not measurements.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sync.dates import PartialDate
from sync.matching.records import ChildRecord, Sex
from sync.personal_id import make_personal_id

FAMILY = {"Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7.1, "Hoàng": 3, "Huỳnh": 2.1,
          "Phan": 4.5, "Vũ": 2, "Võ": 1.9, "Đặng": 2.1, "Bùi": 2, "Đỗ": 1.4, "Hồ": 1.3,
          "Ngô": 1.3, "Dương": 1, "Lý": 0.5, "Đinh": 0.8, "Trịnh": 0.6, "Mai": 0.5,
          "Lương": 0.5, "Đào": 0.5, "Cao": 0.4, "Tạ": 0.3, "Hà": 0.5, "Lâm": 0.4, "Châu": 0.3,
          "Kiều": 0.2, "Quách": 0.2, "Triệu": 0.3, "Lưu": 0.3, "Tô": 0.3, "Vương": 0.2}
MIDDLE = {"M": {"Văn": 30, "Minh": 10, "Đức": 8, "Quốc": 6, "Gia": 6, "Hoàng": 5, "Anh": 5,
                "Thành": 4, "Hữu": 4, "Công": 4, "Bảo": 5, "Tuấn": 3, "Duy": 3, "Quang": 4},
          "F": {"Thị": 35, "Ngọc": 9, "Thu": 6, "Thanh": 5, "Minh": 4, "Khánh": 4, "Bảo": 4,
                "Phương": 4, "Thuỳ": 4, "Hồng": 4, "Kim": 4, "Mai": 3, "Diệu": 3, "Hải": 3}}
GIVEN = {"M": """An Anh Bảo Bình Cường Dũng Duy Đạt Đức Dương Hải Hiếu Hoà Hoàng Huy Hùng Hưng
             Khang Khánh Khoa Khôi Kiên Lâm Long Lộc Lực Mạnh Minh Nam Nghĩa Nhân Phong Phúc
             Quân Quang Quý Sơn Tài Tâm Thắng Thành Thịnh Toàn Trí Trung Tú Tuấn Tùng Việt Vinh
             Vũ Hậu Thuận Tiến Hoàn Quyết Luân Tuân Mẫn Lân""".split(),
         "F": """An Anh Bích Châu Chi Dung Duyên Giang Hà Hạnh Hằng Hân Hiền Hoa Hoà Hồng Huệ
             Hương Huyền Lan Liên Linh Loan Mai My Nga Ngân Ngọc Nhi Nhung Oanh Phương Quỳnh
             Thảo Thanh Thu Thuỷ Thuý Thư Trang Trâm Uyên Vân Vy Xuân Yến Diệp Khuê Thoa Tuyết
             Xoan Hoè Ly""".split()}
TWIN_NAMES = {"M": [("Hưng", "Hùng"), ("Tuấn", "Tuân"), ("Phúc", "Lộc"), ("Minh", "Mẫn"),
                    ("Long", "Lân"), ("An", "Khang")],
              "F": [("Hoa", "Hoà"), ("Thu", "Thư"), ("Thuý", "Thuỷ"), ("Trang", "Trâm"),
                    ("Linh", "Lan")]}
NICKNAMES = "Bin Bống Tít Su Mít Na Cún Bơ Sóc Ben Bi Tôm Bon Bông Gạo Cốm Mun Ỉn".split()
SOUTHERN = {"Hoàng": "Huỳnh", "Vũ": "Võ"}
OLD_STYLE = {"oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa", "oè": "òe", "oé": "óe",
             "oẻ": "ỏe", "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy"}
TELEX = {"â": "aa", "ă": "aw", "ê": "ee", "ô": "oo", "ơ": "ow", "ư": "uw", "đ": "dd"}
TONE_KEYS = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
NOISE = {"ascii": 0.25, "old_tone": 0.5, "nfd": 0.1, "upper": 0.08, "telex": 0.04,
         "southern": 0.15, "name_typo": 0.04, "drop_middle": 0.04, "nickname_replaces": 0.01,
         "nickname_added": 0.02, "dob_swapped": 0.04, "dob_year_only": 0.05, "dob_month": 0.03,
         "dob_typo": 0.02, "dob_missing": 0.01, "sex_unknown": 0.01, "sex_wrong": 0.003,
         "has_pid": 0.55, "pid_given": 0.75, "pid_typo": 0.015, "mother_missing": 0.05,
         "father_missing": 0.12, "parent_typo": 0.03, "book_no": 0.4, "book_no_given": 0.7}
SURVEY = date(2026, 11, 1)


@dataclass
class Household:
    hh_id: int
    commune: str
    village: str
    head: str
    mother: str
    father: str
    book_no: str
    children: list[Child] = field(default_factory=list)


@dataclass
class Child:
    entity: int
    family: str
    middle: str
    given: str
    sex: str
    dob: date
    pid: str | None
    in_registry: bool = True


@dataclass
class Dataset:
    registry: list[ChildRecord]
    stream: list[list[ChildRecord]]  # one list per household submission
    entity_of: dict[str, int]  # record id → true child
    twin_pairs: list[tuple[int, int]]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# Zipf-like popularity with an offset: the commonest given name is about 7 % of children.
_GIVEN_WEIGHTS = {sex: [1 / (rank + 5) for rank in range(len(names))]
                  for sex, names in GIVEN.items()}


def _given(rng: random.Random, sex: str, avoid: set[str]) -> str:
    while True:
        name = rng.choices(GIVEN[sex], _GIVEN_WEIGHTS[sex])[0]
        if name not in avoid:
            return name


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.entities = 0
        self.records = 0
        self.submissions = 0
        self.twins: list[tuple[int, int]] = []
        self.issued: set[str] = set()

    def personal_id(self, sex: str, year: int) -> str:
        """A new number: the police never issue one twice (a typo can still hit another's)."""
        while True:
            pid = make_personal_id("001", sex, year, self.rng.randrange(1_000_000))
            if pid not in self.issued:
                self.issued.add(pid)
                return pid

    def _adult(self, sex: str, family: str | None = None) -> str:
        rng = self.rng
        return f"{family or _pick(rng, FAMILY)} {_pick(rng, MIDDLE[sex])} {_given(rng, sex, set())}"

    def _child(self, family: str, sex: str, dob: date, given: str) -> Child:
        self.entities += 1
        pid = None
        if self.rng.random() < NOISE["has_pid"]:
            pid = self.personal_id(sex, dob.year)
        return Child(self.entities, family, _pick(self.rng, MIDDLE[sex]), given, sex, dob, pid)

    def household(self, hh_id: int, commune: str, village: str) -> Household:
        rng = self.rng
        father, mother = self._adult("M"), self._adult("F")
        family = father.split()[0] if rng.random() < 0.95 else mother.split()[0]
        head = rng.choices([father, mother, self._adult("M", father.split()[0])], [70, 15, 15])[0]
        book = f"{rng.randrange(1, 10**6):06d}" if rng.random() < NOISE["book_no"] else ""
        hh = Household(hh_id, commune, village, head, mother, father, book)
        dob = SURVEY - timedelta(days=rng.randrange(365 * 17))
        used: set[str] = set()
        for _ in range(rng.choices([1, 2, 3, 4], [35, 40, 18, 7])[0]):
            if dob > SURVEY:
                break
            self.add_birth(hh, family, dob, used)
            dob += timedelta(days=rng.randrange(500, 1500))
        return hh

    def add_birth(self, hh: Household, family: str, dob: date, used: set[str]) -> None:
        rng = self.rng
        sex = rng.choice("MF")
        if rng.random() >= 0.03:
            given = _given(rng, sex, used)
            used.add(given)
            hh.children.append(self._child(family, sex, dob, given))
            return
        sex2 = sex if rng.random() < 0.66 else ("F" if sex == "M" else "M")
        if sex2 == sex and rng.random() < 0.4:
            names = rng.choice(TWIN_NAMES[sex])
        else:
            first = _given(rng, sex, used)
            names = (first, _given(rng, sex2, used | {first}))
        used.update(names)
        a, b = (self._child(family, s, dob, n) for s, n in zip((sex, sex2), names, strict=True))
        b.in_registry = rng.random() >= 0.15  # the first survey sometimes forgot one twin
        hh.children += [a, b]
        self.twins.append((a.entity, b.entity))

    # --- reports: a collaborator's typing habits, then per-record noise -----------------------

    def style(self) -> dict[str, bool]:
        """One collaborator's habits for a whole submission."""
        rng = self.rng
        return {k: rng.random() < NOISE[k] for k in
                ("ascii", "old_tone", "nfd", "upper", "telex", "southern")}

    def _token(self, token: str, style: dict[str, bool]) -> str:
        if style["telex"] and not token.isascii() and self.rng.random() < 0.4:
            return _telex(token)
        if style["ascii"]:
            return _strip_marks(token)
        if style["old_tone"] and not token.lower().startswith("qu"):
            for new, old in OLD_STYLE.items():
                if token.endswith(new):
                    return token[: -len(new)] + old
        return token

    def name(self, tokens: list[str], style: dict[str, bool], typo: float) -> str:
        rng = self.rng
        if len(tokens) == 3 and rng.random() < NOISE["drop_middle"]:
            tokens = [tokens[0], tokens[2]]
        if style["southern"] and tokens[0] in SOUTHERN and rng.random() < 0.5:
            tokens = [SOUTHERN[tokens[0]], *tokens[1:]]
        if rng.random() < typo:
            i = rng.choices(range(len(tokens)), [3] * (len(tokens) - 1) + [4])[0]
            tokens = [*tokens[:i], _typo(rng, tokens[i]), *tokens[i + 1:]]
        text = " ".join(self._token(t, style) for t in tokens)
        if style["upper"]:
            text = text.upper()
        if style["nfd"]:
            text = unicodedata.normalize("NFD", text)
        return text.replace(" ", "  ", 1) if rng.random() < 0.05 else text

    def _dob(self, dob: date) -> PartialDate | None:
        rng, r = self.rng, self.rng.random()
        if r < NOISE["dob_missing"]:
            return None
        r -= NOISE["dob_missing"]
        if r < NOISE["dob_year_only"]:
            return PartialDate(dob.year)
        r -= NOISE["dob_year_only"]
        if r < NOISE["dob_month"]:
            return PartialDate(dob.year, dob.month)
        r -= NOISE["dob_month"]
        day, month, year = dob.day, dob.month, dob.year
        if r < NOISE["dob_swapped"] and day <= 12 and day != month:
            day, month = month, day
        elif r < NOISE["dob_swapped"] + NOISE["dob_typo"]:
            which = rng.randrange(3)
            if which == 0:
                year += rng.choice((-1, 1))
            elif which == 1:
                day = min(max(day + rng.choice((-1, 1)), 1), 28)
            else:
                month = min(max(month + rng.choice((-1, 1)), 1), 12)
        text = (f"{year:04d}-{month:02d}-{day:02d}" if rng.random() < 0.7
                else f"{day}/{month}/{year}")
        return PartialDate.parse(text)

    def report(self, child: Child, hh: Household, submission: str,
               style: dict[str, bool]) -> ChildRecord:
        rng = self.rng
        self.records += 1
        given = child.given
        tokens = [child.family, child.middle, given]
        if rng.random() < NOISE["nickname_replaces"]:
            tokens[2] = rng.choice(NICKNAMES)
        full = self.name(tokens, style, NOISE["name_typo"])
        if rng.random() < NOISE["nickname_added"]:
            full += f" ({rng.choice(NICKNAMES)})"
        sex = child.sex if rng.random() >= NOISE["sex_wrong"] else ("F" if child.sex == "M"
                                                                   else "M")
        pid = ""
        if child.pid and rng.random() < NOISE["pid_given"]:
            pid = child.pid
            if rng.random() < NOISE["pid_typo"]:
                i = rng.randrange(6, 12)
                pid = pid[:i] + str((int(pid[i]) + rng.randrange(1, 10)) % 10) + pid[i + 1:]
        return ChildRecord(
            record_id=f"r{self.records}",
            submission_id=submission,
            full_name=full,
            sex=Sex.UNKNOWN if rng.random() < NOISE["sex_unknown"] else Sex(sex),
            dob=self._dob(child.dob),
            village=hh.village,
            commune=hh.commune,
            household_id=hh.book_no if rng.random() < NOISE["book_no_given"] else "",
            household_head=self.name(hh.head.split(), style, NOISE["parent_typo"]),
            mother_name="" if rng.random() < NOISE["mother_missing"]
            else self.name(hh.mother.split(), style, NOISE["parent_typo"]),
            father_name="" if rng.random() < NOISE["father_missing"]
            else self.name(hh.father.split(), style, NOISE["parent_typo"]),
            personal_id=pid,
        )

    def submission(self, hh: Household, children: list[Child],
                   entity_of: dict[str, int]) -> list[ChildRecord]:
        self.submissions += 1
        sub, style = f"s{self.submissions}", self.style()
        records = [self.report(c, hh, sub, style) for c in children]
        entity_of.update((r.record_id, c.entity) for r, c in zip(records, children, strict=True))
        return records


def _strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _telex(token: str) -> str:
    """The keystrokes a Telex user types for a syllable, tone key last (Nguyễn → Nguyeenx)."""
    out, tone = [], ""
    for char in token:
        lower = char.lower()
        base = unicodedata.normalize("NFD", lower)
        tone = next((TONE_KEYS[m] for m in base if m in TONE_KEYS), tone)
        plain = unicodedata.normalize("NFC", "".join(m for m in base if m not in TONE_KEYS))
        keys = TELEX.get(plain, plain)
        out.append(keys.capitalize() if char != lower else keys)
    return "".join(out) + tone


def _typo(rng: random.Random, token: str) -> str:
    if len(token) < 2:
        return token
    i = rng.randrange(len(token))
    op = rng.randrange(4)
    if op == 0:
        return token[:i] + rng.choice("aeiounhgtcm") + token[i + 1:]
    if op == 1 and len(token) > 2:
        return token[:i] + token[i + 1:]
    if op == 2:
        return token[:i] + token[i] + token[i:]
    i = min(i, len(token) - 2)
    return token[:i] + token[i + 1] + token[i] + token[i + 2:]


def _namesake(g: Generator, hh: Household, model: Child) -> None:
    """Make the household's first child a namesake of ``model``: same full name, sex and birth
    year (the same day, rarely), different parents."""
    rng, first = g.rng, hh.children[0]
    old_father = hh.father
    hh.father = " ".join([model.family, *hh.father.split()[1:]])
    hh.head = hh.father if hh.head == old_father else hh.head
    for child in hh.children:
        child.family = model.family
    first.middle, first.given, first.sex = model.middle, model.given, model.sex
    first.dob = model.dob if rng.random() < 0.05 else date(model.dob.year, 1, 1) + timedelta(
        days=rng.randrange(365))
    if first.pid:
        first.pid = g.personal_id(first.sex, first.dob.year)


def generate(registry_size: int, incoming: int, seed: int) -> Dataset:
    """A registry of about ``registry_size`` children and a stream of about ``incoming`` reports."""
    g = Generator(seed)
    rng = g.rng
    communes = [f"X{c:05d}" for c in range(max(1, round(registry_size / 5000)))]
    villages = {c: [f"{c}-T{v:02d}" for v in range(1, 11)] for c in communes}
    households: list[Household] = []
    by_village: dict[str, list[Household]] = {}
    entity_of: dict[str, int] = {}
    registry: list[ChildRecord] = []

    def new_household() -> Household:
        commune = rng.choice(communes)
        hh = g.household(len(households), commune, rng.choice(villages[commune]))
        households.append(hh)
        by_village.setdefault(hh.village, []).append(hh)
        return hh

    while len(registry) < registry_size:
        hh = new_household()
        registry += g.submission(hh, [c for c in hh.children if c.in_registry], entity_of)

    stream: list[list[ChildRecord]] = []
    resurvey = rng.sample(households, len(households))
    visited: list[tuple[Household, list[Child]]] = []
    count = 0
    while count < incoming:
        r = rng.random()
        if r < 0.70 and resurvey:
            hh = resurvey.pop()
            children = [c for c in hh.children if rng.random() < (0.97 if c.in_registry else 0.85)]
            if rng.random() < 0.06:
                before = len(hh.children)
                g.add_birth(hh, hh.children[0].family, SURVEY - timedelta(days=rng.randrange(180)),
                            {c.given for c in hh.children})
                children += hh.children[before:]
            if rng.random() < 0.05:  # moved: mostly within the commune
                commune = rng.choice(communes) if rng.random() < 0.2 else hh.commune
                hh.commune, hh.village = commune, rng.choice(villages[commune])
            if rng.random() < 0.02:
                hh.head = hh.mother
        elif r < 0.93 or not visited:
            hh = new_household()
            neighbours = by_village[hh.village]
            if rng.random() < 0.3 and len(neighbours) > 1:  # a namesake of a child next door
                _namesake(g, hh, rng.choice(rng.choice(neighbours[:-1]).children))
            children = list(hh.children)
        else:  # a second collaborator visits a household already reported in this stream
            hh, children = rng.choice(visited)
        if not children:
            continue
        visited.append((hh, children))
        stream.append(g.submission(hh, children, entity_of))
        count += len(children)
    return Dataset(registry, stream, entity_of, g.twins)
