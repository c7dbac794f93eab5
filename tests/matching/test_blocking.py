from sync.dates import PartialDate
from sync.matching import ChildRecord, KeyType, MatchRecord, blocking_keys, prepare
from sync.personal_id import make_personal_id
from tests.matching.builders import child


def _keys(record: MatchRecord) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for key_type, value in blocking_keys(record):
        found.setdefault(key_type, set()).add(value)
    return found


def test_keys_are_type_and_value_strings_for_an_indexed_table() -> None:
    keys = blocking_keys(child("Nguyễn Văn An", personal_id=make_personal_id("001", "M", 2015, 1)))
    assert all(isinstance(t, str) and isinstance(v, str) for t, v in keys)
    assert {k.key_type for k in keys} == {KeyType.PERSONAL_ID, KeyType.DOB, KeyType.NAME_DOB,
                                         KeyType.GIVEN_YEAR, KeyType.MOTHER,
                                         KeyType.MOTHER_YEAR, KeyType.HEAD}
    assert all(len(key_type) <= 16 for key_type in KeyType)  # match_keys.key_type is String(16)


def test_a_swapped_date_shares_the_date_keys() -> None:
    a, b = _keys(child("Nguyễn Văn An", "2015-03-04")), _keys(child("Nguyen Van An", "2015-04-03"))
    assert a[KeyType.DOB] == b[KeyType.DOB] and a[KeyType.NAME_DOB] == b[KeyType.NAME_DOB]


def test_name_keys_stay_in_the_commune_but_name_and_date_are_national() -> None:
    here, there = _keys(child("Nguyễn Văn An")), _keys(child("Nguyễn Văn An", commune="X2"))
    assert here[KeyType.GIVEN_YEAR] != there[KeyType.GIVEN_YEAR]
    assert here[KeyType.MOTHER] != there[KeyType.MOTHER]
    assert here[KeyType.NAME_DOB] == there[KeyType.NAME_DOB]


def test_northern_and_southern_family_spellings_share_household_keys() -> None:
    north = _keys(child("Hoàng Văn An", mother="Vũ Thị Lan", head="Hoàng Văn Hải"))
    south = _keys(child("Huỳnh Văn An", mother="Võ Thị Lan", head="Huynh Van Hai"))
    assert north[KeyType.MOTHER] == south[KeyType.MOTHER]
    assert north[KeyType.HEAD] == south[KeyType.HEAD]


def test_an_estimated_year_is_looked_up_one_year_either_way() -> None:
    record = prepare(ChildRecord("r", "s", "Nguyễn Văn An", dob=PartialDate(2015, estimated=True),
                                 commune="X1"))
    assert len(_keys(record)[KeyType.GIVEN_YEAR]) == 3


def test_an_unnamed_infant_gets_no_given_name_keys() -> None:
    assert KeyType.GIVEN_YEAR not in _keys(child("Trai"))
