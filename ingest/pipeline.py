"""One document through the worker: claim, extract, keep the text, index, finish.

The record is the truth: a job is claimed with a lease that the worker renews page by
page; a worker that dies lets its lease run out and the document is taken up again.
Indexing uses the document id, so doing it twice never duplicates it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any

import structlog
from elasticsearch import Elasticsearch
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from archive.checks import CheckInput, check_document, start_run, stored_facts
from archive.compliance import cross_check_flags, licence_qr_flags
from archive.db import session_scope
from archive.errors import without_server_paths
from archive.jobs import TransientError
from archive.metrics import DOCUMENTS_PROCESSED, count_elasticsearch_error
from archive.models import Document, DocumentPage, OcrCacheUse
from archive.review import sync_field_items
from archive.search_index import ensure_index, index_body, is_unavailable, reindex_documents, write_document
from archive.settings import Settings
from archive.storage import OriginalStore
from archive.supersession import apply_supersession
from ingest.extraction import ExtractedPage, Extraction, ExtractionError, ExtractionLimits
from ingest.extraction.model import PageDone
from ingest.fields import FieldExtraction
from ingest.fields.titles import derive_title
from ingest.reading import read_document

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkerContext:
    session_factory: sessionmaker[Session]
    es: Elasticsearch
    store: OriginalStore
    index_prefix: str
    limits: ExtractionLimits
    lease: timedelta
    max_attempts: int
    settings: Settings


def _now() -> datetime:
    return datetime.now(UTC)


def claim(ctx: WorkerContext, document_id: str) -> bool:
    """Take the document if it waits or its worker's lease ran out; True if now ours."""
    now = _now()
    with session_scope(ctx.session_factory) as session:
        taken = session.execute(
            update(Document)
            .where(
                Document.id == document_id,
                or_(
                    Document.status == "queued",
                    (Document.status == "processing") & (Document.lease_expires_at < now),
                ),
            )
            .values(
                status="processing",
                lease_expires_at=now + ctx.lease,
                attempts=Document.attempts + 1,
            )
        )
        return taken.rowcount == 1


def renew_lease(ctx: WorkerContext, document_id: str) -> None:
    with session_scope(ctx.session_factory) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == "processing")
            .values(lease_expires_at=_now() + ctx.lease)
        )


def _lease_keeper(ctx: WorkerContext, document_id: str) -> PageDone:
    """Renews the lease as pages finish, at most ten times per lease period.

    Once per page was one database transaction per page: 4% of a 200-page text PDF's time
    once its text is read by PDFium (bench/, text pages/second).
    """
    every = ctx.lease.total_seconds() / 10
    last = time.monotonic()

    def beat(_number: int) -> None:
        nonlocal last
        if time.monotonic() - last >= every:
            renew_lease(ctx, document_id)
            last = time.monotonic()

    return beat


def process_document(ctx: WorkerContext, document_id: str) -> None:
    if not claim(ctx, document_id):
        log.info("document.skip", document_id=document_id, why="not waiting or leased elsewhere")
        return
    with session_scope(ctx.session_factory) as session:
        document = session.get(Document, document_id)
        assert document is not None
        attempts, already_extracted, sha256 = document.attempts, document.pages is not None, document.sha256
        path, media_type, doc_type = (
            ctx.store.path_for(sha256),
            document.media_type,
            document.doc_type,
        )
    if attempts > ctx.max_attempts:
        message = (f"处理中断 {attempts - 1} 次，已停止重试 (the worker stopped {attempts - 1} times"
                   " while processing this document; parked as failed, use retry to try again)")
        fail_document(ctx, document_id, reason="gave_up", message=message)
        check_intake(ctx, document_id, reason="gave_up", error=message)
        return
    log.info("document.start", document_id=document_id, attempt=attempts)
    facts: Future[dict[str, Any]] | None = None
    page_texts: list[str] | None = None
    index_ready = _engine_thread(ctx).submit(ensure_index, ctx.es, prefix=ctx.index_prefix)
    try:
        if not already_extracted:
            beat = _lease_keeper(ctx, document_id)
            extraction, fields = read_document(
                document_id, doc_type, path, media_type, limits=ctx.limits, on_page=beat
            )
            facts = _facts_ahead(ctx, sha256, extraction)
            keep_text(ctx, document_id, extraction, fields)
            page_texts = [page.text for page in extraction.pages]
        _index(ctx, document_id, index_ready=index_ready, page_texts=page_texts, facts=facts)
    except ExtractionError as exc:
        # Nothing to index: an engine that does not answer keeps no queue of index checks
        # waiting behind the documents that will be indexed.
        index_ready.cancel()
        fail_document(ctx, document_id, reason=exc.reason, message=str(exc))
        check_intake(ctx, document_id, reason=exc.reason, error=str(exc))
        return
    except TransientError:
        raise
    except Exception as exc:
        index_ready.cancel()
        # Not a damaged file and not a passing outage: record it on the document so that it
        # is visible and retryable, rather than leaving it leased until the lease runs out.
        log.exception("document.error", document_id=document_id)
        message = f"处理失败 (processing failed): {type(exc).__name__}: {exc}"
        fail_document(ctx, document_id, reason="internal_error", message=message)
        check_intake(ctx, document_id, reason="internal_error", error=message, facts=facts)


