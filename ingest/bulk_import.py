"""`partner-archive import DIR`: a whole archive at once, through the same pipeline stages.

Years of scans arrive together. One upload at a time would pay, per document, a request, a
queue round trip and an index refresh. Here files are recorded in batches, extracted in a
process pool (one process per core, Tesseract's own threads off), and indexed with bulk
requests and one refresh at the end. Every document still goes through the worker's
stages: a lease, extraction, text and fields kept, indexing by id, supersession.
Files are recorded already leased to the import; if it dies, the leases run out and a worker
takes the documents up like any other.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import helpers
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from archive.antivirus import make_scanner
from archive.archival_codes import ArchivalRule, apply_code, assign_codes
from archive.audit import Event, record_events
from archive.checks import CheckInput, check_document, finish_run, record_lookups, start_run, stored_facts
from archive.db import session_scope
from archive.documents import safe_filename, scan_record
from archive.errors import UnsupportedFile
from archive.filetypes import identify_upload
from archive.models import CheckRun, Document, Partner
from archive.numbering import document_archive_nos
from archive.progress import SILENT, Progress
from archive.schemas import Confidentiality, DocType
from archive.search_index import (
    documents_alias,
    ensure_index,
    index_body,
    is_unavailable,
    reindex_documents,
    scheduled_refresh_paused,
)
from archive.settings import Settings, get_settings
from archive.storage import StagedFile, file_digests
from archive.supersession import apply_supersession
from ingest.extraction import ExtractionError, ExtractionLimits
from ingest.extraction.model import Extraction
from ingest.fields import FieldExtraction
from ingest.pipeline import WorkerContext, fail_document, mark_indexed, store_text
from ingest.reading import read_for_archive, reading_pool, warm_up
from ingest.worker import build_context, freeze_start_up_objects

log = structlog.get_logger(__name__)

# Small record batches keep the pool fed; index batches amortise a transaction and a bulk request.
_RECORD_BATCH = 50
_INDEX_BATCH = 200
_IN_FLIGHT_PER_JOB = 64
_CHUNK = 1024 * 1024
_DOC_TYPES = {kind.value for kind in DocType}
# The import's threads write the record one at a time. SQLite admits one writer and a blocked
# one sleeps in growing steps (up to 100 ms): waiting here instead, the next writer starts as
# soon as the lock is free (contended, the parent spent more time asleep than working).
_RECORD_WRITES = threading.Lock()


@dataclass
class ImportReport:
    recorded: list[str] = field(default_factory=list)
    indexed: int = 0
    pages: int = 0
    ocr_pages: int = 0
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    check_run: str | None = None
    checks_failed: int = 0


@dataclass(frozen=True)
class ImportOptions:
    partner: str | None
    doc_type: DocType
    confidentiality: Confidentiality
    user: str
    jobs: int


class ImportAborted(Exception):
    """The search engine did not answer: at the start nothing is recorded; later, what was
    recorded but not indexed is finished by a worker."""


def import_directory(
    settings: Settings,
    directory: Path,
    options: ImportOptions,
    *,
    progress: Progress = SILENT,
    pool: ProcessPoolExecutor | None = None,
) -> ImportReport:
    """Record, extract and index every supported file under `directory`.

    `pool`: `options.jobs` reading processes already started (`reading_pool`), else started here.
    """
    ctx = build_context(settings)
    try:
        return _import(ctx, directory, options, progress, pool)
    finally:
        ctx.es.close()


def _import(
    ctx: WorkerContext,
    directory: Path,
    options: ImportOptions,
    progress: Progress,
    pool: ProcessPoolExecutor | None = None,
) -> ImportReport:
    report = ImportReport()
    files = sorted(path for path in directory.rglob("*") if path.is_file() and not _hidden(path, directory))
    if not files:
        return report
    progress.stage("导入文件 (files imported)", len(files))
    sources: dict[str, _Source] = {}
    if ctx.settings.intake_checks:
        with session_scope(ctx.session_factory) as session:
            report.check_run = start_run(
                session, kind="import", actor=options.user, note=str(directory.name)
            ).id
    batches = iter([files[start : start + _RECORD_BATCH] for start in range(0, len(files), _RECORD_BATCH)])
    # File copies release the GIL; more threads than this only contend for it.
    io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="import-io")
    # One bulk request at a time, beside the loop that feeds the pool.
    indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-index")

    def record_next() -> list[str] | None:
        batch = next(batches, None)
        if batch is None:
            return None
        recorded = _record_batch(ctx, directory, batch, options, report, sources, io)
        # Duplicates and skipped files are done as soon as they are recognised.
        progress.advance(len(batch) - len(recorded))
        return recorded

    with io, indexer, (nullcontext(pool) if pool is not None else reading_pool(options.jobs)) as pool:
        # The pool's processes start (and import) while this one records the first files.
        warming = [pool.submit(warm_up) for _ in range(options.jobs)]
        try:
            ensure_index(ctx.es, prefix=ctx.index_prefix)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise ImportAborted(
                f"搜索引擎不可用，未导入任何文件 (search engine unavailable; nothing was imported): {exc}"
            ) from exc
        first = record_next() or []
        for future in warming:
            future.result()
        # One refresh for the whole import instead of one per document or per second.
        with scheduled_refresh_paused(ctx.es, prefix=ctx.index_prefix):
            # Files are recorded batch by batch while the pool extracts those already recorded.
            _extract_and_index(
                ctx, pool, indexer, first, record_next, sources, report, options.jobs, progress
            )
        _finish_check_run(ctx, report)
        log.info("import.done", documents=len(report.recorded), duplicates=report.duplicates)
    return report


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


@dataclass(frozen=True)
class _Candidate:
    path: Path
    relative: str
    partner: Partner
    media_type: str
    doc_type: str
    sha256: str
    size: int
    sm3: str
    virus_scan: dict[str, Any] | None = None


def _record_batch(
    ctx: WorkerContext,
    root: Path,
    files: list[Path],
    options: ImportOptions,
    report: ImportReport,
    sources: dict[str, _Source],
    io: ThreadPoolExecutor,
) -> list[str]:
    """Keep the originals and record them, one transaction per batch; the new ids.

    They are recorded already claimed by this import (`processing`, with a lease): a worker
    leaves them alone unless this process dies and the lease runs out.
    """
    with session_scope(ctx.session_factory) as session:
        candidates = _scanned(ctx, _new_files(session, root, files, options, report, io), report)
        # Copied before the transaction starts, so that the record's write lock is not held meanwhile.
        placed_here = _store_originals(ctx, candidates, io)
        try:
            with _RECORD_WRITES:
                documents = _documents(ctx, session, candidates, options)
                session.flush()
                record_events(
                    session,
                    [
                        Event(
                            options.user,
                            "upload",
                            document.id,
                            {
                                "import": True,
                                "filename": c.relative,
                                "sha256": c.sha256,
                                "size": c.size,
                                "sm3": c.sm3,
                                "archival_code": document.archival_code,
                            },
                        )
                        for document, c in zip(documents, candidates, strict=True)
                    ],
                )
                session.commit()
        except BaseException:
            # No record, no original: take back the files this batch placed.
            for sha256 in placed_here:
                ctx.store.remove(sha256)
            raise
    for document, candidate in zip(documents, candidates, strict=True):
        original = ctx.store.path_for(candidate.sha256)
        sources[document.id] = _Source(original, candidate.media_type, candidate.doc_type)
    report.recorded += [document.id for document in documents]
    return [document.id for document in documents]


def _documents(
    ctx: WorkerContext, session: Session, candidates: list[_Candidate], options: ImportOptions
) -> list[Document]:
    """The batch's records, numbered and coded, added to `session` (leased to this import)."""
    lease_expires_at = datetime.now(UTC) + ctx.lease
    numbers: dict[str, list[str]] = {}
    for partner_id, group in _by_partner(candidates).items():
        numbers[partner_id] = document_archive_nos(session, partner=group[0].partner, count=len(group))
    rule = ArchivalRule.from_settings(ctx.settings)
    codes: dict[tuple[str, str], list[Any]] = {}
    for candidate in candidates:
        codes.setdefault((candidate.doc_type, candidate.partner.department), []).append(candidate)
    assigned = {
        key: assign_codes(session, rule=rule, doc_type=key[0], department=key[1], count=len(group))
        for key, group in codes.items()
    }
    documents = []
    for candidate in candidates:
        document = Document(
            partner_id=candidate.partner.id,
            archive_no=numbers[candidate.partner.id].pop(0),
            doc_type=candidate.doc_type,
            confidentiality=options.confidentiality.value,
            department=candidate.partner.department,
            title=candidate.path.stem[:300],
            title_source="filename",
            original_filename=safe_filename(candidate.path.name),
            media_type=candidate.media_type,
            size_bytes=candidate.size,
            sha256=candidate.sha256,
            sm3=candidate.sm3,
            file_properties={"virus_scan": candidate.virus_scan} if candidate.virus_scan else {},
            fields={},
            field_provenance={},
            status="processing",
            lease_expires_at=lease_expires_at,
            attempts=1,
            uploaded_by=options.user,
        )
        apply_code(document, assigned[(candidate.doc_type, candidate.partner.department)].pop(0))
        documents.append(document)
        session.add(document)
    return documents


