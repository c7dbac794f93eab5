"""The `diemtua` command as an operator runs it: CliRunner against the test's real database
(SQLite, or PostgreSQL with DIEMTUA_TEST_DATABASE_URL), the environment pointing at it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

import xlsforms
from server.cli import main
from server.registry.villages import fill_from_csv
from server.services import Services
from tests.conftest import World

Run = Callable[..., Result]


@pytest.fixture
def cli(services: Services, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`cli("user", "list")` runs `diemtua user list` on the test's database; `input=` feeds
    standard input. DIEMTUA_PUBLIC_URL is unset: tests that want one set it."""
    settings = services.settings
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    monkeypatch.delenv("DIEMTUA_PUBLIC_URL", raising=False)
    runner = CliRunner()

    def run(*args: object, input: str | None = None) -> Result:
        return runner.invoke(main, [str(arg) for arg in args], input=input)

    return run


@pytest.fixture
def commune(world: World) -> World:
    """The world's project with the commune's villages T01–T06 (xlsforms/villages.csv)."""
    with world.uow() as db:
        fill_from_csv(db, world.project_id, xlsforms.VILLAGES_CSV.read_bytes())
    return world
