import pytest

from sync.matching.compare import (
    FamilyLevel,
    GivenLevel,
    HouseholdLevel,
    LocationLevel,
    ParentsLevel,
    compare,
    family_level,
    given_level,
)
from sync.vietnamese import normalise_name
from tests.matching.builders import child


@pytest.mark.parametrize(("a", "b", "level"), [
    ("Nguyễn Văn Hoà", "NGUYỄN VĂN HÒA", GivenLevel.EXACT),
    ("Nguyễn Văn Hoà", "Nguyen Van Hoa", GivenLevel.ASCII_EQUAL),
    ("Nguyễn Văn Hưng", "Nguyễn Văn Hùng", GivenLevel.DIACRITIC_DIFF),
    ("Nguyễn Văn Hoà", "Nguyễn Văn Hoa", GivenLevel.DIACRITIC_DIFF),  # marks typed elsewhere
    ("Nguyễn Văn Anh", "Nguyễn Văn Anhh", GivenLevel.MISTYPED),
    ("Nguyễn Văn An", "Nguyễn Văn Anh", GivenLevel.TYPO),  # both are names
    ("Nguyễn Văn Hùng (Tít)", "Nguyễn Văn Tít", GivenLevel.NICKNAME),
    ("Nguyễn Văn Hùng", "Nguyễn Văn Long", GivenLevel.DIFFERENT),
    ("Trai", "Nguyễn Văn Long", GivenLevel.MISSING),
])
def test_given_name_levels(a: str, b: str, level: GivenLevel) -> None:
    assert given_level(normalise_name(a), normalise_name(b)) is level


def test_hoang_huynh_and_vu_vo_are_one_family_name() -> None:
    def level(a: str, b: str) -> FamilyLevel:
        return family_level(normalise_name(a), normalise_name(b))

    assert level("Hoàng Văn An", "Huỳnh Văn An") is FamilyLevel.VARIANT
    assert level("Vũ Thị Lan", "Vo Thi Lan") is FamilyLevel.VARIANT
    assert level("Phạm Thị Lan", "Phan Thị Lan") is FamilyLevel.TYPO
    assert level("Lan", "Phan Thị Lan") is FamilyLevel.MISSING


def test_parents_agree_despite_a_dropped_middle_name_and_a_typo() -> None:
    registered = child("Nguyễn Văn An", mother="Trần Thị Lan", father="Nguyễn Văn Hùng")
    assert compare(registered, child("Nguyen Van An", mother="Trần Lan",
                                     father="Nguyễn Văn Hùnh")).parents is ParentsLevel.BOTH_AGREE
    assert compare(registered, child("An", mother="Trần Lan",
                                     father="")).parents is ParentsLevel.ONE_AGREES
    assert compare(registered, child("An", mother="Lê Thị Mai",
                                     father="Nguyễn Văn Hùng")).parents is ParentsLevel.MIXED
    assert compare(registered, child("An", mother="", father="")).parents is ParentsLevel.MISSING


def test_household_and_location_levels() -> None:
    registered = child("Nguyễn Văn An")
    moved = compare(registered, child("Nguyễn Văn An", village="T07", head="Trần Thị Lan"))
    assert moved.location is LocationLevel.SAME_COMMUNE
    assert moved.household is HouseholdLevel.HEAD_DIFFERS
    away = compare(registered, child("Nguyễn Văn An", commune="X9"))
    assert away.location is LocationLevel.OTHER_COMMUNE
    assert away.household is HouseholdLevel.HEAD_AGREES


def test_names_outside_the_vietnamese_syllable_system_are_not_treated_as_slips() -> None:
    # two ethnic-minority given names one letter apart may be two children (twins, even)
    level = given_level(normalise_name("Ksor H'Bhin"), normalise_name("Ksor H'Bhun"))
    assert level is GivenLevel.TYPO
