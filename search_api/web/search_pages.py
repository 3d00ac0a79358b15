"""Search, a document's page (fields, page images beside their text) and its download."""

from __future__ import annotations

import io
import math
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from PIL import Image
from sqlalchemy import func, select

from archive import check_reports as check_service
from archive import documents as document_service
from archive import watermark
from archive.errors import InvalidInput, NotFound
from archive.masking import find_id_numbers
from archive.models import Document, DocumentPage, Partner
from archive.permissions import (
    mask_id_numbers,
    partner_visibility_clause,
    sees_id_numbers,
    visible_superseder,
)
from archive.schemas import DocType, PartnerKind
from archive.search import SearchFilters, search_documents
from archive.settings import Settings
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, language, render
from search_api.web.i18n import labeller
from search_api.web.page_images import (
    PageImageCache,
    black_out,
    draw_page,
    id_number_boxes,
    png_bytes,
    refuse_unplaced,
)
from search_api.web.present import (
    CERTAINTY_WORDS,
    describe_entries,
    local_time,
    message_in,
    readings,
    resolve_names,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 20
_PAGED_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/tiff"}


def visible_partners(session: WebSession, user: WebUser) -> list[tuple[str, str, str]]:
    """(id, name, number) of partners the user may see, for choosers; a pending partner's
    number is its provisional one."""
    rows = session.execute(
        select(
            Partner.id,
            Partner.name,
            func.coalesce(Partner.archive_no, Partner.provisional_no).label("number"),
        )
        .where(partner_visibility_clause(user))
        .order_by(Partner.name)
        .limit(1000)
    )
    return [(row.id, row.name, row.number) for row in rows]


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    q: Annotated[str, Query(max_length=500)] = "",
    partner_id: str = "",
    doc_type: DocType | None = None,
    department: str = "",
    kind: PartnerKind | None = None,
    expires_after: str = "",
    expires_before: str = "",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
) -> HTMLResponse:
    filters = SearchFilters(
        partner_id=partner_id or None,
        doc_type=doc_type.value if doc_type else None,
        department=department or None,
        kind=kind.value if kind else None,
        expires_before=_date(expires_before, "expires_before"),
        expires_after=_date(expires_after, "expires_after"),
    )
    result = search_documents(
        request.app.state.es,
        request.app.state.audit,
        prefix=settings.es_index_prefix,
        user=user,
        q=q or None,
        filters=filters,
        page=page,
        size=PAGE_SIZE,
    )
    partners = visible_partners(session, user)
    return render(
        request,
        "search.html",
        {
            "q": q,
            "result": result,
            "filters": filters,
            "partners": partners,
            "partner_names": {pid: name for pid, name, _ in partners},
            "page": page,
            "pages": max(1, math.ceil(min(result.total, 10_000) / PAGE_SIZE)),
        },
    )


def _date(text: str, field: str) -> date | None:
    # Empty date inputs arrive as empty strings: no bound, not an error.
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"日期格式应为 2026-01-31 (a date like 2026-01-31): {text}", field=field) from exc


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request, document_id: str, session: WebSession, settings: WebSettings, user: WebUser
) -> HTMLResponse:
    document = document_service.view_document(session, user=user, document_id=document_id)
    unmasked = sees_id_numbers(user, document.id)
    show = (lambda text: text) if unmasked else mask_id_numbers
    lang = language(request)
    label = labeller(lang)
    pages = [
        {
            "number": p.number,
            "text": show(p.text),
            "source": label("page_source", p.source),
            "confidence": p.ocr_confidence,
        }
        for p in document.page_texts
    ]
    _same, check = check_service.latest_check(session, user=user, document_id=document.id)
    when = local_time(settings.zone)
    history = document_service.change_history(session, document_id=document.id)
    # Replaced only by a document the caller sees: a hidden newer one is as if absent.
    superseded_by = visible_superseder(session, user, document.superseded_by)
    names = resolve_names(session, user=user, lang=lang, ids=[superseded_by or ""])
    perpetual = (document.fields or {}).get("perpetual") is True
    flags = document.flags or []
    return render(
        request,
        "document.html",
        {
            "doc": document,
            "partner": document.partner,
            "readings": readings(document, lang=lang, shown=show, when=when),
            "flags": [{**f, "message": show(message_in(lang, str(f.get("message", ""))))} for f in flags],
            "error": message_in(lang, document.error) if document.error else None,
            "pages": pages,
            "page_images": document.media_type in _PAGED_TYPES,
            "check": check,
            "stamp": filing_stamp(document, settings),
            "perpetual": perpetual,
            "expired": bool(document.expires_on and not perpetual and document.expires_on < settings.today()),
            "superseded": names.document(superseded_by) if superseded_by else None,
            "history": describe_entries(session, user=user, lang=lang, entries=history),
            "can_edit": user.has_role("archivist", "admin"),
            "certainty_words": CERTAINTY_WORDS,
            "review_url": f"/review?document={document.id}",
            "can_download": sees_id_numbers(user, document.id)
            or not document_service.shows_an_id_number(document),
        },
    )


