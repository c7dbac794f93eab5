"""`diemtua backup create|verify|restore`: one tar file holding a whole deployment.

Members, in this order: the database dump (`database.pgdump` from pg_dump's custom format, or
`database.sqlite3`), every blob the dumped rows can name as `blobs/<sha256>`, and last
`manifest.json` (format, creation time, versions, schema revision, row counts per table, every
member's SHA-256 and size). The manifest comes last because it also records the blobs found
missing or damaged while copying; `verify` reads the whole file anyway.

Consistency while the server runs: the database is copied first (`server.backup.database`), and
only the blobs listed in that copy are taken. Blobs are content-addressed and never rewritten
or deleted (`server.operations.blobs`), and every blob's bytes are stored before its row
commits, so each listed blob is complete in the store when the copy is taken. Blobs from S3
are copied into the archive too: the file restores onto disk or into any bucket.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from server.backup.database import (
    DUMP_POSTGRESQL,
    DUMP_SQLITE,
    DatabaseBackupError,
    check_dump,
    restore_dump,
    rows_in,
    take_snapshot,
)
from server.backup.sealed import OpeningReader, SealingWriter, is_sealed
from server.db import utcnow
from server.migrations import upgrade
from server.storage import BlobStore, StorageError

FORMAT = "diemtua-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BLOB_PREFIX = "blobs/"
CHUNK = 1024 * 1024
SPOOL_BYTES = 8 * CHUNK

Progress = Callable[[str, int, int], None]


class BackupInvalid(ValueError):
    """The archive is not a complete, unchanged Điểm Tựa backup; `problems` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TargetNotEmpty(RuntimeError):
    """The database to restore into holds rows, and `force` was not given."""


class PassphraseNeeded(ValueError):
    """The backup is encrypted and no passphrase was given."""


@dataclass
class Created:
    manifest: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)


