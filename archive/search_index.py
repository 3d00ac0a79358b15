"""The indices: client factory, versioned mappings behind an alias, and indexing.

Documents, and relationship records beside them, each behind an alias. The indices are
derived from the system of record; `rebuild()` recreates them from there. A mapping change
is a new `mappings/<name>.vN.json`, a rebuild and an alias switch (fields only added are
also put on the older index at start, so that writes go on until the rebuild).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, NotFoundError, helpers
from elasticsearch.serializer import OrjsonSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive.errors import ServiceUnavailable
from archive.models import Document
from archive.permissions import CONFIDENTIALITY_RANK
from archive.progress import SILENT, Progress
from archive.settings import Settings

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
PAGE_SEPARATOR = "\n\f\n"
BULK_TIMEOUT_SECONDS = 120.0

log = structlog.get_logger(__name__)


def make_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster, or the local node."""
    options: dict[str, Any] = {
        # orjson parses the engine's answers (hits, highlights, facets) several times faster.
        "serializer": OrjsonSerializer(),
        "request_timeout": settings.es_request_timeout,
        "retry_on_timeout": False,
        "max_retries": 1,
    }
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if settings.es_ca_file:
        options["ca_certs"] = str(settings.es_ca_file)
    # A cluster is named by several of its nodes, comma-separated: a request to one that is
    # down is retried on the next, and the client leaves the dead one aside for a while.
    hosts = [url.strip() for url in settings.effective_es_url.split(",") if url.strip()]
    return Elasticsearch(hosts, **options)


def documents_alias(prefix: str) -> str:
    return f"{prefix}-documents"


def records_alias(prefix: str) -> str:
    """Relationship records (走访、沟通、满意度调查、投诉): an index of their own."""
    return f"{prefix}-records"


@cache
def latest_mapping(name: str = "documents") -> tuple[int, dict[str, Any]]:
    """The highest-numbered `<name>.vN.json` and its content."""
    pattern = re.compile(rf"^{re.escape(name)}\.v(\d+)\.json$")
    versions = {
        int(match.group(1)): path for path in MAPPINGS_DIR.iterdir() if (match := pattern.match(path.name))
    }
    if not versions:
        raise RuntimeError(f"no {name}.vN.json mapping in {MAPPINGS_DIR}")
    version = max(versions)
    return version, json.loads(versions[version].read_text(encoding="utf-8"))


def _index_settings(mapping: dict[str, Any], *, replicas: int) -> dict[str, Any]:
    return {**mapping["settings"], "number_of_shards": 1, "number_of_replicas": replicas}


def ensure_index(es: Elasticsearch, *, prefix: str, replicas: int = 0) -> str:
    """Create the current version's index behind the alias unless the alias exists; idempotent.

    Returns the concrete index the alias points at.
    """
    return _ensure(es, alias=documents_alias(prefix), name="documents", replicas=replicas)


def ensure_records_index(es: Elasticsearch, *, prefix: str, replicas: int = 0) -> str:
    return _ensure(es, alias=records_alias(prefix), name="records", replicas=replicas)


def _ensure(es: Elasticsearch, *, alias: str, name: str, replicas: int) -> str:
    existing = _alias_targets(es, alias)
    version, mapping = latest_mapping(name)
    if existing:
        _add_new_fields(es, index=existing[0], version=version, mapping=mapping)
        return existing[0]
    # A fixed first name: two processes starting together create one index, not two.
    index = f"{alias}-v{version}-initial"
    try:
        es.indices.create(
            index=index,
            settings=_index_settings(mapping, replicas=replicas),
            mappings=mapping["mappings"],
            aliases={alias: {"is_write_index": True}},
        )
    except ApiError as exc:
        if exc.meta.status != 400 or "resource_already_exists_exception" not in str(exc.body):
            raise
    return index


def _add_new_fields(es: Elasticsearch, *, index: str, version: int, mapping: dict[str, Any]) -> None:
    """An index built from an older mapping gets the newer one's added fields, so that writes
    after an upgrade are not refused by its strict mapping; `reindex` fills them for the
    documents written before."""
    current = mapping_version_of(index)
    if current is None or current >= version:
        return
    try:
        es.indices.put_mapping(index=index, properties=mapping["mappings"]["properties"])
    except ApiError as exc:
        raise RuntimeError(
            f"索引 {index} 的映射无法升级到 v{version}，请运行 partner-archive reindex"
            f" (the index's mapping cannot take v{version}'s changes in place; run partner-archive reindex)"
        ) from exc
    log.warning("index.fields_added", index=index, from_version=current, to_version=version,
                hint="run partner-archive reindex to fill them for earlier documents")


