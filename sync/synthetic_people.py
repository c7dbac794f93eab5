"""Who lives in a synthetic household, and what the family tells the enumerator.

The family comes first — its situation (both parents at home, father working away, left-behind
children with their grandparents, a widowed mother, orphans …), its ethnicity and poverty
status, parents and children with Vietnamese names and plausible birth spacing — and every
answer follows from it, in the form's own choice codes. `synthetic_households` then keeps only
what the form asks and adds its calculations.

Family names follow their real frequency among the Kinh (Nguyễn about 38 %); minority
households take their group's usual family names. Children's family name is the father's,
except where the father is unknown. Rates are plausible guesses, not statistics.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

KINH_FAMILY = {"Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7.1, "Hoàng": 3.3, "Huỳnh": 1.8,
               "Phan": 4.5, "Vũ": 2.4, "Võ": 1.5, "Đặng": 2.1, "Bùi": 2, "Đỗ": 1.4, "Hồ": 1.3,
               "Ngô": 1.3, "Dương": 1, "Lý": 0.5, "Đinh": 0.7, "Trịnh": 0.5, "Đào": 0.5,
               "Mai": 0.4, "Cao": 0.4, "Lương": 0.4, "Hà": 0.4, "Tạ": 0.3, "Chu": 0.3,
               "Lưu": 0.3, "Kiều": 0.2, "Tô": 0.2, "Quách": 0.2}
# Ethnic group → (share of households, its usual family names).
ETHNIC_GROUPS: dict[str, tuple[float, dict[str, float]]] = {
    "kinh": (84, KINH_FAMILY),
    "muong": (7, {"Bùi": 5, "Đinh": 3, "Quách": 2, "Hà": 2, "Xa": 1}),
    "thai": (3, {"Lò": 3, "Lường": 2, "Cầm": 1, "Quàng": 1, "Vi": 1}),
    "tay": (3, {"Hoàng": 3, "Nông": 3, "Lương": 2, "Ma": 1}),
    "dao": (1.5, {"Triệu": 3, "Bàn": 2, "Đặng": 1}),
    "hmong": (1.5, {"Giàng": 2, "Sùng": 2, "Vàng": 2, "Thào": 1, "Lầu": 1}),
}
# Parents' generation: Văn and Thị dominate; children born since 2008 have more varied names.
ADULT_MIDDLE = {"M": {"Văn": 55, "Đức": 8, "Minh": 7, "Quang": 5, "Hữu": 5, "Xuân": 4,
                      "Công": 4, "Thanh": 4, "Ngọc": 3, "Mạnh": 3},
                "F": {"Thị": 65, "Thu": 6, "Thanh": 5, "Ngọc": 4, "Hồng": 4, "Kim": 3,
                      "Minh": 3, "Thuý": 3}}
CHILD_MIDDLE = {"M": {"Văn": 18, "Minh": 12, "Gia": 10, "Đức": 9, "Bảo": 8, "Quốc": 7, "Anh": 6,
                      "Tuấn": 5, "Hoàng": 5, "Nhật": 5, "Thành": 5, "Hữu": 4, "Đăng": 4},
                "F": {"Thị": 20, "Ngọc": 12, "Bảo": 8, "Khánh": 8, "Minh": 7, "Thu": 6,
                      "Phương": 6, "Gia": 5, "Hà": 5, "Thảo": 5, "Diệu": 4, "Tuệ": 4}}
GIVEN = {"M": """An Bảo Bình Cường Dũng Duy Đạt Đức Hải Hiếu Hoàng Huy Hùng Hưng Khang Khánh
                 Khoa Khôi Kiên Lâm Long Lộc Minh Nam Nghĩa Phong Phúc Quân Quang Sơn Tài Thắng
                 Thành Thịnh Toàn Trí Trung Tuấn Tùng Việt Vinh Vũ""".split(),
         "F": """An Anh Chi Diệp Dung Giang Hà Hằng Hân Hiền Hoa Hương Huyền Lan Linh Ly Mai
                 My Ngân Ngọc Nhi Nhung Oanh Phương Quỳnh Thảo Thư Trang Trâm Uyên Vân Vy
                 Yến""".split()}
HMONG_MIDDLE = {"M": {"A": 1}, "F": {"Thị": 1}}
HMONG_GIVEN = {"M": "Páo Sử Chừ Dình Tủa Lử Chư Và".split(),
               "F": "Mỷ Sua Dợ Ly Mai Sinh Chở Pà".split()}
TWIN_NAMES = {"M": [("Phúc", "Lộc"), ("Long", "Lân"), ("Hưng", "Hùng"), ("Minh", "Mẫn")],
              "F": [("Thu", "Thảo"), ("Trang", "Trâm"), ("Hoa", "Hồng"), ("Linh", "Lan")]}

# Family situation → (mother's status, father's status, who cares for the children).
SITUATIONS: dict[str, tuple[float, str, str, str]] = {
    "together": (74, "alive_with_child", "alive_with_child", "both_parents"),
    "father_away": (7, "alive_with_child", "alive_elsewhere", "mother_only"),
    "mother_away": (1.5, "alive_elsewhere", "alive_with_child", "father_only"),
    # Left-behind children: both parents work in the cities or industrial zones.
    "both_away": (6.5, "alive_elsewhere", "alive_elsewhere", "grandparent"),
    "divorced": (3.5, "alive_with_child", "alive_elsewhere", "mother_only"),
    "father_dead": (1.6, "alive_with_child", "dead", "mother_only"),
    "mother_dead": (0.6, "dead", "alive_with_child", "father_only"),
    "orphaned": (0.5, "dead", "dead", "grandparent"),
    "father_prison": (0.6, "alive_with_child", "prison_or_compulsory", "mother_only"),
    "single_mother": (1.5, "alive_with_child", "unknown", "mother_only"),
    "father_missing": (0.4, "alive_with_child", "missing_not_declared", "mother_only"),
    "no_support": (0.3, "unable_to_care", "dead", "grandparent"),
    "abandoned": (0.25, "unknown", "unknown", "non_relative_family"),
    "left_alone": (0.05, "alive_elsewhere", "alive_elsewhere", "no_one"),
}
POVERTY = {"kinh": {"poor": 4, "near_poor": 7, "none": 87, "unknown": 2},
           "minority": {"poor": 15, "near_poor": 15, "none": 68, "unknown": 2}}
CHILDREN_PER_HOUSEHOLD = {1: 35, 2: 40, 3: 17, 4: 6, 5: 2}
DOB_PRECISION = {"full": 86, "month_year": 6, "year_only": 5, "estimated": 3}
DROP_REASONS = {"work_earn": 30, "help_family": 20, "illness_disability": 8, "cost": 15,
                "distance": 10, "marriage": 3, "other": 14}
HAZARDS = {"heavy_loads": 30, "chemicals_pesticide": 20, "machinery": 15, "night_work": 10,
           "mines_quarry": 3, "far_from_home": 10, "bars_karaoke": 2}
CONCERNS = {"violence_injury": 35, "missing_or_taken": 5, "police_court": 5,
            "substance_use": 5, "neglect_no_carer": 35, "sexual_abuse_suspected": 5, "other": 10}
ILLNESSES = ("Tim bẩm sinh", "Động kinh", "Thalassemia", "Bại não", "Hen phế quản",
             "Bạch cầu cấp", "Suy thận", "Viêm gan B")
CONCERN_NOTES = ("Trẻ có vết bầm ở tay, cần gặp riêng", "Trẻ thường ở nhà một mình ban đêm",
                 "Hàng xóm báo trẻ hay bị đánh", "Trẻ bỏ nhà đi nhiều ngày")
ORIGINS = ("Xã Tân Lạc, tỉnh Phú Thọ", "Phường Hà Đông, Hà Nội", "Tỉnh Sơn La",
           "Thành phố Hồ Chí Minh", "Lào")
# Mobile prefixes of the Vietnamese networks.
PHONE_PREFIXES = ("032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077",
                  "078", "079", "081", "082", "083", "084", "085", "086", "088", "091", "094",
                  "096", "097", "098")
PROVINCE = "017"  # the province's code in personal ID numbers
OTHER_PROVINCES = ("001", "022", "025", "026", "035", "079")
CHILD_DOMAINS = ("d_see", "d_hear", "d_walk", "d_selfcare", "d_communicate", "d_learn",
                 "d_behaviour")


def pick(rng: random.Random, weighted: Mapping[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def some(rng: random.Random, weighted: Mapping[str, float], most: int) -> str:
    """1..`most` distinct codes, space-separated in the choice list's order (as Collect
    writes a select_multiple answer)."""
    chosen = {pick(rng, weighted) for _ in range(rng.randint(1, most))}
    return " ".join(code for code in weighted if code in chosen)


def age_on(born: date, day: date) -> int:
    """Completed years, as the form's `age_on_today` (month-day compared as numbers)."""
    return day.year - born.year - (1 if (day.month, day.day) < (born.month, born.day) else 0)


