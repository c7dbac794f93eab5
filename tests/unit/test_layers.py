"""The layers of the design (README "Layout"): the domain knows nothing of Flask, and the pages
reach the domain directly, never through the JSON API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path)
                     if any(m == f or m.startswith(f + ".") for f in forbidden))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_pages_never_import_the_api() -> None:
    assert offenders("server/web", ("server.api",)) == {}


@pytest.mark.parametrize("folder", ["sync", "exports", "server/registry", "server/operations",
                                    "server/backup"])
def test_the_domain_knows_nothing_of_flask_or_the_http_layers(folder: str) -> None:
    assert offenders(folder, ("flask", "flask_restx", "server.api", "server.web",
                              "server.openrosa", "server.context")) == {}
