"""On PostgreSQL, a child's records and category episodes are found by index probes even when
the registry grew in the same transaction and has no statistics yet (server.registry.view,
server.registry.categories, README "Benchmarks"): the sync reads them for every child it
links, so a scan of the table would cost each sync group the whole registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from server.db import insert_objects, insert_rows
from server.models import ChildCategoryEpisode, ChildMembership, ChildRecord
from server.registry import categories, view
from server.registry.placement import new_child
from tests.conftest import World


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _plan_nodes(child))]


def _scans(session: Session, sql: str, params: dict[str, Any]) -> dict[str, set[str]]:
    """Each table's scan kinds in PostgreSQL's plan of ``sql`` (no ANALYZE: not run)."""
    found = session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()
    plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    scans: dict[str, set[str]] = {}
    for node in _plan_nodes(plan):
        if "Relation Name" in node:
            scans.setdefault(node["Relation Name"], set()).add(node["Node Type"])
    return scans


def _grown_registry(session: Session, project_id: int, children: int) -> list[str]:
    """``children`` children of three records and two category episodes each, written in this
    transaction."""
    ids = [new_child(session, project_id) for _ in range(children)]
    records = insert_objects(session, ChildRecord, [
        {"project_id": project_id, "source": "import", "source_key": f"l#{n}",
         "household_key": f"h{n // 3}", "full_name": f"Trẻ {n}", "raw": {},
         "derived_categories": [], "doubtful": []} for n in range(3 * children)])
    insert_rows(session, ChildMembership, [
        {"record_id": record.id, "child_id": ids[n // 3]} for n, record in enumerate(records)])
    insert_rows(session, ChildCategoryEpisode, [
        {"child_id": child_id, "code": code, "status": "provisional", "history": []}
        for child_id in ids for code in ("HCDB-A", "NCHCDB-B")])
    return ids


@pytest.mark.parametrize(("table", "statement"), [
    ("child_memberships", view._MEMBERS_OF_MANY_PG),
    ("child_categories", categories._EPISODES_OF_MANY_PG),
])
def test_a_child_s_rows_are_probed_by_child_without_statistics(
        world: World, table: str, statement: TextClause) -> None:
    with world.uow() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the plan is PostgreSQL's; SQLite's is the index for an IN list")
        ids = _grown_registry(session, world.project_id, 1500)
        session.flush()
        scans = _scans(session, statement.text, {"child_ids": ids[:40]})
        assert "Seq Scan" not in scans[table], scans
