"""`<int:…>` in a route: an id the database can hold, or no match at all (404).

Every numeric id in a URL (project, user, app user, flag, review candidate …) is compared with
an `Integer` primary key. PostgreSQL's `integer` is 32-bit signed: it refuses a bigger literal
with NumericValueOutOfRange, which would leave the request as a 500 for a URL that merely names
nothing. SQLite's integers are 64-bit and would answer "no row", so the two databases disagreed.
An id outside the column's range cannot exist, so the route does not match it: the caller gets
the same 404 as for any address that matches nothing — Central-style JSON under /v1, the
OpenRosa error for phones, the not-found page under /ui — whichever database runs, and no
handler has to remember the bound.

The bound is in the converter's *regular expression*, not in `to_python` (werkzeug's
`max=`): werkzeug stops matching at a converter's ValidationError and reports a 405 when another
rule of the same path has other methods (GET and POST of `…/submission`), and flask-restx's
error router then fails on that 405 with an unhandled NotFound. A pattern that does not match
lets werkzeug try the remaining rules (the pages' catch-all) exactly as for any unknown address.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# The largest value of an SQLAlchemy `Integer` column on PostgreSQL (`integer`, 4 bytes).
DATABASE_INT_MAX = 2**31 - 1


def up_to(limit: int) -> str:
    """A regular expression (no capturing groups) for the decimal numbers 0 … `limit`,
    leading zeros allowed as werkzeug's own `int` allows them; ASCII digits only."""
    digits = str(limit)
    width = len(digits)
    choices = [f"[0-9]{{1,{width - 1}}}"] if width > 1 else []
    # Numbers of the limit's width: equal to it up to position i, smaller at position i.
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 and width > 1 else 0
        if int(digit) > lowest:
            rest = f"[0-9]{{{width - i - 1}}}" if i < width - 1 else ""
            choices.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}]{rest}")
    choices.append(digits)
    return "0*(?:" + "|".join(choices) + ")"


class DatabaseIdConverter(IntegerConverter):
    """werkzeug's `int` converter matching only 0 … 2^31 − 1 (no sign, as werkzeug's default)."""

    regex = up_to(DATABASE_INT_MAX)
    signed_regex = "-?" + regex


def install_id_converter(app: Flask) -> None:
    """Replace the app's `int` converter. Call it before any blueprint is registered: a rule
    picks its converter class when it is added to the URL map (flask-restx namespaces too,
    since they add their routes through the blueprint)."""
    app.url_map.converters["int"] = DatabaseIdConverter
