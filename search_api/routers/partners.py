"""Partners (客商)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive import partners as service
from archive.models import Document
from archive.schemas import PartnerCreate, PartnerDetail, PartnerKind, PartnerList, PartnerOut, PartnerUpdate
from archive.search_index import reindex_documents
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep

router = APIRouter(prefix="/partners", tags=["partners"])

# Fields copied onto every indexed document of the partner.
_DENORMALISED = {"name", "kind", "credit_code"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartnerOut)
def create_partner(
    data: PartnerCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> PartnerOut:
    """Register a partner; it gets an archive number."""
    partner = service.create_partner(session, settings=settings, user=user, data=data)
    return PartnerOut.model_validate(partner)


@router.get("", response_model=PartnerList)
def list_partners(
    session: SessionDep,
    user: CurrentUser,
    q: str | None = None,
    kind: PartnerKind | None = None,
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
        credit_rating=credit_rating,
        min_score=min_score,
        offset=(page - 1) * size,
        limit=size,
    )
    return PartnerList(total=total, items=[PartnerOut.model_validate(p) for p in items])


@router.get("/{partner_id}", response_model=PartnerDetail)
def get_partner(partner_id: str, session: SessionDep, user: CurrentUser) -> PartnerDetail:
    """One partner with its change history."""
    partner = service.view_partner(session, user=user, partner_id=partner_id)
    return PartnerDetail.model_validate(
        {**PartnerOut.model_validate(partner).model_dump(), "history": partner.changes}
    )


@router.patch("/{partner_id}", response_model=PartnerDetail)
def update_partner(
    partner_id: str,
    data: PartnerUpdate,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> PartnerDetail:
    """Change a partner; the old values are kept in its history."""
    partner = service.update_partner(session, user=user, partner_id=partner_id, data=data)
    if _DENORMALISED & data.model_fields_set:
        documents = session.scalars(
            select(Document)
            .where(Document.partner_id == partner.id, Document.status == "indexed")
            .options(selectinload(Document.page_texts), selectinload(Document.partner))
        ).all()
        # Before the commit: if the engine is down the change is refused, not left stale.
        reindex_documents(es, prefix=settings.es_index_prefix, documents=documents)
    return PartnerDetail.model_validate(
        {**PartnerOut.model_validate(partner).model_dump(), "history": partner.changes}
    )