def _new_files(
    session: Session,
    root: Path,
    files: list[Path],
    options: ImportOptions,
    report: ImportReport,
    io: ThreadPoolExecutor,
) -> list[_Candidate]:
    """The batch's supported files of known partners, minus those already in the archive."""
    partners: dict[str, Partner | None] = {}
    known: list[tuple[Path, Partner]] = []
    for path in files:
        reference = options.partner or path.relative_to(root).parts[0]
        if reference not in partners:
            partners[reference] = session.scalars(
                select(Partner).where(
                    or_(
                        Partner.id == reference,
                        Partner.archive_no == reference,
                        Partner.provisional_no == reference,
                    )
                )
            ).first()
        partner = partners[reference]
        if partner is None:
            report.skipped.append((str(path.relative_to(root)), f"unknown partner {reference!r}"))
        else:
            known.append((path, partner))
    candidates: list[_Candidate] = []
    for (path, partner), inspected in zip(known, io.map(_inspect, [path for path, _ in known]), strict=True):
        relative = str(path.relative_to(root))
        if isinstance(inspected, UnsupportedFile):
            report.skipped.append((relative, str(inspected)))
            continue
        media_type, sha256, size, sm3 = inspected
        doc_type = next(
            (part for part in reversed(path.relative_to(root).parts[:-1]) if part in _DOC_TYPES),
            options.doc_type.value,
        )
        candidates.append(_Candidate(path, relative, partner, media_type, doc_type, sha256, size, sm3))
    stored = set(
        session.execute(
            select(Document.partner_id, Document.sha256).where(
                Document.partner_id.in_({c.partner.id for c in candidates}),
                Document.sha256.in_({c.sha256 for c in candidates}),
            )
        ).tuples()
    )
    new = []
    for candidate in candidates:
        key = (candidate.partner.id, candidate.sha256)
        if key in stored:  # the same bytes for the same partner: already archived, or twice here
            report.duplicates += 1
            continue
        stored.add(key)
        new.append(candidate)
    return new


