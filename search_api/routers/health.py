"""Liveness of the API and what it depends on."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from search_api.deps import EsDep, QueueDep, SessionFactoryDep

router = APIRouter(tags=["health"])


# Unauthenticated on purpose: load balancers and `make run` probe it without a token.
@router.get("/healthz")
def healthz(es: EsDep, queue: QueueDep, session_factory: SessionFactoryDep) -> JSONResponse:
    """200 when the database, the search engine and the queue all answer; 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports every failure, whatever its kind
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        health = es.cluster.health(timeout="2s")
        status = health["status"]
        checks["elasticsearch"] = "ok" if status in ("green", "yellow") else f"down: {status}"
    except Exception as exc:
        checks["elasticsearch"] = f"down: {type(exc).__name__}"
    try:
        queue.pending()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"down: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
