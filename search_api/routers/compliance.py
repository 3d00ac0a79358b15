"""Licence-number lookup and the expiry list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from archive.compliance import (
    ExpiringDocument,
    UnknownExpiry,
    count_expiry_unknown,
    expiring_documents,
    expiry_unknown_documents,
)
from archive.lookup import lookup_license
from archive.permissions import User, mask_id_numbers, sees_id_numbers
from archive.schemas import PartnerOut, PartnerStatus
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
    partner_status: PartnerStatus | None = None,
) -> LookupResponse:
    """A partner and its documents by 统一社会信用代码 or 注册号, typed any way; `partner_status`
    finds it only in that state."""
    result = lookup_license(
        session,
        es,
        prefix=settings.es_index_prefix,
        user=user,
        raw=license_no,
        partner_status=partner_status.value if partner_status else None,
    )
    assert result.partner is not None
    return LookupResponse(
        license_no=result.normalized,
        partner=PartnerOut.model_validate(result.partner),
        documents=[LookupDocument.model_validate(d) for d in result.documents],
    )


class ExpiryUnknownItem(BaseModel):
    id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: str
    title: str
    department: str
    reason: str | None = Field(description="why no expiry was read")
    uploaded_at: datetime
    flags: list[dict[str, Any]]
    review_url: str = Field(description="the web page where the archive office supplies the date")


class ExpiringSections(BaseModel):
    within_days: int
    expiring: list[ExpiringItem]
    expiry_unknown: list[ExpiryUnknownItem] = Field(
        description="licences, ID cards and contracts whose expiry could not be read and that are "
        "not 长期, until someone supplies the date or records that there is none"
    )


def _expiring_items(items: list[ExpiringDocument]) -> list[ExpiringItem]:
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
        for item in items
        if item.document.expires_on is not None
    ]


def _unknown_item(user: User, item: UnknownExpiry) -> ExpiryUnknownItem:
    document = item.document
    show = (lambda text: text) if sees_id_numbers(user, document.id) else mask_id_numbers
    return ExpiryUnknownItem(
        id=document.id,
        archive_no=document.archive_no,
        partner_id=document.partner_id,
        partner_name=document.partner.name,
        doc_type=document.doc_type,
        title=show(document.title),
        department=document.department,
        reason=show(item.reason) if item.reason else None,
        uploaded_at=document.created_at,
        flags=document.flags or [],
        review_url=f"/review?document={document.id}",
    )


@router.get(
    "/compliance/expiring",
    response_model=list[ExpiringItem] | ExpiringSections,
    responses={
        200: {
            "description": "a list (the default), or with `sections=true` an object with "
            "`expiring` and `expiry_unknown`; the list form carries the number of documents of "
            "unknown expiry in the `X-Expiry-Unknown` header"
        }
    },
)
def expiring(
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    within_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    sections: Annotated[
        bool, Query(description="answer with both sections: `expiring` and `expiry_unknown`")
    ] = False,
) -> list[ExpiringItem] | ExpiringSections:
    """Documents expiring within N days, expired ones first and flagged; superseded ones left out.

    Apart from them, `expiry_unknown`: what could not be dated, until someone supplies it.
    """
    dated = _expiring_items(expiring_documents(session, user=user, within_days=within_days))
    if sections:
        unknown = [_unknown_item(user, u) for u in expiry_unknown_documents(session, user=user)]
        return ExpiringSections(within_days=within_days, expiring=dated, expiry_unknown=unknown)
    # The list keeps today's shape; the header says what it cannot hold.
    response.headers["X-Expiry-Unknown"] = str(count_expiry_unknown(session, user=user))
    return dated
