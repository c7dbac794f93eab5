"""`diemtua backup create|verify|restore` and `diemtua storage check` (README "Backups and
restore"; the work itself is in `server/backup/`).

The passphrase of an encrypted backup is read from the environment variable `--passphrase-env`
names, never from the command line: arguments show in every process list and shell history.
Exit codes: 0 good; 1 the backup is damaged, the target not empty, or blobs are damaged.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from server.backup.archive import (
    BackupInvalid,
    PassphraseNeeded,
    TargetNotEmpty,
    create_backup,
    restore_backup,
    verify_backup,
)
from server.backup.database import DatabaseBackupError
from server.backup.sealed import SealError
from server.backup.storage_check import DamagedBlob, check_storage, repair_storage
from server.cli_audit import cli_audit
from server.cli_progress import Counter
from server.config import load_settings
from server.services import Services
from server.storage import StorageError

PASSPHRASE_HELP = ("Name of an environment variable holding the passphrase (at least 12 "  # noqa: S105
                   "characters); never the passphrase itself.")


def _passphrase(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise click.BadParameter(f"the environment variable {variable} is not set",
                                 param_hint="--passphrase-env")
    return value


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _audit(services: Services, action: str, manifest: dict[str, Any], archive: Path) -> None:
    """Who copied (or brought back) every child's record, when, into which file: the audit
    log's question for a backup as for any export. Written after the copy, so not in it."""
    with services.database.unit_of_work() as session:
        cli_audit(session, action, None, {
            "file": str(archive.resolve()), "encrypted": manifest["encrypted"],
            "createdAt": manifest["createdAt"], "rows": sum(manifest["rowCounts"].values()),
            "files": len(manifest["blobs"])})
    services.database.dispose()


@click.group("backup")
def backup_group() -> None:
    """One file holding the database and every stored file, while the server runs."""


@backup_group.command("create")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (a tar file; encrypted with --passphrase-env).")
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
def create_command(out: Path, passphrase_env: str | None) -> None:
    """Write a consistent backup of the running deployment."""
    passphrase = _passphrase(passphrase_env)
    if not out.parent.is_dir():
        raise click.BadParameter(f"no folder {out.parent}", param_hint="--out")
    services = Services.from_settings(load_settings())
    bar = Counter("Sao lưu", unit="tệp")
    try:
        created = create_backup(services.settings.database_url, services.store, out,
                                app_version=version("diemtua"), passphrase=passphrase,
                                on_progress=lambda _stage, done, total: bar.update(done, total))
    except (DatabaseBackupError, SealError, StorageError) as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"the database cannot be read: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        bar.close()
        services.database.dispose()
    manifest = created.manifest
    _audit(services, "backup.create", manifest, out)
    damaged = len(created.missing) + len(created.corrupt)
    if damaged:
        click.echo(f"Warning: {damaged} stored files are missing or damaged and are not in the "
                   "backup; `diemtua storage check` names their submissions.", err=True)
    click.echo(f"Wrote {out}: {manifest['database']['kind']} database at revision "
               f"{manifest['alembicRevision']}, {sum(manifest['rowCounts'].values())} rows, "
               f"{len(manifest['blobs'])} files"
               + (", encrypted" if manifest["encrypted"] else ""))


@backup_group.command("verify")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
def verify_command(archive: Path, passphrase_env: str | None) -> None:
    """Check every member's checksum against the manifest and that the dump can be read."""
    passphrase = _passphrase(passphrase_env)
    try:
        with tempfile.TemporaryDirectory(prefix="diemtua-verify-") as folder:
            manifest = verify_backup(archive, Path(folder), passphrase).manifest
    except BackupInvalid as exc:
        _fail("the backup is damaged:\n  " + "\n  ".join(exc.problems))
    except (PassphraseNeeded, SealError, DatabaseBackupError) as exc:
        _fail(str(exc))
    click.echo(f"{archive} is whole: made {manifest['createdAt']} by diemtua "
               f"{manifest['appVersion']}, {manifest['database']['kind']} database at revision "
               f"{manifest['alembicRevision']}, {sum(manifest['rowCounts'].values())} rows, "
               f"{len(manifest['blobs'])} files")


@backup_group.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
@click.option("--force", is_flag=True,
              help="Replace the target database even if it holds data.")
def restore_command(archive: Path, passphrase_env: str | None, force: bool) -> None:
    """Restore a backup into the deployment DIEMTUA_DATABASE_URL (and the storage settings)
    name: the database, then the files, then migrations to this version's schema. Stop the
    server first."""
    passphrase = _passphrase(passphrase_env)
    settings = load_settings()
    services = Services.from_settings(settings)
    services.database.dispose()  # restore opens its own connections
    bar = Counter("Khôi phục", unit="tệp")
    try:
        manifest = restore_backup(archive, settings.database_url, services.store,
                                  passphrase=passphrase, force=force,
                                  on_progress=lambda _s, done, total: bar.update(done, total))
    except BackupInvalid as exc:
        _fail("the backup is damaged, nothing was restored:\n  " + "\n  ".join(exc.problems))
    except (TargetNotEmpty, PassphraseNeeded, SealError, DatabaseBackupError,
            StorageError) as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"the target database cannot be used: {type(exc).__name__}: "
              f"{str(exc).splitlines()[0]}")
    finally:
        bar.close()
    _audit(services, "backup.restore", manifest, archive)
    click.echo(f"Restored {archive}: {sum(manifest['rowCounts'].values())} rows, "
               f"{len(manifest['blobs'])} files; database migrated to the newest schema")


@click.group("storage")
def storage_group() -> None:
    """The stored files (photos, form media) the database names."""


def _report_line(damaged: DamagedBlob) -> str:
    owners = "; ".join(owner.describe() for owner in damaged.owners) or "no submission or form"
    return f"{damaged.problem} {damaged.sha256}: {owners}"


@storage_group.command("check")
@click.option("--repair", is_flag=True,
              help="Move corrupt files aside and mark every damaged file as not received, so "
                   "phones can send it again.")
def check_command(repair: bool) -> None:
    """Check that every stored file is present with the bytes of its checksum."""
    settings = load_settings()
    services = Services.from_settings(settings)
    bar = Counter("Kiểm tra", unit="tệp")
    try:
        with services.database.unit_of_work() as session:
            report = check_storage(session, services.store,
                                   on_progress=lambda _s, done, total: bar.update(done, total))
            bar.close()
            for damaged in report.damaged:
                click.echo(_report_line(damaged))
            if repair and report.damaged:
                forgotten = repair_storage(session, services.store, report,
                                           settings.data_dir / "corrupt-blobs")
                cli_audit(session, "storage.repair", None, {"blobs": forgotten})
    except StorageError as exc:
        _fail(f"the storage cannot be read: {exc}")
    finally:
        services.database.dispose()
    if not report.damaged:
        click.echo(f"All {report.checked} stored files are present and whole.")
        return
    click.echo(f"{len(report.damaged)} of {report.checked} stored files are missing or "
               "damaged" + ("; repaired: each is now marked as not received" if repair
                            else "; `diemtua storage check --repair` marks them not received"))
    if not repair:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(backup_group)
    main.add_command(storage_group)
