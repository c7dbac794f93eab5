"""On PostgreSQL, a child's memberships, category episodes and follow-up updates are found by
index probes even when the registry grew in the same transaction and has no statistics yet
(server.registry.child_rows, README "Benchmarks"): the sync reads them for every child it
links, so a scan of the table would cost each sync group the whole registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Select
from sqlalchemy.orm import Session

from server.db import Base, insert_objects, insert_rows
from server.models import ChildCategoryEpisode, ChildMembership, ChildRecord, ChildUpdate
from server.registry.child_rows import rows_of_children, table_of
from server.registry.placement import new_child
from tests.conftest import World


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _plan_nodes(child))]


def _scans(session: Session, statement: Select[Any], params: dict[str, Any]
           ) -> dict[str, set[str]]:
    """Each table's scan kinds in PostgreSQL's plan of ``statement`` (planned, not run)."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    found = session.connection().exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled}", {**compiled.params, **params}).scalar_one()
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
    insert_rows(session, ChildUpdate, [
        {"project_id": project_id, "child_id": child_id, "version": 2, "properties": {}}
        for child_id in ids])
    return ids


@pytest.mark.parametrize("model", [ChildMembership, ChildCategoryEpisode, ChildUpdate])
def test_a_child_s_rows_are_probed_by_child_without_statistics(
        world: World, model: type[Base]) -> None:
    with world.uow() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the plan is PostgreSQL's; SQLite's is the index for an IN list")
        ids = _grown_registry(session, world.project_id, 1500)
        session.flush()
        scans = _scans(session, rows_of_children(model, postgresql=True),
                       {"child_ids": ids[:40]})
        assert "Seq Scan" not in scans[table_of(model).name], scans