_facts_reader: ThreadPoolExecutor | None = None


def _facts_ahead(ctx: WorkerContext, sha256: str, extraction: Extraction) -> Future[dict[str, Any]] | None:
    """The intake check's file facts, read in a thread while the text is kept and indexed.

    Spent while the worker mostly waits for the database and Elasticsearch. The facts are the
    stored original's, as when read later, except how many of a PDF's pages load: that is
    the extraction's count, which just loaded them all (loading them again here was a sixth
    of the worker's CPU on a 200-page text PDF; bench/, text pages/second).
    """
    global _facts_reader
    if not ctx.settings.intake_checks:
        return None
    if _facts_reader is None:
        _facts_reader = ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-facts")
    return _facts_reader.submit(
        stored_facts,
        ctx.store,
        sha256,
        max_inflated_bytes=ctx.limits.max_docx_inflated_bytes,
        pdf_page_counts=extraction.pdf_page_counts,
    )


def check_intake(
    ctx: WorkerContext,
    document_id: str,
    *,
    reason: str | None = None,
    error: str | None = None,
    facts: Future[dict[str, Any]] | None = None,
) -> None:
    """The 四性检测 at intake, kept with the document; a check that cannot run leaves the
    document unchecked (listed as such for the archive office), never the job failed.

    `facts`: the file's facts already being read (`_facts_ahead`), else they are read here.
    """
    if not ctx.settings.intake_checks:
        return
    try:
        with session_scope(ctx.session_factory) as session:
            document = session.scalars(
                select(Document).where(Document.id == document_id).options(selectinload(Document.page_texts))
            ).one()
            _judge_at_intake(ctx, session, document, reason=reason, error=error, facts=facts)
    except Exception:
        log.exception("document.check_error", document_id=document_id)


def _judge_at_intake(
    ctx: WorkerContext,
    session: Session,
    document: Document,
    *,
    reason: str | None = None,
    error: str | None = None,
    facts: Future[dict[str, Any]] | None = None,
) -> None:
    file_facts = facts.result() if facts is not None else stored_facts(
        ctx.store, document.sha256, max_inflated_bytes=ctx.limits.max_docx_inflated_bytes
    )
    run = start_run(session, kind="intake", actor=document.uploaded_by)
    check_document(session, document, settings=ctx.settings, run=run, stage="intake",
                   given=CheckInput(file_facts, error_reason=reason, error=error))
    run.finished_at = _now()


def _checked_beside_indexing(
    ctx: WorkerContext, session: Session, document: Document, facts: Future[dict[str, Any]] | None
) -> None:
    """The intake check of a document being indexed, in the indexing's transaction (so kept
    only if the document ends indexed), in a savepoint of its own: a check that cannot run
    leaves the document unchecked, as `check_intake` does."""
    if not ctx.settings.intake_checks:
        return
    try:
        with session.begin_nested():
            _judge_at_intake(ctx, session, document, facts=facts)
    except Exception:
        log.exception("document.check_error", document_id=document.id)


def keep_text(ctx: WorkerContext, document_id: str, extraction: Extraction, fields: FieldExtraction) -> None:
    """Keep the pages' text and the fields read from it, in one transaction.

    The pages go in as one executemany, those of an earlier reading out in one statement:
    through the unit of work, 200 pages were a tenth of process_document's CPU (bench/,
    text pages/second). Nothing here looks at the document's pages afterwards.
    """
    with session_scope(ctx.session_factory) as session:
        document = session.get(Document, document_id)
        assert document is not None
        session.execute(delete(DocumentPage).where(DocumentPage.document_id == document_id))
        rows = [{"document_id": document_id, **_page_row(page)} for page in extraction.pages]
        session.execute(insert(DocumentPage), rows)
        _store_reading(document, extraction, fields)