def stated_age(said: Mapping[str, str | None], day: date) -> int:
    """`c_age` as the form computes it from the precision the family gave."""
    known = said["c_dob_known"]
    if known == "full":
        return age_on(date.fromisoformat(said["c_dob"] or ""), day)
    if known == "estimated":
        return int(said["c_age_est"] or 0)
    year = int(said["c_birth_year"] or 0)
    if known == "month_year":
        return day.year - year - (1 if day.month < int(said["c_birth_month"] or 0) else 0)
    return day.year - year


# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """A household's name pool: its ethnic group and the family names in it."""

    ethnicity: str
    father_family: str
    mother_family: str

    def person(self, rng: random.Random, sex: str, family: str, child: bool = False,
               avoid: Sequence[str] = ()) -> str:
        hmong = self.ethnicity == "hmong"
        middles = HMONG_MIDDLE if hmong else CHILD_MIDDLE if child else ADULT_MIDDLE
        givens = [g for g in (HMONG_GIVEN if hmong else GIVEN)[sex] if g not in avoid]
        middle = pick(rng, middles[sex])
        given = rng.choice([g for g in givens if g != middle] or givens)
        return f"{family} {middle} {given}"

    def other_family(self, rng: random.Random) -> str:
        """A family name of the same group, for in-laws and neighbours."""
        return pick(rng, ETHNIC_GROUPS[self.ethnicity][1])


