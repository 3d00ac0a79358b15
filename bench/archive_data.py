"""The synthetic archive: records in the database (for reindex) and bodies for raw bulk requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import insert

from archive.db import make_engine, make_session_factory
from archive.models import Document, DocumentPage, Partner
from archive.permissions import CONFIDENTIALITY_RANK
from archive.search_index import _index_settings, latest_mapping
from bench.inputs import synthetic_documents

UPLOADED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def write_records(database_url: str, partners: list[dict[str, str]], count: int) -> None:
    """Insert partners, `count` indexed documents and their pages, in batches of 5,000."""
    engine = make_engine(database_url)
    session_factory = make_session_factory(engine)
    with session_factory() as session:
        session.execute(insert(Partner), [
            {**{k: p[k] for k in ("id", "name", "kind", "department", "archive_no")}, "created_by": "bench"}
            for p in partners
        ])
        batch: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        for doc in synthetic_documents(0, count, partners):
            batch.append({
                "id": doc["id"], "partner_id": doc["partner"]["id"], "archive_no": doc["archive_no"],
                "doc_type": doc["doc_type"], "confidentiality": doc["confidentiality"],
                "department": doc["department"], "title": doc["title"], "original_filename": f"{doc['title']}.pdf",
                "media_type": "application/pdf", "size_bytes": 1000, "sha256": doc["sha256"],
                "expires_on": date.fromisoformat(doc["expires_on"]), "fields": {"expires_on": doc["expires_on"]},
                "field_provenance": {}, "field_problems": {}, "flags": [], "legal_hold": False,
                "status": "indexed", "attempts": 1, "pages": len(doc["pages"]), "ocr_pages": 0,
                "uploaded_by": "bench", "created_at": UPLOADED_AT, "updated_at": UPLOADED_AT,
                "indexed_at": UPLOADED_AT,
            })
            pages.extend({"document_id": doc["id"], "number": n + 1, "text": text, "source": "text"}
                         for n, text in enumerate(doc["pages"]))
            if len(batch) >= 5000:
                session.execute(insert(Document), batch)
                session.execute(insert(DocumentPage), pages)
                batch, pages = [], []
        if batch:
            session.execute(insert(Document), batch)
            session.execute(insert(DocumentPage), pages)
        session.commit()
    engine.dispose()


def body(doc: dict[str, Any]) -> dict[str, Any]:
    """What archive.search_index.index_body makes of the same record (checked in bench/search.py)."""
    partner = doc["partner"]
    return {
        "document_id": doc["id"],
        "archive_no": doc["archive_no"],
        "partner_id": partner["id"],
        "partner_name": partner["name"],
        "partner_kind": partner["kind"],
        "partner_status": "active",  # the model's default: write_records leaves it
        "partner_credit_code": None,
        "partner_archive_no": partner["archive_no"],
        "doc_type": doc["doc_type"],
        "confidentiality": doc["confidentiality"],
        "confidentiality_rank": CONFIDENTIALITY_RANK[doc["confidentiality"]],
        "department": doc["department"],
        "title": doc["title"],
        "content": doc["pages"],
        "original_filename": f"{doc['title']}.pdf",
        "media_type": "application/pdf",
        "sha256": doc["sha256"],
        "pages": len(doc["pages"]),
        "ocr_pages": 0,
        "expires_on": doc["expires_on"],
        "issued_on": None,
        "superseded_by": None,
        "legal_hold": False,
        "uploaded_by": "bench",
        "uploaded_at": UPLOADED_AT.isoformat(),
        "fields": {"expires_on": doc["expires_on"]},
    }


def actions(index: str, partners: list[dict[str, str]], start: int, count: int) -> Iterator[dict[str, Any]]:
    for doc in synthetic_documents(start, count, partners):
        yield {"_index": index, "_id": doc["id"], "_source": body(doc)}


def create_index(es: Elasticsearch, index: str, *, alias: str | None = None, refresh_off: bool = True) -> None:
    """An index with the current mapping and the settings `rebuild()` uses."""
    _version, mapping = latest_mapping()
    settings = _index_settings(mapping, replicas=0)
    if refresh_off:
        settings = {**settings, "refresh_interval": "-1"}
    es.indices.create(index=index, settings=settings, mappings=mapping["mappings"],
                      aliases={alias: {"is_write_index": True}} if alias else None)


def raw_bulk(es: Elasticsearch, index: str, prepared: list[dict[str, Any]]) -> None:
    """The reference: helpers.bulk of prepared actions, then refresh back on, as rebuild() ends."""
    helpers.bulk(es, prepared, chunk_size=500, raise_on_error=True, request_timeout=120)
    es.indices.put_settings(index=index, settings={"refresh_interval": None})
    es.indices.refresh(index=index)
