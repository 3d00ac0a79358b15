"""The API's side of the metrics: request latency by route, and the archive's state when scraped."""

from __future__ import annotations

from datetime import datetime
from time import perf_counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.jobs import JobQueue
from archive.metrics import REQUEST_SECONDS, ArchiveStateCollector
from archive.models import Document


class RequestMetrics:
    """Times every HTTP request, labelled by its route's template (never the raw path).

    Plain ASGI, not BaseHTTPMiddleware: a search pays one clock read and one observation.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            REQUEST_SECONDS.labels(route_template(scope), scope["method"], str(status)).observe(
                perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """`/api/v1/documents/{document_id}` for `/api/v1/documents/3f2a…`: a bounded set of labels.

    Rebuilt from the path and its parameters: routes of included routers keep their own
    paths without the prefix, so the matched route object alone does not say it.
    """
    if scope.get("route") is None:
        return "unmatched"
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        head, found, tail = path.rpartition(str(value))
        if found:
            path = f"{head}{{{name}}}{tail}"
    return path


def archive_state(session_factory: sessionmaker[Session], queue: JobQueue) -> ArchiveStateCollector:
    def documents_by_status() -> dict[str, int]:
        with session_factory() as session:
            rows = session.execute(select(Document.status, func.count()).group_by(Document.status)).all()
        return {status: count for status, count in rows}

    def oldest_waiting() -> datetime | None:
        with session_factory() as session:
            return session.scalar(select(func.min(Document.updated_at)).where(Document.status == "queued"))

    return ArchiveStateCollector(
        queue_depth=queue.pending, documents_by_status=documents_by_status, oldest_waiting=oldest_waiting
    )
