"""报表 and 档案目录 in the browser: 供应商/客户汇总表, 基本资料登记表, the annual review,
销毁记录 and the catalogue, with filters and downloads under the signed-in session."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from archive import catalogue as catalogue_service
from archive import destruction as destruction_service
from archive import reports as report_service
from archive.errors import InvalidInput
from archive.models import Partner
from archive.permissions import partner_visibility_clause
from archive.reports import REPORT_ROLES, require_report_role
from archive.schemas import DocType, DocumentStatus, PartnerKind
from archive.settings import Settings
from search_api.routers.reports import attachment_response
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, render
from search_api.web.search_pages import visible_partners

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CATALOGUE_PAGE = 50
Kind = Annotated[PartnerKind | None, Query()]


def _empty_is_none(value: str) -> str | None:
    return value.strip() or None


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"日期格式应为 2026-01-31 (a date like 2026-01-31): {text}", field=field) from exc


def _local_midnight(settings: Settings, day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, settings.zone)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: WebSession, settings: WebSettings, user: WebUser) -> HTMLResponse:
    require_report_role(user)
    this_year = settings.today().year
    return render(
        request,
        "reports.html",
        {
            "kinds": [k.value for k in PartnerKind],
            "departments": settings.departments,
            "partners": visible_partners(session, user),
            "years": list(range(this_year + 1, this_year - 6, -1)),
            "this_year": this_year,
        },
    )


@router.get("/reports/partners.{fmt}")
def partner_summary_file(
    fmt: Literal["xlsx", "csv"],
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    kind: Kind = None,
    department: str = "",
) -> Response:
    """供应商/客户汇总表 as the signed-in user may see it."""
    return attachment_response(
        report_service.partner_summary(
            session,
            user=user,
            fmt=fmt,
            kind=kind.value if kind else None,
            department=_empty_is_none(department),
            zone=settings.zone,
        )
    )


@router.get("/reports/registration-form")
def registration_form_file(
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    partner_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """基本资料登记表 of one partner as DOCX."""
    return attachment_response(
        report_service.registration_form(session, user=user, partner_id=partner_id, zone=settings.zone)
    )


@router.get("/reports/annual-review", response_class=HTMLResponse)
def annual_review_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    chosen = year or settings.today().year
    review = report_service.annual_review(session, user=user, settings=settings, year=chosen)
    return render(
        request,
        "annual_review.html",
        {
            "review": review,
            "year": chosen,
            "years": list(range(settings.today().year + 1, settings.today().year - 6, -1)),
            "totals": {
                "missing_licence": sum(len(d.missing_licence) for d in review.departments),
                "missing_bank_info": sum(len(d.missing_bank_info) for d in review.departments),
                "incomplete": sum(len(d.incomplete) for d in review.departments),
                "expiring": sum(len(d.expiring) for d in review.departments),
                "expiry_unknown": sum(len(d.expiry_unknown) for d in review.departments),
            },
        },
    )


@router.get("/reports/annual-review.xlsx")
def annual_review_file(
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    review = report_service.annual_review(session, user=user, settings=settings, year=year)
    return attachment_response(report_service.annual_review_xlsx(review, user=user, zone=settings.zone))


@router.get("/reports/destruction-records", response_class=HTMLResponse)
def destruction_records_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    since: Annotated[str, Query(max_length=20)] = "",
    until: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    since_day, until_day = _day(since, "since"), _day(until, "until")
    records = destruction_service.list_records(
        session,
        user=user,
        since=_local_midnight(settings, since_day),
        until=_local_midnight(settings, until_day + timedelta(days=1) if until_day else None),
    )
    return render(
        request,
        "destruction_records.html",
        {"records": records, "since": since, "until": until, "roles": REPORT_ROLES},
    )


@router.get("/reports/destruction-records.{fmt}")
def destruction_records_file(
    fmt: Literal["xlsx", "csv"],
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    since: Annotated[str, Query(max_length=20)] = "",
    until: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    since_day, until_day = _day(since, "since"), _day(until, "until")
    return attachment_response(
        report_service.destruction_register(
            session,
            user=user,
            fmt=fmt,
            since=_local_midnight(settings, since_day),
            until=_local_midnight(settings, until_day + timedelta(days=1) if until_day else None),
            zone=settings.zone,
        )
    )


# 档案目录 ---------------------------------------------------------------------------------


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    partner_id: Annotated[str, Query(max_length=64)] = "",
    doc_type: DocType | Literal[""] = "",
    department: Annotated[str, Query(max_length=100)] = "",
    status: DocumentStatus | Literal[""] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    listing = catalogue_service.list_catalogue(
        session,
        user=user,
        partner_id=partner_id or None,
        doc_type=doc_type or None,
        department=department or None,
        status=status or None,
        page=page,
        size=CATALOGUE_PAGE,
        zone=settings.zone,
    )
    departments = sorted(
        set(settings.departments)
        | set(session.scalars(select(Partner.department).where(partner_visibility_clause(user)).distinct()))
    )
    return render(
        request,
        "catalogue.html",
        {
            "listing": listing,
            "partners": visible_partners(session, user),
            "doc_types": [t.value for t in DocType],
            "statuses": [s.value for s in DocumentStatus],
            "departments": departments,
            "chosen": {
                "partner_id": partner_id,
                "doc_type": doc_type,
                "department": department,
                "status": status,
            },
            "page": page,
            "pages": max(1, math.ceil(listing.total / CATALOGUE_PAGE)),
            "first_number": (page - 1) * CATALOGUE_PAGE + 1,
        },
    )


@router.get("/catalogue.{fmt}")
def catalogue_file(
    fmt: Literal["xlsx", "csv"],
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    partner_id: Annotated[str, Query(max_length=64)] = "",
    doc_type: DocType | Literal[""] = "",
    department: Annotated[str, Query(max_length=100)] = "",
    status: DocumentStatus | Literal[""] = "",
) -> Response:
    """The catalogue as filtered on the page, whole, as XLSX or CSV."""
    return attachment_response(
        catalogue_service.export_catalogue(
            session,
            user=user,
            partner_id=partner_id or None,
            doc_type=doc_type or None,
            fmt=fmt,
            department=department or None,
            status=status or None,
            zone=settings.zone,
        )
    )
