"""Relationship records (走访、沟通、满意度调查、投诉) kept in the partner's archive.

A record is a row in the record and an entry in its own index (`<prefix>-records`) that
carries the documents' visibility fields (`confidentiality`, `confidentiality_rank`,
`department`), so that searching records runs the very same `visibility_filter` inside the
Elasticsearch query. A record is never `public`: anyone who sees one shares the partner's
department or is archive-wide, and so sees the partner too. Records follow their partner's
department when it changes. An attachment is an ordinary upload of the partner (extracted,
OCR'd and searchable like any document) that the record points at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from anyio import to_thread
from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from archive import documents as document_service
from archive.audit import AuditWriter, record_event
from archive.db import session_scope
from archive.errors import InvalidInput, ServiceUnavailable
from archive.jobs import JobQueue
from archive.models import Document, Partner, RelationshipRecord
from archive.partners import get_changeable_partner, get_visible_partner
from archive.permissions import (
    CONFIDENTIALITY_RANK,
    UNMASKED_ROLES,
    User,
    document_visibility_clause,
    mask_id_numbers,
    record_visibility_clause,
    visibility_filter,
)
from archive.schemas import Confidentiality, DocType, RecordHit, RecordOut, RecordSearchResponse
from archive.search_index import ensure_records_index, is_unavailable, rebuild_alias, records_alias
from archive.storage import OriginalStore

KIND_LABELS = {
    "visit": "走访",
    "communication": "沟通",
    "survey": "满意度调查",
    "complaint": "投诉",
    "other": "其他",
}
RECORD_LEVELS = ("internal", "secret", "confidential")
_USER_OPERATORS = "AND|OR|NOT|PHRASE|PRECEDENCE|PREFIX|WHITESPACE|ESCAPE"


@dataclass(frozen=True)
class RecordDraft:
    partner_id: str
    occurred_on: date
    kind: str
    summary: str
    participants: str | None
    confidentiality: str


def check_draft(session: Session, *, user: User, draft: RecordDraft, today: date) -> Partner:
    """Everything a record is refused for, checked before anything (an attachment) is kept."""
    partner = get_changeable_partner(session, user=user, partner_id=draft.partner_id)
    if draft.occurred_on > today:
        raise InvalidInput(
            f"记录日期 {draft.occurred_on} 晚于今天 {today}：只能记录已经发生的事"
            f" (the record is dated after today, {today})",
            field="date",
        )
    if not draft.summary.strip():
        raise InvalidInput("摘要不能为空 (the summary may not be empty)", field="summary")
    if draft.confidentiality not in RECORD_LEVELS:
        raise InvalidInput(
            "往来记录的密级须为一般、秘密或机密 (a record is internal, secret or confidential, never public)",
            field="confidentiality",
        )
    if CONFIDENTIALITY_RANK[draft.confidentiality] > user.clearance_rank:
        raise InvalidInput(
            "密级不能高于您的密级许可 (a record cannot be above your own clearance)", field="confidentiality"
        )
    return partner


def record_body(record: RelationshipRecord) -> dict[str, Any]:
    partner = record.partner
    return {
        "record_id": record.id,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "partner_kind": partner.kind,
        "kind": record.kind,
        "occurred_on": record.occurred_on.isoformat(),
        "summary": record.summary,
        "participants": record.participants,
        "confidentiality": record.confidentiality,
        "confidentiality_rank": CONFIDENTIALITY_RANK[record.confidentiality],
        "department": record.department,
        "document_id": record.document_id,
        "recorded_by": record.recorded_by,
        "created_at": record.created_at.isoformat(),
    }


def index_records(es: Elasticsearch, *, prefix: str, records: Iterable[RelationshipRecord]) -> None:
    """Written before the record commits: with the engine down the record is refused, not
    left unsearchable."""
    try:
        ensure_records_index(es, prefix=prefix)
        operations: list[dict[str, Any]] = []
        for record in records:
            operations += [
                {"index": {"_index": records_alias(prefix), "_id": record.id}},
                record_body(record),
            ]
        if operations:
            response = es.bulk(operations=operations, refresh=True)
            if response.body.get("errors"):
                raise RuntimeError(f"records not indexed: {response.body['items'][:1]}")
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable(
                "搜索服务暂时不可用，记录未保存 (the search engine is unavailable; nothing was recorded)"
            ) from exc
        raise


def reindex_partner_records(es: Elasticsearch, session: Session, *, prefix: str, partner_id: str) -> None:
    """After the partner's department or name changed: its records carry both."""
    records = session.scalars(
        select(RelationshipRecord)
        .where(RelationshipRecord.partner_id == partner_id)
        .options(selectinload(RelationshipRecord.partner))
    ).all()
    if records:
        index_records(es, prefix=prefix, records=records)


