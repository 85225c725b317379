"""Progress for long commands: a tqdm bar on a terminal, plain counts
otherwise, nothing at ``--verbosity 0``.

tqdm is optional (``pip install "django-sessiontokens[progress]"``) and
imported only when a bar is drawn; without it the counts are printed.
"""

from __future__ import annotations

import importlib
from types import TracebackType
from typing import Any

from django.core.management.base import OutputWrapper


def _tqdm() -> Any:
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


class Progress:
    """``with Progress(self.stdout, verbosity, "Purging") as progress:`` then
    ``progress.total = n`` (optional) and ``progress.update(batch)``."""

    def __init__(self, stdout: OutputWrapper, verbosity: int, label: str) -> None:
        self.stdout = stdout
        self.verbosity = verbosity
        self.label = label
        self.done = 0
        self.batches = 0
        self._bar: Any = None
        self._tqdm = _tqdm() if verbosity > 0 and stdout.isatty() else None

    @property
    def draws_bar(self) -> bool:
        """A bar is shown (so a total is worth counting first)."""
        return self._tqdm is not None

    def start(self, total: int | None = None) -> None:
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=total,
                desc=self.label,
                unit=" sessions",
                file=self.stdout._out,
                dynamic_ncols=True,
                leave=True,
            )

    def update(self, count: int) -> None:
        self.done += count
        self.batches += 1
        if self._bar is not None:
            self._bar.update(count)
        elif self.verbosity >= 2:
            self.stdout.write(
                f"{self.label}: batch {self.batches}, {count} ({self.done} so far)"
            )

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
