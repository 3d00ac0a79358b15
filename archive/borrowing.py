"""借阅: borrow requests, approval by the archive office, time-limited access grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import AccessGrant, BorrowRequest, Document
from archive.permissions import User, document_visibility_clause, without_grants

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
    references = list(dict.fromkeys(ref.strip() for ref in document_ids if ref.strip()))
    if not references:
        raise InvalidInput("至少选择一份文档 (at least one document)", field="document_ids")
    # Whether a document the requester cannot see exists is not theirs to learn: a request
    # names what they asked for (ids, or archive numbers of documents they cannot see), and
    # the archive office finds out what exists when it decides.
    resolved, _unresolved = resolve_references(session, user=user, references=references)
    unique_ids = list(dict.fromkeys(resolved.get(ref, ref) for ref in references))
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
    document_ids = list(request.document_ids)
    if approve:
        # An approver opens only what their own clearance reaches (not what they borrowed).
        resolved, unresolved = resolve_references(
            session, user=without_grants(user), references=request.document_ids
        )
        if unresolved:
            raise Conflict(
                f"申请中有 {len(unresolved)} 份文档不存在或超出您的权限范围，不能批准"
                f" ({len(unresolved)} of the documents do not exist or are beyond your clearance;"
                " reject the request or leave it to someone whose clearance reaches them)"
            )
        document_ids = list(dict.fromkeys(resolved[ref] for ref in request.document_ids))
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
            document_ids=document_ids,
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
            for doc_id in document_ids
        )
    record_event(
        session,
        user=user.sub,
        action="borrow_approve" if approve else "borrow_reject",
        target=request_id,
        details={"requester": request.requester, "note": note, "document_ids": document_ids},
    )
    session.flush()
    session.refresh(request)
    return request


def _end_grants(session: Session, request: BorrowRequest, now: datetime) -> None:
    """The borrower's access to the loan's documents stops now."""
    session.execute(
        update(AccessGrant)
        .where(
            AccessGrant.user_sub == request.requester,
            AccessGrant.document_id.in_(request.document_ids),
            AccessGrant.returned_at.is_(None),
        )
        .values(returned_at=now)
    )


def return_loan(session: Session, *, user: User, request_id: str) -> BorrowRequest:
    request = get_request(session, user=user, request_id=request_id)
    if request.requester != user.sub:
        raise Forbidden("只能归还自己借阅的文档 (only the borrower can return a loan)")
    if effective_status(request) != "approved":
        raise Conflict(f"该申请不在借阅中，当前状态：{effective_status(request)} (not on loan)")
    now = datetime.now(UTC)
    # Guarded like a recall: a return read before a recall (or the loan's end) committed
    # must not turn a recalled loan back into a returned one.
    returned = session.execute(
        update(BorrowRequest)
        .where(
            BorrowRequest.id == request_id,
            BorrowRequest.status == "approved",
            BorrowRequest.expires_at > now,
        )
        .values(status="returned", returned_at=now)
    )
    if returned.rowcount != 1:
        session.refresh(request)
        raise Conflict(f"该申请不在借阅中，当前状态：{effective_status(request)} (not on loan)")
    _end_grants(session, request, now)
    record_event(
        session,
        user=user.sub,
        action="borrow_return",
        target=request_id,
        details={"document_ids": request.document_ids},
    )
    session.flush()
    session.refresh(request)
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
    _end_grants(session, request, now)
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


def references_shown_to(session: Session, *, user: User, request: BorrowRequest) -> tuple[list[str], int]:
    """What a request names, as `user` may see it: all of it for the requester (it is what they
    typed); for anyone else the documents they reach, and how many other references there are
    (documents that do not exist and documents beyond their reach look alike)."""
    if request.requester == user.sub:
        return list(request.document_ids), 0
    resolved, unresolved = resolve_references(
        session, user=without_grants(user), references=list(request.document_ids)
    )
    return list(dict.fromkeys(resolved.values())), len(unresolved)


def resolve_references(
    session: Session, *, user: User, references: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Document ids for references (ids or archive numbers) to documents `user` sees; the rest."""
    if not references:
        return {}, []
    rows = session.execute(
        select(Document.id, Document.archive_no).where(
            or_(Document.id.in_(references), Document.archive_no.in_(references)),
            document_visibility_clause(user),
        )
    ).all()
    known = {key: row.id for row in rows for key in (row.id, row.archive_no)}
    resolved = {ref: known[ref] for ref in references if ref in known}
    return resolved, [ref for ref in references if ref not in known]


def list_requests(session: Session, *, user: User, status: str | None, mine: bool) -> list[BorrowRequest]:
    """Each user sees their own; the archive office sees everyone's."""
    query = select(BorrowRequest).order_by(BorrowRequest.created_at.desc())
    if mine or not user.has_role(*APPROVERS):
        query = query.where(BorrowRequest.requester == user.sub)
    requests = list(session.scalars(query))
    if status:
        requests = [request for request in requests if effective_status(request) == status]
    return requests
