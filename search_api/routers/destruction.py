"""销毁: destruction requests, approval, execution, and the records that stay."""

from __future__ import annotations

from fastapi import APIRouter, status

from archive import destruction as service
from archive.schemas import (
    Decision,
    DestructionRecordOut,
    DestructionRequestCreate,
    DestructionRequestOut,
    EligibleDocument,
)
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep, StoreDep

router = APIRouter(tags=["destruction"])


@router.post(
    "/destruction-requests", status_code=status.HTTP_201_CREATED, response_model=DestructionRequestOut
)
def request_destruction(
    data: DestructionRequestCreate, session: SessionDep, user: CurrentUser
) -> DestructionRequestOut:
    """Propose documents for destruction, with the appraisal."""
    request = service.create_request(
        session,
        user=user,
        document_ids=data.document_ids,
        reason=data.reason,
        appraisal_note=data.appraisal_note,
    )
    return DestructionRequestOut.model_validate(request)


@router.get("/destruction-requests", response_model=list[DestructionRequestOut])
def list_destruction_requests(
    session: SessionDep, user: CurrentUser, status: str | None = None
) -> list[DestructionRequestOut]:
    """Destruction requests, newest first."""
    return [
        DestructionRequestOut.model_validate(r)
        for r in service.list_requests(session, user=user, status=status)
    ]


@router.post("/destruction-requests/{request_id}/approve", response_model=DestructionRequestOut)
def approve_destruction(request_id: str, session: SessionDep, user: CurrentUser) -> DestructionRequestOut:
    """A leader other than the requester approves."""
    return DestructionRequestOut.model_validate(service.approve(session, user=user, request_id=request_id))


@router.post("/destruction-requests/{request_id}/reject", response_model=DestructionRequestOut)
def reject_destruction(
    request_id: str, session: SessionDep, user: CurrentUser, data: Decision | None = None
) -> DestructionRequestOut:
    """A leader other than the requester declines; the documents stay."""
    return DestructionRequestOut.model_validate(
        service.reject(session, user=user, request_id=request_id, note=data.note if data else None)
    )


@router.post("/destruction-requests/{request_id}/execute", response_model=DestructionRequestOut)
def execute_destruction(
    request_id: str,
    session: SessionDep,
    user: CurrentUser,
    es: EsDep,
    settings: SettingsDep,
    store: StoreDep,
) -> DestructionRequestOut:
    """Destroy the approved documents: index, lookups and storage; the records stay."""
    request, unreferenced = service.execute(
        session, user=user, request_id=request_id, es=es, index_prefix=settings.es_index_prefix
    )
    session.commit()
    # Files go only once the record of their destruction is safely committed.
    for sha256 in unreferenced:
        store.remove(sha256)
    return DestructionRequestOut.model_validate(request)


@router.get("/destruction-records", response_model=list[DestructionRecordOut])
def list_destruction_records(session: SessionDep, user: CurrentUser) -> list[DestructionRecordOut]:
    """Every destroyed document: who, when, why, what, SHA-256."""
    return [DestructionRecordOut.model_validate(r) for r in service.list_records(session, user=user)]


@router.get("/destruction-eligible", response_model=list[EligibleDocument])
def list_eligible(session: SessionDep, user: CurrentUser) -> list[EligibleDocument]:
    """Documents whose 保管期限 has ended (legal holds and 永久 excluded)."""
    return [
        EligibleDocument(
            id=d.id,
            archive_no=d.archive_no,
            partner_name=d.partner.name,
            doc_type=d.doc_type,
            title=d.title,
            expires_on=d.expires_on,
            retention_ends=ends,
            retention=d.retention,
            archival_code=d.archival_code,
        )
        for d, ends in service.eligible_documents(session, user=user)
    ]
