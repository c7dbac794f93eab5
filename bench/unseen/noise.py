"""How a child's true details turn into what one list wrote down.

A `Profile` holds the chance of each kind of error for one kind of list: a commune officer
typing from the birth register makes different mistakes than a village collaborator asking a
mother at her door. Every function takes the random source, so a draw is reproducible, and
returns the tags of what it did (the ground truth keeps them, for recall by kind of noise).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from bench.unseen.personal_ids import mistyped

_TONE_KEYS = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_SHAPE_KEYS = {"\u0302": lambda c: c + c, "\u0306": lambda c: c + "w", "\u031b": lambda c: c + "w"}
_NEIGHBOURS = {"a": "sq", "e": "wr", "i": "uo", "o": "ip", "u": "yi", "n": "bm", "m": "n",
               "h": "gj", "t": "ry", "g": "fh", "c": "xv", "l": "k", "y": "tu", "r": "et"}
_OLD_STYLE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "ủy": "uỷ",
              "ùy": "uỳ", "úy": "uý", "ũy": "uỹ", "ụy": "uỵ", "òe": "oè", "óe": "oé"}


@dataclass(frozen=True)
class Profile:
    """Chances of each error in one kind of list (0–1)."""

    no_marks: float
    telex: float
    typo: float
    upper: float
    old_tone_style: float
    home_instead: float
    home_beside: float
    given_first: float
    drop_middle: float
    surname_only: float
    dob_year_only: float  # the reporter knows the age, not the date
    dob_jan_first: float  # …and writes 1 January of that year
    dob_swap: float
    dob_days_off: float
    dob_year_off: float
    sex_blank: float
    id_written: float  # the child's number is written when the child has one
    id_mistyped: float
    id_sex_digit: float  # the century/sex digit typed wrong: a doubtful number
    id_excel: float  # went through Excel as a number: the leading zero lost
    id_twin_copy: float  # a twin's number written for the other twin
    mother: float
    father: float


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def telex_word(word: str) -> str:
    """``Nguyễn`` → ``Nguyeenx``: what the keyboard leaves when the input method is off."""
    out: list[str] = []
    tone = ""
    for char in unicodedata.normalize("NFD", word.replace("đ", "dd").replace("Đ", "Dd")):
        if char in _TONE_KEYS:
            tone = _TONE_KEYS[char]
        elif char in _SHAPE_KEYS and out:
            out[-1] = _SHAPE_KEYS[char](out[-1])
        else:
            out.append(char)
    return "".join(out) + tone


def typo(rng: random.Random, word: str) -> str:
    """One slip of the finger: a letter dropped, doubled, swapped or hit next to its key."""
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    base = strip_marks(word[i]).lower()
    return word[:i] + rng.choice(_NEIGHBOURS.get(base, "aeiou")) + word[i + 1:]


def old_tone_style(name: str) -> str:
    for new, old in _OLD_STYLE.items():
        name = name.replace(new, old)
    return name


def write_name(rng: random.Random, family: str, middle: str, given: str, home: str,
               p: Profile, *, home_column: bool) -> tuple[str, str, list[str]]:
    """(name as written, home name for its own column, tags)."""
    tags: list[str] = []
    home_cell = ""
    words = [family, *middle.split(), given]
    if rng.random() < p.drop_middle and middle:
        words, tags = [family, given], ["drop_middle"]
    if rng.random() < p.given_first:
        words = [words[-1], *words[:-1]]
        tags.append("given_first")
    text = " ".join(words)
    if home and rng.random() < p.home_instead:
        text = rng.choice((f"{family} {home}", home, f"Bé {home}"))
        tags.append("home_instead")
    elif home and rng.random() < p.home_beside:
        if home_column and rng.random() < 0.7:
            home_cell = home
            tags.append("home_column")
        else:
            text = rng.choice((f"{text} ({home})", f"{text} - {home}", f"{home} {text}"))
            tags.append("home_beside")
    elif rng.random() < p.surname_only:
        text = rng.choice((family, f"Bé {family}", f"Con {family}"))
        tags.append("surname_only")
    text, more = _spelling(rng, text, p)
    return text, home_cell, tags + more


def _spelling(rng: random.Random, text: str, p: Profile) -> tuple[str, list[str]]:
    tags = []
    if rng.random() < p.old_tone_style:
        text = old_tone_style(text)
    if rng.random() < p.typo:
        words = text.split()
        i = rng.randrange(len(words))
        words[i] = typo(rng, words[i])
        text, tags = " ".join(words), ["typo"]
    if rng.random() < p.no_marks:
        text = strip_marks(text)
        tags.append("no_marks")
    elif rng.random() < p.telex:
        words = text.split()
        picks = range(len(words)) if rng.random() < 0.5 else [rng.randrange(len(words))]
        for i in picks:
            words[i] = telex_word(words[i])
        text = " ".join(words)
        tags.append("telex")
    if rng.random() < p.upper:
        text = text.upper()
        tags.append("upper")
    return text, tags


def write_adult(rng: random.Random, full: str, p: Profile) -> str:
    """A parent's or head's name, with the list's spelling habits (no name games)."""
    return _spelling(rng, full, p)[0]


def write_dob(rng: random.Random, dob: date, known: str, visit: date,
              p: Profile) -> tuple[str, list[str]]:
    """The date of birth as written (ISO at the precision known), and tags. A baby of a few
    weeks is sometimes written with the date the family expected, days after the visit: in
    the future still when the list is imported soon after."""
    if known == "year" or rng.random() < p.dob_year_only:
        if rng.random() < p.dob_jan_first:
            return f"{dob.year}-01-01", ["dob_jan_first"]
        return str(dob.year), ["dob_year"]
    if known == "month":
        return f"{dob.year}-{dob.month:02d}", ["dob_month"]
    roll = rng.random()
    if roll < p.dob_swap and dob.day <= 12 and dob.day != dob.month:
        return date(dob.year, dob.day, dob.month).isoformat(), ["dob_swap"]
    roll -= p.dob_swap
    if roll < p.dob_days_off:
        shifted = dob + timedelta(days=rng.choice((-5, -3, -2, -1, 1, 2, 3, 7)))
        return shifted.isoformat(), ["dob_days_off"]
    roll -= p.dob_days_off
    if roll < p.dob_year_off:
        year = dob.year + rng.choice((-1, 1))
        day = min(dob.day, 28)
        return date(year, dob.month, day).isoformat(), ["dob_year_off"]
    if (visit - dob).days < 60 and rng.random() < 0.25:  # the expected date, not the real one
        return (visit + timedelta(days=rng.randint(3, 9))).isoformat(), ["dob_future"]
    return dob.isoformat(), []


def write_personal_id(rng: random.Random, own: str, twin: str,
                      p: Profile) -> tuple[str, str]:
    """(number as written, kind): kind is "", "valid", "mistyped", "sex_digit", "excel",
    "twin_copy" or "spaced"."""
    if twin and rng.random() < p.id_twin_copy:
        return twin, "twin_copy"
    if not own or rng.random() >= p.id_written:
        return "", ""
    roll = rng.random()
    if roll < p.id_mistyped:
        return mistyped(rng, own), "mistyped"
    roll -= p.id_mistyped
    if roll < p.id_sex_digit:
        digit = str(int(own[3]) ^ 1)
        return own[:3] + digit + own[4:], "sex_digit"
    roll -= p.id_sex_digit
    if roll < p.id_excel and own.startswith("0"):
        return own.lstrip("0"), "excel"
    if rng.random() < 0.05:
        return f"{own[:3]} {own[3:6]} {own[6:]}", "spaced"
    return own, "valid"
