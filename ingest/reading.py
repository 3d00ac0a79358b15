"""Reading a document: its pages' text and the fields in it. No database, no search engine.

The worker calls this in its own process; a bulk import calls it in pool processes, which
then import this module and what it needs only (a second or so less per process than the
whole pipeline with its database and search clients).
"""

from __future__ import annotations

from pathlib import Path

import structlog

from ingest.extraction import Extraction, ExtractionLimits, extract
from ingest.extraction.model import PageDone
from ingest.fields import FieldExtraction, extract_fields
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
    fields = extract_fields(doc_type, [(p.number, p.text) for p in extraction.pages])
    reread = reread_identifier(doc_type, fields, path=path, media_type=media_type, pages=extraction.pages)
    if reread.tesseract_runs:
        log.info("document.second_pass", document_id=document_id, outcome=reread.outcome)
    return reread.fields


def warm_up() -> None:
    """Nothing: submitted to a new pool process so that it starts and imports this module."""
