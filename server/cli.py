"""The `diemtua` command: database, users, projects, serving.

Commands call the same operations as the HTTP layer, in one unit of work each.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from server.config import load_settings


def version_text() -> str:
    """The installed package's version and, when the database answers, its schema revision
    beside the newest this version knows (a bug report needs both)."""
    from importlib.metadata import version

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from server.migrations import current_heads

    # A placeholder key: reading the settings must not leave a key file behind for --version.
    settings = load_settings({**os.environ, "DIEMTUA_SECRET_KEY": "unused"})
    url = make_url(settings.database_url)
    line = f"diemtua {version('diemtua')}"
    if url.get_backend_name() == "sqlite" and not os.path.exists(url.database or ""):
        return f"{line} (no database yet: diemtua db upgrade)"
    heads = ", ".join(current_heads(settings.database_url))
    engine = create_engine(url, connect_args={"connect_timeout": 3}
                           if url.get_backend_name() == "postgresql" else {})
    try:
        with engine.connect() as connection:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # unreachable or never migrated: the version alone still helps
        return f"{line} (database not readable: {type(exc).__name__}; newest schema {heads})"
    finally:
        engine.dispose()
    state = "up to date" if revision == heads else f"newest is {heads}: diemtua db upgrade"
    return f"{line} (database schema {revision}, {state})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group()
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version,
              help="Show the version and the database's schema revision, and exit.")
def main() -> None:
    """Điểm Tựa: ODK-compatible sync server for child protection in communes."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True,
              help="Alembic revision to migrate to (up or down).")
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the newest schema."""
    from server.migrations import upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface, for phones on the network).")
@click.option("--port", default=8383, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=None, type=int,
              help="Worker processes (default: DIEMTUA_WORKERS or cores + 1).")
def serve(host: str, port: int, workers: int | None) -> None:
    """Run the production WSGI server (gunicorn)."""
    from gunicorn.app.base import BaseApplication

    settings = load_settings()

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or settings.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)
            # No keep-alive: a connection held open by one client stays on one worker, so a
            # few busy clients would load one process (one core) while the others idle. Closed
            # after each answer, the next request goes to whichever worker is free.
            self.cfg.set("keepalive", 0)
            # Slow village networks: a phone may take minutes to send its photos.
            self.cfg.set("timeout", 300)
            self.cfg.set("graceful_timeout", 60)
            self.cfg.set("accesslog", "-")
            self.cfg.set("forwarded_allow_ips", "*" if settings.proxy_hops else "127.0.0.1")
            if settings.sync_in_server:
                self.cfg.set("when_ready", _start_sync_worker)
                self.cfg.set("on_exit", _stop_sync_worker)

        def load(self) -> Any:
            from server import create_app

            return create_app()

    # App-user tokens travel in URLs: gunicorn's access log (and every other log line) shows
    # `/v1/key/[token]/…` instead, in the workers too, which fork from this process.
    from server.auth.redaction import install_log_redaction

    install_log_redaction()
    from server.serving_address import record_serving

    record_serving(settings, host, port)  # the phone URLs `diemtua demo` and `app-user qr` print
    click.echo(f"Điểm Tựa listening on http://{host}:{port}")
    _Gunicorn().run()


_sync_worker: list[Any] = []


def _start_sync_worker(_server: Any) -> None:
    """Run `diemtua sync worker` beside the web workers, so one command serves and syncs
    (DIEMTUA_SYNC_IN_SERVER=false when a separate worker process does it)."""
    import subprocess

    _sync_worker.append(subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "sync", "worker"]))


def _stop_sync_worker(_server: Any) -> None:
    for process in _sync_worker:
        process.terminate()
        try:
            process.wait(timeout=30)
        except Exception:
            process.kill()


def _register_extensions() -> None:
    """Command groups that live beside the features they drive."""
    from importlib import import_module

    for module in ("server.cli_users", "server.cli_app_users", "server.cli_demo", "server.cli_sync",
                   "server.cli_registry", "server.cli_audit", "server.cli_report",
                   "server.cli_backup"):
        try:
            import_module(module).register(main)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_extensions()