def rebuild_records(
    session: Session, es: Elasticsearch, *, prefix: str, replicas: int = 0
) -> tuple[str, int]:
    records = session.scalars(
        select(RelationshipRecord)
        .options(selectinload(RelationshipRecord.partner))
        .execution_options(yield_per=500)
    )
    sources = ((record.id, record_body(record)) for record in records)
    return rebuild_alias(es, alias=records_alias(prefix), name="records", sources=sources, replicas=replicas)


def add_record(
    session: Session,
    es: Elasticsearch,
    *,
    prefix: str,
    user: User,
    draft: RecordDraft,
    today: date,
    document: Document | None = None,
) -> RelationshipRecord:
    """Keep the record (with its attachment, when the upload calls this in its transaction)."""
    partner = check_draft(session, user=user, draft=draft, today=today)
    record = RelationshipRecord(
        partner_id=partner.id,
        occurred_on=draft.occurred_on,
        kind=draft.kind,
        summary=draft.summary.strip(),
        participants=(draft.participants or "").strip() or None,
        confidentiality=draft.confidentiality,
        department=partner.department,
        document_id=document.id if document is not None else None,
        recorded_by=user.sub,
    )
    session.add(record)
    session.flush()
    record_event(
        session,
        user=user.sub,
        action="record_create",
        target=partner.id,
        details={
            "record_id": record.id,
            "kind": record.kind,
            "date": record.occurred_on.isoformat(),
            "document_id": record.document_id,
        },
    )
    index_records(es, prefix=prefix, records=[record])
    return record


@dataclass(frozen=True)
class Attachment:
    """A file sent with a record: it becomes one of the partner's documents."""

    filename: str
    content_type: str | None
    doc_type: str
    chunks: AsyncIterator[bytes]


async def keep_record(
    session_factory: sessionmaker[Session],
    *,
    es: Elasticsearch,
    store: OriginalStore,
    queue: JobQueue,
    prefix: str,
    user: User,
    draft: RecordDraft,
    today: date,
    attachment: Attachment | None,
    max_bytes: int,
    policy: document_service.IntakePolicy,
) -> RecordOut:
    """A record, with its attachment taken in like any upload; both land or neither does.

    The database and the search engine are called from worker threads, never the event loop.
    """

    def without_attachment() -> RecordOut:
        with session_scope(session_factory) as session:
            record = add_record(session, es, prefix=prefix, user=user, draft=draft, today=today)
            return record_out(user, record, None)

    def check() -> None:
        with session_scope(session_factory) as session:
            check_draft(session, user=user, draft=draft, today=today)

    if attachment is None:
        return await to_thread.run_sync(without_attachment)
    # Refused before a byte of the file is kept.
    await to_thread.run_sync(check)
    kept: list[RecordOut] = []

    def also(session: Session, document: Document) -> None:
        record = add_record(
            session, es, prefix=prefix, user=user, draft=draft, today=today, document=document
        )
        kept.append(record_out(user, record, document))

    outcome = await document_service.accept_upload(
        session_factory,
        store=store,
        user=user,
        request=document_service.UploadRequest(
            partner_id=draft.partner_id,
            doc_type=DocType(attachment.doc_type),
            confidentiality=Confidentiality(draft.confidentiality),
            department=None,
            title=f"{KIND_LABELS[draft.kind]}记录附件（{draft.occurred_on.isoformat()}）",
            expires_on=None,
            filename=attachment.filename,
            declared_media_type=attachment.content_type,
        ),
        chunks=attachment.chunks,
        max_bytes=max_bytes,
        policy=policy,
        also=also,
    )
    if not outcome.duplicate:
        # Committed first: if this enqueue is lost, the worker's sweep still finds the record.
        queue.enqueue_document(outcome.document.id)
    return kept[0]


def _masked(user: User, text: str | None) -> str | None:
    if text is None or user.roles & UNMASKED_ROLES:
        return text
    return mask_id_numbers(text)


def record_out(user: User, record: RelationshipRecord, attachment: Document | None) -> RecordOut:
    return RecordOut(
        id=record.id,
        partner_id=record.partner_id,
        date=record.occurred_on,
        kind=record.kind,
        summary=_masked(user, record.summary) or "",
        participants=_masked(user, record.participants),
        confidentiality=record.confidentiality,
        department=record.department,
        recorded_by=record.recorded_by,
        created_at=record.created_at,
        attachment=(
            {
                "id": attachment.id,
                "archive_no": attachment.archive_no,
                "title": attachment.title,
                "status": attachment.status,
            }
            if attachment is not None
            else None
        ),
    )


