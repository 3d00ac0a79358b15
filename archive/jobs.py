"""The durable job queue (Huey): SQLite file by default, Redis by configuration.

The API enqueues, the worker consumes. The queue only says "look at document X"; the
record's status and lease say who works on it, so a lost or repeated message is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from archive.settings import Settings

if TYPE_CHECKING:
    from huey import Huey

QUEUE_NAME = "partner-archive"
PROCESS_DOCUMENT = "process_document"
REQUEUE_ABANDONED = "requeue_abandoned"
NOTIFY_EXPIRING = "notify_expiring"
RECHECK_STORAGE = "recheck_storage"


def at_local_hour(hour: int) -> Callable[[datetime], bool]:
    """Due at minute 0 of `hour` on the server's clock (its TZ); the consumer asks in UTC."""

    def due(utc_now: datetime) -> bool:
        local = utc_now.replace(tzinfo=UTC).astimezone()
        return (local.hour, local.minute) == (hour, 0)

    return due


class TransientError(Exception):
    """A failure worth retrying later (the search engine is down or overloaded)."""


def _make_huey(url: str) -> Huey:
    # Imported here: the command line's import (and anything else that only needs
    # TransientError) does not pay for Huey and the Redis client at start-up.
    from huey import RedisHuey, SqliteHuey

    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), fsync=True)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey(QUEUE_NAME, url=url)
    raise ValueError(f"unsupported PARTNER_ARCHIVE_QUEUE_URL scheme: {parsed.scheme!r}")


class JobQueue:
    """The queue and its task declarations; the worker plugs the handlers in."""

    def __init__(self, settings: Settings) -> None:
        from huey import crontab

        self.huey = _make_huey(settings.resolved_queue_url)
        self._handlers: dict[str, Callable[..., None]] = {}
        self._process = self.huey.task(name=PROCESS_DOCUMENT, retries=5, retry_delay=15)(
            self._run_process_document
        )
        self.huey.periodic_task(crontab(minute="*"), name=REQUEUE_ABANDONED)(self._run_requeue_abandoned)
        # The daily expiry notice; it was declared and handled but never scheduled.
        self.huey.periodic_task(at_local_hour(settings.notify_hour), name=NOTIFY_EXPIRING)(
            self._run_notify_expiring
        )
        # The daily share of the periodic 四性检测 in storage (all documents within RECHECK_DAYS).
        self.huey.periodic_task(crontab(minute="0", hour=str(settings.recheck_hour)), name=RECHECK_STORAGE)(
            self._run_recheck_storage
        )

    def handle(self, name: str, handler: Callable[..., None]) -> None:
        self._handlers[name] = handler

    def _handler(self, name: str) -> Callable[..., None]:
        try:
            return self._handlers[name]
        except KeyError as exc:
            raise RuntimeError(f"no handler for job {name!r} in this process") from exc

    def _run_process_document(self, document_id: str) -> None:
        self._handler(PROCESS_DOCUMENT)(document_id)

    def _run_requeue_abandoned(self) -> None:
        self._handler(REQUEUE_ABANDONED)()

    def _run_recheck_storage(self) -> None:
        self._handler(RECHECK_STORAGE)()

    def _run_notify_expiring(self) -> None:
        self._handler(NOTIFY_EXPIRING)()

    def enqueue_document(self, document_id: str) -> None:
        self._process(document_id)

    def pending(self) -> int:
        """Messages waiting; also the queue's health probe."""
        return self.huey.pending_count()
