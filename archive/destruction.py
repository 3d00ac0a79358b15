"""销毁: appraisal and request by the archive office, approval by a leader, execution.

Executed documents leave the index, the lookups and the store; a record of each stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, selectinload

from archive.archival_codes import retention_ends
from archive.audit import record_event
from archive.db import checkpoint_sqlite
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import (
    AccessGrant,
    DestructionRecord,
    DestructionRequest,
    Document,
    DocumentCheck,
    DocumentPage,
    OcrCacheUse,
)
from archive.permissions import (
    User,
    destruction_record_visibility_clause,
    document_visibility_clause,
    without_grants,
)
from archive.search_index import delete_document, flush_index, reindex_documents
from archive.storage import OriginalStore, remove_cache_entries
from archive.supersession import apply_supersession


def _documents(session: Session, document_ids: list[str], *, user: User) -> list[Document]:
    """The documents named, all of which `user` must see: hidden ones are as unknown as absent ones."""
    documents = list(
        session.scalars(
            select(Document)
            .where(Document.id.in_(document_ids), document_visibility_clause(without_grants(user)))
            .options(selectinload(Document.partner))
        )
    )
    missing = sorted(set(document_ids) - {document.id for document in documents})
    if missing:
        raise InvalidInput(f"文档不存在 (unknown documents): {', '.join(missing)}", field="document_ids")
    return documents


def requested_documents(session: Session) -> set[str]:
    """Documents in a destruction request not yet decided or not yet executed."""
    open_lists = session.scalars(
        select(DestructionRequest.document_ids).where(DestructionRequest.status.in_(("pending", "approved")))
    )
    return {document_id for ids in open_lists for document_id in ids}


def _refuse_held(documents: list[Document]) -> None:
    held = [document.archive_no for document in documents if document.legal_hold]
    if held:
        raise Conflict(f"文档处于诉讼保全，不可销毁 (on legal hold, cannot be destroyed): {', '.join(held)}")


def create_request(
    session: Session, *, user: User, document_ids: list[str], reason: str, appraisal_note: str | None
) -> DestructionRequest:
    if not user.has_role("archivist"):
        raise Forbidden("只有档案管理员可以提出销毁申请 (archivist only)")
    if not reason.strip():
        raise InvalidInput("请填写销毁理由 (a reason is required)", field="reason")
    unique_ids = list(dict.fromkeys(document_ids))
    if not unique_ids:
        raise InvalidInput("至少选择一份文档 (at least one document)", field="document_ids")
    documents = _documents(session, unique_ids, user=user)
    _refuse_held(documents)
    requested = requested_documents(session)
    already = [document.archive_no for document in documents if document.id in requested]
    if already:
        raise Conflict(
            "文档已在待批准或待执行的销毁申请中 (already in an open destruction request): "
            + ", ".join(already)
        )
    request = DestructionRequest(
        requested_by=user.sub,
        reason=reason.strip(),
        appraisal_note=appraisal_note,
        status="pending",
        document_ids=unique_ids,
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        user=user.sub,
        action="destruction_request",
        target=request.id,
        details={"document_ids": unique_ids, "reason": request.reason},
    )
    return request


def _get(session: Session, request_id: str, *, user: User) -> DestructionRequest:
    """A request whose every document (or its destruction record) `user` may see."""
    request = session.get(DestructionRequest, request_id)
    if request is None or not _hidden_documents(session, user, request.document_ids).isdisjoint(
        request.document_ids
    ):
        raise NotFound(f"销毁申请不存在 (destruction request {request_id} not found)")
    return request


def _hidden_documents(session: Session, user: User, document_ids: list[str]) -> set[str]:
    """Which of these documents, present or destroyed, the rule hides from `user`."""
    reach = without_grants(user)
    hidden = set(
        session.scalars(
            select(Document.id).where(Document.id.in_(document_ids), ~document_visibility_clause(reach))
        )
    )
    hidden.update(
        session.scalars(
            select(DestructionRecord.document_id).where(
                DestructionRecord.document_id.in_(document_ids), ~destruction_record_visibility_clause(reach)
            )
        )
    )
    return hidden


def approve(session: Session, *, user: User, request_id: str) -> DestructionRequest:
    if not user.has_role("admin"):
        raise Forbidden("只有公司领导/管理员可以批准销毁 (admin only)")
    request = _get(session, request_id, user=user)
    if request.requested_by == user.sub:
        raise Forbidden("不能批准自己提出的销毁申请 (you cannot approve your own request)")
    _refuse_held(_documents(session, request.document_ids, user=user))
    approved = session.execute(
        update(DestructionRequest)
        .where(DestructionRequest.id == request_id, DestructionRequest.status == "pending")
        .values(status="approved", approved_by=user.sub, approved_at=datetime.now(UTC))
    )
    if approved.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"该申请已处理，当前状态：{request.status} (already decided: {request.status})")
    record_event(
        session,
        user=user.sub,
        action="destruction_approve",
        target=request_id,
        details={"document_ids": request.document_ids},
    )
    session.flush()
    session.refresh(request)
    return request


def reject(session: Session, *, user: User, request_id: str, note: str | None = None) -> DestructionRequest:
    """A leader declines: the documents stay, and may be proposed again later."""
    if not user.has_role("admin"):
        raise Forbidden("只有公司领导/管理员可以驳回销毁申请 (admin only)")
    request = _get(session, request_id, user=user)
    if request.requested_by == user.sub:
        raise Forbidden("不能审批自己提出的销毁申请 (you cannot decide your own request)")
    rejected = session.execute(
        update(DestructionRequest)
        .where(DestructionRequest.id == request_id, DestructionRequest.status == "pending")
        .values(status="rejected", rejected_by=user.sub, rejection_note=note)
    )
    if rejected.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"该申请已处理，当前状态：{request.status} (already decided: {request.status})")
    record_event(
        session,
        user=user.sub,
        action="destruction_reject",
        target=request_id,
        details={"document_ids": request.document_ids, "note": note},
    )
    session.flush()
    session.refresh(request)
    return request


def execute(
    session: Session,
    *,
    user: User,
    request_id: str,
    es: Elasticsearch,
    index_prefix: str,
) -> Destroyed:
    """Destroy an approved request's documents; says what to remove after the commit."""
    if not user.has_role("archivist"):
        raise Forbidden("只有档案管理员可以执行销毁 (archivist only)")
    request = _get(session, request_id, user=user)
    claimed = session.execute(
        update(DestructionRequest)
        .where(DestructionRequest.id == request_id, DestructionRequest.status == "approved")
        .values(status="executed", executed_by=user.sub, executed_at=datetime.now(UTC))
    )
    if claimed.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"只有已批准的申请可以执行，当前状态：{request.status} (only approved requests run)")
    session.refresh(request)
    documents = _documents(session, request.document_ids, user=user)
    _refuse_held(documents)
    assert request.executed_at is not None and request.approved_by is not None
    for document in documents:
        session.add(
            DestructionRecord(
                request_id=request.id,
                document_id=document.id,
                archive_no=document.archive_no,
                partner_id=document.partner_id,
                partner_name=document.partner.name,
                doc_type=document.doc_type,
                title=document.title,
                confidentiality=document.confidentiality,
                department=document.department,
                original_filename=document.original_filename,
                sha256=document.sha256,
                pages=document.pages,
                uploaded_at=document.created_at,
                archival_code=document.archival_code,
                archival_group=document.archival_group,
                item_no=document.item_no,
                retention=document.retention,
                reason=request.reason,
                requested_by=request.requested_by,
                approved_by=request.approved_by,
                executed_by=user.sub,
                executed_at=request.executed_at,
            )
        )
    ids = [document.id for document in documents]
    hashes = {document.sha256 for document in documents}
    entries = set(session.scalars(select(OcrCacheUse.entry).where(OcrCacheUse.document_id.in_(ids))))
    session.execute(delete(OcrCacheUse).where(OcrCacheUse.document_id.in_(ids)))
    session.execute(delete(DocumentPage).where(DocumentPage.document_id.in_(ids)))
    session.execute(delete(DocumentCheck).where(DocumentCheck.document_id.in_(ids)))
    session.execute(delete(AccessGrant).where(AccessGrant.document_id.in_(ids)))
    session.execute(delete(Document).where(Document.id.in_(ids)))
    session.flush()
    still_used = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(hashes))))
    entries_in_use = set(session.scalars(select(OcrCacheUse.entry).where(OcrCacheUse.entry.in_(entries))))
    # What a destroyed document superseded is current again (else its expiry stays hidden).
    orphaned = list(session.scalars(select(Document).where(Document.superseded_by.in_(ids))))
    groups = {(doc.partner_id, doc.doc_type): doc for doc in orphaned}
    current_again = {doc.id: doc for one in groups.values() for doc in apply_supersession(session, one)}
    # The index goes before the commit: if the engine is down, nothing is destroyed yet.
    for document_id in ids:
        delete_document(es, prefix=index_prefix, document_id=document_id)
    if current_again:
        reindex_documents(es, prefix=index_prefix, documents=current_again.values())
    # Written to disk now, so the engine's log of recent changes no longer holds the text.
    flush_index(es, prefix=index_prefix)
    record_event(
        session,
        user=user.sub,
        action="destruction_execute",
        target=request_id,
        details={
            "documents": [{"id": d.id, "archive_no": d.archive_no, "sha256": d.sha256} for d in documents]
        },
    )
    return Destroyed(
        request=request,
        originals=sorted(hashes - still_used),
        ocr_cache_entries=sorted(entries - entries_in_use),
    )


