import unicodedata

import pytest

from sync.vietnamese import (
    clean,
    decode_telex,
    fold,
    is_syllable,
    normalise_name,
    normalise_text,
    normalise_token,
)


def test_nfc_and_nfd_spellings_normalise_alike() -> None:
    nfd = unicodedata.normalize("NFD", "Đặng Thị Thuỷ")
    assert nfd != "Đặng Thị Thuỷ"
    assert normalise_text(nfd) == normalise_text("Đặng Thị Thuỷ") == "đặng thị thuỷ"


@pytest.mark.parametrize(("old", "new"), [
    ("hòa", "hoà"), ("thủy", "thuỷ"), ("khỏe", "khoẻ"), ("qúy", "quý"), ("ngòai", "ngoài"),
    ("gìa", "già"), ("tíên", "tiến"), ("mùa", "mùa"),
])
def test_tone_mark_placement_is_canonical(old: str, new: str) -> None:
    assert normalise_token(old) == normalise_token(new) == new


@pytest.mark.parametrize("closed", ["hoàn", "huỳnh", "quỳnh", "hoàng", "thuyết", "người"])
def test_closed_syllables_keep_their_tone_where_it_belongs(closed: str) -> None:
    # the naive "oà → òa" rewrite breaks these (docs/domain.md §3.2)
    assert normalise_token(closed) == closed


def test_case_and_spacing_are_normalised() -> None:
    assert clean("  Nguyễn\u00a0 Văn\tAn ") == "Nguyễn Văn An"
    assert normalise_text("NGUYỄN   VĂN  AN") == "nguyễn văn an"


def test_folding_drops_marks_and_maps_d_with_stroke() -> None:
    # U+0110 has no decomposition: NFD alone would leave it
    assert fold("Đặng Thị Thuỷ") == "dang thi thuy"
    assert fold(normalise_text("ĐỖ ĐỨC")) == "do duc"


@pytest.mark.parametrize(("typed", "decoded"), [
    ("Nguyeenx", "nguyễn"), ("Vawn", "văn"), ("Vanw", "văn"), ("Vaan", "vân"),
    ("Dduwcs", "đức"), ("Hoaf", "hoà"), ("Hoangf", "hoàng"), ("Thuyr", "thuỷ"),
    ("Phuowng", "phương"), ("Traanf", "trần"), ("Sown", "sơn"),
])
def test_telex_residue_is_decoded(typed: str, decoded: str) -> None:
    assert normalise_token(typed) == decoded


@pytest.mark.parametrize("plain", ["Hoa", "Anh", "Son", "Thuy", "Nguyen", "Truong", "Mary",
                                   "Rose", "Thomas", "John", "Ksor"])
def test_telex_residue_is_decoded_but_plain_ascii_names_are_not(plain: str) -> None:
    assert decode_telex(plain) is None
    assert normalise_token(plain) == plain.lower()
    assert normalise_name("Nguyeenx Vawn Hoa").norm == "nguyễn văn hoa"


def test_i_and_y_spellings_are_one_name() -> None:
    assert normalise_token("Lí") == normalise_token("Lý") == "lý"
    assert normalise_token("Quí") == "quý"
    assert normalise_token("chi") == "chi"  # only after h, k, l, m, s, t, qu


def test_name_is_split_family_middle_given() -> None:
    name = normalise_name("Nguyễn Thị Minh Khai")
    assert (name.family, name.middle, name.given) == ("nguyễn", "thị minh", "khai")
    assert (name.family_fold, name.middle_fold, name.given_fold) == ("nguyen", "thi minh", "khai")
    single = normalise_name("Bống")
    assert (single.family, single.given) == ("", "bống")


def test_nickname_in_brackets_is_kept_apart() -> None:
    name = normalise_name("Nguyễn Văn Hùng (Tít)")
    assert name.given == "hùng"
    assert name.nicknames == ("tit",)


def test_names_typed_without_marks_are_flagged() -> None:
    assert normalise_name("Nguyen Van Hung (Tít)").ascii_only
    assert not normalise_name("Nguyễn Văn Hung").ascii_only


def test_unnamed_infants_are_placeholders() -> None:
    assert normalise_name("Trai").placeholder
    assert normalise_name("Bé Gái").placeholder
    assert not normalise_name("Nguyễn Thị Gấm").placeholder


def test_syllable_check_knows_vietnamese_structure() -> None:
    assert all(is_syllable(s) for s in ("Nguyễn", "nguyen", "Khuỷu", "gì", "quốc", "Anh"))
    assert not any(is_syllable(s) for s in ("Anhh", "bihc", "Ksor", "Mary", "các̀"))
