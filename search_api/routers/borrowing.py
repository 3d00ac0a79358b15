"""借阅: borrow requests and their decisions."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from archive import borrowing as service
from archive.models import BorrowRequest
from archive.permissions import User
from archive.schemas import BorrowRequestCreate, BorrowRequestOut, Decision
from search_api.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/borrow-requests", tags=["borrowing"])


def _out(request: BorrowRequest, *, session: Session, user: User) -> BorrowRequestOut:
    document_ids, unresolved = service.references_shown_to(session, user=user, request=request)
    return BorrowRequestOut(
        id=request.id,
        requester=request.requester,
        reason=request.reason,
        days=request.days,
        status=service.effective_status(request),
        document_ids=document_ids,
        unresolved=unresolved,
        created_at=request.created_at,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        decision_note=request.decision_note,
        expires_at=request.expires_at,
        returned_at=request.returned_at,
        allow_download=request.allow_download,
        requester_departments=request.requester_departments or [],
        recalled_by=request.recalled_by,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BorrowRequestOut)
def request_loan(data: BorrowRequestCreate, session: SessionDep, user: CurrentUser) -> BorrowRequestOut:
    """Ask to borrow documents for up to 30 days."""
    return _out(
        service.create_request(
            session, user=user, document_ids=data.document_ids, reason=data.reason, days=data.days,
            allow_download=data.allow_download,
        ),
        session=session,
        user=user,
    )


@router.get("", response_model=list[BorrowRequestOut])
def list_loans(
    session: SessionDep, user: CurrentUser, status: str | None = None, mine: bool = False
) -> list[BorrowRequestOut]:
    """Your requests; the archive office sees everyone's (filter `status=pending` for the inbox)."""
    return [
        _out(r, session=session, user=user)
        for r in service.list_requests(session, user=user, status=status, mine=mine)
    ]


@router.get("/{request_id}", response_model=BorrowRequestOut)
def get_loan(request_id: str, session: SessionDep, user: CurrentUser) -> BorrowRequestOut:
    """One request."""
    return _out(service.get_request(session, user=user, request_id=request_id), session=session, user=user)


@router.post("/{request_id}/approve", response_model=BorrowRequestOut)
def approve_loan(
    request_id: str, session: SessionDep, user: CurrentUser, data: Decision | None = None
) -> BorrowRequestOut:
    """Approve: the requester may see the documents until the loan expires or is returned."""
    return _out(
        service.decide(
            session, user=user, request_id=request_id, approve=True, note=data.note if data else None
        ),
        session=session,
        user=user,
    )


@router.post("/{request_id}/reject", response_model=BorrowRequestOut)
def reject_loan(
    request_id: str, session: SessionDep, user: CurrentUser, data: Decision | None = None
) -> BorrowRequestOut:
    """Reject a pending request."""
    return _out(
        service.decide(
            session, user=user, request_id=request_id, approve=False, note=data.note if data else None
        ),
        session=session,
        user=user,
    )


@router.post("/{request_id}/return", response_model=BorrowRequestOut)
def return_loan(request_id: str, session: SessionDep, user: CurrentUser) -> BorrowRequestOut:
    """Give borrowed documents back before the loan expires."""
    return _out(service.return_loan(session, user=user, request_id=request_id), session=session, user=user)


@router.post("/{request_id}/recall", response_model=BorrowRequestOut)
def recall_loan(
    request_id: str, session: SessionDep, user: CurrentUser, data: Decision | None = None
) -> BorrowRequestOut:
    """The archive office ends a running loan early (收回); access stops at once."""
    return _out(
        service.recall_loan(session, user=user, request_id=request_id, note=data.note if data else None),
        session=session,
        user=user,
    )
