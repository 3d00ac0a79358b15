"""Partners (客商): registration and its approval, status, edits with a second person on the
sensitive ones, completeness (齐全) and relationship records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from archive import partners as service
from archive.departments import require_known_department
from archive.documents import IntakePolicy
from archive.models import Partner
from archive.partner_life import completeness, records
from archive.partner_life import status as life
from archive.schemas import (
    ChangeDecision,
    Completeness,
    Confidentiality,
    DocType,
    IncompleteList,
    OpeningDecision,
    PartnerCreate,
    PartnerDetail,
    PartnerKind,
    PartnerList,
    PartnerOut,
    PartnerStatus,
    PartnerUpdate,
    PendingChangeOut,
    RecordKind,
    RecordOut,
    StatusChangeRequest,
)
from archive.search_index import reindex_partner_documents
from search_api.deps import (
    CurrentUser,
    EsDep,
    QueueDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StoreDep,
)

router = APIRouter(prefix="/partners", tags=["partners"])

# Fields copied onto every indexed document of the partner.
_DENORMALISED = {"name", "kind", "credit_code"}
# Fields copied onto every relationship record of the partner.
_ON_RECORDS = {"name", "kind", "department"}
_UPLOAD_CHUNK = 1024 * 1024


def partner_detail(session: Session, partner: Partner) -> PartnerDetail:
    """A partner with its change and status history and what awaits a second person."""
    return PartnerDetail.model_validate(
        {
            **PartnerOut.model_validate(partner).model_dump(),
            "history": partner.changes,
            "status_history": partner.status_history,
            "pending_changes": service.pending_changes(session, partner_id=partner.id),
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartnerOut)
def create_partner(
    data: PartnerCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> PartnerOut:
    """Register a partner: the archive office's is active with an archive number at once;
    anyone else's is pending until its department's manager approves it."""
    partner = service.create_partner(session, settings=settings, user=user, data=data)
    return PartnerOut.model_validate(partner)


@router.get("", response_model=PartnerList)
def list_partners(
    session: SessionDep,
    user: CurrentUser,
    q: str | None = None,
    kind: PartnerKind | None = None,
    partner_status: Annotated[PartnerStatus | None, Query(alias="status")] = None,
    credit_rating: Annotated[str | None, Query(pattern="^[A-D]$")] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100, description="latest evaluation score")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PartnerList:
    """Partners the caller may see, by name, archive number or credit code."""
    total, items = service.list_partners(
        session,
        user=user,
        q=q,
        kind=kind.value if kind else None,
        status=partner_status.value if partner_status else None,
        credit_rating=credit_rating,
        min_score=min_score,
        offset=(page - 1) * size,
        limit=size,
    )
    return PartnerList(total=total, items=[PartnerOut.model_validate(p) for p in items])


@router.get("/incomplete", response_model=IncompleteList)
def incomplete_partners(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    department: Annotated[str | None, Query(max_length=100)] = None,
    partner_status: Annotated[
        list[PartnerStatus] | None, Query(alias="status", description="default: pending, active, suspended")
    ] = None,
) -> IncompleteList:
    """Partners whose file is not complete (齐全), per department: managers see their own."""
    return completeness.incomplete_partners(
        session,
        user=user,
        settings=settings,
        on=settings.today(),
        department=department,
        statuses=[s.value for s in partner_status] if partner_status else completeness.LIVE_STATUSES,
    )


@router.get("/{partner_id}", response_model=PartnerDetail)
def get_partner(partner_id: str, session: SessionDep, user: CurrentUser) -> PartnerDetail:
    """One partner with its change and status history."""
    partner = service.view_partner(session, user=user, partner_id=partner_id)
    return partner_detail(session, partner)


@router.patch(
    "/{partner_id}",
    response_model=PartnerDetail,
    responses={202: {"model": PartnerDetail, "description": "a sensitive change awaits a second person"}},
)
def update_partner(
    partner_id: str,
    data: PartnerUpdate,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
    response: Response,
) -> PartnerDetail:
    """Change a partner (its department's staff and managers, archivists, admins); a change of
    bank, credit code or legal representative waits for a second person (202)."""
    require_known_department(settings, data.department)
    outcome = service.update_partner(session, user=user, partner_id=partner_id, data=data)
    # Before the commit: if the engine is down the change is refused, not left stale.
    _reindex_after(session, es, settings.es_index_prefix, outcome.partner.id, set(outcome.applied))
    if outcome.awaiting is not None:
        response.status_code = status.HTTP_202_ACCEPTED
    return partner_detail(session, outcome.partner)


def _reindex_after(session: Session, es: EsDep, prefix: str, partner_id: str, changed: set[str]) -> None:
    if changed & _DENORMALISED:
        reindex_partner_documents(es, session, prefix=prefix, partner_id=partner_id)
    if changed & _ON_RECORDS:
        records.reindex_partner_records(es, session, prefix=prefix, partner_id=partner_id)


@router.post("/{partner_id}/changes/{change_id}/confirm", response_model=PartnerDetail)
def confirm_change(
    partner_id: str,
    change_id: str,
    data: ChangeDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """The second person confirms a bank, credit-code or legal-representative change: it
    takes effect now. Its department's manager, an archivist or an admin; never its author."""
    change = service.confirm_change(
        session, user=user, partner_id=partner_id, change_id=change_id, note=data.note
    )
    _reindex_after(session, es, settings.es_index_prefix, change.partner_id, set(change.changes))
    return partner_detail(session, change.partner)


@router.post("/{partner_id}/changes/{change_id}/reject", response_model=PendingChangeOut)
def reject_change(
    partner_id: str, change_id: str, data: ChangeDecision, session: SessionDep, user: CurrentUser
) -> PendingChangeOut:
    """Refuse a pending sensitive change; the partner stays as it was."""
    change = service.reject_change(
        session, user=user, partner_id=partner_id, change_id=change_id, note=data.note
    )
    return PendingChangeOut.model_validate(change)


def _status_changed(session: Session, es: EsDep, prefix: str, partner: Partner) -> PartnerDetail:
    """Before the commit, the partner's documents carry its new status (and numbers) in the index."""
    reindex_partner_documents(es, session, prefix=prefix, partner_id=partner.id)
    return partner_detail(session, partner)


@router.post("/{partner_id}/approve", response_model=PartnerDetail)
def approve_partner(
    partner_id: str,
    data: OpeningDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """建档审批: open the archive (active, with its archive number; its documents renumbered).
    A manager of its department, or an admin; never its creator."""
    partner = life.approve(session, settings=settings, user=user, partner_id=partner_id, comment=data.comment)
    return _status_changed(session, es, settings.es_index_prefix, partner)


@router.post("/{partner_id}/reject", response_model=PartnerDetail)
def reject_partner(
    partner_id: str,
    data: OpeningDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """Refuse to open the archive; the comment (required) says why."""
    partner = life.reject(session, user=user, partner_id=partner_id, comment=data.comment)
    return _status_changed(session, es, settings.es_index_prefix, partner)


@router.post("/{partner_id}/resubmit", response_model=PartnerDetail)
def resubmit_partner(
    partner_id: str,
    data: OpeningDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """Send a rejected partner back for approval (those who may change it)."""
    partner = life.resubmit(session, user=user, partner_id=partner_id, comment=data.comment)
    return _status_changed(session, es, settings.es_index_prefix, partner)


@router.post("/{partner_id}/status", response_model=PartnerDetail)
def change_status(
    partner_id: str,
    data: StatusChangeRequest,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """Suspend, terminate, blacklist or resume, with a reason kept in the status history.
    A manager of its department, an archivist or an admin."""
    partner = life.change_status(
        session, user=user, partner_id=partner_id, status=data.status.value, reason=data.reason
    )
    return _status_changed(session, es, settings.es_index_prefix, partner)


@router.get("/{partner_id}/completeness", response_model=Completeness)
def partner_completeness(
    partner_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Completeness:
    """What the partner's file must hold (齐全) and whether each item is there, with the
    document that satisfies it; counted from the documents the caller may see."""
    return completeness.partner_completeness(
        session, user=user, settings=settings, partner_id=partner_id, on=settings.today()
    )


@router.get("/{partner_id}/records", response_model=list[RecordOut])
def partner_records(partner_id: str, session: SessionDep, user: CurrentUser) -> list[RecordOut]:
    """Relationship records the caller may see, in the order they happened."""
    return records.list_records(session, user=user, partner_id=partner_id)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_UPLOAD_CHUNK):
        yield chunk


@router.post("/{partner_id}/records", status_code=status.HTTP_201_CREATED, response_model=RecordOut)
async def add_record(
    partner_id: str,
    session_factory: SessionFactoryDep,
    store: StoreDep,
    queue: QueueDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
    record_date: Annotated[date, Form(alias="date", description="when it happened; not after today")],
    kind: Annotated[RecordKind, Form()],
    summary: Annotated[str, Form(min_length=1, max_length=4000)],
    participants: Annotated[str | None, Form(max_length=300, description="who took part")] = None,
    confidentiality: Annotated[Confidentiality, Form(description="internal, secret or confidential")] = (
        Confidentiality.internal
    ),
    file: Annotated[
        UploadFile | None, File(description="optional attachment, ingested like any upload")
    ] = None,
    doc_type: Annotated[DocType, Form(description="the attachment's document type")] = DocType.other,
) -> JSONResponse:
    """Record a visit, communication, survey or complaint (multipart form, optional file),
    by those who may change the partner. An attachment is uploaded, extracted and indexed
    like any document, and lands with the record or not at all."""
    draft = records.RecordDraft(
        partner_id=partner_id,
        occurred_on=record_date,
        kind=kind.value,
        summary=summary,
        participants=participants,
        confidentiality=confidentiality.value,
    )
    out = await records.keep_record(
        session_factory,
        es=es,
        store=store,
        queue=queue,
        prefix=settings.es_index_prefix,
        user=user,
        draft=draft,
        today=settings.today(),
        attachment=records.Attachment(
            filename=file.filename,
            content_type=file.content_type,
            doc_type=doc_type.value,
            chunks=_chunks(file),
        )
        if file is not None and file.filename
        else None,
        max_bytes=settings.max_upload_bytes,
        policy=IntakePolicy.from_settings(settings),
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201)