def _scanned(ctx: WorkerContext, candidates: list[_Candidate], report: ImportReport) -> list[_Candidate]:
    """The batch through the virus scanner (one clamscan run); infected or unscannable files
    are skipped with the reason, nothing of them kept."""
    scanner = make_scanner(ctx.settings)
    if scanner is None:
        return candidates
    kept = []
    for candidate, verdict in zip(candidates, scanner.scan([c.path for c in candidates]), strict=True):
        if verdict.result == "infected":
            report.skipped.append(
                (candidate.relative, f"GD-4-2 病毒感染检测未通过：检出 {verdict.signature}")
            )
        elif verdict.result != "clean":
            report.skipped.append(
                (candidate.relative, f"病毒扫描未能完成 (the virus scan did not run): {verdict.detail}")
            )
        else:
            kept.append(replace(candidate, virus_scan=scan_record(verdict)))
    return kept


def _inspect(path: Path) -> tuple[str, str, int, str] | UnsupportedFile:
    """The file's type from its bytes, its SHA-256, size and SM3; or why it is refused."""
    try:
        kind = identify_upload(path, filename=path.name, declared_media_type=None)
    except UnsupportedFile as error:
        return error
    sha256, sm3, size = file_digests(path)
    return kind.media_type, sha256, size, sm3


