"""Liveness and readiness of the API and what it depends on."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from archive.migrate import database_revision, head_revision
from search_api.deps import EsDep, QueueDep, SessionFactoryDep

router = APIRouter(tags=["health"])


# Both probes are unauthenticated on purpose: load balancers, orchestrators and `make run`
# call them without a token. Every failure, whatever its kind, is reported, never raised.
@router.get("/healthz")
def healthz(es: EsDep, queue: QueueDep, session_factory: SessionFactoryDep) -> JSONResponse:
    """200 when the database, the search engine and the queue all answer; 503 otherwise."""
    checks = {
        "database": _database(session_factory),
        "elasticsearch": _search_engine(es),
        "queue": _queue(queue),
    }
    return _verdict(checks, good="ok", bad="degraded")


@router.get("/readyz")
def readyz(es: EsDep, queue: QueueDep, session_factory: SessionFactoryDep) -> JSONResponse:
    """200 when this process may take traffic: engines reachable and the schema migrated; 503 otherwise."""
    checks = {
        "database": _database(session_factory),
        "migrations": _migrations(session_factory),
        "elasticsearch": _search_engine(es),
        "queue": _queue(queue),
    }
    return _verdict(checks, good="ready", bad="not_ready")


def _verdict(checks: dict[str, str], *, good: str, bad: str) -> JSONResponse:
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": good if healthy else bad, "checks": checks}, status_code=200 if healthy else 503
    )


def _database(session_factory: SessionFactoryDep) -> str:
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


def _migrations(session_factory: SessionFactoryDep) -> str:
    try:
        with session_factory() as session:
            current = database_revision(session.connection())
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    expected = head_revision()
    return "ok" if current == expected else f"behind: at {current or 'none'}, code expects {expected}"


def _search_engine(es: EsDep) -> str:
    try:
        status = es.cluster.health(timeout="2s")["status"]
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok" if status in ("green", "yellow") else f"down: {status}"


def _queue(queue: QueueDep) -> str:
    try:
        queue.pending()
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"