def store_text(document: Document, extraction: Extraction, fields: FieldExtraction) -> None:
    """Put the pages and fields on a loaded document; its session's commit keeps them."""
    document.page_texts = [DocumentPage(**_page_row(page)) for page in extraction.pages]
    _store_reading(document, extraction, fields)


def _page_row(page: ExtractedPage) -> dict[str, Any]:
    return {
        "number": page.number,
        "text": page.text,
        "source": page.source,
        "ocr_confidence": page.ocr_confidence,
        "layout": page.layout,
    }


def _store_reading(document: Document, extraction: Extraction, fields: FieldExtraction) -> None:
    """All that a reading sets on the document but its pages' rows."""
    keep_fields(document, fields, page_sources={page.number: page.source for page in extraction.pages})
    entries = sorted({page.cache_entry for page in extraction.pages if page.cache_entry})
    document.ocr_cache_uses = [OcrCacheUse(entry=entry) for entry in entries]
    document.pages = len(extraction.pages)
    document.ocr_pages = extraction.ocr_pages
    _retitle(document, fields, extraction)


def _retitle(document: Document, fields: FieldExtraction, extraction: Extraction) -> None:
    """A title from what was read, unless a person gave one; else the file's name stays."""
    if document.title_source == "supplied":
        return
    first_page = extraction.pages[0].text if extraction.pages else ""
    derived = derive_title(document.doc_type, fields.fields, first_page)
    if derived:
        document.title, document.title_source = derived, "derived"
    else:
        document.title, document.title_source = PurePath(document.original_filename).stem[:300], "filename"


# Free text that no check character can verify: read by OCR, it may hold a look-alike
# character (嘉禾 for 嘉末), so it is marked for a person to confirm.
UNVERIFIABLE_FIELDS = frozenset(
    {
        "name",
        "address",
        "legal_representative",
        "party_a",
        "party_b",
        "bank_name",
        "account_name",
        "company_type",
        "registered_capital",
    }
)


def keep_fields(document: Document, extraction: FieldExtraction, *, page_sources: dict[int, str]) -> None:
    """Merge read fields with what a person supplied (which wins), cross-check them, and queue
    for the archive office what is unsure or unread."""
    provenance = {
        name: entry
        for name, entry in (document.field_provenance or {}).items()
        if entry.get("source") == "supplied"
    }
    # A person's word stands, including that the document does not carry a field.
    fields = {name: document.fields[name] for name in provenance if name in (document.fields or {})}
    problems = {}
    for name, found in extraction.fields.items():
        if name in provenance:
            continue
        fields[name] = found.value
        read_by_ocr = page_sources.get(found.page) == "ocr"
        provenance[name] = {
            "source": found.source,
            "page": found.page,
            "page_source": page_sources.get(found.page),
            "corrected": found.corrected,
            # A date found only by its place on the page may be any date printed there.
            "needs_review": (read_by_ocr and name in UNVERIFIABLE_FIELDS) or found.method == "place",
            **({"raw": found.raw} if found.raw else {}),
            **({"method": found.method} if found.method != "text" else {}),
            **({"box": list(found.box)} if found.box else {}),
            **({"confidence": found.confidence} if found.confidence is not None else {}),
        }
    for name, why in extraction.problems.items():
        if name not in fields and name not in provenance:
            problems[name] = why
    document.fields = fields
    document.field_provenance = provenance
    document.field_problems = problems
    if document.expires_on is None and isinstance(fields.get("expires_on"), str):
        document.expires_on = date.fromisoformat(fields["expires_on"])
    unverified = {name for name, entry in provenance.items() if entry.get("needs_review")}
    document.flags = cross_check_flags(
        doc_type=document.doc_type, fields=fields, partner=document.partner, unverified=unverified
    ) + licence_qr_flags(doc_type=document.doc_type, fields=fields, scanned="ocr" in page_sources.values())
    sync_field_items(document)


_engine_calls: ThreadPoolExecutor | None = None


def _engine_thread(ctx: WorkerContext) -> ThreadPoolExecutor:
    """Threads for the engine's requests made while the worker does something else: the
    index is made sure of during the extraction, the document written during the record's
    side of indexing (`_writing`)."""
    global _engine_calls
    if _engine_calls is None:
        # Two requests in flight per worker thread; each waits for its own.
        _engine_calls = ThreadPoolExecutor(
            max_workers=2 * max(ctx.settings.worker_threads, 1), thread_name_prefix="engine-calls"
        )
    return _engine_calls


