"""Correcting a document (title, type, 密级, department, expiry, legal hold), and what the
archive office does with a failed upload: process it again, or remove it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from archive import documents as document_service
from archive.archival_codes import ArchivalRule
from archive.departments import require_known_department
from archive.errors import Forbidden, InvalidInput
from archive.permissions import CONFIDENTIALITY_LEVELS, CONFIDENTIALITY_RANK
from archive.schemas import DocType, DocumentUpdate
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, done, language, render
from search_api.web.i18n import translator
from search_api.web.present import validation_message
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Csrf = Annotated[str, Form()]
EDITORS = ("archivist", "admin")


def _require_editor(user: WebUser) -> None:
    if not user.has_role(*EDITORS):
        raise Forbidden("只有档案管理员或管理员可以修改文档 (archivist or admin only)")


@router.get("/documents/{document_id}/edit", response_class=HTMLResponse)
def edit_page(
    request: Request, document_id: str, session: WebSession, settings: WebSettings, user: WebUser
) -> HTMLResponse:
    _require_editor(user)
    document = document_service.get_visible_document(session, user=user, document_id=document_id)
    departments = list(settings.departments)
    if document.department not in departments:
        departments.insert(0, document.department)
    return render(
        request,
        "document_edit.html",
        {
            "doc": document,
            "review_url": f"/review?document={document.id}",
            "doc_types": [t.value for t in DocType],
            # Nobody files a document above their own clearance: they could no longer open it.
            "levels": [
                lvl for lvl in CONFIDENTIALITY_LEVELS if CONFIDENTIALITY_RANK[lvl] <= user.clearance_rank
            ],
            "departments": departments,
        },
    )


@router.post("/documents/{document_id}/edit")
def save_edit(
    request: Request,
    document_id: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
    title: Annotated[str, Form(max_length=300)],
    doc_type: Annotated[str, Form()],
    confidentiality: Annotated[str, Form()],
    department: Annotated[str, Form(max_length=100)],
    expires_on: Annotated[str, Form(max_length=20)] = "",
    legal_hold: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    _require_editor(user)
    lang = language(request)
    t = translator(lang)
    document = document_service.get_visible_document(session, user=user, document_id=document_id)
    entered = {
        "title": title.strip(),
        "doc_type": doc_type,
        "confidentiality": confidentiality,
        "department": department.strip(),
        "expires_on": expires_on.strip() or None,
        "legal_hold": legal_hold == "on",
    }
    on_file = {
        "title": document.title,
        "doc_type": document.doc_type,
        "confidentiality": document.confidentiality,
        "department": document.department,
        "expires_on": document.expires_on.isoformat() if document.expires_on else None,
        "legal_hold": document.legal_hold,
    }
    # Only what the person changed: an expiry left as it was is not a confirmation of it.
    wanted = {key: value for key, value in entered.items() if value != on_file[key]}
    if "department" in wanted:
        require_known_department(settings, wanted["department"])
    if CONFIDENTIALITY_RANK.get(confidentiality, 99) > user.clearance_rank:
        raise InvalidInput(
            "密级不能高于本人的密级 (a document above your own clearance would be hidden from you)",
            field="confidentiality",
        )
    try:
        data = DocumentUpdate.model_validate(wanted)
    except ValidationError as exc:
        raise InvalidInput(validation_message(lang, exc.errors(), group="document_field")) from exc
    if not wanted:
        return done(request, f"/documents/{document.id}", t("没有修改。"))
    document = document_service.update_document(
        session,
        es=request.app.state.es,
        index_prefix=settings.es_index_prefix,
        user=user,
        document_id=document.id,
        data=data,
        rule=ArchivalRule.from_settings(settings),
    )
    message = t("已保存修改。")
    if "doc_type" in data.model_fields_set and document.status == "queued":
        session.commit()
        request.app.state.queue.enqueue_document(document.id)
        message = t("已保存修改；文档类型已改变，正在按新类型重新识别。")
    return done(request, f"/documents/{document.id}", message)


@router.post("/documents/{document_id}/retry")
def retry(
    request: Request, document_id: str, session: WebSession, user: WebUser, csrf_token: Csrf
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    document = document_service.requeue_failed(session, user=user, document_id=document_id)
    session.commit()
    request.app.state.queue.enqueue_document(document.id)
    return done(request, f"/documents/{document.id}", translator(language(request))("已重新排队处理。"))


@router.post("/documents/{document_id}/remove")
def remove(
    request: Request,
    document_id: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Csrf,
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    document = document_service.get_visible_document(session, user=user, document_id=document_id)
    partner_id, archive_no = document.partner_id, document.archive_no
    unreferenced = document_service.remove_failed(
        session, user=user, document_id=document_id, es=request.app.state.es, prefix=settings.es_index_prefix
    )
    session.commit()
    # The files go only once the record of their removal is committed.
    unreferenced.remove(store=request.app.state.store, ocr_cache_root=settings.data_path / "ocr-cache",
                       engine=session.get_bind())
    t = translator(language(request))
    return done(request, f"/partners/{partner_id}", t("已删除失败的上传 {no}。", no=archive_no))
