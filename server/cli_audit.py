"""`diemtua audit`: the audit log for people without API access (README "Audit log").

* ``export --since DATE [--until DATE] [--action A] --out FILE`` — the rows logged in that
  window (both ends inclusive; `--until` as a date includes that whole day), oldest first, as
  CSV or JSON Lines by FILE's extension (`exports.audit_log`). The export is itself audited
  (`audit.export`), in the same unit of work: a file is only left behind once its audit row is
  committed.

`cli_audit` is how any command records what it did: the CLI has no signed-in actor, so the
row names the system account that ran it (`details.systemUser`) and `via: cli`.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.audit_log import UnknownFormat, format_for, write_audits
from server.config import load_settings
from server.models import Actor, Audit
from server.operations.audit_log import (
    GROUPS,
    AuditFilter,
    BadMoment,
    parse_moment,
    stream_audits,
)
from server.services import Services


def system_user() -> str | None:
    """The operating-system account running the command (who, for a CLI action)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER: a bare container
        return None


def cli_audit(session: Session, action: str, actee: str | None,
              details: dict[str, Any] | None = None) -> None:
    """An audit row for a CLI command, in its unit of work."""
    session.add(Audit(actor_id=None, action=action, actee=actee,
                      details={**(details or {}), "via": "cli", "systemUser": system_user()}))


def _moment(value: str, name: str, *, end: bool = False) -> datetime:
    try:
        return parse_moment(value, end=end)
    except BadMoment:
        raise click.BadParameter("expected an ISO 8601 date or timestamp, e.g. 2026-12-01",
                                 param_hint=name) from None


@click.group("audit")
def audit_group() -> None:
    """The append-only audit log: who did what, when."""


@audit_group.command("export")
@click.option("--since", required=True, help="First day or moment (ISO 8601; no zone: UTC).")
@click.option("--until", default=None, help="Last day or moment, inclusive (default: now).")
@click.option("--action", default=None,
              help="One action, or a group: " + ", ".join(sorted(GROUPS)) + ".")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .csv, or .jsonl / .ndjson for JSON Lines.")
def export_command(since: str, until: str | None, action: str | None, out: Path) -> None:
    """Write the audit log of a period to a file."""
    try:
        fmt = format_for(out)
    except UnknownFormat as exc:
        raise click.BadParameter(f"unknown extension {exc}; use .csv, .jsonl or .ndjson",
                                 param_hint="--out") from None
    wanted = AuditFilter(action=action, start=_moment(since, "--since"),
                         end=_moment(until, "--until", end=True) if until else None)
    partial = out.with_name(f".{out.name}.partial")
    if not out.parent.is_dir():
        raise click.BadParameter(f"no folder {out.parent}", param_hint="--out")
    svc = Services.from_settings(load_settings())
    try:
        with svc.database.unit_of_work() as session:
            actors: dict[int, str] = dict(session.execute(
                select(Actor.id, Actor.display_name)).all())
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = write_audits(handle, stream_audits(session, wanted), actors, fmt)
            cli_audit(session, "audit.export", None, {
                "since": since, "until": until, "action": action, "rows": count,
                "format": fmt, "out": str(out.resolve())})
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
        svc.database.dispose()
    click.echo(f"Wrote {count} audit rows to {out}")


def register(main: click.Group) -> None:
    main.add_command(audit_group)
