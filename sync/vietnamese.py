"""Vietnamese name normalisation for matching children across reports.

The same name reaches the server in many spellings: NFC or NFD (macOS keyboards), old or new
tone-mark placement (``hòa``/``hoà``, ``thủy``/``thuỷ``: NFC does *not* unify them), all caps,
double spaces, no diacritics at all, or Telex keystrokes left in the text when the phone's
keyboard was not in Vietnamese mode (``Nguyeenx`` for Nguyễn). Two derived forms are kept
(docs/domain.md §3.2, docs/matching.md §2.1):

* ``norm``: lower case, NFC, tone mark re-placed by one rule (the "new style" of the 1980
  spelling rules: ``hoà``, ``thuỷ``, ``quý``), Telex residue decoded. Equal ``norm`` means the same
  written name, diacritics included.
* ``fold``: ASCII, for blocking and fuzzy comparison: NFD, combining marks dropped, ``đ``→``d``
  explicitly (U+0111 has no Unicode decomposition, so NFD alone leaves it).

Names are split family name / middle / given, the given name being the last token (docs/domain.md
§3.1). A parenthesised part is a nickname (tên gọi ở nhà): ``Nguyễn Văn Hùng (Tít)``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

# Tone marks as combining characters (dấu huyền, sắc, hỏi, ngã, nặng).
GRAVE, ACUTE, HOOK, TILDE, DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
TONES = frozenset({GRAVE, ACUTE, HOOK, TILDE, DOT})
_VOWELS = frozenset("aăâeêioôơuưy")
_MARKED_VOWELS = frozenset("ăâêôơư")
# Onsets, longest first so "ngh" is tried before "ng" and "n".
_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
_CODAS = frozenset({"", "c", "ch", "m", "n", "ng", "nh", "p", "t"})
_STOP_CODAS = frozenset({"c", "ch", "p", "t"})  # a stop final only takes sắc or nặng
_NUCLEI = frozenset("""a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi
    ôi ơi oo ua uâ uê ui uô uơ uy ưa ưi ưu ươ yê iêu yêu oai oay oeo uây uôi ươi ươu uya uyê
    uyu""".split())
# Typed without marks, "nguyen" has nucleus "uye": accept the folded spellings too.
_NUCLEI_ANY = _NUCLEI | {"".join(c for c in unicodedata.normalize("NFD", n) if c.isascii())
                         for n in _NUCLEI}
# Open-syllable pairs whose tone goes on the second vowel in the new style (hoà, khoẻ, thuỷ).
_SECOND_VOWEL_PAIRS = frozenset({"oa", "oe", "uy"})
# Final i/y after these onsets are one spelling (Lý/Lí, Quý/Quí, Mỹ/Mĩ, Kỳ/Kì).
_I_Y_ONSETS = frozenset({"h", "k", "l", "m", "s", "t", "qu"})
_TELEX_TONES = {"s": ACUTE, "f": GRAVE, "r": HOOK, "x": TILDE, "j": DOT, "z": ""}
_DOUBLES = {"aa": "â", "ee": "ê", "oo": "ô"}
_HORN = {"u": "ư", "o": "ơ", "a": "ă"}
# Infants recorded before naming (docs/domain.md §3.1: "Trai"/"Gái" until the birth certificate).
_PLACEHOLDERS = frozenset({"trai", "gai", "be trai", "be gai", "chua dat ten", "chua co ten"})
# Family names that are not also common given names: a one-word name from this list is a
# surname-only record, and a name that ends with one and does not start with one was written
# given name first (``Hùng Nguyễn``, ``Hung Van Nguyen``). Mai, Hà, Kim, Lâm, Vũ, Hoàng... are
# family *and* given names and are left out (docs/matching.md §2.1).
FAMILY_ONLY_NAMES = frozenset("""nguyễn trần lê phạm huỳnh phan võ đặng bùi đỗ hồ ngô lý đoàn
    trương đinh phùng trịnh lưu tạ quách lò thào giàng sùng nông triệu bế hứa lại""".split())
_FAMILY_ONLY_FOLDS = frozenset(unicodedata.normalize("NFD", n).replace("đ", "d")
                               .encode("ascii", "ignore").decode() for n in FAMILY_ONLY_NAMES)
# Family names that are also given names: a name starting with one is not re-ordered.
_FAMILY_ANY_FOLDS = _FAMILY_ONLY_FOLDS | frozenset("""hoang vu mai ha lam duong dao cao chau kim
    luong to thai vuong khuc mac tang kieu quan au doan giap ton la luc diep ma ninh vi than
    nghiem han phi khong sam ong vang mua hau chu dam ung vien che nghiem cu""".split())
# Family names that are also given names, strong enough as the second word of a longer name
# to mean it was written given name first ("Hien Dao Ngoc").
_FAMILY_SECOND_FOLDS = _FAMILY_ONLY_FOLDS | frozenset("hoang vu duong dao vuong doan".split())
# Middle names that mark sex (Văn, Thị): never a given name, so a name ending with one was
# written given name first ("Lan Hoàng Thị").
_MIDDLE_MARKERS = frozenset({"van", "thi"})
# Words put before a child's home name in speech and on forms ("Bé Bắp", "Cu Tí").
_HOME_PREFIXES = frozenset({"be", "cu", "thang", "con"})
HOME_NAMES_PATH = Path(__file__).with_name("home_names.json")
_NICKNAME = re.compile(r"[(\[]([^)\]]*)[)\]]")
_NON_NAME = re.compile(r"[^\w\s]")


def clean(text: str | None) -> str:
    """NFC, whitespace of any kind collapsed to one space, trimmed. Case is kept (for display)."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFC", text).split())


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """ASCII-folded lower-case form: ``Đặng Thị Thuỷ`` → ``dang thi thuy``."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _split_onset(base: str) -> tuple[str, str]:
    """Onset and the rest. ``gi``/``qu`` count as onsets only when a vowel follows (gì vs gia)."""
    for onset in _ONSETS:
        if base.startswith(onset):
            rest = base[len(onset):]
            if onset in ("gi", "qu") and not (rest and rest[0] in _VOWELS):
                continue
            return onset, rest
    return "", base  # pragma: no cover - "" always matches


def _parse(base: str) -> tuple[str, str, str] | None:
    """(onset, nucleus, coda) of a toneless syllable, or None if it is not Vietnamese."""
    onset, rest = _split_onset(base)
    end = 0
    while end < len(rest) and rest[end] in _VOWELS:
        end += 1
    nucleus, coda = rest[:end], rest[end:]
    if nucleus not in _NUCLEI_ANY or coda not in _CODAS:
        return None
    return onset, nucleus, coda


def _tone_position(onset: str, nucleus: str, coda: str) -> int:
    """Index in the nucleus that carries the tone, by the new-style rule."""
    marked = [i for i, c in enumerate(nucleus) if c in _MARKED_VOWELS]
    if marked:
        return marked[-1]  # ươ → ơ, iê → ê, uyê → ê
    if coda or len(nucleus) == 1:
        return len(nucleus) - 1  # hoàn, huỳnh, quỳnh
    if len(nucleus) == 3:
        return 1  # ngoài, khuỷu
    return 1 if nucleus in _SECOND_VOWEL_PAIRS else 0  # hoà, thuỷ / mùa, tài, nghĩa


def _strip_tone(token: str) -> tuple[str, str]:
    """Toneless NFC base (vowel quality marks kept) and the tone mark ("" for none).

    Marks are regrouped per letter, so a tone typed before the circumflex still composes.
    """
    tone = ""
    letters: list[str] = []
    for char in unicodedata.normalize("NFD", token):
        if char in TONES:
            tone = char  # several tones on one syllable: the last typed wins
        elif unicodedata.combining(char) and letters:
            letters[-1] += char
        else:
            letters.append(char)
    return "".join(unicodedata.normalize("NFC", letter) for letter in letters), tone


def _compose(onset: str, nucleus: str, coda: str, tone: str) -> str:
    if nucleus == "i" and onset in _I_Y_ONSETS and not coda:
        nucleus = "y"
    if tone:
        at = _tone_position(onset, nucleus, coda)
        nucleus = nucleus[:at] + unicodedata.normalize("NFC", nucleus[at] + tone) + nucleus[at + 1:]
    return onset + nucleus + coda


@lru_cache(maxsize=65536)
def is_syllable(token: str) -> bool:
    """True for a well-formed Vietnamese syllable, with or without diacritics (Hoa, Anh, Nguyễn)."""
    base, tone = _strip_tone(token.lower())
    parts = _parse(base)
    if parts is None:
        return False
    return not (parts[2] in _STOP_CODAS and tone not in ("", ACUTE, DOT))


def decode_telex(token: str) -> str | None:
    """Decode Telex keystrokes left in a token (``Nguyeenx`` → ``nguyễn``, ``Dduwcs`` → ``đức``).

    Returns None unless the token is plain ASCII, is *not* already a Vietnamese syllable
    (so ``Hoa``, ``Anh``, ``Son`` stay as typed) and decodes to a well-formed syllable. A tone
    key counts only at the end or before the final consonant, so ``Mary`` is not ``Mảy``.
    Note Telex ``aa`` is â: ``Vaan`` is Vân; Văn is typed ``Vawn`` (both fold to ``van``).
    """
    raw = token.lower()
    if not raw.isascii() or not raw.isalpha() or is_syllable(raw):
        return None
    if raw.startswith("dd"):
        raw = "đ" + raw[2:]
    onset, rest = _split_onset(raw)
    tone = ""
    letters: list[str] = []
    for i, char in enumerate(rest):
        if char in _TELEX_TONES and letters and all(c not in _VOWELS for c in rest[i + 1:]):
            tone = _TELEX_TONES[char]
        elif char == "w":
            vowels = [j for j, c in enumerate(letters) if c in _HORN]
            if not vowels:
                letters.append("ư")  # Telex "w" alone types ư (nhw → như)
                continue
            if "".join(letters[vowels[0]:vowels[0] + 2]) == "uo":
                letters[vowels[0]:vowels[0] + 2] = ["ư", "ơ"]
            else:
                letters[vowels[-1]] = _HORN[letters[vowels[-1]]]
        elif letters and letters[-1] + char in _DOUBLES:
            letters[-1] = _DOUBLES[letters[-1] + char]
        else:
            letters.append(char)
    parts = _parse(onset + "".join(letters))
    if parts is None or (parts[2] in _STOP_CODAS and tone not in ("", ACUTE, DOT)):
        return None
    return _compose(*parts, tone)


@lru_cache(maxsize=65536)
def normalise_token(token: str) -> str:
    """One lower-case token in canonical form: tone re-placed, i/y unified, Telex decoded."""
    token = unicodedata.normalize("NFC", token.lower())
    telex = decode_telex(token)
    if telex is not None:
        return telex
    base, tone = _strip_tone(token)
    parts = _parse(base)
    if parts is None:
        return token  # not Vietnamese (an ethnic-minority or foreign name): leave it alone
    return _compose(*parts, tone)


def normalise_text(text: str | None) -> str:
    """Canonical lower-case form of a whole name or place: ``  HOÀ   Bình`` → ``hoà bình``."""
    words = _NON_NAME.sub(" ", clean(text)).split()
    return " ".join(normalise_token(word) for word in words)


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A person's name in the forms matching needs, split family / middle / given."""

    raw: str
    norm: str
    fold: str
    family: str
    middle: str
    given: str
    family_fold: str
    middle_fold: str
    given_fold: str
    given_is_syllable: bool  # a well-formed Vietnamese syllable (not "Anhh", "Bihc")
    nicknames: tuple[str, ...]  # folded
    ascii_only: bool  # typed without any diacritics: a missing mark is no evidence
    placeholder: bool  # "Trai"/"Gái": not yet named
    given_is_home_name: bool = False  # the given name is a home name (tên ở nhà), not formal


