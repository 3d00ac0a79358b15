"""The ingest worker process: `partner-archive worker` (several may run side by side)."""

from __future__ import annotations

import gc
import os
from datetime import timedelta

import structlog

from archive.compliance import send_expiry_notices
from archive.db import make_engine, make_session_factory, session_scope
from archive.jobs import NOTIFY_EXPIRING, PROCESS_DOCUMENT, RECHECK_STORAGE, REQUEUE_ABANDONED, JobQueue
from archive.metrics import MetricsServer, serving_registry
from archive.recheck import recheck
from archive.search_index import make_client
from archive.settings import Settings, get_settings
from archive.storage import OriginalStore
from ingest.extraction import ExtractionLimits
from ingest.pipeline import WorkerContext, process_document, requeue_abandoned

log = structlog.get_logger(__name__)


def build_context(settings: Settings) -> WorkerContext:
    return WorkerContext(
        session_factory=make_session_factory(make_engine(settings.resolved_database_url)),
        es=make_client(settings),
        store=OriginalStore(settings.originals_dir),
        index_prefix=settings.es_index_prefix,
        limits=ExtractionLimits(
            max_pages=settings.max_pages,
            max_image_pixels=settings.max_image_pixels,
            ocr_dpi=settings.ocr_dpi,
            ocr_languages=settings.ocr_languages,
            ocr_engine=settings.ocr_engine,
            ocr_page_timeout_seconds=settings.ocr_page_timeout_seconds,
            max_docx_inflated_bytes=settings.max_inflated_mb * 1024 * 1024,
            ocr_workers=settings.ocr_workers or os.cpu_count() or 1,
            ocr_cache_dir=settings.ocr_cache_dir,
        ),
        lease=timedelta(seconds=settings.lease_seconds),
        max_attempts=settings.max_attempts,
        settings=settings,
    )


def freeze_start_up_objects() -> None:
    """Leave what start-up built out of every later garbage collection.

    The modules, classes and clients of a started worker are ~210k objects that live as long
    as the process. The first full collection after start-up walked them all: 82 ms inside
    one of the first documents (a 200-page text PDF takes ~190 ms of CPU; bench/, text
    pages/second), and again whenever the survivors grew by a quarter of them.
    """
    gc.freeze()


def attach(queue: JobQueue, ctx: WorkerContext, settings: Settings) -> None:
    """Give the queue's task declarations their implementations in this process."""
    queue.handle(PROCESS_DOCUMENT, lambda document_id: process_document(ctx, document_id))
    queue.handle(
        REQUEUE_ABANDONED,
        lambda: requeue_abandoned(
            ctx,
            enqueue=queue.enqueue_document,
            stale_after=timedelta(seconds=settings.lease_seconds),
        ),
    )
    queue.handle(NOTIFY_EXPIRING, lambda: notify_expiring(ctx, settings))
    queue.handle(
        RECHECK_STORAGE,
        lambda: recheck(
            ctx.session_factory, store=ctx.store, settings=settings, actor="system:recheck", everything=False
        ),
    )


def notify_expiring(ctx: WorkerContext, settings: Settings) -> int:
    with session_scope(ctx.session_factory) as session:
        return send_expiry_notices(session, settings=settings)


def run(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.worker_nice > 0:
        os.nice(settings.worker_nice)
    queue = JobQueue(settings)
    ctx = build_context(settings)
    attach(queue, ctx, settings)
    # Take up at once what a worker that died before this start left behind (its lease ran
    # out); the periodic sweep covers leases that run out later.
    requeue_abandoned(
        ctx, enqueue=queue.enqueue_document, stale_after=timedelta(seconds=settings.lease_seconds)
    )
    if settings.metrics_port:
        # Its own counts (documents, OCR pages and seconds); the archive's state is the API's.
        MetricsServer(serving_registry(), host=settings.metrics_host, port=settings.metrics_port)
    freeze_start_up_objects()
    log.info("worker.start", queue=settings.resolved_queue_url, threads=settings.worker_threads)
    # Huey backs off up to 10 s between polls by default; an upload should start within a second.
    consumer = queue.huey.create_consumer(
        workers=settings.worker_threads,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=1.0,
    )
    consumer.run()


if __name__ == "__main__":
    run()
