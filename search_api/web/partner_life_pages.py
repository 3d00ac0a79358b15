"""A partner's life in the browser: the department head's inbox (待办), approving and rejecting
new partners, status changes with their history, completeness (齐全) per partner and the
incomplete list, relationship records, evaluations, and editing with a second person on the
sensitive fields. Every form runs the same service function as the API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from archive import partners as partner_service
from archive import ratings as rating_service
from archive.departments import require_known_department
from archive.documents import IntakePolicy
from archive.errors import InvalidInput
from archive.models import Partner
from archive.partner_life import completeness, proposals, records
from archive.partner_life import inbox as inbox_service
from archive.partner_life import status as life
from archive.partner_life.items import REGISTRATION_FIELDS
from archive.permissions import (
    CONFIDENTIALITY_RANK,
    User,
    can_change_partner,
    can_change_status,
    can_confirm_change,
    can_decide_opening,
)
from archive.schemas import DocType, PartnerStatus, PartnerUpdate, RecordKind
from archive.search_index import reindex_partner_documents
from archive.settings import Settings
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, render
from search_api.web.security import check_csrf, safe_next

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Csrf = Annotated[str, Form()]
_CHUNK = 1024 * 1024
# The editing form, in the order of the 基本资料登记表.
EDITABLE = (
    "name",
    "department",
    "credit_code",
    "legal_representative",
    "address",
    "contact_person",
    "phone",
    "fax",
    "email",
    "bank_name",
    "bank_account",
    "cooperation",
    "remarks",
)
FIELD_LABELS = {**REGISTRATION_FIELDS, "department": "部门", "kind": "类型", "remarks": "备注"}


_ENGLISH = re.compile(r"\s*\(([A-Za-z][^()]*)\)")


def in_language(lang: str, text: str | None) -> str:
    """A domain message ("中文 (English)", possibly several joined) in the page's language."""
    if not text:
        return ""
    if lang == "en":
        english = _ENGLISH.findall(text)
        return "; ".join(english) if english else text
    return _ENGLISH.sub("", text)


def _back(request: Request, default: str) -> RedirectResponse:
    target = request.query_params.get("next")
    return RedirectResponse(safe_next(target) if target else default, status_code=303)


def page_context(session: Session, *, user: User, settings: Settings, partner: Partner) -> dict[str, Any]:
    """What the partner page shows of the partner's life, and which forms the user may use."""
    status = partner.status
    can_edit = can_change_partner(user, department=partner.department)
    may_change_status = can_change_status(user, department=partner.department)
    transitions = sorted(life.TRANSITIONS.get(status, frozenset()), key=list(life.STATUS_LABELS).index)
    if status == "blacklisted" and not user.has_role("archivist", "admin"):
        transitions = []
    return {
        "life_status_history": list(reversed(partner.status_history)),
        "life_can_edit": can_edit,
        # A department moves only to one of the configured list (or stays where it is).
        "life_departments": list(dict.fromkeys([partner.department, *settings.departments])),
        "life_can_change_status": may_change_status and bool(transitions),
        "life_transitions": transitions,
        "life_can_decide": status == "pending"
        and can_decide_opening(user, department=partner.department)
        and partner.created_by != user.sub,
        "life_can_resubmit": status == "rejected" and can_edit,
        "life_completeness": completeness.assess_partner(
            session, user=user, settings=settings, partner=partner, on=settings.today()
        ),
        "life_records": records.visible_records(session, user=user, partner=partner),
        "life_record_kinds": [k.value for k in RecordKind],
        "life_record_levels": [
            level for level in records.RECORD_LEVELS if user.clearance_rank >= CONFIDENTIALITY_RANK[level]
        ],
        "life_today": settings.today().isoformat(),
        "life_evaluations": rating_service.evaluations(session, user=user, partner_id=partner.id),
        "life_ratings": rating_service.rating_history(session, user=user, partner_id=partner.id),
        "life_can_evaluate": partner.kind == "supplier" and (can_edit or user.has_role("compliance")),
        "life_pending_changes": partner_service.pending_changes(session, partner_id=partner.id),
        "life_can_confirm": can_confirm_change(user, department=partner.department),
        "life_editable": EDITABLE,
        "life_sensitive": partner_service.SENSITIVE_FIELDS,
        "life_field_labels": FIELD_LABELS,
        "life_threshold": f"{settings.suspension_score_below:g}",
        "life_threshold_value": settings.suspension_score_below,
        "life_msg": in_language,
        "life_can_rate": user.has_role(*rating_service.RATERS),
    }


