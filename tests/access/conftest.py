"""The commune every access test works in (tests/access/commune.py)."""

from __future__ import annotations

import pytest

from server.services import Services
from tests.access.commune import Commune, build_commune


@pytest.fixture
def commune(services: Services) -> Commune:
    return build_commune(services)
