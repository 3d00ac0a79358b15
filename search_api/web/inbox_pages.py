"""The borrowing and destruction inboxes: each request shows what it asks for (documents by
archive number, title, department and 密级), each decision says what it did, loans can be
recalled, and a destruction is executed only after a confirmation that lists what goes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from archive import borrowing as borrowing_service
from archive import destruction as destruction_service
from archive.archival_codes import retention_ends
from archive.errors import Conflict, Forbidden, InvalidInput
from archive.models import BorrowRequest, DestructionRecord, DestructionRequest, Document
from archive.permissions import User, can_view_document, destruction_record_visibility_clause
from search_api.routers.destruction import finish_destruction
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, done, language, render
from search_api.web.i18n import translator
from search_api.web.present import local_time
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Csrf = Annotated[str, Form()]


@dataclass(frozen=True)
class Listed:
    """One document of a request, as the viewer may know it."""

    archive_no: str
    title: str
    partner_name: str
    partner_id: str | None
    doc_type: str
    confidentiality: str
    department: str | None
    href: str | None
    legal_hold: bool = False
    destroyed: bool = False
    # 档号 and 保管期限: what an approver of a destruction judges by.
    archival_code: str | None = None
    retention: str | None = None
    retention_ends: date | None = None


@dataclass(frozen=True)
class RequestDocuments:
    shown: list[Listed]
    hidden: int  # documents the viewer may not open: counted, never named


def _listed(user: User, documents: dict[str, Document], ids: list[str]) -> RequestDocuments:
    shown, hidden = [], 0
    for document_id in ids:
        document = documents.get(document_id)
        if document is None or not can_view_document(
            user,
            document_id=document.id,
            confidentiality=document.confidentiality,
            department=document.department,
        ):
            hidden += 1
            continue
        shown.append(
            Listed(
                archive_no=document.archive_no,
                title=document.title,
                partner_name=document.partner.name,
                partner_id=document.partner_id,
                doc_type=document.doc_type,
                confidentiality=document.confidentiality,
                department=document.department,
                href=f"/documents/{document.id}",
                legal_hold=document.legal_hold,
                archival_code=document.archival_code,
                retention=document.retention,
                retention_ends=retention_ends(
                    retention=document.retention, start=document.expires_on or document.created_at.date()
                ),
            )
        )
    return RequestDocuments(shown, hidden)


def _documents(session: Session, ids: set[str]) -> dict[str, Document]:
    """The documents a request names, by id or by the archive number its requester typed (a
    reference to one they could not see is kept as typed); `_listed` judges each viewer."""
    found = session.scalars(
        select(Document)
        .where(or_(Document.id.in_(sorted(ids)), Document.archive_no.in_(sorted(ids))))
        .options(selectinload(Document.partner))
    )
    return {key: d for d in found for key in (d.id, d.archive_no)}


# 借阅 -----------------------------------------------------------------------------------


@router.get("/borrowing", response_class=HTMLResponse)
def borrowing_page(request: Request, session: WebSession, user: WebUser, doc: str = "") -> HTMLResponse:
    mine = borrowing_service.list_requests(session, user=user, status=None, mine=True)
    inbox: list[BorrowRequest] = []
    loans: list[BorrowRequest] = []
    if user.has_role(*borrowing_service.APPROVERS):
        inbox = [
            r
            for r in borrowing_service.list_requests(session, user=user, status="pending", mine=False)
            if r.requester != user.sub
        ]
        loans = borrowing_service.on_loan(session, user=user)
    everything = [*mine, *inbox, *loans]
    documents = _documents(session, {doc_id for r in everything for doc_id in r.document_ids})
    listed = {r.id: _listed(user, documents, r.document_ids) for r in everything}
    return render(
        request,
        "borrowing.html",
        {
            "mine": mine,
            "inbox": inbox,
            "loans": loans,
            "listed": listed,
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
    # Archive numbers as people quote them, or document ids: the service resolves those the
    # requester may see and keeps the others as typed (a hidden one is as unknown as none).
    wanted = [part.strip() for part in documents.replace(",", "\n").splitlines() if part.strip()]
    created = borrowing_service.create_request(
        session, user=user, document_ids=wanted, reason=reason, days=days, allow_download=access == "download"
    )
    t = translator(language(request))
    return done(
        request,
        "/borrowing",
        t("已提交借阅申请（{n} 份文档），等待档案室审批。", n=len(created.document_ids)),
    )


@router.post("/borrowing/{request_id}/{decision}")
def decide_borrow(
    request: Request,
    request_id: str,
    decision: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    t = translator(language(request))
    when = local_time(settings.zone)
    if decision in ("approve", "reject"):
        decided = borrowing_service.decide(
            session,
            user=user,
            request_id=request_id,
            approve=decision == "approve",
            note=note.strip() or None,
        )
        count = len(decided.document_ids)
        if decision == "approve":
            message = t(
                "已批准 {who} 的借阅申请（{n} 份文档），借阅至 {until}。",
                who=decided.requester,
                n=count,
                until=when(decided.expires_at),
            )
        else:
            message = t("已驳回 {who} 的借阅申请（{n} 份文档）。", who=decided.requester, n=count)
    elif decision == "return":
        borrowing_service.return_loan(session, user=user, request_id=request_id)
        message = t("已归还。")
    elif decision == "recall":
        recalled = borrowing_service.recall_loan(
            session, user=user, request_id=request_id, note=note.strip() or None
        )
        message = t(
            "已收回 {who} 借阅的 {n} 份文档，其访问权限已终止。",
            who=recalled.requester,
            n=len(recalled.document_ids),
        )
    else:
        raise InvalidInput(f"未知操作 (unknown action): {decision}")
    return done(request, "/borrowing", message)


# 销毁 -----------------------------------------------------------------------------------


def _destruction_documents(
    session: Session, user: User, requests: list[DestructionRequest]
) -> dict[str, RequestDocuments]:
    """What each request covers; executed ones from their destruction records."""
    live = _documents(
        session, {doc_id for r in requests if r.status != "executed" for doc_id in r.document_ids}
    )
    executed = [r.id for r in requests if r.status == "executed"]
    records: dict[str, list[DestructionRecord]] = {}
    for record in session.scalars(
        select(DestructionRecord).where(
            DestructionRecord.request_id.in_(executed), destruction_record_visibility_clause(user)
        )
    ):
        records.setdefault(record.request_id, []).append(record)
    result = {}
    for r in requests:
        if r.status != "executed":
            result[r.id] = _listed(user, live, r.document_ids)
            continue
        kept = records.get(r.id, [])
        shown = [
            Listed(
                archive_no=record.archive_no,
                title=record.title,
                partner_name=record.partner_name,
                partner_id=record.partner_id,
                doc_type=record.doc_type,
                confidentiality=record.confidentiality,
                department=record.department,
                href=None,
                destroyed=True,
                archival_code=record.archival_code,
                retention=record.retention,
            )
            for record in kept
        ]
        result[r.id] = RequestDocuments(shown, len(r.document_ids) - len(shown))
    return result


@router.get("/destruction", response_class=HTMLResponse)
def destruction_page(
    request: Request, session: WebSession, settings: WebSettings, user: WebUser
) -> HTMLResponse:
    # Each request's documents are listed under the rule below: names of those the reader
    # sees, a count of the others.
    requests = destruction_service.list_requests(session, user=user, status=None, partly_hidden=True)
    eligible = []
    if user.has_role("archivist"):
        eligible = destruction_service.eligible_documents(session, user=user, today=settings.today())
    return render(
        request,
        "destruction.html",
        {
            "requests": requests,
            "listed": _destruction_documents(session, user, requests),
            "eligible": eligible,
        },
    )


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
    created = destruction_service.create_request(
        session,
        user=user,
        document_ids=document_ids or [],
        reason=reason,
        appraisal_note=appraisal_note.strip() or None,
    )
    t = translator(language(request))
    return done(
        request,
        "/destruction",
        t("已提交销毁申请（{n} 份文档），等待公司领导批准。", n=len(created.document_ids)),
    )


def _approved_request(session: Session, user: User, request_id: str) -> DestructionRequest:
    if not user.has_role("archivist"):
        raise Forbidden("只有档案管理员可以执行销毁 (archivist only)")
    found = session.get(DestructionRequest, request_id)
    if found is None:
        raise InvalidInput(f"销毁申请不存在 (destruction request {request_id} not found)")
    if found.status != "approved":
        raise Conflict(f"只有已批准的申请可以执行，当前状态：{found.status} (only approved requests run)")
    return found


@router.get("/destruction/{request_id}/execute", response_class=HTMLResponse)
def confirm_execute(request: Request, request_id: str, session: WebSession, user: WebUser) -> HTMLResponse:
    """Before anything is destroyed: what goes, for the archivist to check and confirm."""
    found = _approved_request(session, user, request_id)
    return render(
        request,
        "destruction_confirm.html",
        {"r": found, "listed": _destruction_documents(session, user, [found])[found.id]},
    )


@router.post("/destruction/{request_id}/{step}")
def destruction_step(
    request: Request,
    request_id: str,
    step: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    confirmed: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    t = translator(language(request))
    if step == "approve":
        approved = destruction_service.approve(session, user=user, request_id=request_id)
        message = t("已批准销毁申请（{n} 份文档），档案室可以执行。", n=len(approved.document_ids))
    elif step == "reject":
        rejected = destruction_service.reject(
            session, user=user, request_id=request_id, note=note.strip() or None
        )
        message = t("已驳回销毁申请（{n} 份文档），文档保留。", n=len(rejected.document_ids))
    elif step == "execute":
        if confirmed != "yes":
            _approved_request(session, user, request_id)
            return RedirectResponse(f"/destruction/{request_id}/execute", status_code=303)
        destroyed = destruction_service.execute(
            session,
            user=user,
            request_id=request_id,
            es=request.app.state.es,
            index_prefix=settings.es_index_prefix,
        )
        session.commit()
        # Files, cached text and page images go only once the record is safely committed.
        finish_destruction(request.app, session, destroyed)
        message = t("已销毁 {n} 份文档，销毁记录已保存。", n=len(destroyed.request.document_ids))
    else:
        raise InvalidInput(f"未知操作 (unknown action): {step}")
    return done(request, "/destruction", message)
