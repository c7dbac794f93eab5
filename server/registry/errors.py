"""What registry operations refuse, as exceptions the HTTP layer maps to problems."""

from __future__ import annotations


class RegistryError(Exception):
    """Base: a registry operation that cannot be done as asked (nothing was changed)."""


class NotFound(RegistryError):
    """The child, record, queue row or flag does not exist (in this project)."""


class InvalidDecision(RegistryError):
    """The request contradicts the registry's rules (e.g. merging two different personal IDs,
    deciding a row twice, undoing what was not decided)."""