def _spool_checked(chunks: Iterator[bytes], sha256: str, size: int) -> IO[bytes] | None:
    """The blob's bytes in a temporary file, or None when they are not those of its name."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    digest, length = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        length += len(chunk)
        spool.write(chunk)
    if digest.hexdigest() != sha256 or length != size:
        spool.close()
        return None
    spool.seek(0)
    return cast(IO[bytes], spool)


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(utcnow().timestamp())
    return info


@contextmanager
def _archive_writer(out: Path, passphrase: str | None) -> Iterator[tarfile.TarFile]:
    """A tar stream into `out` (sealed when a passphrase is given), renamed into place only
    once complete: a failed backup never leaves a file that looks like a good one."""
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            sealing = SealingWriter(raw, passphrase) if passphrase else None
            sink = cast(IO[bytes], sealing or raw)
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                yield tar
            if sealing is not None:
                sealing.close()  # the last, marked chunk
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def create_backup(database_url: str, store: BlobStore, out: Path, *, app_version: str,
                  passphrase: str | None = None, on_progress: Progress | None = None
                  ) -> Created:
    """Write the deployment into `out`. Blobs missing or damaged in the store are left out
    and named in the manifest (and the result): `diemtua storage check` says whose they are."""
    with tempfile.TemporaryDirectory(prefix="diemtua-backup-") as folder:
        snapshot = take_snapshot(database_url, Path(folder))
        created = Created(manifest={})
        listed: list[dict[str, Any]] = []
        with _archive_writer(out, passphrase) as tar:
            dump_size = snapshot.path.stat().st_size
            with snapshot.path.open("rb") as dump:
                tar.addfile(_member(snapshot.path.name, dump_size), dump)
            for done, (sha256, size, content_type) in enumerate(snapshot.blobs, start=1):
                try:
                    spool = _spool_checked(store.open(sha256), sha256, size)
                except StorageError:
                    if store.exists(sha256):
                        raise  # the store failed (S3 out of reach), not this blob
                    created.missing.append(sha256)
                    continue
                if spool is None:
                    created.corrupt.append(sha256)
                    continue
                with spool:
                    tar.addfile(_member(BLOB_PREFIX + sha256, size), spool)
                listed.append({"sha256": sha256, "size": size, "contentType": content_type})
                if on_progress:
                    on_progress("blobs", done, len(snapshot.blobs))
            created.manifest = {
                "format": FORMAT, "formatVersion": FORMAT_VERSION,
                "createdAt": utcnow().isoformat() + "Z", "appVersion": app_version,
                "alembicRevision": snapshot.revision, "encrypted": passphrase is not None,
                "database": {"kind": snapshot.kind, "member": snapshot.path.name,
                             "sha256": _file_digest(snapshot.path), "size": dump_size},
                "rowCounts": snapshot.row_counts, "blobs": listed,
                "blobsMissing": created.missing, "blobsCorrupt": created.corrupt,
            }
            body = json.dumps(created.manifest, indent=2, sort_keys=True).encode("utf-8")
            tar.addfile(_member(MANIFEST, len(body)), io.BytesIO(body))
    return created


@contextmanager
def _archive_reader(path: Path, passphrase: str | None) -> Iterator[tarfile.TarFile]:
    with path.open("rb") as raw:
        sealed = is_sealed(raw.read(64))
        raw.seek(0)
        if sealed and not passphrase:
            raise PassphraseNeeded("the backup is encrypted: give its passphrase "
                                   "(--passphrase-env)")
        source: Any = OpeningReader(raw, passphrase) if sealed and passphrase else raw
        try:
            with tarfile.open(fileobj=source, mode="r|") as tar:
                yield tar
        except tarfile.TarError as exc:
            raise BackupInvalid([f"not a readable backup archive: {exc}"]) from exc


def _copy_hashing(source: IO[bytes], into: BinaryIO | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if into is not None:
            into.write(chunk)
    return digest.hexdigest(), size


@dataclass
class Verified:
    manifest: dict[str, Any]
    dump: Path  # the database dump, extracted into the caller's folder


def _compare(manifest: dict[str, Any], seen: dict[str, tuple[str, int]]) -> list[str]:
    problems: list[str] = []
    if manifest.get("format") != FORMAT:
        return ["manifest.json is not a Điểm Tựa backup manifest"]
    if int(manifest.get("formatVersion", 0)) > FORMAT_VERSION:
        return [f"backup format {manifest['formatVersion']} is newer than this diemtua reads"]
    database = manifest["database"]
    expected = {database["member"]: (database["sha256"], int(database["size"]))}
    expected |= {BLOB_PREFIX + b["sha256"]: (b["sha256"], int(b["size"]))
                 for b in manifest["blobs"]}
    for name, (sha256, size) in expected.items():
        if name not in seen:
            problems.append(f"{name} is missing from the archive")
        elif seen[name] != (sha256, size):
            problems.append(f"{name} does not match its checksum")
    problems += [f"{name} is not in the manifest" for name in seen if name not in expected]
    return problems


def verify_backup(path: Path, folder: Path, passphrase: str | None = None) -> Verified:
    """Read the whole archive: every member's SHA-256 and size against the manifest, and the
    dump readable (`pg_restore --list`; SQLite: integrity check and row counts)."""
    seen: dict[str, tuple[str, int]] = {}
    manifest: dict[str, Any] | None = None
    dump: Path | None = None
    with _archive_reader(path, passphrase) as tar:
        for member in tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise BackupInvalid([f"{member.name} is not a file"])
            if member.name == MANIFEST:
                try:
                    manifest = json.loads(handle.read())
                except ValueError as exc:
                    raise BackupInvalid([f"manifest.json is not JSON: {exc}"]) from exc
            elif member.name in (DUMP_POSTGRESQL, DUMP_SQLITE):
                dump = folder / member.name
                with dump.open("wb") as into:
                    seen[member.name] = _copy_hashing(handle, into)
            else:
                seen[member.name] = _copy_hashing(handle, None)
    if manifest is None:
        raise BackupInvalid(["manifest.json is missing: the archive is incomplete"])
    problems = _compare(manifest, seen)
    if not problems and dump is not None:
        try:
            counts = check_dump(manifest["database"]["kind"], dump)
        except DatabaseBackupError as exc:
            problems.append(str(exc))
        else:
            if counts is not None and counts != manifest["rowCounts"]:
                problems.append("the database copy's row counts differ from the manifest's")
    if problems:
        raise BackupInvalid(problems)
    assert dump is not None
    return Verified(manifest=manifest, dump=dump)


def restore_backup(path: Path, database_url: str, store: BlobStore, *,
                   passphrase: str | None = None, force: bool = False,
                   on_progress: Progress | None = None) -> dict[str, Any]:
    """Verify the archive, then restore the database, then the blobs, then migrate to the
    newest schema (a backup of an older version comes back upgraded). Refuses a target that
    holds rows unless `force`. → the manifest."""
    if not force and rows_in(database_url):
        raise TargetNotEmpty("the target database is not empty; restore into a new database, "
                             "or give --force to replace everything in it")
    with tempfile.TemporaryDirectory(prefix="diemtua-restore-") as folder:
        verified = verify_backup(path, Path(folder), passphrase)
        manifest = verified.manifest
        restore_dump(manifest["database"]["kind"], verified.dump, database_url)
    kinds = {b["sha256"]: b.get("contentType", "application/octet-stream")
             for b in manifest["blobs"]}
    with _archive_reader(path, passphrase) as tar:
        done = 0
        for member in tar:
            if not member.name.startswith(BLOB_PREFIX):
                continue
            sha256 = member.name[len(BLOB_PREFIX):]
            handle = tar.extractfile(member)
            assert handle is not None
            spool = _spool_checked(_chunks(handle), sha256, member.size)
            if spool is None:  # changed since verify read it
                raise BackupInvalid([f"{member.name} does not match its checksum"])
            with spool:
                store.put(sha256, cast(BinaryIO, spool), member.size, kinds[sha256])
            done += 1
            if on_progress:
                on_progress("blobs", done, len(kinds))
    upgrade(database_url)
    return manifest
