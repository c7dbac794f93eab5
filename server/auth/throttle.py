"""Slowing password guessing: failed sign-ins counted per account and per address.

A sliding window (15 minutes by default) holds the recent failures of each key — the account
(`account:<normalised email>`, whether or not such a user exists, so the answer reveals
nothing) and the caller's address (`address:<ip>`, an IPv6 caller's /64, which one machine
usually holds whole). While a key holds as many failures as its limit, every attempt on it is
refused before the password is even checked, the right password included; the refusal says
when to come back: when the oldest counted failure leaves the window. Refused attempts are not
counted, so the real owner is never kept out longer than one window after the last guess.
A success clears its account's failures, not its address's: a commune office shares one
address behind NAT, and one colleague signing in must not wipe out a guesser's record.

The counts must be shared by every gunicorn worker, so they live outside the process: in the
database (`sign_in_failures`) by default, or in Redis (`DIEMTUA_REDIS_URL`). Plain Python;
`server.auth.sign_in` calls it for every password check (README "Signing in").
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from server.db import Database, utcnow
from server.models import SignInFailure

ACCOUNT = "account"
ADDRESS = "address"
# sign_in_failures.key holds 400 characters; an email is at most 254.
_MAX_KEY = 400


def normalise_email(email: str) -> str:
    """The account an email names, as `users.email` stores it."""
    return email.strip().lower()


def address_of(remote_addr: str | None) -> str:
    """The address failures are counted for: IPv4 as is, IPv6 by its /64 network.

    An IPv6 home or mobile connection is given a whole /64: counting single addresses would
    let one machine try 2^64 of them.
    """
    if not remote_addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _key(scope: str, value: str) -> str:
    return f"{scope}:{value}"[:_MAX_KEY]


@dataclass(frozen=True)
class Limits:
    window: timedelta
    per_account: int
    per_address: int

    def of(self, scope: str) -> int:
        return self.per_account if scope == ACCOUNT else self.per_address


@dataclass(frozen=True)
class Tally:
    """The failures of one key inside the window: how many, and when the oldest was."""

    count: int
    oldest: datetime | None


class Throttled(Exception):
    """Too many recent failures on this account or address: come back in `retry_after` s."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins for this {scope}")
        self.scope = scope
        self.retry_after = retry_after


class FailureStore(Protocol):
    """Where failures are counted; times are naive UTC (`server.db.utcnow`)."""

    def tally(self, key: str, since: datetime) -> Tally:
        """The failures of `key` at or after `since`."""

    def add(self, keys: Sequence[str], at: datetime, since: datetime) -> list[Tally]:
        """One failure for each key, kept at once (it must outlive a refused request), and the
        keys' tallies from `since` after it; failures before `since` may be dropped."""

    def clear(self, key: str) -> None:
        """Forget the failures of `key`."""


class DatabaseFailures:
    """Failures as `sign_in_failures` rows, for one request.

    Reads and the clearing after a success go through the request's own session (`reads`),
    which commits with the request's answer. A failure is written in its own short
    transaction, since the refused request's unit of work rolls back — and on SQLite, which
    has one writer at a time, the caller must end its session's transaction first
    (`server.auth.sign_in` does), or the two would wait for each other.
    """

    def __init__(self, database: Database, reads: DbSession) -> None:
        self.database = database
        self.reads = reads

    @staticmethod
    def _tally(session: DbSession, key: str, since: datetime) -> Tally:
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.failed_at))
            .where(SignInFailure.key == key, SignInFailure.failed_at >= since)
        ).one()
        return Tally(int(count or 0), oldest)

    def tally(self, key: str, since: datetime) -> Tally:
        return self._tally(self.reads, key, since)

    def add(self, keys: Sequence[str], at: datetime, since: datetime) -> list[Tally]:
        with self.database.unit_of_work() as session:
            # Pruning as we go keeps the table at one window's worth of failures.
            session.execute(delete(SignInFailure).where(SignInFailure.failed_at < since))
            session.add_all(SignInFailure(key=key, failed_at=at) for key in keys)
            session.flush()
            return [self._tally(session, key, since) for key in keys]

    def clear(self, key: str) -> None:
        self.reads.execute(delete(SignInFailure).where(SignInFailure.key == key))