def filing_stamp(document: Document, settings: Settings) -> dict[str, object]:
    """The 归档章 items of DA/T 22-2015: 全宗号, 年度, 保管期限, 件号, and 机构（问题）, 页数."""
    with_org = "{org}" in settings.archival_code_format
    codes = settings.organization_codes
    organisation = codes.get(document.department, document.department) if with_org else None
    return {
        "fonds": settings.fonds_no,
        "year": document.filing_year,
        "retention": document.retention,
        "item": f"{document.item_no:04d}" if document.item_no else None,
        "organisation": organisation,
        "pages": document.pages,
    }


@router.get("/documents/{document_id}/download")
def download(document_id: str, request: Request, session: WebSession, user: WebUser) -> Response:
    document = document_service.download_document(session, user=user, document_id=document_id)
    path = request.app.state.store.path_for(document.sha256)
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.original_filename)}",
        "X-Content-Type-Options": "nosniff",
    }
    stamp = watermark.loan_stamp(session, user=user, document=document, download=True)
    if stamp is not None:
        marked = watermark.watermark_file(path, document.media_type, stamp)
        no_store = {**headers, "Cache-Control": "no-store"}
        return Response(marked, media_type=document.media_type, headers=no_store)
    return FileResponse(path, media_type=document.media_type, headers=headers)


@router.get("/documents/{document_id}/pages/{number}.png")
def page_image(
    document_id: str, number: int, request: Request, session: WebSession, settings: WebSettings, user: WebUser
) -> Response:
    """One page as a PNG at ~100 dpi, for those who may see the document; ID numbers blacked out
    for those who see them masked."""
    document = document_service.get_visible_document(session, user=user, document_id=document_id)
    if number < 1 or document.media_type not in _PAGED_TYPES or document.status != "indexed":
        # Only what ingest accepted is drawn: a file it refused (too large, corrupt) never is.
        raise NotFound(f"没有第 {number} 页 (no page {number})")
    page = session.scalar(
        select(DocumentPage).where(DocumentPage.document_id == document.id, DocumentPage.number == number)
    )
    if page is None and number > (document.pages or 1):
        raise NotFound(f"没有第 {number} 页 (no page {number})")
    masked = not sees_id_numbers(user, document.id)
    cache: PageImageCache = request.app.state.page_images
    key = (document.sha256, str(number), "masked" if masked else "plain", str(document.indexed_at))
    png = cache.get(key)
    if png is None:
        path = request.app.state.store.path_for(document.sha256)
        drawn = draw_page(path, document.media_type, number, max_pixels=settings.max_image_pixels)
        image = drawn.image
        if masked:
            strict = document_service.shows_an_id_number(document)
            provenance = [
                entry["box"]
                for name, entry in (document.field_provenance or {}).items()
                if name == "id_number" and entry.get("page") == number and isinstance(entry.get("box"), list)
            ]
            boxes = id_number_boxes(
                image=image, text_boxes=drawn.text_boxes, layout=page.layout if page else None,
                provenance_boxes=provenance, strict=strict,
            )
            if boxes is None and (strict or find_id_numbers(page.text if page else "")):
                raise refuse_unplaced()
            if strict and not boxes and page is not None and page.source == "ocr":
                # An ID card page on which OCR found no number: nothing says where it is.
                raise refuse_unplaced()
            image = black_out(image, boxes or [])
        png = png_bytes(image)
        cache.put(key, png)
    # A borrower's page is marked with the time it was viewed: drawn on the cached page each time.
    stamp = watermark.loan_stamp(session, user=user, document=document, download=False)
    if stamp is not None:
        png = png_bytes(watermark.watermark_image(Image.open(io.BytesIO(png)), stamp))
    return Response(
        png,
        media_type="image/png",
        # Never kept by a browser: a borrower's page carries the time it was viewed, anyone
        # else's is drawn for who they are (numbers blacked out or not).
        headers={"Cache-Control": "no-store" if stamp is not None else "private, no-store",
                 "X-Content-Type-Options": "nosniff"},
    )