@lru_cache(maxsize=1)
def home_names() -> tuple[frozenset[str], frozenset[str]]:
    """The home names of ``sync/home_names.json``: normalised forms, and the ASCII folds that
    cannot be read as a formal name when a record is typed without marks."""
    data = json.loads(HOME_NAMES_PATH.read_text(encoding="utf-8"))
    norms = frozenset(normalise_text(name) for name in data["names"])
    ambiguous = frozenset(data["ambiguous_without_marks"])  # Nấm typed "Nam" is the name Nam
    return norms, frozenset(fold(name) for name in norms) - ambiguous


def is_home_name(norm: str, folded: str, ascii_only: bool) -> bool:
    """Is this (whole or given) name a home name? Typed without marks only the fold can tell."""
    norms, folds = home_names()
    return folded in folds if ascii_only else norm in norms


def _is_family_only(norm: str, folded: str, ascii_only: bool) -> bool:
    return folded in _FAMILY_ONLY_FOLDS if ascii_only else norm in FAMILY_ONLY_NAMES


@lru_cache(maxsize=8192)
def _near_family(folded: str) -> bool:
    """One slip away from a family name (a typed family name, not a given name)."""
    return any(OSA.distance(folded, family, score_cutoff=1) <= 1 for family in _FAMILY_ONLY_FOLDS
               if abs(len(family) - len(folded)) <= 1 and len(family) >= 4)


