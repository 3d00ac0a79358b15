"""Upload: the drag-and-drop page, and the JSON endpoints its script talks to.

The script cannot read the HttpOnly session cookie, so it does not call /api/v1 with a
bearer token; it posts to these endpoints, which run the same service function as the API
with the session's user, and a CSRF header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from archive import documents as document_service
from archive.auth import AuthenticationError, resolve_user
from archive.errors import without_server_paths
from archive.permissions import CONFIDENTIALITY_LEVELS, User
from archive.schemas import Confidentiality, DocType
from search_api.body_guard import requires
from search_api.exposure import refuse_development_secret
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, language, render
from search_api.web.i18n import labeller
from search_api.web.search_pages import visible_partners
from search_api.web.security import check_csrf, session_token

pages = APIRouter(route_class=WebRoute, include_in_schema=False)
# JSON for the page's script: errors stay JSON (the app's handlers), no session is a 401.
json_api = APIRouter(prefix="/web-api", include_in_schema=False)
_CHUNK = 1024 * 1024


@pages.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: WebSession, user: WebUser, partner_id: str = "") -> HTMLResponse:
    return render(
        request,
        "upload.html",
        {
            "partners": visible_partners(session, user),
            "partner_id": partner_id,
            "can_manage": user.has_role("archivist", "admin"),
            "doc_types": [t.value for t in DocType],
            "levels": [
                lvl
                for lvl in CONFIDENTIALITY_LEVELS
                if user.clearance_rank >= CONFIDENTIALITY_LEVELS.index(lvl)
            ],
        },
    )


def _json_user(request: Request, settings: WebSettings, session: WebSession) -> User:
    token = session_token(settings, request)
    if token is None:
        raise AuthenticationError("未登录或会话已过期 (not signed in)")
    refuse_development_secret(settings, request.scope)
    user = resolve_user(settings, session, token)
    request.state.user = user
    return user


@requires("session_json")
def web_json_user(request: Request, settings: WebSettings, session: WebSession) -> User:
    """The signed-in user of a page script's action, with the CSRF header it carries (checked,
    like the credentials, before any body is read)."""
    check_csrf(request, None)
    return _json_user(request, settings, session)


JsonUser = Annotated[User, Depends(web_json_user)]


@requires("session_json")
def web_upload_user(request: Request, settings: WebSettings) -> User:
    """The signed-in user of the upload script, with the CSRF header its form carries."""
    check_csrf(request, None)
    # A session of its own, returned at once: not held while the file is stored.
    with request.app.state.session_factory() as session:
        token = session_token(settings, request)
        if token is None:
            raise AuthenticationError("未登录或会话已过期 (not signed in)")
        refuse_development_secret(settings, request.scope)
        user = resolve_user(settings, session, token)
    request.state.user = user
    return user


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_CHUNK):
        yield chunk


@json_api.post("/documents")
async def upload_file(
    request: Request,
    settings: WebSettings,
    user: Annotated[User, Depends(web_upload_user)],
    file: Annotated[UploadFile, File()],
    partner_id: Annotated[str, Form()],
    doc_type: Annotated[DocType, Form()],
    confidentiality: Annotated[Confidentiality, Form()],
    title: Annotated[str | None, Form(max_length=300)] = None,
    expires_on: Annotated[date | None, Form()] = None,
) -> JSONResponse:
    """The API's upload, for the signed-in user: 202 queued, 200 when the bytes were on file."""
    outcome = await document_service.accept_upload(
        request.app.state.session_factory,
        store=request.app.state.store,
        user=user,
        request=document_service.UploadRequest(
            partner_id=partner_id,
            doc_type=doc_type,
            confidentiality=confidentiality,
            department=None,
            title=title or None,
            expires_on=expires_on,
            filename=file.filename,
            declared_media_type=file.content_type,
        ),
        chunks=_chunks(file),
        max_bytes=settings.max_upload_bytes,
        policy=document_service.IntakePolicy.from_settings(settings),
    )
    document = outcome.document
    if not outcome.duplicate:
        # Committed first: if this enqueue is lost, the worker's sweep still finds the record.
        request.app.state.queue.enqueue_document(document.id)
    label = labeller(language(request))
    return JSONResponse(
        {
            "id": document.id,
            "status": outcome.status,
            "status_label": label("status", outcome.status),
            "archive_no": document.archive_no,
            "title": document.title,
            "duplicate": outcome.duplicate,
        },
        status_code=200 if outcome.duplicate else 202,
    )


@json_api.get("/documents/{document_id}/status")
def document_status(
    request: Request, document_id: str, session: WebSession, settings: WebSettings
) -> JSONResponse:
    """What the upload page polls: status, and the reason when it failed."""
    user = _json_user(request, settings, session)
    document = document_service.get_visible_document(session, user=user, document_id=document_id)
    label = labeller(language(request))
    return JSONResponse(
        {
            "id": document.id,
            "status": document.status,
            "status_label": label("status", document.status),
            "error": without_server_paths(document.error),
            "pages": document.pages,
            "archive_no": document.archive_no,
            "title": document.title,
        },
        headers={"Cache-Control": "no-store"},
    )


@json_api.post("/documents/{document_id}/retry")
def retry_document(
    request: Request, document_id: str, session: WebSession, settings: WebSettings, user: JsonUser
) -> JSONResponse:
    """Process a failed upload again (archive office), from the upload page."""
    document = document_service.requeue_failed(session, user=user, document_id=document_id)
    session.commit()
    request.app.state.queue.enqueue_document(document.id)
    return JSONResponse({"id": document.id, "status": document.status}, status_code=202)


@json_api.post("/documents/{document_id}/remove")
def remove_document(
    request: Request, document_id: str, session: WebSession, settings: WebSettings, user: JsonUser
) -> JSONResponse:
    """Remove a failed upload (archive office), from the upload page."""
    unreferenced = document_service.remove_failed(
        session, user=user, document_id=document_id, es=request.app.state.es, prefix=settings.es_index_prefix
    )
    session.commit()
    unreferenced.remove(store=request.app.state.store, ocr_cache_root=settings.data_path / "ocr-cache",
                       engine=session.get_bind())
    return JSONResponse({"id": document_id, "removed": True})