class RedisFailures:
    """Failures in Redis: one sorted set per key, scored by the failure's Unix time, expiring
    a window after its newest failure. Shared by every worker and every app host that uses
    the same Redis database (give each server its own database number in the URL)."""

    PREFIX = "diemtua:sign-in:"

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _epoch(moment: datetime) -> float:
        return moment.replace(tzinfo=UTC).timestamp()

    def tally(self, key: str, since: datetime) -> Tally:
        name = self.PREFIX + key
        pipe = self.client.pipeline(transaction=False)
        pipe.zcount(name, self._epoch(since), "+inf")
        pipe.zrangebyscore(name, self._epoch(since), "+inf", start=0, num=1, withscores=True)
        count, first = pipe.execute()
        return self._as_tally(count, first)

    def add(self, keys: Sequence[str], at: datetime, since: datetime) -> list[Tally]:
        score, start = self._epoch(at), self._epoch(since)
        keep_for = math.ceil((at - since).total_seconds()) + 1
        pipe = self.client.pipeline(transaction=True)
        for key in keys:  # five commands a key: the last two are its tally
            name = self.PREFIX + key
            # A random member: two failures in the same microsecond are still two.
            pipe.zadd(name, {f"{score}:{secrets.token_hex(4)}": score})
            pipe.zremrangebyscore(name, "-inf", f"({start}")
            pipe.expire(name, keep_for)
            pipe.zcard(name)
            pipe.zrange(name, 0, 0, withscores=True)
        replies = pipe.execute()
        return [self._as_tally(count, first)
                for count, first in zip(replies[3::5], replies[4::5], strict=True)]

    @staticmethod
    def _as_tally(count: int, first: list[tuple[bytes, float]]) -> Tally:
        oldest = (datetime.fromtimestamp(first[0][1], UTC).replace(tzinfo=None)
                  if first else None)
        return Tally(int(count), oldest)

    def clear(self, key: str) -> None:
        self.client.delete(self.PREFIX + key)


class SignInThrottle:
    """The policy over a store: refuse while over a limit, count failures, forgive on success."""

    def __init__(self, store: FailureStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    def _keys(self, account: str, address: str) -> dict[str, str]:
        return {ACCOUNT: _key(ACCOUNT, account), ADDRESS: _key(ADDRESS, address)}

    def _retry_after(self, tally: Tally, now: datetime) -> int:
        """Seconds until the oldest counted failure leaves the window (at least 1)."""
        oldest = tally.oldest or now
        return max(1, math.ceil((oldest + self.limits.window - now).total_seconds()))

    def check(self, account: str, address: str) -> Tally:
        """The account's tally, or `Throttled` when the account or the address is at its
        limit."""
        now = utcnow()
        since = now - self.limits.window
        tallies = {scope: self.store.tally(key, since)
                   for scope, key in self._keys(account, address).items()}
        for scope, tally in tallies.items():
            if tally.count >= self.limits.of(scope):
                raise Throttled(scope, self._retry_after(tally, now))
        return tallies[ACCOUNT]

    def failed(self, account: str, address: str) -> list[Throttled]:
        """Count a failure; the limits this very failure reached, so the moment throttling
        starts can be recorded once, not for every refused attempt after it."""
        now = utcnow()
        keys = self._keys(account, address)
        tallies = self.store.add(list(keys.values()), now, now - self.limits.window)
        return [Throttled(scope, self._retry_after(tally, now))
                for scope, tally in zip(keys, tallies, strict=True)
                if tally.count == self.limits.of(scope)]

    def succeeded(self, account: str, tally: Tally) -> None:
        """The owner is in: their account starts again from nothing."""
        if tally.count:
            self.store.clear(_key(ACCOUNT, account))
