"""Strict reading of the JSON data files: every key known, every value of its type.

The catalogue and the rule files are edited by hand (and may be replaced by a commune), so a
typo such as ``"sensitve": true`` must fail loudly at load time instead of silently leaving a
category visible. Errors name the place (``categories[3].label_vi``).
"""

from __future__ import annotations

from typing import Any

from sync.categories.errors import CategoryError


class Fields:
    """One JSON object being read; `done()` refuses keys that were never read."""

    def __init__(self, data: object, where: str, error: type[CategoryError]) -> None:
        if not isinstance(data, dict):
            raise error(f"{where}: expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where
        self.error = error
        self._read: set[str] = set()

    def fail(self, key: str, problem: str) -> CategoryError:
        return self.error(f"{self.where}.{key}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> object:
        self._read.add(key)
        if key not in self.data:
            raise self.fail(key, "missing")
        return self.data[key]

    def optional_raw(self, key: str) -> object | None:
        self._read.add(key)
        return self.data.get(key)

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        if self.optional_raw(key) is None:
            return None
        return self.text(key)

    def flag(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self.data:
            self._read.add(key)
            return default
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, "expected true or false")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self.optional_raw(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "expected an integer")
        return value

    def texts(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        value = self.optional_raw(key) if optional else self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise self.fail(key, "expected a list of non-empty strings")
        return tuple(value)

    def objects(self, key: str, *, optional: bool = False) -> list[object]:
        value = self.optional_raw(key) if optional else self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "expected a list")
        return value

    def mapping(self, key: str, *, optional: bool = False) -> dict[str, object]:
        value = self.optional_raw(key) if optional else self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "expected an object")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise self.error(f"{self.where}: unknown key(s) {', '.join(unknown)}")
