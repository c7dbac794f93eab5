"""A clone of this repository is complete on its own: nothing reaches the folder beside it.

A user who runs `git clone` and then `make test` has nothing next to the repository. The tests,
the benchmarks and the packages must therefore find every fixture inside it (test data lives
in `tests/fixtures/`), and every document the README and the code cite must be in `docs/`.
`.ci/run` proves the whole suite in a fresh clone; these checks name the file that broke it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED_FOLDERS = ("server", "sync", "exports", "xlsforms", "tests", "bench", "docs", "deploy",
                   ".ci")
SCANNED_FILES = ("README.md", "Makefile", "pyproject.toml", "Dockerfile", "docker-compose.yml",
                 ".env.template")
TEXT_SUFFIXES = frozenset({".py", ".md", ".json", ".toml", ".txt", ".cfg", ".ini", ".yml",
                           ".yaml", ".html", ".css", ".js", ".sh", ".template", ".csv", ".xml",
                           ".sql", ".java", ""})
SKIPPED_FOLDERS = frozenset({"__pycache__", ".venv", "node_modules", ".mypy_cache",
                             ".ruff_cache", ".pytest_cache"})
THIS_FILE = Path(__file__).resolve()

# Ways a file names the folder beside the repository (or this machine's absolute paths).
OUTSIDE = [
    (re.compile(r"\.\./+shared\b"), "../shared"),
    (re.compile(r"(?<![\w./-])shared/[\w.-]"), "a shared/… path"),
    (re.compile(r"""["']shared["']"""), "a path segment 'shared'"),
    (re.compile(r"/work/"), "an absolute path of a development machine"),
]
MARKDOWN_PATH = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)")


def _files() -> Iterator[Path]:
    for name in SCANNED_FILES:
        if (ROOT / name).is_file():
            yield ROOT / name
    for folder in SCANNED_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if SKIPPED_FOLDERS & set(path.relative_to(ROOT).parts):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES and path.resolve() != THIS_FILE:
                yield path


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _where(path: Path, text: str, offset: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


def test_no_file_names_the_folder_beside_the_repository() -> None:
    found = [
        f"{_where(path, text, match.start())}: {what} ({match.group(0)!r})"
        for path in _files()
        for text in [_text(path)]
        for pattern, what in OUTSIDE
        for match in pattern.finditer(text)
    ]
    assert found == []


def _steps_up(node: ast.AST, names: dict[str, int]) -> int | None:
    """How many folders above the file a path expression built from `__file__` points to:
    `Path(__file__)` is 0, `.parent` adds one, `.parents[k]` adds k + 1, `/ "name"` goes down
    one and `/ ".."` up one. None for an expression that is not such a path."""
    match node:
        case ast.Name(id="__file__"):
            return 0
        case ast.Name(id=name) if name in names:
            return names[name]
        case ast.Call(func=ast.Name(id="Path" | "PurePath"), args=[first, *_]):
            return _steps_up(first, names)
        case ast.Call(func=ast.Attribute(attr="resolve" | "absolute", value=path), args=[]):
            return _steps_up(path, names)
        case ast.Call(func=ast.Attribute(attr="dirname" | "abspath" | "realpath" as function),
                      args=[first]):
            inner = _steps_up(first, names)
            if inner is None:
                return None
            return inner + (1 if function == "dirname" else 0)
        case ast.Attribute(attr="parent", value=value):
            inner = _steps_up(value, names)
            return None if inner is None else inner + 1
        case ast.Subscript(value=ast.Attribute(attr="parents", value=value),
                           slice=ast.Constant(value=int() as index)):
            inner = _steps_up(value, names)
            return None if inner is None else inner + index + 1
        case ast.BinOp(op=ast.Div(), left=left, right=ast.Constant(value=str() as part)):
            inner = _steps_up(left, names)
            if inner is None:
                return None
            for piece in part.split("/"):
                if piece == "..":
                    inner += 1
                elif piece not in ("", "."):
                    inner -= 1
            return inner
    return None


def _climbs_out(relative: Path, source: str) -> list[str]:
    """Path expressions of a Python file (`relative` to the root) that lead above the root."""
    tree = ast.parse(source)
    depth = len(relative.parts)  # steps from the file up to the root
    names: dict[str, int] = {}
    for _ in range(2):  # names defined from other names
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                steps = _steps_up(node.value, names)
                if isinstance(target, ast.Name) and steps is not None:
                    names[target.id] = steps
    return [
        f"{relative}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.expr) and (_steps_up(node, names) or 0) > depth
    ]


def test_no_python_file_climbs_above_the_repository_root() -> None:
    found = [hit for path in _files() if path.suffix == ".py"
             for hit in _climbs_out(path.relative_to(ROOT), _text(path))]
    assert found == []


@pytest.mark.parametrize("source", [
    "conftest = Path(__file__).resolve().parents[1].parent / 'shared'",
    "ROOT = Path(__file__).resolve().parents[1]\nFORM = ROOT.parent / 'x.xlsx'",
    "HERE = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))",
    "DATA = Path(__file__).parent / '../../..' / 'data'",
])
def test_the_climbing_check_sees_the_usual_ways_out(source: str) -> None:
    # As a module one folder below the root, like tests/conftest.py; the root itself is fine.
    assert _climbs_out(Path("tests/example.py"), source) != []
    assert _climbs_out(Path("tests/example.py"), "ROOT = Path(__file__).parents[1]") == []


def test_every_document_cited_is_in_the_repository() -> None:
    """`docs/x.md` and other Markdown files named by the README, the code or the docs exist
    (relative to the repository root, or to the citing file's folder); a document from outside
    the repository, such as a specification only the developers had, would be a dead end."""
    missing = []
    for path in _files():
        text = _text(path)
        patterns = [MARKDOWN_PATH, MARKDOWN_LINK] if path.suffix == ".md" else [MARKDOWN_PATH]
        for match in (match for pattern in patterns for match in pattern.finditer(text)):
            cited = match.group(1)
            if not ((ROOT / cited).is_file() or (path.parent / cited).is_file()):
                missing.append(f"{_where(path, text, match.start())}: {cited}")
    assert missing == []