# 待办 ------------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: WebSession, user: WebUser) -> HTMLResponse:
    items = inbox_service.inbox(session, user=user)
    return render(
        request,
        "inbox.html",
        {
            "items": items,
            "field_labels": FIELD_LABELS,
            "decides": user.has_role("manager", "archivist", "admin"),
        },
    )


@router.post("/partners/{partner_id}/opening/{decision}")
def decide_opening(
    request: Request,
    partner_id: str,
    decision: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    """建档审批 from the inbox or the partner page: approve, reject, or resubmit a rejected one."""
    check_csrf(request, csrf_token)
    said = comment.strip() or None
    if decision == "approve":
        partner = life.approve(session, settings=settings, user=user, partner_id=partner_id, comment=said)
    elif decision == "reject":
        partner = life.reject(session, user=user, partner_id=partner_id, comment=said)
    elif decision == "resubmit":
        partner = life.resubmit(session, user=user, partner_id=partner_id, comment=said)
    else:
        raise InvalidInput(f"未知操作 (unknown action): {decision}")
    reindex_partner_documents(
        request.app.state.es, session, prefix=settings.es_index_prefix, partner_id=partner.id
    )
    return _back(request, f"/partners/{partner.id}")


@router.post("/partners/{partner_id}/status")
def change_status(
    request: Request,
    partner_id: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    status: Annotated[PartnerStatus, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    partner = life.change_status(
        session, user=user, partner_id=partner_id, status=status.value, reason=reason
    )
    reindex_partner_documents(
        request.app.state.es, session, prefix=settings.es_index_prefix, partner_id=partner.id
    )
    return _back(request, f"/partners/{partner.id}#life-status")


@router.post("/suspension-proposals/{proposal_id}/{decision}")
def decide_proposal(
    request: Request,
    proposal_id: str,
    decision: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if decision == "accept":
        proposal = proposals.accept(session, user=user, proposal_id=proposal_id, note=note.strip() or None)
        reindex_partner_documents(
            request.app.state.es, session, prefix=settings.es_index_prefix, partner_id=proposal.partner_id
        )
    elif decision == "dismiss":
        proposals.dismiss(session, user=user, proposal_id=proposal_id, note=note.strip() or None)
    else:
        raise InvalidInput(f"未知操作 (unknown action): {decision}")
    return _back(request, "/inbox")


# 编辑与复核 --------------------------------------------------------------------------------


class EditForm(BaseModel):
    """The editing form as sent: every field a string, blank for none."""

    model_config = ConfigDict(extra="ignore")
    csrf_token: str = ""
    name: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=100)
    credit_code: str | None = Field(default=None, max_length=40)
    legal_representative: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    contact_person: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    fax: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    bank_name: str | None = Field(default=None, max_length=200)
    bank_account: str | None = Field(default=None, max_length=60)
    cooperation: str | None = Field(default=None, max_length=2000)
    remarks: str | None = Field(default=None, max_length=2000)


@router.post("/partners/{partner_id}/edit")
def edit(
    request: Request,
    partner_id: str,
    form: Annotated[EditForm, Form()],
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
) -> RedirectResponse:
    """Only what differs from the partner is sent on, as a PATCH would be."""
    check_csrf(request, form.csrf_token)
    partner = partner_service.get_changeable_partner(session, user=user, partner_id=partner_id)
    wanted: dict[str, Any] = {}
    for field in EDITABLE:
        sent = getattr(form, field)
        if sent is None:
            continue
        value = sent.strip()
        if value != (getattr(partner, field) or ""):
            wanted[field] = value or None
    try:
        data = PartnerUpdate.model_validate(wanted)
    except ValidationError as exc:
        names = "、".join(
            FIELD_LABELS.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors() if e["loc"]
        )
        raise InvalidInput(f"以下内容有误：{names} (invalid fields: {', '.join(wanted)})") from exc
    require_known_department(settings, data.department)
    outcome = partner_service.update_partner(session, user=user, partner_id=partner_id, data=data)
    changed = set(outcome.applied)
    es = request.app.state.es
    if changed & {"name", "kind", "credit_code"}:
        reindex_partner_documents(es, session, prefix=settings.es_index_prefix, partner_id=partner_id)
    if changed & {"name", "kind", "department"}:
        records.reindex_partner_records(es, session, prefix=settings.es_index_prefix, partner_id=partner_id)
    return RedirectResponse(f"/partners/{partner_id}#life-edit", status_code=303)


@router.post("/partners/{partner_id}/changes/{change_id}/{decision}")
def decide_change(
    request: Request,
    partner_id: str,
    change_id: str,
    decision: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if decision == "confirm":
        change = partner_service.confirm_change(
            session, user=user, partner_id=partner_id, change_id=change_id, note=note.strip() or None
        )
        if "credit_code" in change.changes:
            reindex_partner_documents(
                request.app.state.es, session, prefix=settings.es_index_prefix, partner_id=partner_id
            )
    elif decision == "reject":
        partner_service.reject_change(
            session, user=user, partner_id=partner_id, change_id=change_id, note=note.strip() or None
        )
    else:
        raise InvalidInput(f"未知操作 (unknown action): {decision}")
    return _back(request, f"/partners/{partner_id}#life-edit")


# 往来记录与评价 ------------------------------------------------------------------------------


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_CHUNK):
        yield chunk


@router.post("/partners/{partner_id}/records")
async def add_record(
    request: Request,
    partner_id: str,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    record_date: Annotated[date, Form(alias="date")],
    kind: Annotated[RecordKind, Form()],
    summary: Annotated[str, Form(max_length=4000)],
    participants: Annotated[str, Form(max_length=300)] = "",
    confidentiality: Annotated[str, Form(max_length=20)] = "internal",
    doc_type: Annotated[DocType, Form()] = DocType.other,
    file: Annotated[UploadFile | None, File()] = None,
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    state = request.app.state
    await records.keep_record(
        state.session_factory,
        es=state.es,
        store=state.store,
        queue=state.queue,
        prefix=settings.es_index_prefix,
        user=user,
        draft=records.RecordDraft(
            partner_id=partner_id,
            occurred_on=record_date,
            kind=kind.value,
            summary=summary,
            participants=participants or None,
            confidentiality=confidentiality,
        ),
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
    return RedirectResponse(f"/partners/{partner_id}#life-records", status_code=303)


@router.post("/partners/{partner_id}/ratings")
def rate(
    request: Request,
    partner_id: str,
    session: WebSession,
    user: WebUser,
    csrf_token: Csrf,
    rating: Annotated[str, Form(pattern="^[A-D]$")],
    rated_on: Annotated[date, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if not reason.strip():
        raise InvalidInput("请填写评级理由 (a rating needs a reason)", field="reason")
    rating_service.rate_partner(
        session, user=user, partner_id=partner_id, rating=rating, rated_on=rated_on, reason=reason.strip()
    )
    return RedirectResponse(f"/partners/{partner_id}#life-evaluations", status_code=303)


@router.post("/partners/{partner_id}/evaluations")
def evaluate(
    request: Request,
    partner_id: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    period: Annotated[str, Form(max_length=20)],
    quality: Annotated[int, Form()],
    delivery: Annotated[int, Form()],
    service: Annotated[int, Form()],
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if not period.strip():
        raise InvalidInput("请填写评价期间 (the period is required)", field="period")
    rating_service.evaluate_supplier(
        session,
        user=user,
        partner_id=partner_id,
        period=period.strip(),
        quality=quality,
        delivery=delivery,
        service=service,
        notes=notes.strip() or None,
        suspension_score_below=settings.suspension_score_below,
    )
    return RedirectResponse(f"/partners/{partner_id}#life-evaluations", status_code=303)


# 齐全检查与往来记录检索 -------------------------------------------------------------------------


@router.get("/completeness", response_class=HTMLResponse)
def incomplete_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    department: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    listed = completeness.incomplete_partners(
        session, user=user, settings=settings, on=settings.today(), department=department or None
    )
    return render(request, "incomplete.html", {"listed": listed, "department": department})


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    settings: WebSettings,
    session: WebSession,
    user: WebUser,
    q: Annotated[str, Query(max_length=500)] = "",
    kind: RecordKind | None = None,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
) -> HTMLResponse:
    result = records.search_records(
        request.app.state.es,
        request.app.state.audit,
        session,
        prefix=settings.es_index_prefix,
        user=user,
        q=q or None,
        partner_id=None,
        kind=kind.value if kind else None,
        page=page,
        size=20,
    )
    return render(
        request,
        "records.html",
        {
            "q": q,
            "kind": kind.value if kind else "",
            "result": result,
            "kinds": [k.value for k in RecordKind],
            "page": page,
            "pages": max(1, -(-result.total // 20)),
        },
    )
