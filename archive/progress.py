"""How a long job (reindex, backup, restore, check, import) tells its progress to whoever watches.

The domain only counts; the command line decides how to show it (cli/progress.py).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, description: str, total: int | None) -> None:
        """A new stage of `total` items (None: not known in advance) begins."""

    def advance(self, count: int = 1) -> None:
        """`count` more items of the current stage are done."""


class _Silent:
    def stage(self, description: str, total: int | None) -> None:
        return None

    def advance(self, count: int = 1) -> None:
        return None


SILENT: Progress = _Silent()
