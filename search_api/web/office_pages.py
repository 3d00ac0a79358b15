"""The archive office: partners and lookup, the borrowing and destruction inboxes, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import or_, select

from archive import borrowing as borrowing_service
from archive import destruction as destruction_service
from archive import partners as partner_service
from archive.audit import record_event, search_entries
from archive.errors import Forbidden, InvalidInput
from archive.lookup import lookup_license
from archive.models import Document
from archive.permissions import document_visibility_clause
from archive.schemas import PartnerCreate, PartnerKind, PartnerStatus
from search_api.web import partner_life_pages
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, render
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Csrf = Annotated[str, Form()]


def _done(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


@router.get("/partners", response_class=HTMLResponse)
def partners_page(
    request: Request,
    session: WebSession,
    user: WebUser,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: PartnerKind | None = None,
    status: PartnerStatus | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    size = 50
    total, items = partner_service.list_partners(
        session,
        user=user,
        q=q or None,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        offset=(page - 1) * size,
        limit=size,
    )
    return render(
        request,
        "partners.html",
        {
            "q": q,
            "kind": kind.value if kind else "",
            "total": total,
            "items": items,
            "page": page,
            "pages": max(1, -(-total // size)),
            "kinds": [k.value for k in PartnerKind],
            "status": status.value if status else "",
            "statuses": [s.value for s in PartnerStatus],
        },
    )


@router.post("/partners")
def create_partner(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    department: Annotated[str, Form()],
    credit_code: Annotated[str, Form()] = "",
    legal_representative: Annotated[str, Form()] = "",
    contact_person: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    try:
        data = PartnerCreate.model_validate(
            {
                "name": name.strip(),
                "kind": kind,
                "department": department.strip(),
                "credit_code": credit_code.strip() or None,
                "legal_representative": legal_representative.strip() or None,
                "contact_person": contact_person.strip() or None,
                "phone": phone.strip() or None,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(problems) from exc
    partner = partner_service.create_partner(session, settings=settings, user=user, data=data)
    return _done(f"/partners/{partner.id}")


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
    return render(
        request,
        "partner.html",
        {
            "partner": partner,
            "documents": documents,
            "history": list(reversed(partner.changes)),
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


# 借阅 -----------------------------------------------------------------------------------


@router.get("/borrowing", response_class=HTMLResponse)
def borrowing_page(request: Request, session: WebSession, user: WebUser, doc: str = "") -> HTMLResponse:
    mine = borrowing_service.list_requests(session, user=user, status=None, mine=True)
    inbox = []
    if user.has_role(*borrowing_service.APPROVERS):
        inbox = [
            r
            for r in borrowing_service.list_requests(session, user=user, status="pending", mine=False)
            if r.requester != user.sub
        ]
    ids = {doc_id for r in [*mine, *inbox] for doc_id in r.document_ids}
    # Titles only for the documents the viewer may see; the others show by archive number.
    visible = {
        d.id: d
        for d in session.scalars(
            select(Document).where(Document.id.in_(ids), document_visibility_clause(user))
        )
    }
    numbers = dict(
        session.execute(select(Document.id, Document.archive_no).where(Document.id.in_(ids))).all()
    )
    return render(
        request,
        "borrowing.html",
        {
            "mine": mine,
            "inbox": inbox,
            "visible": visible,
            "numbers": numbers,
            "prefill": doc,
            "status_of": borrowing_service.effective_status,
        },
    )


@router.post("/borrowing")
def request_borrow(
    request: Request,
    session: WebSession,
    user: WebUser,
    csrf_token: Csrf,
    documents: Annotated[str, Form(max_length=5000)],
    reason: Annotated[str, Form(max_length=1000)],
    days: Annotated[int, Form(ge=1, le=30)] = 7,
    access: Annotated[str, Form(pattern="^(view|download)$")] = "download",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    wanted = [part.strip() for part in documents.replace(",", "\n").splitlines() if part.strip()]
    # Archive numbers as people quote them, or document ids.
    found = dict(
        session.execute(
            select(Document.archive_no, Document.id).where(
                or_(Document.archive_no.in_(wanted), Document.id.in_(wanted))
            )
        ).all()
    )
    ids = [found.get(item, item) for item in wanted]
    borrowing_service.create_request(
        session, user=user, document_ids=ids, reason=reason, days=days, allow_download=access == "download"
    )
    return _done("/borrowing")


@router.post("/borrowing/{request_id}/{decision}")
def decide_borrow(
    request: Request,
    request_id: str,
    decision: str,
    session: WebSession,
    user: WebUser,
    csrf_token: Csrf,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if decision in ("approve", "reject"):
        borrowing_service.decide(
            session,
            user=user,
            request_id=request_id,
            approve=decision == "approve",
            note=note.strip() or None,
        )
    elif decision == "return":
        borrowing_service.return_loan(session, user=user, request_id=request_id)
    else:
        raise InvalidInput(f"未知操作 (unknown action): {decision}")
    return _done("/borrowing")


# 销毁 -----------------------------------------------------------------------------------


@router.get("/destruction", response_class=HTMLResponse)
def destruction_page(
    request: Request, session: WebSession, settings: WebSettings, user: WebUser
) -> HTMLResponse:
    requests = destruction_service.list_requests(session, user=user, status=None)
    eligible = []
    if user.has_role("archivist"):
        eligible = destruction_service.eligible_documents(session, user=user)
    return render(request, "destruction.html", {"requests": requests, "eligible": eligible})


@router.post("/destruction")
def request_destruction(
    request: Request,
    session: WebSession,
    user: WebUser,
    csrf_token: Csrf,
    reason: Annotated[str, Form(max_length=2000)],
    document_ids: Annotated[list[str] | None, Form()] = None,
    appraisal_note: Annotated[str, Form(max_length=4000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    destruction_service.create_request(
        session,
        user=user,
        document_ids=document_ids or [],
        reason=reason,
        appraisal_note=appraisal_note.strip() or None,
    )
    return _done("/destruction")


@router.post("/destruction/{request_id}/{step}")
def destruction_step(
    request: Request,
    request_id: str,
    step: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if step == "approve":
        destruction_service.approve(session, user=user, request_id=request_id)
    elif step == "execute":
        store = request.app.state.store
        _, unreferenced = destruction_service.execute(
            session,
            user=user,
            request_id=request_id,
            es=request.app.state.es,
            index_prefix=settings.es_index_prefix,
            store=store,
        )
        session.commit()
        # Files go only once the record of their destruction is safely committed.
        for sha256 in unreferenced:
            store.remove(sha256)
    else:
        raise InvalidInput(f"未知操作 (unknown action): {step}")
    return _done("/destruction")


# 审计 -----------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: WebSession,
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
    size = 100
    entries = search_entries(
        session,
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
            "entries": entries,
            "who": who,
            "action": action,
            "since": since,
            "page": page,
            "more": len(entries) == size,
        },
    )
