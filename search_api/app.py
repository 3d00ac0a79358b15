"""The FastAPI application: `create_app()` wires settings, clients and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI

from archive.audit import AuditWriter
from archive.db import make_engine, make_session_factory
from archive.jobs import JobQueue
from archive.logging import configure_logging
from archive.metrics import MetricsServer, serving_registry
from archive.search_index import ensure_index, ensure_records_index, is_unavailable, make_client
from archive.settings import Settings, get_settings
from archive.storage import OriginalStore
from search_api import errors, web
from search_api.body_guard import BodyGuard
from search_api.deps import get_current_user
from search_api.masking import MaskIdNumbers
from search_api.metrics import RequestMetrics, archive_state
from search_api.routers import (
    audit,
    borrowing,
    catalogue,
    checks,
    compliance,
    destruction,
    documents,
    health,
    inbox,
    partners,
    ratings,
    records,
    reports,
    review,
    search,
)
from search_api.web.page_images import PageImageCache

log = structlog.get_logger(__name__)
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # The development secret or sign-in on an address other than loopback: refused to start.
    settings.refuse_development_defaults_beyond_loopback()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        es = make_client(settings)
        app.state.settings = settings
        app.state.session_factory = make_session_factory(engine)
        app.state.audit = AuditWriter(app.state.session_factory)
        app.state.es = es
        app.state.queue = JobQueue(settings)
        app.state.store = OriginalStore(settings.originals_dir)
        app.state.page_images = PageImageCache(settings.page_image_cache_mb * 1024 * 1024)
        # An upload in flight takes seconds; an hour-old staging file is a killed process's.
        app.state.store.clean_staging(older_than_seconds=3600)
        try:
            ensure_index(es, prefix=settings.es_index_prefix, replicas=settings.es_replicas)
            ensure_records_index(es, prefix=settings.es_index_prefix, replicas=settings.es_replicas)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # Uploads must still be accepted; the index is created when the engine answers.
            log.warning("elasticsearch.unavailable_at_start", error=str(exc))
        # What start-up made (routes, models, templates, clients) lives as long as the
        # process: out of the collector's reach, a full collection does not walk it again
        # in the middle of somebody's search.
        gc.freeze()
        metrics = None
        if settings.metrics_port:
            registry = serving_registry(archive_state(app.state.session_factory, app.state.queue))
            metrics = MetricsServer(registry, host=settings.metrics_host, port=settings.metrics_port)
        yield
        if metrics is not None:
            metrics.close()
        app.state.audit.close()
        es.close()
        engine.dispose()

    configure_logging(json=settings.log_json)
    app = FastAPI(
        title="Partner Archive 客商档案",
        version="1.0",
        description="客商档案检索与归档服务：上传、OCR、全文检索，按权限过滤。",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(RequestMetrics)
    app.add_middleware(MaskIdNumbers)
    # Outermost of these: a body is refused before anything else looks at the request.
    app.add_middleware(BodyGuard)
    _generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.document_errors(_generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(search.router, prefix=API_PREFIX)  # authenticates itself: see its module
    # Everything else requires a valid bearer token.
    authenticated = APIRouter(prefix=API_PREFIX, dependencies=[Depends(get_current_user)])
    authenticated.include_router(partners.router)
    authenticated.include_router(documents.router)
    authenticated.include_router(checks.router)
    authenticated.include_router(reports.router)
    authenticated.include_router(catalogue.router)
    authenticated.include_router(ratings.router)
    authenticated.include_router(borrowing.router)
    authenticated.include_router(destruction.router)
    authenticated.include_router(audit.router)
    authenticated.include_router(compliance.router)
    authenticated.include_router(review.router)
    authenticated.include_router(inbox.router)
    authenticated.include_router(records.router)
    app.include_router(authenticated)
    # The staff web interface (HTML pages, sign-in, static files) beside the API.
    web.install(app)
    return app