def _by_partner(candidates: list[_Candidate]) -> dict[str, list[_Candidate]]:
    groups: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.partner.id, []).append(candidate)
    return groups


def _store_originals(ctx: WorkerContext, candidates: list[_Candidate], io: ThreadPoolExecutor) -> list[str]:
    """Copy the files into the store, several at once (file-system work releases the GIL);
    the SHA-256 of those not stored before. All placed, or none."""

    def copy(candidate: _Candidate) -> bool:
        return ctx.store.place(_staged_copy(ctx, candidate.path, candidate.sha256, candidate.size))

    futures = [io.submit(copy, candidate) for candidate in candidates]
    wait(futures)
    placed = [c.sha256 for c, f in zip(candidates, futures, strict=True) if not f.exception() and f.result()]
    failure = next((f.exception() for f in futures if f.exception()), None)
    if failure is not None:
        for sha256 in placed:
            ctx.store.remove(sha256)
        raise failure
    return placed


def _staged_copy(ctx: WorkerContext, path: Path, sha256: str, size: int) -> StagedFile:
    ctx.store.staging.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=ctx.store.staging, prefix="upload-")
    os.close(handle)
    shutil.copyfile(path, name)
    return StagedFile(path=Path(name), sha256=sha256, size=size)


@dataclass(frozen=True)
class _Source:
    """What a pool process needs to read a recorded document: no database access there."""

    path: Path
    media_type: str
    doc_type: str