@dataclass(frozen=True)
class Destroyed:
    """An executed request, and what to remove once its record is committed."""

    request: DestructionRequest
    originals: list[str]
    """SHA-256 of originals no other document uses."""
    ocr_cache_entries: list[str]
    """OCR cache entries (paths under the cache directory) no other document uses."""


def remove_traces(
    destroyed: Destroyed, *, store: OriginalStore, ocr_cache_root: Path, engine: Engine
) -> list[str]:
    """After the commit: the originals, the OCR cache entries, and the database's own copies.

    SQLite overwrites deleted rows with zeros (secure_delete, archive.db) but keeps the old
    pages in its write-ahead log until a checkpoint copies the log back and empties it.
    Returns what could not be removed (a checkpoint that other readers kept waiting), for the
    log: the text is gone from the record either way, and the next checkpoint finishes it.
    """
    problems = []
    for sha256 in destroyed.originals:
        store.remove(sha256)
    remove_cache_entries(ocr_cache_root, destroyed.ocr_cache_entries)
    if checkpoint_sqlite(engine):
        problems.append("SQLite 预写日志未能清空 (the WAL checkpoint was kept waiting by readers)")
    return problems


def list_requests(
    session: Session, *, user: User, status: str | None, partly_hidden: bool = False
) -> list[DestructionRequest]:
    """Requests newest first: only those whose every document `user` may see, unless the caller
    lists each request's documents itself under the rule (`partly_hidden`: the web inbox, which
    names what the reader may see and counts the rest)."""
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以查看销毁申请 (archivist or admin only)")
    query = select(DestructionRequest).order_by(DestructionRequest.created_at.desc())
    if status:
        query = query.where(DestructionRequest.status == status)
    requests = list(session.scalars(query))
    if partly_hidden:
        return requests
    # A request is shown only to those who may see every document it names.
    hidden = _hidden_documents(session, user, [doc_id for r in requests for doc_id in r.document_ids])
    return [request for request in requests if hidden.isdisjoint(request.document_ids)]