def _names(rng: random.Random) -> Names:
    ethnicity = pick(rng, {group: share for group, (share, _) in ETHNIC_GROUPS.items()})
    families = ETHNIC_GROUPS[ethnicity][1]
    father = pick(rng, families)
    # Marriage between people of one family name is rare.
    mother = pick(rng, {name: w for name, w in families.items() if name != father} or families)
    return Names(ethnicity, father, mother)


@dataclass(frozen=True)
class Family:
    """What the enumerator is told: household answers and one answer set per child."""

    household: dict[str, str]
    children: list[dict[str, str]]


@dataclass(frozen=True)
class _Adults:
    """The grown-ups the children's answers name."""

    mother: str
    father: str
    head: str
    carer: str  # carer_type code
    carer_name: str  # empty when both parents care, or no one does
    respondent: str
    resp_role: str


def _adults(rng: random.Random, names: Names, situation: str) -> _Adults:
    """Parents, household head, main carer and respondent, consistent with the situation."""
    carer = SITUATIONS[situation][3]
    # A father the family cannot name (single mother) has no name to give.
    unknown_father = SITUATIONS[situation][2] == "unknown"
    father = "" if unknown_father else names.person(rng, "M", names.father_family)
    mother = names.person(rng, "F", names.mother_family)
    grandfather = names.person(rng, "M", names.father_family)
    grandmother = names.person(rng, "F", names.other_family(rng))
    if carer == "non_relative_family":
        foster = names.person(rng, "M", names.other_family(rng))
        keeper = rng.choice((foster, names.person(rng, "F", names.other_family(rng))))
        return _Adults("", "", foster, carer, keeper, keeper, "non_relative")
    if carer == "grandparent" and situation == "orphaned" and rng.random() < 0.3:
        uncle = names.person(rng, "M", names.father_family)
        return _Adults(mother, father, uncle, "other_relative", uncle, uncle, "other_relative")
    if carer == "grandparent":
        keeper = grandmother if rng.random() < 0.6 else grandfather
        head = grandfather if rng.random() < 0.6 else grandmother
        return _Adults(mother, father, head, carer, keeper, keeper, "grandparent")
    if carer == "no_one":
        # Both parents away and nobody at home: an aunt nearby answers for the children.
        aunt = names.person(rng, "F", names.father_family)
        return _Adults(mother, father, father, carer, "", aunt, "other_relative")
    if carer == "father_only":
        head = father if rng.random() < 0.8 else grandfather
        return _Adults(mother, father, head, carer, father, father, "parent")
    if carer == "mother_only":
        if situation == "father_away":
            head = father if rng.random() < 0.6 else mother  # still the registered head
        else:
            head = mother if rng.random() < 0.7 else names.person(rng, "M", names.mother_family)
        return _Adults(mother, father, head, carer, mother, mother, "parent")
    head = father if rng.random() < 0.85 else grandfather
    respondent = mother if rng.random() < 0.65 else father
    return _Adults(mother, father, head, carer, "", respondent, "parent")


