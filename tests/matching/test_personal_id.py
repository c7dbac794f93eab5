from sync.personal_id import (
    IdProblem,
    PersonalIdRules,
    check_personal_id,
    hamming,
    make_personal_id,
)


def test_a_well_formed_number_consistent_with_the_child_is_valid() -> None:
    pid = make_personal_id("001", "F", 2015, 123456)
    assert pid == "001315123456"  # Hà Nội, 21st century female, born (20)15
    assert check_personal_id(pid, sex="F", birth_year=2015).valid


def test_separators_are_ignored() -> None:
    check = check_personal_id(" 001 315-123.456 ")
    assert check.digits == "001315123456" and check.valid


def test_wrong_length_or_unknown_province_is_invalid() -> None:
    assert check_personal_id("00131512345").problems == (IdProblem.NOT_12_DIGITS,)
    assert check_personal_id("00131512345X").problems == (IdProblem.NOT_12_DIGITS,)
    assert IdProblem.UNKNOWN_PROVINCE in check_personal_id("003315123456").problems
    assert not check_personal_id(None).valid and check_personal_id("").digits is None


def test_sex_and_birth_year_must_agree_with_the_number() -> None:
    pid = make_personal_id("079", "M", 2009, 42)
    assert check_personal_id(pid, sex="M", birth_year=2009).valid
    assert check_personal_id(pid, sex="F").problems == (IdProblem.SEX_MISMATCH,)
    assert check_personal_id(pid, birth_year=2010).problems == (IdProblem.BIRTH_YEAR_MISMATCH,)
    assert check_personal_id(pid, sex="U").valid  # unknown sex is not checked
    assert check_personal_id(make_personal_id("079", "F", 1999, 1), birth_year=1999).valid


def test_unverified_rules_can_be_switched_off() -> None:
    lenient = PersonalIdRules(check_province=False, check_sex=False, check_birth_year=False)
    assert check_personal_id("003315123456", sex="M", birth_year=1990, rules=lenient).valid


def test_hamming_counts_differing_digits() -> None:
    assert hamming("001315123456", "001315123457") == 1
    assert hamming("001315123456", "0013151234") == 12
