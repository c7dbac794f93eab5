"""The pages' gettext catalogue: made from `server.web.i18n.MESSAGES`, kept in step, checked.

The pages' English source strings live in `MESSAGES`, each under a key naming its place
(`children.title`); the Vietnamese — the language people use first — lives in a standard
gettext catalogue, `server/web/translations/vi/LC_MESSAGES/messages.po`, one entry per key
with the key as its context (`msgctxt`), so one English word may be translated differently in
two places. Translators edit the `.po` file with any gettext tool (Poedit, Weblate,
Lokalize); Flask-Babel reads the compiled `.mo` beside it (docs/translations.md).

    python -m server.web.catalogue update   # after changing MESSAGES: new entries, .pot, .mo
    python -m server.web.catalogue check    # what the test suite checks; exit 1 on a problem

`update` never loses a translation: an entry whose English changed keeps its old Vietnamese,
marked fuzzy (to be reviewed), and `check` refuses fuzzy, empty and placeholder-mismatched
entries, so no page shows an untranslated string.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from server.web.i18n import MESSAGES, TRANSLATIONS

DOMAIN = "messages"
LOCALES = ("vi",)  # English is the source language: its text is MESSAGES itself
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z_0-9]*)\}")
_HEADER = {"project": "Điểm Tựa", "version": "1", "copyright_holder": "Điểm Tựa",
           "msgid_bugs_address": "", "charset": "utf-8"}


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def template(messages: dict[str, str] | None = None) -> Catalog:
    """The catalogue template (`messages.pot`): every key's English, untranslated."""
    catalog = Catalog(fuzzy=False, **_HEADER)
    for key, english in (messages or MESSAGES).items():
        flags = ("python-brace-format",) if placeholders(english) else ()
        catalog.add(english, "", context=key, flags=flags)
    return catalog


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(locale: str) -> Catalog:
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, omit_header=False,
             ignore_obsolete=True, include_previous=True)
    return buffer.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _entries(po: bytes) -> list[tuple[object, object, list[str]]]:
    """A catalogue's entries, without its header (whose dates change at every update)."""
    return [(entry.context, entry.id, sorted(entry.flags))
            for entry in read_po(io.BytesIO(po), domain=DOMAIN) if entry.id]


def update() -> None:
    """Bring every locale's `.po` in step with MESSAGES, then write the `.pot` and `.mo`."""
    pot = template()
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    (TRANSLATIONS / f"{DOMAIN}.pot").write_bytes(_po_bytes(pot))
    for locale in LOCALES:
        catalog = read(locale)
        catalog.update(pot, update_header_comment=False, update_creation_date=False)
        po_path(locale).write_bytes(_po_bytes(catalog))
        po_path(locale).with_suffix(".mo").write_bytes(_mo_bytes(read(locale)))


def entry_problems(locale: str, catalog: Catalog,
                   messages: dict[str, str] | None = None) -> Iterable[str]:
    """What is wrong with `catalog`'s translation of `messages` (MESSAGES by default)."""
    wanted: dict[str, str] = MESSAGES if messages is None else messages
    for key, english in wanted.items():
        entry = catalog.get(english, context=key)
        where = f"{locale}: {key} ({english!r})"
        if entry is None:
            yield f"{where}: not in the catalogue"
        elif not entry.string:
            yield f"{where}: not translated"
        elif entry.fuzzy:
            yield f"{where}: fuzzy (the English changed; review the translation)"
        elif placeholders(str(entry.string)) != placeholders(english):
            yield f"{where}: placeholders differ in {entry.string!r}"
    for entry in catalog:
        if entry.id and wanted.get(str(entry.context)) != entry.id:
            yield f"{locale}: {entry.context} ({entry.id!r}): no such message any more"


def problems() -> list[str]:
    """Everything that would show a page untranslated or stale; empty when all is well."""
    found: list[str] = []
    for locale in LOCALES:
        if not po_path(locale).exists():
            found.append(f"{locale}: no catalogue at {po_path(locale)}")
            continue
        catalog = read(locale)
        found.extend(entry_problems(locale, catalog))
        mo = po_path(locale).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != _mo_bytes(catalog):
            found.append(f"{locale}: {mo.name} is not compiled from {po_path(locale).name} "
                         "(run: python -m server.web.catalogue update)")
    pot = TRANSLATIONS / f"{DOMAIN}.pot"
    if not pot.exists() or _entries(pot.read_bytes()) != _entries(_po_bytes(template())):
        found.append(f"{pot.name} is not made from MESSAGES "
                     "(run: python -m server.web.catalogue update)")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command != "check":
        print(__doc__)
        return 2
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