def visible_records(session: Session, *, user: User, partner: Partner) -> list[RecordOut]:
    """The partner's records the caller may see, in the order they happened."""
    records = list(
        session.scalars(
            select(RelationshipRecord)
            .where(RelationshipRecord.partner_id == partner.id, record_visibility_clause(user))
            .order_by(RelationshipRecord.occurred_on, RelationshipRecord.created_at)
        )
    )
    attached = {record.document_id for record in records if record.document_id}
    visible = (
        {
            document.id: document
            for document in session.scalars(
                select(Document).where(Document.id.in_(attached), document_visibility_clause(user))
            )
        }
        if attached
        else {}
    )
    return [record_out(user, record, visible.get(record.document_id or "")) for record in records]


def list_records(session: Session, *, user: User, partner_id: str) -> list[RecordOut]:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    listed = visible_records(session, user=user, partner=partner)
    record_event(
        session, user=user.sub, action="record_list", target=partner.id, details={"count": len(listed)}
    )
    return listed


def search_records(
    es: Elasticsearch,
    audit: AuditWriter,
    session: Session,
    *,
    prefix: str,
    user: User,
    q: str | None,
    partner_id: str | None,
    kind: str | None,
    page: int,
    size: int,
) -> RecordSearchResponse:
    """Full text over the records, filtered by the visibility rule inside the query."""
    if page * size > 10_000:
        raise InvalidInput("翻页过深 (page * size must not exceed 10000)", field="page")
    filters: list[dict[str, Any]] = [visibility_filter(user)]
    if partner_id:
        filters.append({"term": {"partner_id": partner_id}})
    if kind:
        filters.append({"term": {"kind": kind}})
    text = (q or "").strip()
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if text:
        query["bool"]["must"] = [
            {
                "simple_query_string": {
                    "query": text,
                    "fields": ["summary", "participants", "partner_name^2"],
                    "default_operator": "and",
                    "flags": _USER_OPERATORS,
                    "lenient": True,
                }
            }
        ]
        query["bool"]["should"] = [
            {
                "simple_query_string": {
                    "query": text,
                    "fields": ["summary.bigram", "participants.bigram", "partner_name.bigram^2"],
                    "flags": _USER_OPERATORS,
                    "lenient": True,
                }
            }
        ]
    body: dict[str, Any] = {
        "query": query,
        "from": (page - 1) * size,
        "size": size,
        "track_total_hits": True,
        "sort": ["_score", {"occurred_on": "desc"}] if text else [{"occurred_on": "desc"}],
        "highlight": {
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "encoder": "html",
            "fields": {"summary": {"fragment_size": 120, "number_of_fragments": 2}},
        },
    }
    try:
        ensure_records_index(es, prefix=prefix)
        response = es.search(index=records_alias(prefix), **body).body
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable(
                "搜索服务暂时不可用，请稍后再试 (the search engine is unavailable; try again later)"
            ) from exc
        raise
    # A record may be seen where its attachment may not (an attachment that was already on
    # file keeps its own reach): a hidden attachment is not named, as if there were none.
    attached = {raw["_source"].get("document_id") for raw in response["hits"]["hits"]} - {None}
    visible = select(Document.id).where(Document.id.in_(attached), document_visibility_clause(user))
    shown = set(session.scalars(visible)) if attached else set()
    hits = []
    for raw in response["hits"]["hits"]:
        source = raw["_source"]
        fragments = [f.replace("</em><em>", "") for f in raw.get("highlight", {}).get("summary", [])]
        hits.append(
            RecordHit(
                id=raw["_id"],
                partner_id=source["partner_id"],
                partner_name=source["partner_name"],
                date=source["occurred_on"],
                kind=source["kind"],
                summary=_masked(user, source["summary"]) or "",
                highlights=[_masked(user, fragment) or "" for fragment in fragments],
                document_id=source.get("document_id") if source.get("document_id") in shown else None,
                score=raw.get("_score"),
            )
        )
    total = response["hits"]["total"]["value"]
    audit.record(
        user=user.sub,
        action="record_search",
        details={"q": q, "partner_id": partner_id, "kind": kind, "page": page, "total": total},
    )
    return RecordSearchResponse(total=total, page=page, size=size, hits=hits)
