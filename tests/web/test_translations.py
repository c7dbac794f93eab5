"""Every string of the pages is translated (docs/translations.md): the Vietnamese catalogue
covers every message of `server.web.i18n.MESSAGES`, compiled, with the same placeholders, and
every key the templates and views ask for exists."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from flask.testing import FlaskClient

from server.web import catalogue
from server.web.i18n import MESSAGES

WEB = Path(catalogue.__file__).resolve().parent
# t("key") and t('key') with a whole literal key, in templates and Python alike (not the start
# of a key completed at run time, `t("flag.kind." ~ kind)`).
_LITERAL_KEY = re.compile(
    r"""\bt\(\s*["']([a-z][a-zA-Z0-9_]*\.[a-zA-Z0-9_.]*[a-zA-Z0-9_])["']\s*[,)]""")


def test_the_vietnamese_catalogue_translates_every_message_and_is_compiled() -> None:
    assert catalogue.problems() == []


def test_a_message_missing_fuzzy_or_with_other_placeholders_is_reported() -> None:
    english = {"a.one": "One {name}", "a.two": "Two", "a.three": "Three"}
    translated = Catalog(locale="vi")
    translated.add("One {name}", "Một {ten}", context="a.one")
    translated.add("Two", "Hai", context="a.two", flags=("fuzzy",))
    translated.add("Gone", "Đã bỏ", context="a.gone")
    found = list(catalogue.entry_problems("vi", translated, english))
    assert [line.split(":")[1].strip() for line in found] == [
        "a.one (\'One {name}\')", "a.two (\'Two\')", "a.three (\'Three\')", "a.gone (\'Gone\')"]
    assert "placeholders differ" in found[0] and "fuzzy" in found[1]
    assert "not in the catalogue" in found[2] and "no such message" in found[3]


def test_every_key_the_pages_ask_for_exists() -> None:
    asked: dict[str, set[str]] = {}
    for source in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        for key in _LITERAL_KEY.findall(source.read_text(encoding="utf-8")):
            asked.setdefault(key, set()).add(source.name)
    assert len(asked) > 300  # the scan found the pages' keys
    missing = {key: sorted(files) for key, files in asked.items() if key not in MESSAGES}
    assert missing == {}


def test_pages_speak_vietnamese_by_default_and_english_on_request(client: FlaskClient) -> None:
    vietnamese = client.get("/ui/login").get_data(as_text=True)
    assert "<h1>Đăng nhập</h1>" in vietnamese and 'lang="vi"' in vietnamese
    english = client.get("/ui/login?lang=en").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in english and 'lang="en"' in english


def test_every_reason_and_rule_of_the_matcher_has_words() -> None:
    """Review and child pages explain a match by its reason and rule codes
    (`server.web.explain`): a code without words would show to people as itself."""
    from sync.matching.constraints import Rule
    from sync.matching.decide import Reason

    missing = [f"reason.{r.value}" for r in Reason if f"reason.{r.value}" not in MESSAGES]
    missing += [f"rule.{r.value}" for r in Rule if f"rule.{r.value}" not in MESSAGES]
    assert missing == []