def _reorder(forms: list[tuple[str, str]], ascii_only: bool) -> list[tuple[str, str]]:
    """Family name first, for names written given name first: ``Nam Lê Văn`` (the given name
    moved to the front) → ``Lê Văn Nam``; ``Hung Van Nguyen`` (reversed) → ``Nguyen Van Hung``.
    A name ending with Văn or Thị is always re-ordered; otherwise a name starting with any
    family name (Mai, Hà, Hoàng too) is left as written."""
    if len(forms) < 2 or _is_family_only(*forms[0], ascii_only):
        return forms
    if len(forms) >= 3 and forms[-1][1] in _MIDDLE_MARKERS:  # "Thai Tran Van"
        return [*forms[1:], forms[0]]
    if forms[0][1] in _FAMILY_ANY_FOLDS:
        return forms
    if _is_family_only(*forms[1], ascii_only) or (
            len(forms) >= 3 and forms[1][1] in _FAMILY_SECOND_FOLDS
            and not _near_family(forms[0][1])):  # "Nuyễn Hoàng Hải" is a typed family name
        return [*forms[1:], forms[0]]
    if _is_family_only(*forms[-1], ascii_only):
        return [forms[-1], *forms[1:-1], forms[0]]
    return forms


@lru_cache(maxsize=65536)
def _token_forms(word: str) -> tuple[str, str]:
    """Canonical and folded form of one typed word (names repeat: this is mostly a lookup)."""
    norm = normalise_token(word)
    return norm, fold(norm)