RECORD_ROLES = ("archivist", "admin", "compliance")


def list_records(
    session: Session, *, user: User, since: datetime | None = None, until: datetime | None = None
) -> list[DestructionRecord]:
    """销毁记录 the caller may see (the destroyed document's clearance and department), newest first."""
    if not user.has_role(*RECORD_ROLES):
        raise Forbidden("只有档案管理员、合规或管理员可以查看销毁记录 (archivist, compliance or admin only)")
    query = select(DestructionRecord).where(destruction_record_visibility_clause(user))
    if since:
        query = query.where(DestructionRecord.executed_at >= since)
    if until:
        query = query.where(DestructionRecord.executed_at < until)
    return list(session.scalars(query.order_by(DestructionRecord.executed_at.desc())))


def partner_records(session: Session, *, user: User, partner_id: str) -> list[DestructionRecord]:
    """What was destroyed of one partner's file, for its page: the trace a destruction leaves."""
    return list(
        session.scalars(
            select(DestructionRecord)
            .where(DestructionRecord.partner_id == partner_id, destruction_record_visibility_clause(user))
            .order_by(DestructionRecord.executed_at.desc())
        )
    )


def eligible_documents(
    session: Session, *, user: User, today: date | None = None
) -> list[tuple[Document, date]]:
    """Documents whose 保管期限 (stored on each, DA/T 22) has run out, counted from expiry (or
    intake); 永久 (Y) is never eligible."""
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以查看到期可销毁清单 (archivist or admin only)")
    today = today or datetime.now(UTC).date()
    requested = requested_documents(session)
    eligible: list[tuple[Document, date]] = []
    for document in session.scalars(
        select(Document)
        .where(
            Document.legal_hold.is_(False),
            Document.retention.in_(("D30", "D10")),
            document_visibility_clause(without_grants(user)),
        )
        .options(selectinload(Document.partner))
    ):
        if document.id in requested:
            continue
        start = document.expires_on or document.created_at.date()
        ends = retention_ends(retention=document.retention, start=start)
        if ends is not None and ends <= today:
            eligible.append((document, ends))
    return eligible
