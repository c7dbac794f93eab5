"""The long-lived parts one process shares: settings, the database, the blob store."""

from __future__ import annotations

from dataclasses import dataclass

from server.config import Settings, load_settings
from server.db import Database
from server.storage import BlobStore, make_store


@dataclass
class Services:
    settings: Settings
    database: Database
    store: BlobStore

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Services:
        settings = settings or load_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, database=Database(settings.database_url),
                   store=make_store(settings))