@lru_cache(maxsize=262144)
def normalise_name(text: str | None) -> NormalisedName:
    """Split and normalise a full name; the given name is the last token (họ – đệm – tên)."""
    raw = clean(text)
    nicknames: tuple[str, ...] = ()
    formal = raw
    if "(" in raw or "[" in raw:
        nicknames = tuple(fold(normalise_text(n)) for n in _NICKNAME.findall(raw) if n.strip())
        formal = _NICKNAME.sub(" ", raw)
    words = formal.split() if formal.replace(" ", "").isalpha() else _NON_NAME.sub(
        " ", formal).split()
    forms = [_token_forms(word) for word in words]
    ascii_only = formal.isascii()
    folded = " ".join(f for _, f in forms)
    placeholder = folded in _PLACEHOLDERS or " ".join(f for _, f in forms[1:]) in _PLACEHOLDERS
    home = _home_only(forms, ascii_only) if forms and not placeholder else None
    if home is None and not placeholder:
        forms, beside = _home_beside(forms, ascii_only)
        nicknames += beside
    if home is not None:  # "Bắp", "Bé Bắp", "Bắp Cải": a home name only, no family name
        return _home_name(raw, home, nicknames, ascii_only)
    if len(forms) == 2 and forms[0][1] == "be" and _is_family_only(*forms[1], ascii_only):
        forms = forms[1:]  # "Bé Đặng": the family's little one
    if len(forms) == 1 and _is_family_only(*forms[0], ascii_only):  # "Nguyễn": surname only
        family, family_fold = forms[0]
        return NormalisedName(
            raw=raw, norm=family, fold=family_fold, family=family, middle="", given="",
            family_fold=family_fold, middle_fold="", given_fold="", given_is_syllable=False,
            nicknames=nicknames, ascii_only=ascii_only, placeholder=False)
    if not placeholder:
        forms = _reorder(forms, ascii_only)
    tokens, folds = [n for n, _ in forms], [f for _, f in forms]
    given, given_fold = forms[-1] if forms else ("", "")
    family, family_fold = forms[0] if len(forms) > 1 else ("", "")
    # "Nguyễn Bắp", "Huỳnh Ngọc Mít": the home name written where the given name goes
    home_given = len(forms) >= 2 and is_home_name(given, given_fold, ascii_only)
    return NormalisedName(
        raw=raw, norm=" ".join(tokens), fold=" ".join(folds), family=family,
        middle=" ".join(tokens[1:-1]), given=given, family_fold=family_fold,
        middle_fold=" ".join(folds[1:-1]), given_fold=given_fold,
        given_is_syllable=bool(given) and is_syllable(given),
        nicknames=(*nicknames, given_fold) if home_given else nicknames, ascii_only=ascii_only,
        placeholder=placeholder, given_is_home_name=home_given,
    )


