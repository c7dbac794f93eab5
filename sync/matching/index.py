"""Where candidates come from: a small protocol, and the in-memory index behind it.

The matcher needs three things from the registry: the records sharing a blocking key with an
incoming record (with the registry child each belongs to), the children a reviewer has already
ruled out for a record, and name frequencies. :class:`CandidateSource` is that contract; the
database version answers it from ``match_key(key_type, key_value, record_id)`` (a B-tree on the
two key columns), ``child_membership``, the cannot-link edges and a name-frequency table.

:class:`InMemoryIndex` answers it from dicts, for the benchmark and the tests. Keys are stored as
their 64-bit hash: a collision only adds a candidate that scoring then rejects, and an int costs
far less memory than the key string at 500k records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from sync.matching.blocking import BlockingKey, blocking_keys
from sync.matching.compare import Field
from sync.matching.records import MatchRecord

# A key shared by more records than this is useless for blocking (and slow); it is skipped.
MAX_BLOCK = 1000


class CandidateSource(Protocol):
    """The registry as the matcher sees it (implemented in memory here, in SQL by the DB layer)."""

    def candidates(self, keys: Sequence[BlockingKey]) -> Iterable[tuple[str, MatchRecord]]:
        """``(child_id, record)`` for every registry record sharing at least one key."""
        ...

    def cannot_link_children(self, record_id: str) -> Collection[str]:
        """Children a reviewer decided this record is not (cannot-link edges)."""
        ...

    def frequency(self, field: str, value: str) -> float | None: ...

    def mean_frequency(self, field: str) -> float | None: ...


class RegistryWriter(Protocol):
    """Where a decided record goes, so the next submission can match it. ``keys`` are the
    record's blocking keys when the caller has them (``Decision.keys``)."""

    def add(self, record: MatchRecord, child_id: str,
            keys: Sequence[BlockingKey] | None = None) -> None: ...


class _Frequencies:
    """Counts of one name field with a running sum of squares (for the mean frequency)."""

    __slots__ = ("counts", "squares", "total")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.squares = 0
        self.total = 0

    def add(self, value: str) -> None:
        if value:
            n = self.counts[value]
            self.squares += 2 * n + 1  # (n+1)² - n²
            self.counts[value] = n + 1
            self.total += 1


class InMemoryIndex:
    """Blocking keys → record slots, plus each record's child id; a CandidateSource and writer."""

    def __init__(self, max_block: int = MAX_BLOCK) -> None:
        self.max_block = max_block
        self._records: list[MatchRecord] = []
        self._children: list[str] = []
        self._slot_of: dict[str, int] = {}
        self._keys: dict[int, int | list[int]] = {}
        self._cannot: dict[str, set[str]] = {}
        # keyed by plain str: a Field member (a StrEnum) finds the same entry
        self._freq: dict[str, _Frequencies] = {Field.GIVEN_NAME.value: _Frequencies(),
                                               Field.FAMILY_NAME.value: _Frequencies()}
        self.oversized_lookups = 0

    def __len__(self) -> int:
        return len(self._records)

    def add(self, record: MatchRecord, child_id: str,
            keys: Sequence[BlockingKey] | None = None) -> None:
        slot = len(self._records)
        self._records.append(record)
        self._children.append(child_id)
        self._slot_of[record.record_id] = slot
        table = self._keys
        for key in blocking_keys(record) if keys is None else keys:
            h = hash(key)
            held = table.get(h)
            if held is None:
                table[h] = slot  # most keys hold one record: no list for them
            elif isinstance(held, int):
                table[h] = [held, slot]
            else:
                held.append(slot)
        if not record.name.placeholder:
            self._freq[Field.GIVEN_NAME].add(record.name.given_fold)
        self._freq[Field.FAMILY_NAME].add(record.name.family_fold)

    def add_cannot_link(self, record_id: str, child_id: str) -> None:
        """Record a reviewer's "not the same child" decision."""
        self._cannot.setdefault(record_id, set()).add(child_id)

    def child_of(self, record_id: str) -> str:
        return self._children[self._slot_of[record_id]]

    def candidates(self, keys: Sequence[BlockingKey]) -> Iterable[tuple[str, MatchRecord]]:
        slots: set[int] = set()
        for key in keys:
            held = self._keys.get(hash(key))
            if held is None:
                continue
            if isinstance(held, int):
                slots.add(held)
            elif len(held) <= self.max_block:
                slots.update(held)
            else:
                self.oversized_lookups += 1
        return [(self._children[s], self._records[s]) for s in slots]

    def cannot_link_children(self, record_id: str) -> Collection[str]:
        return self._cannot.get(record_id, ())

    def frequency(self, field: str, value: str) -> float | None:
        stats = self._freq.get(field)
        if stats is None or not stats.total:
            return None
        return max(stats.counts.get(value, 0), 1) / stats.total

    def mean_frequency(self, field: str) -> float | None:
        stats = self._freq.get(field)
        if stats is None or not stats.total:
            return None
        return stats.squares / (stats.total * stats.total)
