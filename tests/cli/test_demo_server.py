"""`diemtua demo` speaks of the server it is for: the phones' URLs name the address that server
is reached at (not a fixed port), the `app-user qr` command it prints works as printed, its
registry figures are what the database holds after the sync — whoever did the syncing — and
each stage shows its progress."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import distinct, func, select

from server.demo import SUBMIT, SYNC, load_demo
from server.models import AppUser, ChildRecord, LinkEdge, MatchCandidate, Project
from server.operations import qrcode
from server.registry.sync import sync_pending
from server.services import Services
from tests.cli.conftest import Run

TODAY = date(2026, 11, 29)
QR_LINE = re.compile(r"QR code: (diemtua app-user qr 2 --out T01\.png[^\n]*?)   or   GET ")


def demo(cli: Run, *extra: object) -> Result:
    result = cli("demo", "--households", 6, "--seed", 5, "--admin-email", "quantri@example.org",
                 *extra)
    assert result.exit_code == 0, result.output
    return result


def run_as_printed(cli: Run, result: Result, base: str, services: Services) -> None:
    """The printed `app-user qr` command, run word for word, writes the phone's QR code for
    `base`."""
    found = QR_LINE.search(result.output)
    assert found, result.output
    words = shlex.split(found.group(1))
    assert words[:2] == ["diemtua", "app-user"]
    written = cli(*words[1:])
    assert written.exit_code == 0, written.output
    with services.database.unit_of_work() as db:
        phone = db.get_one(AppUser, 2)
        project = db.get_one(Project, phone.project_id)
        assert phone.token is not None
        url = qrcode.collect_url(base, phone.token, project.id)
        expected = qrcode.qr_png(qrcode.encode_settings(qrcode.collect_settings(
            url, project.name, project.id, username=phone.actor.display_name)))
    assert Path("T01.png").read_bytes() == expected
    assert f"Collect URL: {url}" in result.output


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the printed command writes T01.png here
    return tmp_path


def test_the_urls_name_the_port_the_server_was_started_on(
        services: Services, cli: Run, in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.app.base import BaseApplication

    monkeypatch.setattr(BaseApplication, "run", lambda self: None)  # started, not served
    served = cli("serve", "--port", 8099)
    assert served.exit_code == 0 and "listening on http://127.0.0.1:8099" in served.output
    result = demo(cli)
    assert result.output.count("Collect URL: http://127.0.0.1:8099/v1/key/") == 6
    assert ":8383" not in result.output
    # 127.0.0.1 is for this machine only: the demo says what a phone needs.
    assert "reachable from this machine only" in result.output
    run_as_printed(cli, result, "http://127.0.0.1:8099", services)
    assert "--base-url" not in QR_LINE.search(result.output).group(1)  # type: ignore[union-attr]


def test_a_given_base_url_is_used_and_the_printed_command_carries_it(
        services: Services, cli: Run, in_tmp: Path) -> None:
    result = demo(cli, "--base-url", "http://192.168.1.20:8080/")
    assert result.output.count("Collect URL: http://192.168.1.20:8080/v1/key/") == 6
    assert "--out T01.png --base-url http://192.168.1.20:8080   or" in result.output
    assert "this machine only" not in result.output
    run_as_printed(cli, result, "http://192.168.1.20:8080", services)


def test_the_public_url_needs_no_option_anywhere(
        services: Services, cli: Run, in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMTUA_PUBLIC_URL", "https://diemtua.xa-hoabinh.gov.vn")
    result = demo(cli)
    assert "--base-url" not in QR_LINE.search(result.output).group(1)  # type: ignore[union-attr]
    run_as_printed(cli, result, "https://diemtua.xa-hoabinh.gov.vn", services)


def test_each_stage_is_announced_while_it_runs(cli: Run) -> None:
    output = demo(cli).output
    submitting = output.index("lượt thăm hộ qua đường nhận của điện thoại")
    syncing = output.index("Đồng bộ sổ trẻ em:")
    assert submitting < syncing < output.index("Demo commune:")


def test_the_registry_figures_count_what_a_servers_worker_synced_first(
        services: Services) -> None:
    heard: list[tuple[str, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == SYNC and not any(s == SYNC for s, _d, _t in heard):
            # A running server's worker takes every submission before the demo's own pass.
            taken = sync_pending(services.database.sessions)
            assert taken.submissions == total
        heard.append((stage, done, total))

    summary = load_demo(services, households=20, seed=11, today=TODAY, sync_registry=True,
                        on_progress=progress)
    sent = 20 + summary.revisits_submitted
    registry = summary.registry
    assert registry is not None and summary.registry_pending == 0
    with services.database.unit_of_work() as db:
        records = db.scalar(select(func.count()).select_from(ChildRecord))
        linked = db.scalar(select(func.count(distinct(LinkEdge.record_b))))
        queued = db.scalar(select(func.count(distinct(MatchCandidate.record_id))))
    assert (registry.submissions, registry.failed) == (sent, 0)
    assert (registry.records, registry.linked, registry.queued) == (records, linked, queued)
    assert registry.linked > 0 and registry.new == records - linked - queued
    stages = Counter(stage for stage, _done, _total in heard)
    assert stages[SUBMIT] >= 2 and stages[SYNC] >= 1
    assert heard[0] == (SUBMIT, 0, sent)
    assert (SUBMIT, sent, sent) in heard and heard[-1] == (SYNC, sent, sent)
