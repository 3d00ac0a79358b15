"""`partner-archive import DIR`: a whole archive at once, through the same pipeline stages.

Years of scans arrive together. One upload at a time would pay, per document, a request, a
queue round trip and an index refresh. Here files are recorded in batches, extracted in a
process pool (one process per core, Tesseract's own threads off), and indexed with bulk
requests and one refresh at the end. Every document still goes through the worker's
stages: claim with a lease, extract, keep text and fields, index by id, supersession.
A crash leaves documents `queued` or leased, which a worker takes up like any other.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import structlog
from elasticsearch import helpers
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from archive.audit import record_event
from archive.compliance import apply_supersession
from archive.db import session_scope
from archive.documents import safe_filename
from archive.errors import UnsupportedFile
from archive.filetypes import identify_upload
from archive.models import Document, Partner
from archive.numbering import document_archive_no
from archive.schemas import Confidentiality, DocType
from archive.search_index import documents_alias, ensure_index, index_body, is_unavailable, reindex_documents
from archive.settings import Settings, get_settings
from archive.storage import StagedFile
from ingest.extraction import ExtractionError, ExtractionLimits, extract
from ingest.pipeline import WorkerContext, fail_document, keep_text, read_fields
from ingest.worker import build_context

log = structlog.get_logger(__name__)

_RECORD_BATCH = 200
_INDEX_BATCH = 200
_CHUNK = 1024 * 1024
_DOC_TYPES = {kind.value for kind in DocType}


@dataclass
class ImportReport:
    recorded: list[str] = field(default_factory=list)
    indexed: int = 0
    pages: int = 0
    ocr_pages: int = 0
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    taken_by_worker: int = 0


@dataclass(frozen=True)
class ImportOptions:
    partner: str | None
    doc_type: DocType
    confidentiality: Confidentiality
    user: str
    jobs: int


class ImportAborted(Exception):
    """The search engine went away mid-import; what was not indexed waits for a worker."""


def import_directory(settings: Settings, directory: Path, options: ImportOptions) -> ImportReport:
    """Record, extract and index every supported file under `directory`."""
    ctx = build_context(settings)
    try:
        return _import(ctx, settings, directory, options)
    finally:
        ctx.es.close()


def _import(ctx: WorkerContext, settings: Settings, directory: Path, options: ImportOptions) -> ImportReport:
    report = ImportReport()
    files = sorted(path for path in directory.rglob("*") if path.is_file() and not _hidden(path, directory))
    if not files:
        return report
    # spawn, not fork: the parent holds connection pools and threads a fork would copy.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=options.jobs, mp_context=spawn) as pool:
        # The pool's processes start (and import) while this one records the files.
        warming = [pool.submit(_process_ctx, settings) for _ in range(options.jobs)]
        for start in range(0, len(files), _RECORD_BATCH):
            _record_batch(ctx, directory, files[start : start + _RECORD_BATCH], options, report)
        log.info("import.recorded", documents=len(report.recorded), duplicates=report.duplicates)
        for future in warming:
            future.result()
        if report.recorded:
            ensure_index(ctx.es, prefix=ctx.index_prefix)
            _extract_and_index(ctx, pool, settings, report, options.jobs)
            # One refresh for the whole import instead of one per document.
            ctx.es.indices.refresh(index=documents_alias(ctx.index_prefix))
    return report


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _record_batch(
    ctx: WorkerContext, root: Path, files: list[Path], options: ImportOptions, report: ImportReport
) -> None:
    """Keep the originals and record them `queued`, one transaction per batch."""
    with ExitStack() as kept, session_scope(ctx.session_factory) as session:
        partners: dict[str, Partner | None] = {}
        for path in files:
            relative = str(path.relative_to(root))
            reference = options.partner or path.relative_to(root).parts[0]
            if reference not in partners:
                partners[reference] = session.scalars(
                    select(Partner).where(or_(Partner.id == reference, Partner.archive_no == reference))
                ).first()
            partner = partners[reference]
            if partner is None:
                report.skipped.append((relative, f"unknown partner {reference!r}"))
                continue
            try:
                kind = identify_upload(path, filename=path.name, declared_media_type=None)
            except UnsupportedFile as error:
                report.skipped.append((relative, str(error)))
                continue
            sha256, size = _sha256(path)
            existing = session.scalars(
                select(Document.id).where(Document.partner_id == partner.id, Document.sha256 == sha256)
            ).first()
            if existing is not None:  # also finds this batch's earlier files: they are flushed
                report.duplicates += 1
                continue
            doc_type = next(
                (part for part in reversed(path.relative_to(root).parts[:-1]) if part in _DOC_TYPES),
                options.doc_type.value,
            )
            document = Document(
                partner_id=partner.id,
                archive_no=document_archive_no(session, partner=partner),
                doc_type=doc_type,
                confidentiality=options.confidentiality.value,
                department=partner.department,
                title=path.stem[:300],
                original_filename=safe_filename(path.name),
                media_type=kind.media_type,
                size_bytes=size,
                sha256=sha256,
                fields={},
                field_provenance={},
                status="queued",
                uploaded_by=options.user,
            )
            session.add(document)
            session.flush()
            record_event(
                session,
                user=options.user,
                action="upload",
                target=document.id,
                details={"import": True, "filename": relative, "sha256": sha256, "size": size},
            )
            kept.enter_context(ctx.store.keep(_staged_copy(ctx, path, sha256, size)))
            report.recorded.append(document.id)
        session.flush()
        # Commit inside the ExitStack: a failed commit takes the newly placed originals back.
        session.commit()


def _staged_copy(ctx: WorkerContext, path: Path, sha256: str, size: int) -> StagedFile:
    ctx.store.staging.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=ctx.store.staging, prefix="upload-")
    os.close(handle)
    shutil.copyfile(path, name)
    return StagedFile(path=Path(name), sha256=sha256, size=size)


def _extract_and_index(
    ctx: WorkerContext, pool: ProcessPoolExecutor, settings: Settings, report: ImportReport, jobs: int
) -> None:
    # Each process OCRs its document's pages on its share of the cores.
    limits = replace(ctx.limits, ocr_workers=max(1, (os.cpu_count() or 1) // jobs))
    waiting = list(reversed(report.recorded))
    in_flight: dict[Future[tuple[int, int]], str] = {}
    to_index: list[str] = []
    last_renewal = time.monotonic()
    while True:
        if len(in_flight) < jobs * 4 and waiting:
            batch = [waiting.pop() for _ in range(min(len(waiting), jobs * 4))]
            claimed = _claim_batch(ctx, batch)
            report.taken_by_worker += len(batch) - len(claimed)
            for document_id in claimed:
                in_flight[pool.submit(_extract_and_keep, document_id, limits, settings)] = document_id
        if not in_flight:
            break
        done, _ = wait(in_flight, timeout=30, return_when=FIRST_COMPLETED)
        for future in done:
            document_id = in_flight.pop(future)
            if _kept(ctx, document_id, future, report):
                to_index.append(document_id)
        if len(to_index) >= _INDEX_BATCH:
            _index_batch(ctx, to_index, report)
            to_index = []
        if time.monotonic() - last_renewal > ctx.lease.total_seconds() / 3:
            _renew(ctx, list(in_flight.values()))
            last_renewal = time.monotonic()
    if to_index:
        _index_batch(ctx, to_index, report)


def _claim_batch(ctx: WorkerContext, document_ids: list[str]) -> list[str]:
    """Claim waiting documents as a worker would, many in one statement; returns those now ours."""
    with session_scope(ctx.session_factory) as session:
        claimed = session.scalars(
            update(Document)
            .where(Document.id.in_(document_ids), Document.status == "queued")
            .values(
                status="processing",
                lease_expires_at=datetime.now(UTC) + ctx.lease,
                attempts=Document.attempts + 1,
            )
            .returning(Document.id)
        ).all()
    ours = set(claimed)
    return [document_id for document_id in document_ids if document_id in ours]


_process_context: WorkerContext | None = None


def _process_ctx(settings: Settings) -> None:
    """The pool process's own database engine and store, made once."""
    global _process_context
    if _process_context is None:
        _process_context = build_context(settings)