def _alias_targets(es: Elasticsearch, alias: str) -> list[str]:
    try:
        return sorted(es.indices.get_alias(name=alias).keys())
    except NotFoundError:
        return []


def mapping_version_of(index: str) -> int | None:
    match = re.search(r"-v(\d+)-", index)
    return int(match.group(1)) if match else None


def index_body(document: Document, *, page_texts: list[str] | None = None) -> dict[str, Any]:
    """The Elasticsearch source for one document, partner metadata denormalised.

    `page_texts`: its pages' texts in order, when the caller holds them (those of
    `document.page_texts` otherwise)."""
    partner = document.partner
    pages = [page.text for page in document.page_texts] if page_texts is None else page_texts
    fields = dict(document.fields or {})
    expires_on = document.expires_on or _as_date(fields.get("expires_on"))
    return {
        "document_id": document.id,
        "archive_no": document.archive_no,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "partner_kind": partner.kind,
        "partner_status": partner.status,
        "partner_credit_code": partner.credit_code,
        "partner_archive_no": partner.number,
        "doc_type": document.doc_type,
        "confidentiality": document.confidentiality,
        "confidentiality_rank": CONFIDENTIALITY_RANK[document.confidentiality],
        "department": document.department,
        "title": document.title,
        "content": pages,
        "original_filename": document.original_filename,
        "media_type": document.media_type,
        "sha256": document.sha256,
        "pages": document.pages,
        "ocr_pages": document.ocr_pages,
        "expires_on": expires_on.isoformat() if expires_on else None,
        "issued_on": fields.get("issued_on"),
        "superseded_by": document.superseded_by,
        "legal_hold": document.legal_hold,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.created_at.isoformat(),
        "fields": fields,
    }


def _as_date(value: object) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None


def index_document(es: Elasticsearch, *, prefix: str, document: Document) -> None:
    """Write one document under its own id, so that repeating it never duplicates it."""
    write_document(es, prefix=prefix, document_id=document.id, body=index_body(document))


def write_document(es: Elasticsearch, *, prefix: str, document_id: str, body: dict[str, Any]) -> None:
    """Write one document's `index_body` under its id; searchable on return.

    The refresh makes `indexed` mean searchable. `wait_for` waited for the next scheduled
    refresh, ~1 s per document whatever its size, which capped a worker thread at about one
    document a second; refreshing the one shard now costs ~0.08 s (bench/, text pages/second).
    Bulk imports index without it and refresh once (ingest/bulk_import.py). Every write
    refreshes explicitly, none waits for a scheduled refresh: an import turns those off.
    """
    es.index(index=documents_alias(prefix), id=document_id, document=body, refresh=True)


def reindex_documents(es: Elasticsearch, *, prefix: str, documents: Iterable[Document]) -> int:
    """Rewrite some documents in place (after a change in the record); searchable on return."""
    actions = (
        {"_index": documents_alias(prefix), "_id": doc.id, "_source": index_body(doc)} for doc in documents
    )
    try:
        done, _errors = helpers.bulk(es, actions, refresh=True, raise_on_error=True)
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable(
                "搜索服务暂时不可用，修改未保存 (the search engine is unavailable; nothing was changed)"
            ) from exc
        raise
    return done


def reindex_partner_documents(es: Elasticsearch, session: Session, *, prefix: str, partner_id: str) -> int:
    """After a change copied onto every document of a partner (name, status, numbers)."""
    documents = session.scalars(
        select(Document)
        .where(Document.partner_id == partner_id, Document.status == "indexed")
        .options(selectinload(Document.page_texts), selectinload(Document.partner))
    ).all()
    if not documents:
        return 0
    return reindex_documents(es, prefix=prefix, documents=documents)


def delete_document(es: Elasticsearch, *, prefix: str, document_id: str) -> None:
    try:
        es.delete(index=documents_alias(prefix), id=document_id, refresh=True)
    except NotFoundError:
        # Already absent from the index, which is the state asked for.
        return


