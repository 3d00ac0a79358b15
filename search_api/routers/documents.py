"""Documents: upload, status and fields, the original bytes, changes, retry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from archive import documents as service
from archive import watermark
from archive.archival_codes import ArchivalRule
from archive.departments import require_known_department
from archive.errors import without_server_paths
from archive.models import Document
from archive.permissions import User, visible_superseder
from archive.schemas import (
    Confidentiality,
    DocType,
    DocumentAccepted,
    DocumentOut,
    DocumentStatus,
    DocumentUpdate,
)
from search_api.deps import (
    CurrentUser,
    EsDep,
    QueueDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StoreDep,
)

router = APIRouter(prefix="/documents", tags=["documents"])
_UPLOAD_CHUNK = 1024 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_UPLOAD_CHUNK):
        yield chunk


def document_out(user: User, document: Document, *, session: Session) -> DocumentOut:
    """The response for one document (ID numbers are masked on the way out: search_api/masking)."""
    return DocumentOut(
        id=document.id,
        archive_no=document.archive_no,
        partner_id=document.partner_id,
        doc_type=DocType(document.doc_type),
        confidentiality=Confidentiality(document.confidentiality),
        department=document.department,
        title=document.title,
        original_filename=document.original_filename,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        status=DocumentStatus(document.status),
        error=without_server_paths(document.error),
        error_reason=document.error_reason,
        pages=document.pages,
        ocr_pages=document.ocr_pages,
        sha256=document.sha256,
        expires_on=document.expires_on,
        legal_hold=document.legal_hold,
        fields=document.fields or {},
        field_provenance=document.field_provenance or {},
        field_problems=document.field_problems or {},
        flags=document.flags or [],
        superseded_by=visible_superseder(session, user, document.superseded_by),
        uploaded_by=document.uploaded_by,
        created_at=document.created_at,
        indexed_at=document.indexed_at,
        sm3=document.sm3,
        retention=document.retention,
        filing_year=document.filing_year,
        item_no=document.item_no,
        archival_code=document.archival_code,
        check_status=document.check_status,
    )


@router.post(
    "",
    status_code=202,
    response_model=DocumentAccepted,
    responses={200: {"model": DocumentAccepted, "description": "the same bytes were on file"}},
)
async def upload_document(
    session_factory: SessionFactoryDep,
    store: StoreDep,
    queue: QueueDep,
    settings: SettingsDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="PDF, OFD, DOCX, PNG, JPEG or TIFF")],
    partner_id: Annotated[str, Form()],
    doc_type: Annotated[DocType, Form()],
    confidentiality: Annotated[Confidentiality, Form()],
    department: Annotated[str | None, Form(max_length=100)] = None,
    title: Annotated[str | None, Form(max_length=300)] = None,
    expires_on: Annotated[date | None, Form()] = None,
) -> JSONResponse:
    """Accept a file into a partner's archive; it is extracted and indexed in the background."""
    require_known_department(settings, department or None)
    outcome = await service.accept_upload(
        session_factory,
        store=store,
        user=user,
        request=service.UploadRequest(
            partner_id=partner_id,
            doc_type=doc_type,
            confidentiality=confidentiality,
            department=department,
            title=title,
            expires_on=expires_on,
            filename=file.filename,
            declared_media_type=file.content_type,
        ),
        chunks=_chunks(file),
        max_bytes=settings.max_upload_bytes,
        policy=service.IntakePolicy.from_settings(settings),
    )
    document = outcome.document
    if not outcome.duplicate:
        # Committed first: if this enqueue is lost, the worker's sweep still finds the record.
        queue.enqueue_document(document.id)
    body = DocumentAccepted(
        id=document.id,
        status=DocumentStatus(outcome.status),
        archive_no=document.archive_no,
        duplicate=outcome.duplicate,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if outcome.duplicate else 202)


@router.get("/{document_id}", response_model=DocumentOut)
def get_document(document_id: str, session: SessionDep, user: CurrentUser) -> DocumentOut:
    """Status, extracted fields and metadata of one document."""
    document = service.view_document(session, user=user, document_id=document_id)
    return document_out(user, document, session=session)


@router.get("/{document_id}/content", response_class=FileResponse)
def get_content(document_id: str, session: SessionDep, store: StoreDep, user: CurrentUser) -> Response:
    """The original bytes, as an attachment; a borrower gets a watermarked copy (403 if view-only)."""
    document = service.download_document(session, user=user, document_id=document_id)
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.original_filename)}",
        "X-Content-Type-Options": "nosniff",
    }
    # Under a borrow grant: a watermarked copy (the original stays as it is), or nothing.
    stamp = watermark.loan_stamp(session, user=user, document=document, download=True)
    if stamp is not None:
        marked = watermark.watermark_file(store.path_for(document.sha256), document.media_type, stamp)
        no_store = {**headers, "Cache-Control": "no-store"}
        return Response(marked, media_type=document.media_type, headers=no_store)
    return FileResponse(store.path_for(document.sha256), media_type=document.media_type, headers=headers)


@router.patch("/{document_id}", response_model=DocumentOut)
def update_document(
    document_id: str,
    data: DocumentUpdate,
    session: SessionDep,
    es: EsDep,
    queue: QueueDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> DocumentOut:
    """Change type, confidentiality, department, title, expiry, legal hold or extracted fields.

    A new type means the document is read again as that type."""
    require_known_department(settings, data.department)
    document = service.update_document(
        session, es=es, index_prefix=settings.es_index_prefix, user=user, document_id=document_id, data=data,
        rule=ArchivalRule.from_settings(settings),
    )
    if document.status == "queued" and "doc_type" in data.model_fields_set:
        session.commit()
        queue.enqueue_document(document.id)
    return document_out(user, document, session=session)


@router.post("/{document_id}/retry", status_code=202, response_model=DocumentOut)
def retry_document(
    document_id: str,
    session: SessionDep,
    queue: QueueDep,
    user: CurrentUser,
) -> DocumentOut:
    """Put a failed document back on the queue."""
    document = service.requeue_failed(session, user=user, document_id=document_id)
    session.commit()
    queue.enqueue_document(document.id)
    return document_out(user, document, session=session)


@router.delete("/{document_id}", status_code=204, response_class=Response)
def remove_failed_document(
    document_id: str,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    store: StoreDep,
    user: CurrentUser,
) -> Response:
    """Remove a document whose processing failed (record, pages, original); its number is not reused."""
    unreferenced = service.remove_failed(
        session, user=user, document_id=document_id, es=es, prefix=settings.es_index_prefix
    )
    session.commit()
    # The files go only once the record of their removal is committed.
    unreferenced.remove(store=store, ocr_cache_root=settings.data_path / "ocr-cache",
                       engine=session.get_bind())
    return Response(status_code=204)