def _extract_and_keep(document_id: str, limits: ExtractionLimits, settings: Settings) -> tuple[int, int]:
    """In a pool process: extract, then keep text and fields as the worker does; (pages, OCR pages)."""
    _process_ctx(settings)
    ctx = _process_context
    assert ctx is not None
    with session_scope(ctx.session_factory) as session:
        document = session.get(Document, document_id)
        assert document is not None
        path, media_type, doc_type = (
            ctx.store.path_for(document.sha256),
            document.media_type,
            document.doc_type,
        )
    extraction = extract(path, media_type, limits=limits)
    fields = read_fields(document_id, doc_type, extraction, path=path, media_type=media_type)
    keep_text(ctx, document_id, extraction, fields)
    return len(extraction.pages), extraction.ocr_pages


def _kept(
    ctx: WorkerContext, document_id: str, future: Future[tuple[int, int]], report: ImportReport
) -> bool:
    try:
        pages, ocr_pages = future.result()
    except ExtractionError as error:
        fail_document(ctx, document_id, reason=error.reason, message=str(error))
        report.failed.append((document_id, str(error)))
        return False
    except Exception as error:
        message = f"处理失败 (processing failed): {type(error).__name__}: {error}"
        fail_document(ctx, document_id, reason="internal_error", message=message)
        report.failed.append((document_id, message))
        return False
    report.pages += pages
    report.ocr_pages += ocr_pages
    return True


