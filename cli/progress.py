"""Progress of the long commands: a bar on a terminal, plain periodic lines otherwise.

On a terminal: rich's progress bar with counts, rate and time left. In a log or a pipe
(cron, CI, `| tee`): one line when a stage starts, one every few seconds, one when it ends.
Both go to standard error, so that standard output keeps the command's result alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from archive.progress import Progress

PLAIN_INTERVAL_SECONDS = 5.0


class _RateColumn(ProgressColumn):
    """Items per second: the recent rate while running, the whole stage's average once done."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        elapsed = task.finished_time if task.finished else task.elapsed
        if (speed is None or task.finished) and elapsed:
            speed = task.completed / elapsed
        return Text("—/s" if speed is None else f"{speed:,.1f}/s")


class BarProgress:
    """rich's bar, one task per stage; the finished stages stay on screen."""

    def __init__(self, bar: RichProgress) -> None:
        self._bar = bar
        self._task: TaskID | None = None

    def stage(self, description: str, total: int | None) -> None:
        self._finish()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, count: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, count)

    def _finish(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[self._task]
            if task.total is None:
                self._bar.update(self._task, total=task.completed)

    def close(self) -> None:
        self._finish()


class PlainProgress:
    """`stage: done/total (pct) · rate/s · 剩余约 N s (left)` every few seconds and at each stage's end."""

    def __init__(self, out: TextIO, *, interval: float = PLAIN_INTERVAL_SECONDS) -> None:
        self._out = out
        self._interval = interval
        self._description: str | None = None
        self._total: int | None = None
        self._done = 0
        self._started = self._last = 0.0

    def stage(self, description: str, total: int | None) -> None:
        self._finish()
        self._description, self._total, self._done = description, total, 0
        self._started = self._last = time.monotonic()
        self._print()

    def advance(self, count: int = 1) -> None:
        self._done += count
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._print()

    def close(self) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._description is not None:
            self._print(final=True)
            self._description = None

    def _print(self, *, final: bool = False) -> None:
        elapsed = time.monotonic() - self._started
        rate = self._done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self._done:,}" + (f"/{self._total:,}" if self._total is not None else "")]
        if self._total:
            parts[0] += f" ({self._done / self._total:.0%})"
        parts.append(f"{rate:,.1f}/s")
        if final:
            parts.append(f"用时 {elapsed:.1f} s (took)")
        elif self._total is not None and rate > 0:
            parts.append(f"剩余约 {(self._total - self._done) / rate:.0f} s (left)")
        print(f"{self._description}: " + " · ".join(parts), file=self._out, flush=True)


@contextmanager
def progress_shown(out: TextIO | None = None) -> Iterator[Progress]:
    """A progress reporter for one command, drawn on `out` (standard error by default)."""
    out = out or sys.stderr
    if not out.isatty():
        plain = PlainProgress(out)
        try:
            yield plain
        finally:
            plain.close()
        return
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("剩余 (left)"),
        TimeRemainingColumn(),
        console=Console(file=out),
    )
    with bar:
        shown = BarProgress(bar)
        try:
            yield shown
        finally:
            shown.close()
