"""The archive office: partners and lookup, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import partners as partner_service
from archive.audit import record_event, search_entries
from archive.departments import choosable_departments, require_known_department
from archive.destruction import partner_records
from archive.errors import Conflict, Forbidden, InvalidInput
from archive.lookup import lookup_license
from archive.models import Document, Partner
from archive.permissions import User, document_visibility_clause
from archive.schemas import PartnerCreate, PartnerKind, PartnerStatus
from archive.settings import Settings
from search_api.web import partner_life_pages
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, done, language, render, zone_name
from search_api.web.i18n import translator
from search_api.web.present import audit_actions, describe_changes, describe_entries, validation_message
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Csrf = Annotated[str, Form()]


@router.get("/partners", response_class=HTMLResponse)
def partners_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: PartnerKind | None = None,
    status: PartnerStatus | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    return _partners(
        request,
        session,
        settings,
        user,
        q=q,
        kind=kind.value if kind else "",
        status=status.value if status else "",
        page=page,
    )


def _partners(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    *,
    q: str = "",
    kind: str = "",
    status: str = "",
    page: int = 1,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
) -> HTMLResponse:
    size = 50
    total, items = partner_service.list_partners(
        session,
        user=user,
        q=q or None,
        kind=kind or None,
        status=status or None,
        offset=(page - 1) * size,
        limit=size,
    )
    return render(
        request,
        "partners.html",
        {
            "q": q,
            "kind": kind,
            "total": total,
            "items": items,
            "page": page,
            "pages": max(1, -(-total // size)),
            "kinds": [k.value for k in PartnerKind],
            "status": status,
            "statuses": [s.value for s in PartnerStatus],
            "departments": choosable_departments(settings, user),
            "form": form or {},
            "form_error": form_error,
        },
        status_code=422 if form_error else 200,
    )


_OPTIONAL_PARTNER_FIELDS = (
    "credit_code",
    "legal_representative",
    "contact_person",
    "phone",
    "email",
    "fax",
    "address",
    "bank_name",
    "bank_account",
    "cooperation",
    "remarks",
)


@router.post("/partners", response_model=None)
def create_partner(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    name: Annotated[str, Form(max_length=2000)],
    kind: Annotated[str, Form(max_length=20)],
    department: Annotated[str, Form(max_length=200)] = "",
    credit_code: Annotated[str, Form(max_length=100)] = "",
    legal_representative: Annotated[str, Form(max_length=2000)] = "",
    contact_person: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=2000)] = "",
    email: Annotated[str, Form(max_length=2000)] = "",
    fax: Annotated[str, Form(max_length=2000)] = "",
    address: Annotated[str, Form(max_length=2000)] = "",
    bank_name: Annotated[str, Form(max_length=2000)] = "",
    bank_account: Annotated[str, Form(max_length=2000)] = "",
    cooperation: Annotated[str, Form(max_length=4000)] = "",
    remarks: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    typed = {
        "name": name,
        "kind": kind,
        "department": department,
        "credit_code": credit_code,
        "legal_representative": legal_representative,
        "contact_person": contact_person,
        "phone": phone,
        "email": email,
        "fax": fax,
        "address": address,
        "bank_name": bank_name,
        "bank_account": bank_account,
        "cooperation": cooperation,
        "remarks": remarks,
    }
    entered = {key: value.strip() for key, value in typed.items()}
    lang = language(request)
    try:
        partner = _register(session, settings, user, entered, lang)
    except (InvalidInput, Conflict) as exc:
        # Back to the form with what was typed, and what is wrong in words.
        session.rollback()
        return _partners(request, session, settings, user, form=entered, form_error=exc.message)
    t = translator(lang)
    if partner.archive_no:
        message = t("已登记，档案编号 {no}。", no=partner.archive_no)
    else:
        opening = "已提交建档申请，临时编号 {no}，待部门负责人批准后生成档案编号。"
        message = t(opening, no=partner.provisional_no)
    return done(request, f"/partners/{partner.id}", message)


def _register(
    session: Session, settings: Settings, user: User, entered: dict[str, str], lang: str
) -> Partner:
    try:
        data = PartnerCreate.model_validate(
            {
                "name": entered["name"],
                "kind": entered["kind"],
                "department": entered["department"],
                **{key: entered[key] or None for key in _OPTIONAL_PARTNER_FIELDS},
            }
        )
    except ValidationError as exc:
        raise InvalidInput(validation_message(lang, exc.errors())) from exc
    if data.department not in choosable_departments(settings, user):
        require_known_department(settings, data.department)
        raise InvalidInput(
            f"只能登记到本人所在部门：{'、'.join(sorted(user.departments)) or '无'}"
            " (you may register partners only for your own departments)",
            field="department",
        )
    return partner_service.create_partner(session, settings=settings, user=user, data=data)


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner_page(
    request: Request, partner_id: str, session: WebSession, settings: WebSettings, user: WebUser
) -> HTMLResponse:
    partner = partner_service.view_partner(session, user=user, partner_id=partner_id)
    documents = session.scalars(
        select(Document)
        .where(Document.partner_id == partner.id, document_visibility_clause(user))
        .order_by(Document.archive_no)
    ).all()
    lang = language(request)
    history = [
        {
            "at": c.at,
            "user": c.user,
            "confirmed_by": c.confirmed_by,
            "confirmed_at": c.confirmed_at,
            "lines": describe_changes(lang, "partner_field", c.changes),
        }
        for c in reversed(partner.changes)
    ]
    return render(
        request,
        "partner.html",
        {
            "partner": partner,
            "documents": documents,
            "history": history,
            "destroyed": partner_records(session, user=user, partner_id=partner.id),
            **partner_life_pages.page_context(session, user=user, settings=settings, partner=partner),
        },
    )


@router.get("/lookup", response_class=HTMLResponse)
def lookup_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    license_no: Annotated[str, Query(min_length=1, max_length=64)],
) -> HTMLResponse:
    result = lookup_license(
        session, request.app.state.es, prefix=settings.es_index_prefix, user=user, raw=license_no
    )
    return render(request, "lookup.html", {"license_no": license_no, "result": result})


# 审计 -----------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    who: Annotated[str, Query(alias="user", max_length=100)] = "",
    action: Annotated[str, Query(max_length=50)] = "",
    since: Annotated[str, Query(max_length=30)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以查看审计日志 (archivist or admin only)")
    try:
        since_at = datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise InvalidInput("起始时间格式应为 2026-01-31 或 2026-01-31T08:00", field="since") from exc
    if since_at is not None and since_at.tzinfo is None:
        # What a person types is the office's time, not UTC.
        since_at = since_at.replace(tzinfo=settings.zone)
    size = 100
    entries = search_entries(
        session,
        viewer=user,
        user=who or None,
        action=action or None,
        since=since_at,
        until=None,
        target=None,
        offset=(page - 1) * size,
        limit=size,
    )
    record_event(
        session,
        user=user.sub,
        action="audit_query",
        details={
            "user": who or None,
            "action": action or None,
            "since": since or None,
            "returned": len(entries),
        },
    )
    return render(
        request,
        "audit.html",
        {
            "entries": describe_entries(session, user=user, lang=language(request), entries=entries),
            "actions": audit_actions(),
            "who": who,
            "action": action,
            "since": since,
            "page": page,
            "more": len(entries) == size,
            "zone": zone_name(settings),
        },
    )
