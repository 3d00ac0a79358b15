"""Reports (报表): 客商汇总表, 基本资料登记表, the 7.1 annual review."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from archive import reports as service
from archive.exports import Attachment
from archive.partner_life.completeness import LIVE_STATUSES
from archive.reports import AnnualReview
from archive.schemas import PartnerKind, PartnerStatus
from search_api.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/reports", tags=["reports"])

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_FILE_RESPONSE = {
    200: {
        "content": {_XLSX: {}, "text/csv": {}, _DOCX: {}, "application/json": {}},
        "description": "the report as a file (or JSON)",
    }
}


def attachment_response(attachment: Attachment) -> Response:
    """The file as a download; `filename*` (RFC 5987) carries the Chinese name."""
    disposition = (
        f"attachment; filename=\"{attachment.ascii_filename}\"; filename*=UTF-8''{quote(attachment.filename)}"
    )
    return Response(
        content=attachment.content,
        media_type=attachment.media_type,
        headers={"Content-Disposition": disposition},
    )


@router.get("/partners", response_class=Response, responses=_FILE_RESPONSE)
def partner_summary(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Literal["xlsx", "csv"] = "xlsx",  # noqa: A002 - the contract's parameter name
    kind: PartnerKind | None = None,
    department: str | None = None,
    partner_status: Annotated[list[PartnerStatus] | None, Query(alias="status")] = None,
) -> Response:
    """供应商/客户汇总表 as XLSX or CSV; `status` (repeatable) narrows it to partners in those states."""
    return attachment_response(
        service.partner_summary(
            session,
            user=user,
            fmt=format,
            kind=kind.value if kind else None,
            department=department,
            statuses=[s.value for s in partner_status] if partner_status else None,
            zone=settings.zone,
        )
    )


@router.get("/partners/{partner_id}/registration-form", response_class=Response, responses=_FILE_RESPONSE)
def registration_form(
    partner_id: str,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Literal["docx"] = "docx",  # noqa: A002 - the contract's parameter name
) -> Response:
    """基本资料登记表 of one partner as DOCX."""
    return attachment_response(
        service.registration_form(session, user=user, partner_id=partner_id, zone=settings.zone)
    )


@router.get("/annual-review", response_model=AnnualReview, responses=_FILE_RESPONSE)
def annual_review(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Literal["json", "xlsx"] = "json",  # noqa: A002 - the contract's parameter name
    partner_status: Annotated[
        list[PartnerStatus] | None, Query(alias="status", description="default: pending, active, suspended")
    ] = None,
) -> AnnualReview | Response:
    """The 7.1 annual re-registration (每年7月1日年审) by department, by the completeness rule."""
    statuses = [s.value for s in partner_status] if partner_status else LIVE_STATUSES
    review = service.annual_review(session, user=user, settings=settings, year=year, statuses=statuses)
    if format == "xlsx":
        return attachment_response(service.annual_review_xlsx(review, user=user, zone=settings.zone))
    return review
