"""The review queue (待核对): what the archive office must confirm, correct or mark not present.

`/review` lists the open items; `/review?document=<id>` shows one document's items, each
beside the page it was read from with the reading outlined, so other pages can link to it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from archive import review as review_service
from archive.documents import get_visible_document
from archive.errors import InvalidInput
from archive.models import Document, ReviewItem
from archive.permissions import User, mask_id_numbers, sees_id_numbers, visible_superseder
from archive.schemas import DocType
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, language, render
from search_api.web.present import field_value
from search_api.web.search_pages import _PAGED_TYPES as PAGED_TYPES
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 50
# A field nobody could find is looked for on the first pages, where licences and cards keep it.
_UNLOCATED_PAGES = 3
_VERDICTS = ("accept", "correct", "not_present", "confirm", "reject")


def _shown(user: User, document: Document) -> Any:
    unmasked = sees_id_numbers(user, document.id)

    def show(value: Any) -> Any:
        return mask_id_numbers(value) if isinstance(value, str) and not unmasked else value

    return show


def _highlight(provenance: dict[str, Any]) -> dict[str, float] | None:
    """The reading's box as CSS percentages of the page image, when it is known and sane."""
    box = provenance.get("box")
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    try:
        left, top, right, bottom = (min(max(float(v), 0.0), 1.0) for v in box)
    except (TypeError, ValueError):
        return None
    if right <= left or bottom <= top:
        return None
    return {
        "left": round(left * 100, 3),
        "top": round(top * 100, 3),
        "width": round((right - left) * 100, 3),
        "height": round((bottom - top) * 100, 3),
    }


def _superseded(session: Session, user: User, document: Document) -> bool:
    """Replaced by a newer document the caller sees (a hidden one is as if absent)."""
    return visible_superseder(session, user, document.superseded_by) is not None


def _item_view(lang: str, user: User, document: Document, item: ReviewItem) -> dict[str, Any]:
    show = _shown(user, document)
    provenance = (document.field_provenance or {}).get(item.field) or {}
    page = provenance.get("page") if isinstance(provenance.get("page"), int) else None
    value = (document.fields or {}).get(item.field)
    if item.field == "expires_on" and value is None and (document.fields or {}).get("perpetual") is True:
        value = "长期"
    return {
        "item": item,
        # As the document page shows it (an amount with separators and 元), not as stored.
        "value": show(field_value(lang, item.field, value)) if value is not None else None,
        "raw": show(provenance.get("raw")) if provenance.get("raw") else None,
        "reason": show(item.reason) if item.reason else None,
        "confidence": provenance.get("confidence"),
        "page": page or 1,
        "located": page is not None,
        "box": _highlight(provenance) if page else None,
    }


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    session: WebSession,
    user: WebUser,
    document: Annotated[str, Query(max_length=32)] = "",
    department: Annotated[str, Query(max_length=100)] = "",
    doc_type: DocType | None = None,
    field: Annotated[str, Query(max_length=40)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    if document:
        return _document_review(request, session, user, document)
    if kind and kind not in review_service.KINDS:
        raise InvalidInput(f"未知类别 (unknown kind): {kind}", field="kind")
    filters = review_service.QueueFilters(
        department=department or None,
        doc_type=doc_type.value if doc_type else None,
        field=field or None,
        kind=kind or None,
    )
    total, items = review_service.list_items(
        session, user=user, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    rows = [
        _item_view(language(request), user, item.document, item)
        | {"document": item.document, "superseded": _superseded(session, user, item.document)}
        for item in items
    ]
    return render(
        request,
        "review.html",
        {
            "rows": rows,
            "total": total,
            "counts": review_service.open_counts_by_department(session, user=user),
            "filters": filters,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "kinds": review_service.KINDS,
            "doc_types": [t.value for t in DocType],
        },
    )


def _document_review(request: Request, session: WebSession, user: User, document_id: str) -> HTMLResponse:
    document = get_visible_document(session, user=user, document_id=document_id)
    _total, items = review_service.list_items(
        session,
        user=user,
        filters=review_service.QueueFilters(document_id=document.id, status="all"),
        limit=200,
    )
    # Open items first, in the order they were queued; decided ones after, as a record.
    items.sort(key=lambda item: (item.decision is not None, item.id))
    lang = language(request)
    views = [_item_view(lang, user, document, item) | {"number": n} for n, item in enumerate(items, start=1)]
    replaced = {
        item.id: review_service.would_supersede(session, user=user, document=document)
        for item in items
        if item.kind == review_service.SUPERSESSION
    }
    return render(
        request,
        "review_document.html",
        {
            "doc": document,
            "superseded": _superseded(session, user, document),
            "views": views,
            "pages": _pages_to_show(document, views) if document.media_type in PAGED_TYPES else [],
            "replaced": replaced,
            "may_decide": user.has_role(*review_service.DECIDERS),
        },
    )


def _pages_to_show(document: Document, views: list[dict[str, Any]]) -> list[int]:
    """Each page a reading was made on, once; the first pages too when a field was not found."""
    pages = {v["page"] for v in views if v["located"]}
    if any(not v["located"] and v["item"].kind != review_service.SUPERSESSION for v in views):
        pages |= set(range(1, min(document.pages or 1, _UNLOCATED_PAGES) + 1))
    return sorted(pages)


@router.post("/review/{document_id}/{field}")
def decide(
    request: Request,
    document_id: str,
    field: str,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Annotated[str, Form()],
    decision: Annotated[str, Form(max_length=20)],
    value: Annotated[str, Form(max_length=500)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    if decision not in _VERDICTS:
        raise InvalidInput(f"未知操作 (unknown action): {decision}", field="decision")
    review_service.decide(
        session,
        es=request.app.state.es,
        index_prefix=settings.es_index_prefix,
        user=user,
        document_id=document_id,
        field=field,
        verdict=decision,  # type: ignore[arg-type]
        value=value.strip() or None,
        note=note.strip() or None,
    )
    return RedirectResponse(f"/review?document={document_id}#item-{field}", status_code=303)
