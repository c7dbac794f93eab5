"""Progress bars for long CLI work (exports, imports): one look of progress for every command.

A bar goes to standard error, so `--out -` style output and pipes stay clean, and it is drawn
only on a terminal: in cron jobs, CI logs and tests the command prints its summary line alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class Counter:
    """A bar moved by a callback (`update(done, total)`), for work that reports its own
    progress instead of being an iterable (the registry import)."""

    def __init__(self, label: str, unit: str = "dòng") -> None:
        self._bar = tqdm(total=None, desc=label, unit=f" {unit}", file=sys.stderr,
                         disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=False)

    def update(self, done: int, total: int) -> None:
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def progress(items: Iterable[T], *, total: int | None, label: str,
             unit: str = "dòng") -> Iterator[T]:
    """Yield `items` unchanged while a bar counts them on a terminal (`total` if known)."""
    yield from tqdm(items, total=total, desc=label, unit=f" {unit}", file=sys.stderr,
                    disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=False)