def _renew(ctx: WorkerContext, document_ids: list[str]) -> None:
    with session_scope(ctx.session_factory) as session:
        session.execute(
            update(Document)
            .where(Document.id.in_(document_ids), Document.status == "processing")
            .values(lease_expires_at=datetime.now(UTC) + ctx.lease)
        )


def _index_batch(ctx: WorkerContext, document_ids: list[str], report: ImportReport) -> None:
    """Index a batch with one bulk request (no refresh), then mark it indexed."""
    alias = documents_alias(ctx.index_prefix)
    with session_scope(ctx.session_factory) as session:
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.id.in_(document_ids), Document.status == "processing")
                .options(selectinload(Document.page_texts), selectinload(Document.partner))
            )
        )
        actions = ({"_index": alias, "_id": doc.id, "_source": index_body(doc)} for doc in documents)
        try:
            helpers.bulk(ctx.es, actions, chunk_size=500, raise_on_error=True)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            session.rollback()
            # The text is kept; a worker indexes these once the engine answers.
            session.execute(
                update(Document)
                .where(Document.id.in_(document_ids), Document.status == "processing")
                .values(status="queued", lease_expires_at=None)
            )
            session.commit()
            raise ImportAborted(f"搜索引擎不可用，导入中止 (search engine unavailable): {exc}") from exc
        now = datetime.now(UTC)
        changed: dict[str, Document] = {}
        for document in documents:
            document.status = "indexed"
            document.error = None
            document.error_reason = None
            document.lease_expires_at = None
            document.indexed_at = now
        session.flush()
        for document in documents:
            changed.update((doc.id, doc) for doc in apply_supersession(session, document))
        if changed:
            reindex_documents(ctx.es, prefix=ctx.index_prefix, documents=changed.values())
        report.indexed += len(documents)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partner-archive import", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--partner",
        help="partner id or archive number for every file"
        " (default: the first directory level names the partner)",
    )
    parser.add_argument("--doc-type", default="other", choices=sorted(_DOC_TYPES))
    parser.add_argument("--confidentiality", default="internal", choices=[c.value for c in Confidentiality])
    parser.add_argument("--user", default="import", help="recorded as the uploader")
    parser.add_argument("--jobs", type=int, default=0, help="extraction processes (0: one per core)")
    arguments = parser.parse_args(argv)
    settings: Settings = get_settings()
    directory = arguments.directory.resolve()
    if not directory.is_dir():
        print(f"不是目录 (not a directory): {directory}", file=sys.stderr)
        return 2
    jobs = arguments.jobs or settings.import_jobs or os.cpu_count() or 1
    options = ImportOptions(
        partner=arguments.partner,
        doc_type=DocType(arguments.doc_type),
        confidentiality=Confidentiality(arguments.confidentiality),
        user=arguments.user,
        jobs=jobs,
    )
    started = time.perf_counter()
    try:
        report = import_directory(settings, directory, options)
    except ImportAborted as error:
        print(str(error), file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    for relative, why in report.skipped:
        print(f"skipped {relative}: {why}", file=sys.stderr)
    for document_id, why in report.failed:
        print(f"failed {document_id}: {why}", file=sys.stderr)
    print(
        f"imported {report.indexed} documents ({report.pages} pages, {report.ocr_pages} by OCR) in"
        f" {elapsed:.1f} s with {jobs} processes; {report.duplicates} duplicates, {len(report.skipped)}"
        f" skipped, {len(report.failed)} failed, {report.taken_by_worker} left to a running worker"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
