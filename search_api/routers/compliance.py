"""Licence-number lookup and the expiry list."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from archive.compliance import expiring_documents
from archive.lookup import lookup_license
from archive.schemas import PartnerOut
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep

router = APIRouter(tags=["compliance"])


class LookupDocument(BaseModel):
    id: str
    partner_id: str
    doc_type: str
    title: str
    archive_no: str
    expires_on: date | None = None
    superseded_by: str | None = None


class LookupResponse(BaseModel):
    license_no: list[str]
    partner: PartnerOut
    documents: list[LookupDocument]


class ExpiringItem(BaseModel):
    id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: str
    title: str
    department: str
    expires_on: date
    expired: bool
    days_left: int
    flags: list[dict[str, Any]]


@router.get("/lookup", response_model=LookupResponse)
def lookup(
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
    license_no: Annotated[str, Query(min_length=1, max_length=64)],
) -> LookupResponse:
    """A partner and its documents by 统一社会信用代码 or 注册号, typed any way."""
    result = lookup_license(session, es, prefix=settings.es_index_prefix, user=user, raw=license_no)
    assert result.partner is not None
    return LookupResponse(
        license_no=result.normalized,
        partner=PartnerOut.model_validate(result.partner),
        documents=[LookupDocument.model_validate(d) for d in result.documents],
    )


@router.get("/compliance/expiring", response_model=list[ExpiringItem])
def expiring(
    session: SessionDep, user: CurrentUser, within_days: Annotated[int, Query(ge=1, le=3650)] = 30
) -> list[ExpiringItem]:
    """Documents expiring within N days, expired ones first and flagged; superseded ones left out."""
    return [
        ExpiringItem(
            id=item.document.id,
            archive_no=item.document.archive_no,
            partner_id=item.document.partner_id,
            partner_name=item.document.partner.name,
            doc_type=item.document.doc_type,
            title=item.document.title,
            department=item.document.department,
            expires_on=item.document.expires_on,
            expired=item.expired,
            days_left=item.days_left,
            flags=item.document.flags or [],
        )
        for item in expiring_documents(session, user=user, within_days=within_days)
        if item.document.expires_on is not None
    ]
