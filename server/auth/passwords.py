"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation), and
the rule a new password must pass (README "Signing in").

A new password needs at least 10 characters (as in ODK Central) and must not be easy to guess:
zxcvbn, Dropbox's estimator, matches it against its lists of common passwords, names and
words, keyboard rows, sequences, repeats and dates, and against the person's own email and
name and this server's name; a password it scores below 3 (under 10^8 guesses) is refused.
Score 3 is its "safely unguessable" band: out of reach of online guessing, which the sign-in
throttle holds to a few dozen tries an hour, and costly to try offline against argon2id. Long
passphrases in Vietnamese pass easily ("mật khẩu trạm y tế 2026" scores 4); "1234567890",
"matkhau2026" or "Hanoi12345" do not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from server import problems

_hasher = PasswordHasher()

# Central refuses passwords under 10 characters; so do we.
MIN_PASSWORD_LENGTH = 10
# zxcvbn's score, 0 to 4: 3 means at least 10^8 guesses.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses to look at more (its cost grows with the length); the first 72 characters of
# a longer password are judged instead.
_JUDGED_LENGTH = 72
# Words zxcvbn's English lists lack that people here would put in a password for this server:
# its name, and "password" in Vietnamese.
SERVER_WORDS = ("diemtua", "điểm tựa", "diem tua")
PASSWORD_WORDS = ("matkhau", "mật khẩu", "mat khau")

# zxcvbn keeps the user's words in a module-level dictionary while it scores: one at a time.
_zxcvbn_lock = threading.Lock()

# zxcvbn's warnings (zxcvbn/feedback.py), in Vietnamese.
_WARNINGS_VI = {
    "Straight rows of keys are easy to guess.": "một hàng phím liền nhau rất dễ đoán.",
    "Short keyboard patterns are easy to guess.": "các kiểu gõ phím ngắn rất dễ đoán.",
    'Repeats like "aaa" are easy to guess.': 'ký tự lặp lại như "aaa" rất dễ đoán.',
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        'lặp lại như "abcabcabc" chỉ khó đoán hơn "abc" một chút.',
    'Sequences like "abc" or "6543" are easy to guess.':
        'dãy liên tiếp như "abc" hay "6543" rất dễ đoán.',
    "Recent years are easy to guess.": "các năm gần đây rất dễ đoán.",
    "Dates are often easy to guess.": "ngày tháng thường rất dễ đoán.",
    "This is a top-10 common password.": "đây là một trong 10 mật khẩu phổ biến nhất.",
    "This is a top-100 common password.": "đây là một trong 100 mật khẩu phổ biến nhất.",
    "This is a very common password.": "đây là một mật khẩu rất phổ biến.",
    "This is similar to a commonly used password.": "mật khẩu này giống một mật khẩu phổ biến.",
    "A word by itself is easy to guess.": "một từ đứng riêng rất dễ đoán.",
    "Names and surnames by themselves are easy to guess.":
        "tên hay họ đứng riêng rất dễ đoán.",
    "Common names and surnames are easy to guess.": "tên và họ phổ biến rất dễ đoán.",
}
_PASSWORD_WORD = ("It contains the word “mật khẩu” (password).", "có chữ “mật khẩu”.")
_OWN_WORDS = ("It contains your email, your name or this server's name.",
              "có email, tên của bạn hoặc tên của máy chủ.")


class WeakPassword(ValueError):
    """A new password the rule refuses, with why, in Vietnamese and English."""

    def __init__(self, reason: str, vietnamese: str, english: str) -> None:
        super().__init__(f"{vietnamese} ({english})")
        self.reason = reason
        self.vietnamese = vietnamese
        self.english = english

    def problem(self) -> problems.Problem:
        """Central's 400.21, saying why."""
        return problems.weak_password(self.vietnamese, self.english,
                                      {"minLength": MIN_PASSWORD_LENGTH, "reason": self.reason})


def _words(inputs: Iterable[str | None]) -> list[str]:
    """The person's email and name, whole and in parts (`hoa`, `tramyte` of hoa@tramyte.vn)."""
    words: list[str] = [*SERVER_WORDS, *PASSWORD_WORDS]
    for text in inputs:
        if text:
            words.append(text)
            words.extend(part for part in re.split(r"[\s@._+-]+", text) if len(part) >= 3)
    return words


def check_password_strength(password: str, user_inputs: Iterable[str | None] = ()) -> None:
    """Raise `WeakPassword` for a password too short or too easy to guess."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            "too_short", f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    with _zxcvbn_lock:
        result = zxcvbn(password[:_JUDGED_LENGTH], user_inputs=_words(user_inputs))
    if result["score"] >= MIN_PASSWORD_SCORE:
        return
    why_en, why_vi = _why(result)
    raise WeakPassword(
        "too_common",
        f"Mật khẩu quá dễ đoán{': ' + why_vi if why_vi else '.'} "
        "Hãy dùng một câu gồm vài từ ít gặp.",
        f"The password is too easy to guess{': ' + why_en if why_en else '.'} "
        "Use a few uncommon words.")


def _why(result: dict[str, Any]) -> tuple[str, str]:
    """zxcvbn's warning in English and Vietnamese; or, when it has none, the words of the person
    or the server the password is made of (zxcvbn says nothing of those)."""
    warning: str = result["feedback"]["warning"]
    if warning:
        return warning, _WARNINGS_VI.get(warning, "")
    own = [match["matched_word"] for match in result["sequence"]
           if match.get("dictionary_name") == "user_inputs"]
    if any(word in PASSWORD_WORDS for word in own):
        return _PASSWORD_WORD
    return _OWN_WORDS if own else ("", "")


def hash_password(password: str, user_inputs: Iterable[str | None] = ()) -> str:
    """The stored hash of a new password; `user_inputs` (the person's email and name) count
    as easy to guess."""
    check_password_strength(password, user_inputs)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so a missing account is not revealed by timing.
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("dummy password for timing")
