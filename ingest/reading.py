"""Reading a document: its pages' text and the fields in it. No database, no search engine.

The worker calls this in its own process; a bulk import calls it in pool processes, which
then import this module and what it needs only (a second or so less per process than the
whole pipeline with its database and search clients).
"""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from archive.file_facts import facts_of_file
from ingest.extraction import Extraction, ExtractionLimits, extract
from ingest.extraction.model import PageDone
from ingest.fields import FieldExtraction, FieldValue, extract_fields
from ingest.fields.qr_code import read_licence_qr
from ingest.fields.second_pass import reread_identifier

log = structlog.get_logger(__name__)


def read_document(
    document_id: str,
    doc_type: str,
    path: Path,
    media_type: str,
    *,
    limits: ExtractionLimits,
    on_page: PageDone | None = None,
) -> tuple[Extraction, FieldExtraction]:
    extraction = extract(path, media_type, limits=limits, on_page=on_page)
    return extraction, read_fields(document_id, doc_type, extraction, path=path, media_type=media_type)


def read_fields(
    document_id: str, doc_type: str, extraction: Extraction, *, path: Path, media_type: str
) -> FieldExtraction:
    """Fields from the pages' text, plus one targeted re-read of a scan for a missing identifier.

    Outside any database session: the re-read runs Tesseract for a second or two.
    """
    if extraction.embedded.get("invoice_no") and doc_type == "other":
        # An e-invoice filed without a type is still an invoice: read it as one.
        doc_type = "invoice"
    fields = extract_fields(
        doc_type,
        [(page.number, page.text) for page in extraction.pages],
        {page.number: page.layout for page in extraction.pages if page.layout},
    )
    reread = reread_identifier(doc_type, fields, path=path, media_type=media_type, pages=extraction.pages)
    if reread.tesseract_runs:
        log.info("document.second_pass", document_id=document_id, outcome=reread.outcome)
    fields = with_embedded(reread.fields, extraction.embedded)
    if doc_type == "business_license":
        return with_licence_qr(fields, path=path, media_type=media_type, extraction=extraction)
    return fields


def with_embedded(fields: FieldExtraction, embedded: dict[str, str]) -> FieldExtraction:
    """The file's own data wins over what was read from its printed text (it is what the
    issuer signed); a printed value that disagrees is kept as the raw reading."""
    if not embedded:
        return fields
    merged = dict(fields.fields)
    for name, value in embedded.items():
        printed = merged.get(name)
        raw = str(printed.value) if printed is not None and str(printed.value) != value else None
        merged[name] = FieldValue(value=value, page=1, raw=raw, method="embedded")
    problems = {name: why for name, why in fields.problems.items() if name not in merged}
    return FieldExtraction(fields=merged, problems=problems)


def read_for_archive(
    document_id: str,
    doc_type: str,
    path: Path,
    media_type: str,
    *,
    limits: ExtractionLimits,
    with_facts: bool,
) -> tuple[Extraction, FieldExtraction, dict[str, Any] | None]:
    """What a bulk import's pool process computes per file: text, fields, and (when the
    intake checks run) the file's facts and digests, so the parent only judges them."""
    extraction, fields = read_document(document_id, doc_type, path, media_type, limits=limits)
    if not with_facts:
        return extraction, fields, None
    # The extraction just loaded every page of a PDF: its count, not a second loading.
    facts = facts_of_file(
        path, max_inflated_bytes=limits.max_docx_inflated_bytes, pdf_page_counts=extraction.pdf_page_counts
    )
    return extraction, fields, facts


def with_licence_qr(
    fields: FieldExtraction, *, path: Path, media_type: str, extraction: Extraction
) -> FieldExtraction:
    """The licence's QR code host as the field `qr_host`, or why there is none."""
    qr = read_licence_qr(path, media_type, [page.number for page in extraction.pages])
    if qr.value is not None:
        return FieldExtraction(fields={**fields.fields, "qr_host": qr.value}, problems=fields.problems)
    why = "未读到二维码 (no readable QR code)"
    return FieldExtraction(fields=fields.fields, problems={**fields.problems, "qr_host": why})


def warm_up() -> None:
    """Submitted to a new pool process so that it starts and imports this module; what it
    imported is then left out of garbage collections, as a started worker's is
    (`ingest.worker.freeze_start_up_objects`)."""
    gc.freeze()


def reading_pool(jobs: int) -> ProcessPoolExecutor:
    """`jobs` processes for `read_for_archive`, started (and importing this module) at once."""
    # spawn, not fork: the parent holds connection pools and threads a fork would copy.
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(jobs):
        pool.submit(warm_up)
    return pool