def _extract_and_index(
    ctx: WorkerContext,
    pool: ProcessPoolExecutor,
    indexer: ThreadPoolExecutor,
    first: list[str],
    record_next: Callable[[], list[str] | None],
    sources: dict[str, _Source],
    report: ImportReport,
    jobs: int,
    progress: Progress,
) -> None:
    # Each process OCRs its document's pages on its share of the cores.
    limits = replace(ctx.limits, ocr_workers=max(1, (os.cpu_count() or 1) // jobs))
    waiting = deque(first)
    more_files = True
    in_flight: dict[Future[_Read], str] = {}
    extracted: dict[str, _Read] = {}
    indexing: list[Future[int]] = []
    last_renewal = time.monotonic()
    while True:
        # Record the next files before the pool runs dry (a batch may be all duplicates).
        while more_files and len(waiting) + len(in_flight) < 2 * jobs * _IN_FLIGHT_PER_JOB:
            recorded = record_next()
            more_files = recorded is not None
            waiting.extend(recorded or [])
        while waiting and len(in_flight) < jobs * _IN_FLIGHT_PER_JOB:
            document_id = waiting.popleft()
            in_flight[
                _submit(pool, document_id, sources[document_id], limits, ctx.settings.intake_checks)
            ] = document_id
        if not in_flight:
            break
        done, _ = wait(in_flight, timeout=30, return_when=FIRST_COMPLETED)
        progress.advance(len(done))
        for future in done:
            document_id = in_flight.pop(future)
            result = _result(ctx, document_id, future, report)
            if result is not None:
                extracted[document_id] = result
        if len(extracted) >= _INDEX_BATCH:
            indexing.append(indexer.submit(_index_kept, ctx, _keep(ctx, extracted, report), report))
            extracted = {}
        report.indexed += _indexed_so_far(indexing)
        if time.monotonic() - last_renewal > ctx.lease.total_seconds() / 3:
            _renew(ctx, [*in_flight.values(), *waiting, *extracted])
            last_renewal = time.monotonic()
    if extracted:
        indexing.append(indexer.submit(_index_kept, ctx, _keep(ctx, extracted, report), report))
    wait(indexing)
    report.indexed += _indexed_so_far(indexing)


def _indexed_so_far(indexing: list[Future[int]]) -> int:
    """Collect finished index batches (raising what one raised); how many documents they did."""
    finished = [future for future in indexing if future.done()]
    for future in finished:
        indexing.remove(future)
    return sum(future.result() for future in finished)


_Read = tuple[Extraction, FieldExtraction, dict[str, Any] | None]


def _submit(
    pool: ProcessPoolExecutor, document_id: str, source: _Source, limits: ExtractionLimits, with_facts: bool
) -> Future[_Read]:
    """The worker's extraction and field reading in a pool process, with the file's facts
    for the intake checks (digests and structure, read in parallel too)."""
    return pool.submit(
        read_for_archive,
        document_id,
        source.doc_type,
        source.path,
        source.media_type,
        limits=limits,
        with_facts=with_facts,
    )


def _result(
    ctx: WorkerContext, document_id: str, future: Future[_Read], report: ImportReport
) -> _Read | None:
    try:
        return future.result()
    except ExtractionError as error:
        reason, message = error.reason, str(error)
    except Exception as error:
        reason, message = "internal_error", f"处理失败 (processing failed): {type(error).__name__}: {error}"
    with _RECORD_WRITES:
        fail_document(ctx, document_id, reason=reason, message=message)
        report.failed.append((document_id, message))
        _check_failed(ctx, document_id, report, reason=reason, error=message)
    return None


def _check_failed(
    ctx: WorkerContext, document_id: str, report: ImportReport, *, reason: str, error: str
) -> None:
    """The intake check of a file that could not be read: it stays on record, marked failed."""
    if report.check_run is None:
        return
    with session_scope(ctx.session_factory) as session:
        run = session.get(CheckRun, report.check_run)
        document = session.get(Document, document_id)
        assert run is not None and document is not None
        facts = stored_facts(
            ctx.store, document.sha256, max_inflated_bytes=ctx.limits.max_docx_inflated_bytes
        )
        check_document(
            session,
            document,
            settings=ctx.settings,
            run=run,
            stage="intake",
            given=CheckInput(facts, error_reason=reason, error=error),
        )
        report.checks_failed += 1


def _finish_check_run(ctx: WorkerContext, report: ImportReport) -> None:
    if report.check_run is None:
        return
    with session_scope(ctx.session_factory) as session:
        run = session.get(CheckRun, report.check_run)
        assert run is not None
        finish_run(run)


def _renew(ctx: WorkerContext, document_ids: list[str]) -> None:
    with _RECORD_WRITES, session_scope(ctx.session_factory) as session:
        session.execute(
            update(Document)
            .where(Document.id.in_(document_ids), Document.status == "processing")
            .values(lease_expires_at=datetime.now(UTC) + ctx.lease)
        )


def _keep(
    ctx: WorkerContext, extracted: dict[str, _Read], report: ImportReport
) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Keep a batch's text and fields in one transaction (before indexing, as the worker does:
    the text outlives a search engine outage); the index bodies of the documents kept."""
    with _RECORD_WRITES, session_scope(ctx.session_factory) as session:
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.id.in_(list(extracted)), Document.status == "processing")
                .options(
                    selectinload(Document.page_texts),
                    selectinload(Document.partner),
                    selectinload(Document.review_items),
                    selectinload(Document.ocr_cache_uses),
                )
            )
        )
        # One flush for the batch: a flush per document (each document's review items are
        # inserted with a statement, which would flush first) cost more than the pool's reading.
        with session.no_autoflush:
            for document in documents:
                extraction, fields, _facts = extracted[document.id]
                store_text(document, extraction, fields)
                report.pages += len(extraction.pages)
                report.ocr_pages += extraction.ocr_pages
        session.flush()
        return [(document.id, index_body(document), extracted[document.id][2]) for document in documents]


def _index_kept(
    ctx: WorkerContext, bodies: list[tuple[str, dict[str, Any], dict[str, Any] | None]], report: ImportReport
) -> int:
    """Index a kept batch with one bulk request (no refresh) and mark it indexed; how many.

    Runs beside the loop that feeds the pool, so that extraction goes on meanwhile.
    """
    alias = documents_alias(ctx.index_prefix)
    document_ids = [document_id for document_id, _body, _facts in bodies]
    try:
        helpers.bulk(
            ctx.es,
            ({"_index": alias, "_id": document_id, "_source": body} for document_id, body, _facts in bodies),
            chunk_size=500,
            raise_on_error=True,
        )
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # The text is kept; a worker indexes these once the engine answers.
        with _RECORD_WRITES, session_scope(ctx.session_factory) as session:
            session.execute(
                update(Document)
                .where(Document.id.in_(document_ids), Document.status == "processing")
                .values(status="queued", lease_expires_at=None)
            )
        raise ImportAborted(f"搜索引擎不可用，导入中止 (search engine unavailable): {exc}") from exc
    with _RECORD_WRITES, session_scope(ctx.session_factory) as session:
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.id.in_(document_ids), Document.status == "processing")
                .options(selectinload(Document.page_texts))
            )
        )
        now = datetime.now(UTC)
        for document in documents:
            mark_indexed(document, at=now)
        session.flush()
        # Supersession looks at all of a partner's documents of a type: once per group.
        groups = {(document.partner_id, document.doc_type): document for document in documents}
        changed: dict[str, Document] = {}
        for document in groups.values():
            changed.update((doc.id, doc) for doc in apply_supersession(session, document))
        if changed:
            reindex_documents(ctx.es, prefix=ctx.index_prefix, documents=changed.values())
        _check_batch(
            ctx, session, documents, {document_id: facts for document_id, _body, facts in bodies}, report
        )
        return len(documents)


def _check_batch(
    ctx: WorkerContext,
    session: Session,
    documents: list[Document],
    facts: dict[str, dict[str, Any] | None],
    report: ImportReport,
) -> None:
    """The intake checks of an indexed batch, judged on the facts its pool processes read."""
    if report.check_run is None:
        return
    run = session.get(CheckRun, report.check_run)
    assert run is not None
    groups: dict[str, Any] = {}
    lookups = record_lookups(session, documents)
    for document in documents:
        given = facts.get(document.id) or stored_facts(
            ctx.store, document.sha256, max_inflated_bytes=ctx.limits.max_docx_inflated_bytes
        )
        check = check_document(
            session,
            document,
            settings=ctx.settings,
            run=run,
            stage="intake",
            given=CheckInput(given),
            groups=groups,
            lookups=lookups,
        )
        report.checks_failed += 0 if check.passed else 1


def main(
    argv: list[str] | None = None, *, progress: Progress = SILENT, pool: ProcessPoolExecutor | None = None
) -> int:
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
    # A full collection walked the start-up's modules and clients each time: ~0.5 s of the
    # parent's CPU (all its threads stopped meanwhile) for 2,000 files, ~0.2 s once frozen.
    freeze_start_up_objects()
    started = time.perf_counter()
    try:
        report = import_directory(settings, directory, options, progress=progress, pool=pool)
    except ImportAborted as error:
        print(str(error), file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    for relative, why in report.skipped:
        print(f"skipped {relative}: {why}", file=sys.stderr)
    for document_id, why in report.failed:
        print(f"failed {document_id}: {why}", file=sys.stderr)
    if report.check_run:
        print(
            f"四性检测 (four-property checks): {report.checks_failed} 份未通过 (failed) — "
            f"报告 (report): /api/v1/check-runs/{report.check_run}/report"
        )
    print(
        f"imported {report.indexed} documents ({report.pages} pages, {report.ocr_pages} by OCR) in"
        f" {elapsed:.1f} s with {jobs} processes; {report.duplicates} duplicates, {len(report.skipped)}"
        f" skipped, {len(report.failed)} failed"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
