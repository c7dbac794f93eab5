"""Every setting of the server: one environment variable, one default, one parser.

Settings are read once into a frozen `Settings`. Names carry the `DIEMTUA_` prefix, except the
S3 settings, which keep ODK Central's names (`S3_SERVER`, `S3_ACCESS_KEY`, `S3_SECRET_KEY`,
`S3_BUCKET_NAME`) because those are what ODK administrators already know.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Central advertises 100 MB and its nginx allows 100m; keep ours, MAX_CONTENT_LENGTH and the
# reverse proxy's client_max_body_size equal (see docs/deploy in README).
DEFAULT_MAX_SUBMISSION_BYTES = 100_000_000
# Rows of one registry import (README, "Importing the lists a commune already has"): the
# largest communes count some 25,000 children; a province's list belongs in several files.
DEFAULT_IMPORT_MAX_ROWS = 50_000


class ConfigError(ValueError):
    """A setting has a value the server cannot use; raised at start-up, never at request time."""


@dataclass(frozen=True)
class S3Settings:
    server: str | None
    access_key: str | None
    secret_key: str | None
    bucket: str
    region: str
    presign_downloads: bool


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    public_url: str | None
    storage: str
    s3: S3Settings
    secret_key: str
    max_submission_bytes: int
    max_form_parts: int
    session_lifetime_hours: int
    proxy_hops: int
    workers: int
    # The registry sync worker: started beside the web workers by `diemtua serve` unless a
    # separate `diemtua sync worker` process runs it (docker-compose does that).
    sync_in_server: bool = True
    sync_interval_seconds: int = 5
    import_max_rows: int = DEFAULT_IMPORT_MAX_ROWS
    # Failed sign-ins counted within a sliding window, per account and per address
    # (`server.auth.throttle`); in the database, or in Redis when `redis_url` is set.
    sign_in_window_seconds: int = 900
    sign_in_failures_per_account: int = 10
    sign_in_failures_per_address: int = 50
    redis_url: str | None = None
    # A database or blob-store outage is answered 503 with this Retry-After, and /readyz
    # fails while the blob disk has less free space than the floor (`server.outages`).
    retry_after_seconds: int = 60
    min_free_mb: int = 100
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def normalise_database_url(url: str) -> str:
    """Accept URLs as every PostgreSQL tool writes them (`postgresql://`, `postgres://`).

    SQLAlchemy would pick psycopg2 for a bare `postgresql://`; we ship psycopg 3.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _libpq_url(env: Mapping[str, str]) -> str | None:
    """ODK Central moved to libpq's PG* variables; honour them when no URL is given."""
    host = env.get("PGHOST")
    if not host:
        return None
    from urllib.parse import quote

    user = quote(env.get("PGUSER") or "postgres", safe="")
    password = env.get("PGPASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    port = env.get("PGPORT") or "5432"
    return f"postgresql+psycopg://{auth}@{host}:{port}/{env.get('PGDATABASE') or 'diemtua'}"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected a boolean, got {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    """Use DIEMTUA_SECRET_KEY, else a random key kept in the data folder across restarts."""
    if env.get("DIEMTUA_SECRET_KEY"):
        return env["DIEMTUA_SECRET_KEY"]
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def default_workers() -> int:
    """Cores + 1 processes (each with threads for slow uploads).

    Measured with bench/ingest.py on 2 cores: 3 workers accepted 158 submissions/s, gunicorn's
    usual 2 × cores + 1 = 5 only 149/s with 40 % more memory; the work is CPU-bound Python.
    """
    return (os.cpu_count() or 1) + 1


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("DIEMTUA_DATA_DIR") or "data").resolve()
    database_url = normalise_database_url(
        env.get("DIEMTUA_DATABASE_URL")
        or _libpq_url(env)
        or f"sqlite:///{data_dir / 'diemtua.sqlite3'}"
    )
    public_url = (env.get("DIEMTUA_PUBLIC_URL") or "").rstrip("/") or None
    s3 = S3Settings(
        server=env.get("S3_SERVER") or None,
        access_key=env.get("S3_ACCESS_KEY") or None,
        secret_key=env.get("S3_SECRET_KEY") or None,
        bucket=env.get("S3_BUCKET_NAME") or "diemtua",
        region=env.get("DIEMTUA_S3_REGION") or "us-east-1",
        presign_downloads=_bool(env.get("DIEMTUA_S3_PRESIGN_DOWNLOADS"), True),
    )
    storage = (env.get("DIEMTUA_STORAGE") or ("s3" if s3.server else "local")).lower()
    if storage not in {"local", "s3"}:
        raise ConfigError(f"DIEMTUA_STORAGE must be 'local' or 's3', got {storage!r}")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        storage=storage,
        s3=s3,
        secret_key=_secret_key(env, data_dir),
        max_submission_bytes=_int(
            env, "DIEMTUA_MAX_SUBMISSION_BYTES", DEFAULT_MAX_SUBMISSION_BYTES, minimum=1024
        ),
        max_form_parts=_int(env, "DIEMTUA_MAX_FORM_PARTS", 1000, minimum=2),
        session_lifetime_hours=_int(env, "DIEMTUA_SESSION_LIFETIME_HOURS", 24, minimum=1),
        proxy_hops=_int(env, "DIEMTUA_PROXY_HOPS", 0),
        workers=_int(env, "DIEMTUA_WORKERS", default_workers(), minimum=1),
        sync_in_server=_bool(env.get("DIEMTUA_SYNC_IN_SERVER"), True),
        sync_interval_seconds=_int(env, "DIEMTUA_SYNC_INTERVAL", 5, minimum=1),
        import_max_rows=_int(env, "DIEMTUA_IMPORT_MAX_ROWS", DEFAULT_IMPORT_MAX_ROWS,
                             minimum=1),
        sign_in_window_seconds=_int(env, "DIEMTUA_SIGN_IN_WINDOW_SECONDS", 900, minimum=1),
        sign_in_failures_per_account=_int(env, "DIEMTUA_SIGN_IN_FAILURES_PER_ACCOUNT", 10,
                                          minimum=1),
        sign_in_failures_per_address=_int(env, "DIEMTUA_SIGN_IN_FAILURES_PER_ADDRESS", 50,
                                          minimum=1),
        redis_url=env.get("DIEMTUA_REDIS_URL") or None,
        retry_after_seconds=_int(env, "DIEMTUA_RETRY_AFTER_SECONDS", 60, minimum=1),
        min_free_mb=_int(env, "DIEMTUA_MIN_FREE_MB", 100),
    )
