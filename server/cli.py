"""The `diemtua` command: database, users, projects, serving.

Commands call the same operations as the HTTP layer, in one unit of work each.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from server import problems
from server.config import load_settings
from server.services import Services


def _services() -> Services:
    return Services.from_settings(load_settings())


def _fail(problem: problems.Problem) -> None:
    raise click.ClickException(problem.message)


@click.group()
def main() -> None:
    """Điểm Tựa: ODK-compatible sync server for child protection in communes."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the newest schema."""
    from server.migrations import upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group()
def user() -> None:
    """Web users (health-station staff, commune officers, administrators)."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "none"]), default="none", show_default=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email: str, role: str, display_name: str | None, password_stdin: bool) -> None:
    """Create a user; asks for the password unless --password-stdin."""
    from server.auth.passwords import WeakPassword
    from server.operations.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    svc = _services()
    try:
        with svc.database.unit_of_work() as session:
            created = create_user(session, email, password, role=role,
                                  display_name=display_name)
            actor_id = created.actor_id
    except WeakPassword as exc:
        raise click.ClickException(str(exc)) from exc
    except problems.Problem as problem:
        _fail(problem)
    click.echo(f"created user {email} (id {actor_id}, role {role})")


@main.group()
def project() -> None:
    """Projects (one per commune)."""


@project.command("create")
@click.argument("name")
@click.option("--commune-code", default=None)
def project_create(name: str, commune_code: str | None) -> None:
    from server.operations.projects import create_project

    svc = _services()
    with svc.database.unit_of_work() as session:
        created = create_project(session, name, commune_code=commune_code)
        project_id = created.id
    click.echo(f"created project {name} (id {project_id})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8383, show_default=True, type=int)
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

    for module in ("server.cli_app_users", "server.cli_demo", "server.cli_sync",
                   "server.cli_registry", "server.cli_audit"):
        try:
            import_module(module).register(main)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_extensions()
