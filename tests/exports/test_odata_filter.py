"""`$filter` parsing: Central's operators and fields, and clean refusals of everything else."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from exports.odata_filter import QueryError, mentions_deleted, parse_filter


def sql(expression: str, dialect: object = None) -> str:
    condition = parse_filter(expression)
    assert condition is not None
    compiled = condition.compile(dialect=dialect or postgresql.dialect(),  # type: ignore[arg-type]
                                 compile_kwargs={"literal_binds": True})
    return str(compiled)


def test_comparisons_become_bound_sql_on_columns() -> None:
    text = sql("__system/submitterId eq 5 and __system/submissionDate ge 2026-01-01 "
               "or not (__system/reviewState ne 'approved')")

    assert "submissions.submitter_id IS NOT DISTINCT FROM 5" in text
    assert "submissions.created_at >= '2026-01-01 00:00:00'" in text
    assert " OR " in text and "NOT" in text


def test_null_and_functions() -> None:
    assert sql("__system/reviewState eq null") == "submissions.review_state IS NULL"
    assert "EXTRACT(year FROM submissions.created_at)" in sql(
        "year(__system/submissionDate) eq 2026")
    assert "STRFTIME" in sql("month(__system/submissionDate) le 6", sqlite.dialect()).upper()


def test_string_literals_are_values_not_sql() -> None:
    text = sql("__system/reviewState eq 'x'' or 1=1 --'")

    assert "'x'' or 1=1 --'" in text


def test_timezone_offsets_become_utc() -> None:
    assert "'2026-01-01 17:00:00'" in sql("__system/submissionDate gt 2026-01-02T00:00:00+07:00")


@pytest.mark.parametrize(("expression", "code"), [
    ("__system/reviewState eq", "400.18"),
    ("__system/reviewState eq 'a' and", "400.18"),
    ("__system/reviewState ~ 'a'", "400.18"),
    ("household_head eq 'An'", "501.5"),
    ("__system/submitterId", "501.4"),
    ("__system/submitterId eq 'abc'", "400.18"),
])
def test_unusable_filters_are_refused_with_centrals_codes(expression: str, code: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter(expression)

    assert caught.value.code == code


def test_no_filter_and_deleted_detection() -> None:
    assert parse_filter(None) is None and parse_filter("  ") is None
    assert mentions_deleted("__system/deletedAt ne null")
    assert not mentions_deleted("__system/reviewState eq null")