def _birth_dates(rng: random.Random, day: date) -> list[date]:
    """Children's birth dates, oldest first: 1.3–4.5 years apart, all under 18 on `day`
    (older siblings are adults and not listed); now and then the youngest are twins."""
    count = int(pick(rng, {str(n): w for n, w in CHILDREN_PER_HOUSEHOLD.items()}))
    ages = [rng.uniform(0, 17.95)]
    while len(ages) < count:
        ages.append(ages[-1] + rng.uniform(1.3, 4.5))
    born = [day - timedelta(days=int(age * 365.25)) for age in ages]
    born = [d for d in born if age_on(d, day) < 18]
    if len(born) < 5 and rng.random() < 0.015:
        born.insert(0, born[0])
    return sorted(born)


def _personal_id(rng: random.Random, born: date, sex: str) -> str:
    """12 digits: province of birth registration, century-and-sex digit, year, serial."""
    province = PROVINCE if rng.random() < 0.9 else rng.choice(OTHER_PROVINCES)
    century_sex = 2 * ((born.year - 1900) // 100) + (1 if sex == "F" else 0)
    return f"{province}{century_sex}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**7):07d}"


# --- what is said about each child ---------------------------------------------------------------


def _dates_said(rng: random.Random, born: date, day: date, minority: bool) -> dict[str, str]:
    """The date of birth at the precision the family knows it; a precision whose stated
    age would reach 18 (the form refuses it, or computes 18) falls back to the full date."""
    precision = pick(rng, {**DOB_PRECISION, "full": 70 if minority else 86})
    said = {"c_dob_known": precision, "c_dob": born.isoformat(),
            "c_birth_year": str(born.year), "c_birth_month": str(born.month),
            "c_age_est": str(min(17, max(0, age_on(born, day) + rng.choice((-1, 0, 0, 1)))))}
    if stated_age(said, day) >= 18:
        said["c_dob_known"] = "full"
    return said


def _school_and_work(rng: random.Random, age: int, minority: bool) -> dict[str, str]:
    if age <= 5:
        school = "in_preschool" if rng.random() < 0.93 else "never_attended"
    else:
        dropout = 0.01 if age < 12 else 0.04 if age < 15 else 0.10
        school = pick(rng, {"in_school": 1 - dropout - 0.005, "dropped_out": dropout,
                            "never_attended": 0.005,
                            "graduated": 0.02 if age == 17 else 0})
    grade = 0 if school == "never_attended" else max(0, min(12, age - 6 - rng.randint(1, 3)))
    reasons = {k: w for k, w in DROP_REASONS.items() if k != "marriage" or age >= 15}
    works_rate = (0.55 if school == "dropped_out" else 0.005 if age < 12
                  else 0.03 if age < 15 else 0.10)
    works = rng.random() < works_rate
    hazard = "none" if rng.random() < 0.65 else some(rng, HAZARDS, 2)
    sleep = "this_house"
    if works and "far_from_home" in hazard:
        sleep = "workplace"
    elif school == "in_school" and age >= 11 and rng.random() < (0.10 if minority else 0.02):
        sleep = "dormitory_school"
    elif rng.random() < 0.003:
        sleep = "other_family"
    return {"c_school": school, "c_grade": str(grade),
            "c_drop_reason": some(rng, reasons, 2), "c_works": "yes" if works else "no",
            "c_work_hours": str(rng.randint(16, 48) if school == "dropped_out"
                                else rng.randint(4, 20)),
            "c_hazard": hazard, "c_sleep": sleep}


def _functioning_and_health(rng: random.Random, age: int) -> dict[str, str]:
    said = dict.fromkeys(CHILD_DOMAINS, "none")
    roll = rng.random()
    significant = roll < 0.025
    if significant:
        for domain in rng.sample(CHILD_DOMAINS, rng.randint(1, 3)):
            said[domain] = "cannot" if rng.random() < 0.3 else "a_lot"
    elif roll < 0.065:
        said[rng.choice(CHILD_DOMAINS)] = "some"
    cert = (pick(rng, {"yes": 60, "no": 32, "dk": 8}) if significant
            else "no" if rng.random() < 0.96 else "dk")
    longterm = rng.random() < (0.15 if significant else 0.015)
    said.update({
        "d_cert": cert, "d_level": pick(rng, {"especially_severe": 20, "severe": 45, "mild": 35}),
        "e_bhyt": pick(rng, {"yes": 97, "no": 2, "dk": 1} if age < 6
                       else {"yes": 90, "no": 7, "dk": 3}),
        "e_longterm": "yes" if longterm else "dk" if rng.random() < 0.005 else "no",
        "e_illness": rng.choice(ILLNESSES) if rng.random() < 0.65 else "",
        "e_vacc": pick(rng, {"yes": 90, "no": 5, "dk": 5}),
    })
    return said


def _support(rng: random.Random, said: Mapping[str, str], age: int, poverty: str) -> str:
    """What the child or family receives, following from the circumstances."""
    got: set[str] = set()
    poor = poverty in ("poor", "near_poor")
    # Children under 6 get state-funded health insurance; so do poor households.
    if said["e_bhyt"] == "yes" and (age < 6 or poor) and rng.random() < 0.8:
        got.add("health_insurance_free")
    if poor and said.get("c_school") == "in_school" and rng.random() < 0.5:
        got.add("school_fee_exempt")
    if said["d_cert"] == "yes" and rng.random() < 0.8:
        got.add("monthly_allowance")
    if said["c_mother_status"] == said["c_father_status"] == "dead" and rng.random() < 0.85:
        got.update({"monthly_allowance", "alt_care_support"})
    if said["e_longterm"] == "yes" and rng.random() < 0.4:
        got.add("medical_support")
    if rng.random() < 0.04:
        got.add("in_kind")
    if not got:
        return "dont_know" if rng.random() < 0.03 else "none"
    order = ("monthly_allowance", "health_insurance_free", "school_fee_exempt",
             "alt_care_support", "counselling", "legal_aid", "medical_support", "in_kind")
    return " ".join(code for code in order if code in got)


def _concern(rng: random.Random, situation: str) -> dict[str, str]:
    risky = situation in ("left_alone", "father_prison", "father_missing")
    if rng.random() >= (0.08 if risky else 0.008):
        return {"f_concern": "no"}
    return {"f_concern": "yes", "f_type": some(rng, CONCERNS, 2),
            "f_urgency": pick(rng, {"immediate_danger": 10, "within_week": 40, "routine": 50}),
            "f_note": rng.choice(CONCERN_NOTES) if rng.random() < 0.7 else ""}


@dataclass(frozen=True)
class _Context:
    """What all children of one household share."""

    names: Names
    adults: _Adults
    situation: str
    poverty: str
    day: date
    origin: str  # where the family came from in the last 12 months; empty if it did not move
    phone: str
    care_registered: str

    @property
    def family(self) -> str:
        """The children's family name: the father's, the mother's when he is unknown, the
        foster family's for a child found abandoned."""
        if self.situation == "single_mother":
            return self.names.mother_family
        if self.situation == "abandoned":
            return self.adults.head.split()[0]
        return self.names.father_family


def _child(rng: random.Random, ctx: _Context, born: date, sex: str, name: str) -> dict[str, str]:
    """Every answer about one child the form might ask; relevance decides which it does."""
    day, adults = ctx.day, ctx.adults
    minority = ctx.names.ethnicity != "kinh"
    if (day - born).days < 60 and rng.random() < 0.3:
        name = "Trai" if sex == "M" else "Gái"  # not named yet (the form's hint)
    said = _dates_said(rng, born, day, minority)
    age = stated_age(said, day)
    mother_status, father_status = SITUATIONS[ctx.situation][1:3]
    joined = {"grandparent": "grandchild_relative", "other_relative": "grandchild_relative",
              "non_relative_family": "found_abandoned"}.get(adults.carer, "own_child")
    said.update({
        "c_full_name": name, "c_family": ctx.family if rng.random() < 0.2 else "",
        "c_sex": "male" if sex == "M" else "female",
        "c_pid": (_personal_id(rng, born, sex) if rng.random() < (0.8 if age <= 5 else 0.45)
                  else ""),
        "c_birth_cert": ("no" if (day - born).days < 60 and rng.random() < 0.25
                         else pick(rng, {"yes": 975, "no": 18, "dk": 7})),
        "c_ethnic": ctx.names.ethnicity if rng.random() < 0.96 else "",
        "c_joined": joined, "c_migrant": "yes" if ctx.origin else "no",
        "c_from_where": ctx.origin,
        "c_mother_name": adults.mother if rng.random() < 0.97 else "",
        "c_father_name": "" if rng.random() < 0.04 else adults.father,
        "c_mother_status": mother_status, "c_father_status": father_status,
        "c_carer": adults.carer, "c_carer_name": adults.carer_name, "c_carer_phone": ctx.phone,
        "c_care_registered": ctx.care_registered,
        "g_child_assent": "yes" if rng.random() < 0.985 else "no",
    })
    said.update(_school_and_work(rng, age, minority))
    said.update(_functioning_and_health(rng, age))
    said.update(_concern(rng, ctx.situation))
    said["g_support"] = _support(rng, said, age, ctx.poverty)
    return said


def _children(rng: random.Random, ctx: _Context) -> list[dict[str, str]]:
    """The children, oldest first; twins share a birth date, sex and middle name, and get
    a pair of given names as families like to choose them."""
    born = _birth_dates(rng, ctx.day)
    taken: list[str] = []
    children: list[dict[str, str]] = []
    i = 0
    while i < len(born):
        sex = "M" if rng.random() < 0.512 else "F"
        twins = i + 1 < len(born) and born[i + 1] == born[i] and ctx.names.ethnicity != "hmong"
        if twins:
            middle = pick(rng, CHILD_MIDDLE[sex])
            names = [f"{ctx.family} {middle} {given}" for given in rng.choice(TWIN_NAMES[sex])]
        else:
            names = [ctx.names.person(rng, sex, ctx.family, child=True, avoid=taken)]
        for name in names:
            taken.append(name.split()[-1])
            children.append(_child(rng, ctx, born[i], sex, name))
            i += 1
    return children


def draw_household(rng: random.Random, village: str, day: date) -> Family:
    """A consenting household with 1–5 children, visited on `day`."""
    names = _names(rng)
    situation = pick(rng, {name: row[0] for name, row in SITUATIONS.items()})
    adults = _adults(rng, names, situation)
    poverty = pick(rng, POVERTY["kinh" if names.ethnicity == "kinh" else "minority"])
    formal_care = situation in ("orphaned", "abandoned", "no_support")
    ctx = _Context(
        names, adults, situation, poverty, day,
        origin=rng.choice(ORIGINS) if rng.random() < 0.02 else "",
        phone=_phone(rng) if rng.random() < 0.65 else "",
        care_registered=pick(rng, {"yes": 60, "no": 30, "dk": 10} if formal_care
                             else {"yes": 20, "no": 65, "dk": 15}))
    children = _children(rng, ctx)
    household = {
        "hh_gps": _gps(rng, village) if rng.random() < 0.7 else "",
        "hh_head_name": adults.head,
        "hh_book_no": f"{village}-{rng.randint(1, 320):03d}" if rng.random() < 0.5 else "",
        "hh_address": (f"Xóm {rng.randint(1, 8)}, nhà số {rng.randint(1, 120)}"
                       if rng.random() < 0.7 else ""),
        "resp_name": adults.respondent, "resp_role": adults.resp_role, "hh_poverty": poverty,
        "hh_any_child": "yes", "n_children": str(len(children)),
    }
    return Family(household, children)


def _gps(rng: random.Random, village: str) -> str:
    """Collect's geopoint, "lat lon altitude accuracy", near the village's centre."""
    centre = random.Random(f"village-centre:{village}")
    lat = 20.80 + centre.uniform(-0.03, 0.03) + rng.uniform(-0.004, 0.004)
    lon = 105.33 + centre.uniform(-0.03, 0.03) + rng.uniform(-0.004, 0.004)
    return (f"{round(lat, 6)} {round(lon, 6)} {round(rng.uniform(20, 120), 1)} "
            f"{round(rng.uniform(3, 15), 1)}")
