"""销毁: destruction requests, approval, execution, and the records that stay."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session

from archive import destruction as service
from archive.schemas import (
    Decision,
    DestructionRecordOut,
    DestructionRequestCreate,
    DestructionRequestOut,
    EligibleDocument,
)
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep

log = structlog.get_logger(__name__)

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
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    es: EsDep,
    settings: SettingsDep,
) -> DestructionRequestOut:
    """Destroy the approved documents: index, lookups, storage and every copy of their text;
    the records stay."""
    destroyed = service.execute(
        session, user=user, request_id=request_id, es=es, index_prefix=settings.es_index_prefix
    )
    session.commit()
    finish_destruction(request.app, session, destroyed)
    return DestructionRequestOut.model_validate(destroyed.request)


def finish_destruction(app: Any, session: Session, destroyed: service.Destroyed) -> None:
    """What goes only once the record of a destruction is safely committed: files, cached
    OCR text and page images, and the database's write-ahead log."""
    settings = app.state.settings
    for sha256 in destroyed.originals:
        app.state.page_images.forget(sha256)
    problems = service.remove_traces(
        destroyed,
        store=app.state.store,
        ocr_cache_root=settings.data_path / "ocr-cache",
        engine=session.get_bind(),
    )
    for problem in problems:
        log.warning("destruction.trace_left", request_id=destroyed.request.id, problem=problem)


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
