"""An OData table response body: `{"value":[…],"@odata.context":…,"@odata.nextLink":…,
"@odata.count":…}`, as Central writes it (lib/formats/odata.js, lib/util/odata.js).

`Submissions` is paged by the database and streamed row by row. A repeat table is made from
every matching submission and paged here — Central does the same, since a repeat row's position
is only known by reading the submissions before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from exports.odata import RowMaker, RowOptions
from exports.odata_query import Paging, QueryError, make_skiptoken
from exports.schema import Field, FormSchema
from exports.source import ExportRow
from exports.zipstream import rechunk


@dataclass(frozen=True)
class FeedLinks:
    """`context`: the `$metadata#<table>` URL; `next_link`: the request URL with a skiptoken."""

    context: str
    next_link: Callable[[str], str]


def encode(value: Any) -> str:
    """Compact JSON with the text as is, like JavaScript's JSON.stringify."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _footer(links: FeedLinks, next_token: dict[str, Any] | None, count: int | None) -> str:
    parts = [f'"@odata.context":{encode(links.context)}']
    if next_token is not None:
        parts.append(f'"@odata.nextLink":{encode(links.next_link(make_skiptoken(next_token)))}')
    if count is not None:
        parts.append(f'"@odata.count":{count}')
    return ",".join(parts) + "}"


def submissions_feed(rows: Iterable[ExportRow], schema: FormSchema, options: RowOptions,
                     links: FeedLinks, top: int | None, count: int | None) -> Iterator[bytes]:
    """`rows` holds up to `top + 1` rows: the extra one only tells that a next page exists.
    Rows leave in chunks worth a network write, not one write each."""
    return rechunk(_submission_parts(rows, RowMaker(schema, options), links, top, count))


def _submission_parts(rows: Iterable[ExportRow], maker: RowMaker, links: FeedLinks,
                      top: int | None, count: int | None) -> Iterator[bytes]:
    written = 0
    last: str | None = None
    more = False
    yield b'{"value":['
    for row in rows:
        if top is not None and written >= top:
            more = True
            break
        prefix = "," if written else ""
        yield (prefix + encode(maker.submission(row))).encode("utf-8")
        written += 1
        last = row.instance_id
    token = {"instanceId": last} if more and last is not None else None
    yield ("]," + _footer(links, token, count)).encode("utf-8")


Item = tuple[str, dict[str, Any]]


def _reading(options: RowOptions, keys: set[str]) -> tuple[RowOptions, set[str]]:
    """Options that also read `keys` (row ids used for paging and filtering), and the keys
    to drop again because `$select` did not ask for them."""
    asked = options.metadata
    if asked is None:
        return options, set()
    return replace(options, metadata=asked | keys), keys - asked


def _page(items: Iterable[Item], paging: Paging) -> tuple[list[Item], int, int]:
    """Central's in-memory paging of a repeat table: (page, rows counted, rows after it).
    Raises before anything is sent when the `$skiptoken` names a row that does not exist."""
    after = paging.skiptoken.get("repeatId") if paging.skiptoken is not None else None
    if paging.skiptoken is not None and not after:
        raise QueryError("400.35", "Invalid $skiptoken")
    started = after is None
    counted = skipped = remaining = 0
    page: list[Item] = []
    for row_id, item in items:
        counted += 1
        if not started:
            started = row_id == after
        elif skipped < paging.skip:
            skipped += 1
        elif paging.top is None or len(page) < paging.top:
            page.append((row_id, item))
        else:
            remaining += 1
    if not started:
        raise QueryError("400.34", "Record associated with the provided $skiptoken not found.")
    return page, counted, remaining


def _body(page: list[Item], links: FeedLinks, token: dict[str, Any] | None,
          count: int | None) -> bytes:
    values = ",".join(encode(item) for _, item in page)
    return ("{\"value\":[" + values + "]," + _footer(links, token, count)).encode("utf-8")


def _without(item: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys} if keys else item


def repeat_feed(rows: Iterable[ExportRow], schema: FormSchema, table: Field,
                options: RowOptions, links: FeedLinks, paging: Paging) -> bytes:
    """One page of a repeat table, made from every matching submission."""
    reading, hidden = _reading(options, {"__id"})
    maker = RowMaker(schema, reading)
    items = ((item["__id"], _without(item, hidden))
             for row in rows for item in maker.repeat(row, table))
    page, counted, remaining = _page(items, paging)
    token = {"repeatId": page[-1][0]} if remaining and page else None
    return _body(page, links, token, counted if paging.count else None)


def single_feed(row: ExportRow, schema: FormSchema, table: Field | None,
                within: tuple[str, str] | None, options: RowOptions, links: FeedLinks,
                paging: Paging) -> bytes:
    """`Submissions('<id>')[/<repeat>…]`: one submission's rows of a table, optionally only
    those under the repeat instance `within` = (parent id property, id) — the targets of
    Central's navigation links."""
    if table is None:
        reading, hidden = _reading(options, {"__id"})
        rows = [RowMaker(schema, reading).submission(row)]
    else:
        keys = {"__id"} | ({within[0]} if within else set())
        reading, hidden = _reading(options, keys)
        rows = [item for item in RowMaker(schema, reading).repeat(row, table)
                if within is None or item.get(within[0]) == within[1]]
    items = [(item["__id"], _without(item, hidden)) for item in rows]
    page, counted, remaining = _page(items, paging)
    token: dict[str, Any] | None = None
    if remaining and page:
        token = {"repeatId": page[-1][0]} if table else {"instanceId": row.instance_id}
    return _body(page, links, token, counted if paging.count else None)