def _writing(ctx: WorkerContext, document: Document, page_texts: list[str] | None) -> Future[None]:
    """The document's index body written by the engine, in a thread: the engine's analysis
    and refresh of 200 text pages take it ~55 ms of CPU, ~50 ms of waiting here (bench/,
    text pages/second), time in which this process does the record's side."""
    body = index_body(document, page_texts=page_texts)
    return _engine_thread(ctx).submit(
        write_document, ctx.es, prefix=ctx.index_prefix, document_id=document.id, body=body
    )


def _index(
    ctx: WorkerContext,
    document_id: str,
    *,
    index_ready: Future[str],
    page_texts: list[str] | None = None,
    facts: Future[dict[str, Any]] | None = None,
) -> None:
    """Index the document; then the record says it is indexed (and searchable), with the
    supersession it brings and its intake check (`facts` as for `check_intake`).

    `index_ready`: `ensure_index` under way; `page_texts`: the texts just kept, so that they
    are not loaded back (the check loads them, while the engine writes).
    """
    with session_scope(ctx.session_factory) as session:
        loads = [selectinload(Document.partner)]
        if page_texts is None:
            loads.append(selectinload(Document.page_texts))
        document = session.scalars(select(Document).where(Document.id == document_id).options(*loads)).one()
        try:
            index_ready.result()
            writing = _writing(ctx, document, page_texts)
            try:
                # What the record says once the write succeeds, prepared while it runs and
                # committed only after it: the supersession and the check see it indexed.
                mark_indexed(document, at=_now())
                # An older licence (or ID card, bank letter…) of the same partner is now superseded.
                changed = apply_supersession(session, document)
                _checked_beside_indexing(ctx, session, document, facts)
            finally:
                writing.result()
            document.indexed_at = _now()  # searchable from now
            if changed:
                reindex_documents(ctx.es, prefix=ctx.index_prefix, documents=changed)
        except Exception as exc:
            count_elasticsearch_error("index", unavailable=is_unavailable(exc))
            if not is_unavailable(exc):
                raise
            DOCUMENTS_PROCESSED.labels("deferred").inc()
            # Give the document back, without counting the attempt, and let the queue retry;
            # nothing of this attempt is kept (a supersession not yet in the index is redone).
            session.rollback()
            document = session.get(Document, document_id)
            assert document is not None
            document.status = "queued"
            document.attempts = max(document.attempts - 1, 0)
            document.lease_expires_at = None
            document.error = "等待搜索引擎恢复后索引 (waiting for the search engine)"
            session.commit()
            log.warning("document.index_deferred", document_id=document_id, error=str(exc))
            raise TransientError(str(exc)) from exc
    DOCUMENTS_PROCESSED.labels("indexed").inc()
    log.info("document.indexed", document_id=document_id)


def mark_indexed(document: Document, *, at: datetime) -> None:
    """Searchable now: the lease and any earlier error are cleared."""
    document.status = "indexed"
    document.error = None
    document.error_reason = None
    document.lease_expires_at = None
    document.indexed_at = at


def fail_document(ctx: WorkerContext, document_id: str, *, reason: str, message: str) -> None:
    # People read this message; a library's quoting the stored file's path is not for them.
    message = without_server_paths(message) or message
    with session_scope(ctx.session_factory) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(status="failed", error=message, error_reason=reason, lease_expires_at=None)
        )
    DOCUMENTS_PROCESSED.labels("failed").inc()
    log.warning("document.failed", document_id=document_id, reason=reason, error=message)


def requeue_abandoned(ctx: WorkerContext, *, enqueue: Callable[[str], None], stale_after: timedelta) -> int:
    """Put back on the queue what a dead worker or a lost message left behind."""
    now = _now()
    with session_scope(ctx.session_factory) as session:
        ids = session.scalars(
            select(Document.id).where(
                or_(
                    (Document.status == "processing") & (Document.lease_expires_at < now),
                    (Document.status == "queued") & (Document.updated_at < now - stale_after),
                )
            )
        ).all()
        # Touching them spaces out the next reminder, so a long queue is not flooded.
        session.execute(update(Document).where(Document.id.in_(ids)).values(updated_at=now))
    for document_id in ids:
        enqueue(document_id)
    if ids:
        log.info("documents.requeued", count=len(ids))
    return len(ids)
