"""The review queue (待核对): fields read unsure or not read, and supersessions to confirm."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from archive import review as service
from archive.models import ReviewItem
from archive.permissions import User, mask_id_numbers, sees_id_numbers, visible_superseder
from archive.schemas import DocType
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep

router = APIRouter(prefix="/review-queue", tags=["review"])

Kind = Literal["needs_review", "unknown", "supersession"]


class ReviewItemOut(BaseModel):
    id: int
    document_id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: DocType
    title: str
    department: str
    superseded: bool
    field: str = Field(description="a field name, or `supersedes` for a supersession to confirm")
    kind: Kind
    reason: str | None = Field(description="why the field could not be read, or why it waits")
    value: Any = Field(description="the value the document holds now (absent: null)")
    provenance: dict[str, Any] = Field(
        description="where the value was read: page, box (fractions of the page), confidence, raw"
    )
    opened_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    review_url: str = Field(description="the web page showing this document's items")


class ReviewQueue(BaseModel):
    total: int
    page: int
    size: int
    items: list[ReviewItemOut]


class DepartmentCount(BaseModel):
    department: str
    open: int


class ReviewSummary(BaseModel):
    total: int
    departments: list[DepartmentCount]


class ReviewDecision(BaseModel):
    decision: service.Verdict = Field(
        description="accept, correct (with `value`) or not_present for a field; confirm or reject "
        "for a supersession"
    )
    value: str | None = Field(
        default=None,
        max_length=500,
        description="the corrected value; dates as 2026-01-31, 长期 for expires_on",
    )
    note: str | None = Field(default=None, max_length=1000)


def _shown(user: User, document_id: str, value: Any) -> Any:
    """ID numbers masked in every string, unless the caller may see them."""
    if sees_id_numbers(user, document_id):
        return value
    if isinstance(value, str):
        return mask_id_numbers(value)
    if isinstance(value, dict):
        return {key: _shown(user, document_id, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(user, document_id, item) for item in value]
    return value


def item_out(session: Session, user: User, item: ReviewItem) -> ReviewItemOut:
    document = item.document
    provenance = (document.field_provenance or {}).get(item.field) or {}
    return ReviewItemOut(
        id=item.id,
        document_id=document.id,
        archive_no=document.archive_no,
        partner_id=document.partner_id,
        partner_name=_shown(user, document.id, document.partner.name),
        doc_type=DocType(document.doc_type),
        title=_shown(user, document.id, document.title),
        department=document.department,
        # Replaced only by a document the caller sees: a hidden newer one is as if absent.
        superseded=visible_superseder(session, user, document.superseded_by) is not None,
        field=item.field,
        kind=item.kind,  # type: ignore[arg-type]
        reason=_shown(user, document.id, item.reason),
        value=_shown(user, document.id, (document.fields or {}).get(item.field)),
        provenance=_shown(user, document.id, provenance),
        opened_at=item.opened_at,
        decision=item.decision,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        review_url=f"/review?document={document.id}",
    )


@router.get("", response_model=ReviewQueue)
def review_queue(
    session: SessionDep,
    user: CurrentUser,
    department: Annotated[str | None, Query(max_length=100)] = None,
    doc_type: DocType | None = None,
    field: Annotated[str | None, Query(max_length=40)] = None,
    kind: Kind | None = None,
    document_id: Annotated[str | None, Query(max_length=32)] = None,
    partner_id: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["open", "decided", "all"] = "open",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ReviewQueue:
    """Items waiting for the archive office (or decided), on documents the caller may see."""
    filters = service.QueueFilters(
        department=department,
        doc_type=doc_type.value if doc_type else None,
        field=field,
        kind=kind,
        document_id=document_id,
        partner_id=partner_id,
        status=status,
    )
    total, items = service.list_items(
        session, user=user, filters=filters, offset=(page - 1) * size, limit=size
    )
    return ReviewQueue(
        total=total, page=page, size=size, items=[item_out(session, user, item) for item in items]
    )


@router.get("/summary", response_model=ReviewSummary)
def review_summary(session: SessionDep, user: CurrentUser) -> ReviewSummary:
    """Open items per department, counting only documents the caller may see."""
    counts = service.open_counts_by_department(session, user=user)
    return ReviewSummary(
        total=sum(count for _, count in counts),
        departments=[DepartmentCount(department=department, open=count) for department, count in counts],
    )


@router.post("/{document_id}/{field}", response_model=ReviewItemOut)
def decide(
    document_id: str,
    field: str,
    body: ReviewDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> ReviewItemOut:
    """Accept, correct or mark not present one field; confirm or reject a supersession."""
    item = service.decide(
        session,
        es=es,
        index_prefix=settings.es_index_prefix,
        user=user,
        document_id=document_id,
        field=field,
        verdict=body.decision,
        value=body.value,
        note=body.note,
    )
    return item_out(session, user, item)
