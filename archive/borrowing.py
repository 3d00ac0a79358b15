"""借阅: borrow requests, approval by the archive office, time-limited access grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import AccessGrant, BorrowRequest, Document
from archive.permissions import User

MAX_DAYS = 30
APPROVERS = ("archivist", "admin")


def effective_status(request: BorrowRequest, *, now: datetime | None = None) -> str:
    """`approved` turns into `expired` by itself when its time is up."""
    now = now or datetime.now(UTC)
    if request.status == "approved" and request.expires_at is not None and request.expires_at <= now:
        return "expired"
    return request.status


def create_request(
    session: Session,
    *,
    user: User,
    document_ids: list[str],
    reason: str,
    days: int,
    allow_download: bool = True,
) -> BorrowRequest:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"借阅天数须在 1 到 {MAX_DAYS} 之间 (days must be 1-{MAX_DAYS})", field="days")
    if not reason.strip():
        raise InvalidInput("请填写借阅理由 (a reason is required)", field="reason")
    unique_ids = list(dict.fromkeys(document_ids))
    if not unique_ids:
        raise InvalidInput("至少选择一份文档 (at least one document)", field="document_ids")
    found = set(session.scalars(select(Document.id).where(Document.id.in_(unique_ids))))
    missing = [doc_id for doc_id in unique_ids if doc_id not in found]
    if missing:
        raise InvalidInput(f"文档不存在 (unknown documents): {', '.join(missing)}", field="document_ids")
    request = BorrowRequest(
        requester=user.sub,
        requester_departments=sorted(user.departments),
        reason=reason.strip(),
        days=days,
        status="pending",
        document_ids=unique_ids,
        allow_download=allow_download,
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        user=user.sub,
        action="borrow_request",
        target=request.id,
        details={"document_ids": unique_ids, "days": days, "reason": request.reason,
                 "allow_download": allow_download},
    )
    return request


def _get(session: Session, request_id: str) -> BorrowRequest:
    request = session.get(BorrowRequest, request_id)
    if request is None:
        raise NotFound(f"借阅申请不存在 (borrow request {request_id} not found)")
    return request


def get_request(session: Session, *, user: User, request_id: str) -> BorrowRequest:
    request = _get(session, request_id)
    if request.requester != user.sub and not user.has_role(*APPROVERS):
        raise NotFound(f"借阅申请不存在 (borrow request {request_id} not found)")
    return request


def decide(
    session: Session, *, user: User, request_id: str, approve: bool, note: str | None
) -> BorrowRequest:
    """Approve (granting access until expiry) or reject; exactly one decision ever counts."""
    if not user.has_role(*APPROVERS):
        raise Forbidden("只有档案管理员或管理员可以审批借阅 (archivist or admin only)")
    request = _get(session, request_id)
    if request.requester == user.sub:
        raise Forbidden("不能审批自己的借阅申请 (you cannot decide your own request)")
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=request.days) if approve else None
    # The status condition makes two racing decisions resolve to one winner.
    decided = session.execute(
        update(BorrowRequest)
        .where(BorrowRequest.id == request_id, BorrowRequest.status == "pending")
        .values(
            status="approved" if approve else "rejected",
            decided_by=user.sub,
            decided_at=now,
            decision_note=note,
            expires_at=expires_at,
        )
    )
    if decided.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"该申请已处理，当前状态：{request.status} (already decided: {request.status})")
    if approve:
        assert expires_at is not None
        session.add_all(
            AccessGrant(
                user_sub=request.requester, document_id=doc_id, granted_by=user.sub, expires_at=expires_at,
                request_id=request.id, allow_download=request.allow_download,
            )
            for doc_id in request.document_ids
        )
    record_event(
        session,
        user=user.sub,
        action="borrow_approve" if approve else "borrow_reject",
        target=request_id,
        details={"requester": request.requester, "note": note, "document_ids": request.document_ids},
    )
    session.flush()
    session.refresh(request)
    return request


def return_loan(session: Session, *, user: User, request_id: str) -> BorrowRequest:
    request = get_request(session, user=user, request_id=request_id)
    if request.requester != user.sub:
        raise Forbidden("只能归还自己借阅的文档 (only the borrower can return a loan)")
    if effective_status(request) != "approved":
        raise Conflict(f"该申请不在借阅中，当前状态：{effective_status(request)} (not on loan)")
    now = datetime.now(UTC)
    request.status = "returned"
    request.returned_at = now
    session.execute(
        update(AccessGrant)
        .where(
            AccessGrant.user_sub == request.requester,
            AccessGrant.document_id.in_(request.document_ids),
            AccessGrant.returned_at.is_(None),
        )
        .values(returned_at=now)
    )
    record_event(
        session,
        user=user.sub,
        action="borrow_return",
        target=request_id,
        details={"document_ids": request.document_ids},
    )
    session.flush()
    return request


def recall_loan(session: Session, *, user: User, request_id: str, note: str | None = None) -> BorrowRequest:
    """收回: the archive office ends a loan before its time; access stops at once."""
    if not user.has_role(*APPROVERS):
        raise Forbidden("只有档案管理员或管理员可以收回借阅 (archivist or admin only)")
    request = _get(session, request_id)
    now = datetime.now(UTC)
    recalled = session.execute(
        update(BorrowRequest)
        .where(
            BorrowRequest.id == request_id,
            BorrowRequest.status == "approved",
            BorrowRequest.expires_at > now,
        )
        .values(status="recalled", returned_at=now, recalled_by=user.sub)
    )
    if recalled.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"该申请不在借阅中，当前状态：{effective_status(request)} (not on loan)")
    session.execute(
        update(AccessGrant)
        .where(
            AccessGrant.user_sub == request.requester,
            AccessGrant.document_id.in_(request.document_ids),
            AccessGrant.returned_at.is_(None),
        )
        .values(returned_at=now)
    )
    record_event(
        session,
        user=user.sub,
        action="borrow_recall",
        target=request_id,
        details={"requester": request.requester, "document_ids": request.document_ids, "note": note},
    )
    session.flush()
    session.refresh(request)
    return request


def on_loan(session: Session, *, user: User) -> list[BorrowRequest]:
    """Loans running now (approved, neither expired nor returned), soonest due first."""
    if not user.has_role(*APPROVERS):
        raise Forbidden("只有档案管理员或管理员可以查看借出清单 (archivist or admin only)")
    return list(
        session.scalars(
            select(BorrowRequest)
            .where(BorrowRequest.status == "approved", BorrowRequest.expires_at > datetime.now(UTC))
            .order_by(BorrowRequest.expires_at)
        )
    )


def list_requests(session: Session, *, user: User, status: str | None, mine: bool) -> list[BorrowRequest]:
    """Each user sees their own; the archive office sees everyone's."""
    query = select(BorrowRequest).order_by(BorrowRequest.created_at.desc())
    if mine or not user.has_role(*APPROVERS):
        query = query.where(BorrowRequest.requester == user.sub)
    requests = list(session.scalars(query))
    if status:
        requests = [request for request in requests if effective_status(request) == status]
    return requests