def _home_beside(forms: list[tuple[str, str]],
                 ascii_only: bool) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """A home name written before the formal name (``Cún Hoàng Thái``) or after it
    (``Nguyen Thi Thao - Gao``) is a nickname, not part of the name. Only with a family name
    left at the other end, so ``Nguyễn Bắp`` keeps its home name as the given name."""
    if len(forms) >= 3 and is_home_name(*forms[0], ascii_only) and (
            forms[1][1] in _FAMILY_ANY_FOLDS):
        return forms[1:], (forms[0][1],)
    if (len(forms) >= 4 and is_home_name(*forms[-1], ascii_only)
            and forms[0][1] in _FAMILY_ANY_FOLDS
            and not is_home_name(*forms[-2], ascii_only)):
        return forms[:-1], (forms[-1][1],)
    return forms, ()


def _home_only(forms: list[tuple[str, str]], ascii_only: bool) -> tuple[str, str] | None:
    """The home name when the whole name is one (after a "Bé"/"Cu" prefix), else None."""
    if len(forms) > 1 and forms[0][1] in _HOME_PREFIXES:
        forms = forms[1:]
    norm, folded = " ".join(n for n, _ in forms), " ".join(f for _, f in forms)
    return (norm, folded) if is_home_name(norm, folded, ascii_only) else None


def _home_name(raw: str, home: tuple[str, str], nicknames: tuple[str, ...],
               ascii_only: bool) -> NormalisedName:
    """A record that gives only the child's home name: it is the given name *and* a nickname,
    and there is no family name to compare."""
    norm, folded = home
    return NormalisedName(
        raw=raw, norm=norm, fold=folded, family="", middle="", given=norm, family_fold="",
        middle_fold="", given_fold=folded, given_is_syllable=is_syllable(norm),
        nicknames=(*nicknames, folded), ascii_only=ascii_only, placeholder=False,
        given_is_home_name=True)