def flush_index(es: Elasticsearch, *, prefix: str) -> None:
    """Commit the index's segments and trim its translog (the engine's log of recent writes)."""
    es.indices.flush(index=documents_alias(prefix))


@contextmanager
def scheduled_refresh_paused(es: Elasticsearch, *, prefix: str) -> Iterator[None]:
    """No periodic refresh while a bulk import writes (fewer, larger segments; less merging),
    then the index's own setting back and one refresh.

    If the process dies inside, the setting stays off; nothing waits for a scheduled refresh
    (every write refreshes explicitly), and the next import puts it back.
    """
    alias = documents_alias(prefix)
    es.indices.put_settings(index=alias, settings={"refresh_interval": "-1"})
    try:
        yield
    finally:
        try:
            es.indices.put_settings(index=alias, settings={"refresh_interval": None})
            es.indices.refresh(index=alias)
        except Exception as exc:
            # The engine went away: the import reports that; the setting is restored next time.
            if not is_unavailable(exc):
                raise


def rebuild(
    es: Elasticsearch,
    *,
    prefix: str,
    documents: Iterable[Document],
    replicas: int = 0,
    progress: Progress = SILENT,
) -> tuple[str, int]:
    """Build a fresh index from the record, then move the alias to it in one step.

    `progress` is advanced as bulk requests finish; the caller names the stage and its size.
    """
    sources = ((document.id, index_body(document)) for document in documents)
    return rebuild_alias(
        es,
        alias=documents_alias(prefix),
        name="documents",
        sources=sources,
        replicas=replicas,
        progress=progress,
    )


def rebuild_alias(
    es: Elasticsearch,
    *,
    alias: str,
    name: str,
    sources: Iterable[tuple[str, dict[str, Any]]],
    replicas: int = 0,
    progress: Progress = SILENT,
) -> tuple[str, int]:
    """A fresh index of the latest `<name>` mapping filled with (id, body) pairs, then the
    alias moved to it in one step and the old indices deleted."""
    version, mapping = latest_mapping(name)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    index = f"{alias}-v{version}-{stamp}"
    es.indices.create(
        index=index,
        settings={**_index_settings(mapping, replicas=replicas), "refresh_interval": "-1"},
        mappings=mapping["mappings"],
    )

    def actions() -> Iterator[dict[str, Any]]:
        for source_id, body in sources:
            yield {"_index": index, "_id": source_id, "_source": body}

    indexed = _bulk_overlapped(es, actions(), progress=progress)
    es.indices.put_settings(index=index, settings={"refresh_interval": None})
    es.indices.refresh(index=index)
    old = _alias_targets(es, alias)
    es.indices.update_aliases(
        actions=[{"remove": {"index": old_index, "alias": alias}} for old_index in old]
        + [{"add": {"index": index, "alias": alias, "is_write_index": True}}]
    )
    for old_index in old:
        es.indices.delete(index=old_index)
    return index, indexed


def _bulk_overlapped(
    es: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    *,
    chunk_size: int = 500,
    in_flight: int = 2,
    progress: Progress = SILENT,
) -> int:
    """Bulk requests sent from threads while this thread reads the record and builds the next ones.

    With streaming_bulk the two took turns: reading 100,000 documents from the database and
    building their bodies is a third of the time Elasticsearch takes to index them (bench/,
    reindex). The documents are read in the calling thread only (an ORM session is not shared).
    """
    indexed = 0
    # A bulk request of 500 documents may take longer than an interactive request's timeout
    # on a busy node; giving up on it would abandon the whole rebuild.
    es = es.options(request_timeout=BULK_TIMEOUT_SECONDS)
    pending: deque[Future[tuple[int, Any]]] = deque()
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="bulk") as pool:
        iterator = iter(actions)
        while chunk := list(itertools.islice(iterator, chunk_size)):
            while len(pending) >= in_flight:
                done = pending.popleft().result()[0]
                indexed += done
                progress.advance(done)
            pending.append(
                pool.submit(helpers.bulk, es, chunk, chunk_size=chunk_size, raise_on_error=True)
            )
        while pending:
            done = pending.popleft().result()[0]
            indexed += done
            progress.advance(done)
    return indexed


def is_unavailable(exc: Exception) -> bool:
    """Errors that mean the search engine is down or overloaded, worth retrying later."""
    if isinstance(exc, ConnectionError | ConnectionTimeout | ServiceUnavailable):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in (429, 502, 503, 504)
