"""Who acts: web users (email + password) and app users (a phone's token), as in ODK Central.

Both are `Actor`s so a submission's `submitterId` means the same thing whoever sent it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "user" for web users, "field_key" for app users (Central's names, shown by the API).
    type: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class User(Base):
    """A web user. `role` is the site-wide role: "admin" may do anything, "none" only what
    project roles grant."""

    __tablename__ = "users"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="none")

    actor: Mapped[Actor] = relationship(lazy="joined")


class AppUser(Base):
    """A phone's identity (Central's "field key"): authenticated by the token in its URL."""

    __tablename__ = "app_users"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # Central shows app-user tokens to managers again (for a new QR code), so it is kept as is;
    # NULL once revoked.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    # Our addition: the villages (thôn) this collaborator covers, as village codes.
    villages: Mapped[list[Any]] = mapped_column(JSON, default=list)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")


class Session(Base):
    """A bearer token from `POST /v1/sessions`, also carried by the web UI's cookie.

    Only a SHA-256 of the token is stored (`server.auth.principal.token_hash`): whoever reads
    the database or a backup cannot sign in with what they find there. The token itself
    exists in memory once, on the row `open_session` returns, to be handed to the caller.
    """

    __tablename__ = "sessions"
    # `token` below is a plain attribute, not a column.
    __allow_unmapped__ = True

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    # The clear token, set only on a row just opened; never stored.
    token: str | None = None


class SignInFailure(Base):
    """One failed sign-in, counted per account and per address to slow password guessing
    (`server.auth.throttle`). Rows older than the throttle's window are deleted as it goes."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "account:<email>" or "address:<ip>".
    key: Mapped[str] = mapped_column(String(400))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectRole(Base):
    """A role an actor holds on a project: "manager", "viewer" or "formfill" (data collector)."""

    __tablename__ = "project_roles"
    __table_args__ = (UniqueConstraint("project_id", "actor_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"))
    role: Mapped[str] = mapped_column(String(32))
    # Our addition: village codes this role is limited to (registry data); empty = all.
    villages: Mapped[list[Any]] = mapped_column(JSON, default=list)


Index("ix_project_roles_actor", ProjectRole.actor_id)
