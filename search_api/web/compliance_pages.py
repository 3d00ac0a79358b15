"""Compliance: the expiry dashboard (expired, 30/60/90 days, by department, by month) and CSV."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from archive.compliance import ExpiringDocument, expiring_documents, expiry_unknown_documents
from archive.exports import CSV_MEDIA_TYPE, Table, csv_bytes
from archive.permissions import mask_id_numbers, masks_id_numbers_for, sees_id_numbers
from archive.review import open_counts_by_department
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, language, render
from search_api.web.i18n import labeller, translator
from search_api.web.present import yes_no

router = APIRouter(route_class=WebRoute, include_in_schema=False)
_BANDS = (("expired", "已过期"), ("d30", "30 天内"), ("d60", "31–60 天"), ("d90", "61–90 天"))
# Twelve months ahead from the first of this month: at most 366 + 31 days.
_HORIZON_DAYS = 400


def _band(item: ExpiringDocument) -> str | None:
    if item.expired:
        return "expired"
    if item.days_left <= 30:
        return "d30"
    if item.days_left <= 60:
        return "d60"
    if item.days_left <= 90:
        return "d90"
    return None


def _months(today: date) -> list[date]:
    return [
        date(today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1, 1) for i in range(12)
    ]


@router.get("/compliance", response_class=HTMLResponse)
def dashboard(
    request: Request, session: WebSession, settings: WebSettings, user: WebUser, band: str = ""
) -> HTMLResponse:
    today = settings.today()
    items = expiring_documents(session, user=user, within_days=_HORIZON_DAYS, today=today)
    banded = [(item, _band(item)) for item in items]
    counts = Counter(b for _, b in banded if b)
    by_department: dict[str, Counter[str]] = defaultdict(Counter)
    for item, b in banded:
        if b:
            by_department[item.document.department][b] += 1
    months = _months(today)
    per_month = Counter(
        (item.document.expires_on.year, item.document.expires_on.month)
        for item in items
        if not item.expired and item.document.expires_on is not None
    )
    bars = [{"month": m, "count": per_month.get((m.year, m.month), 0)} for m in months]
    peak = max([b["count"] for b in bars] + [1])
    shown = [(item, b) for item, b in banded if b and (not band or b == band)]
    unknown = []
    for entry in expiry_unknown_documents(session, user=user):
        show = (lambda text: text) if sees_id_numbers(user, entry.document.id) else mask_id_numbers
        document = entry.document
        reason = show(entry.reason or "")
        unknown.append({"document": document, "title": show(document.title), "reason": reason})
    for row in unknown:
        by_department[row["document"].department]["unknown"] += 1
    queue = dict(open_counts_by_department(session, user=user))
    departments = sorted(set(by_department) | set(queue))
    return render(
        request,
        "compliance.html",
        {
            "bands": _BANDS,
            "counts": counts,
            "by_department": [(d, by_department.get(d, Counter()), queue.get(d, 0)) for d in departments],
            "unknown": unknown,
            "queue_total": sum(queue.values()),
            "bars": bars,
            "peak": peak,
            "items": shown,
            "band": band,
        },
    )


@router.get("/compliance/expiring.csv")
def export_csv(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    within_days: Annotated[int, Query(ge=1, le=3650)] = 90,
) -> Response:
    """The documents the user may see that expire within N days, expired ones first."""
    lang = language(request)
    t, label = translator(lang), labeller(lang)
    today = settings.today()
    columns = [
        t(name) for name in ("档案编号", "所属客商", "文档类型", "标题", "部门", "到期", "剩余天数", "已过期")
    ]
    rows = [
        [
            item.document.archive_no,
            item.document.partner.name,
            label("doc_type", item.document.doc_type),
            item.document.title,
            item.document.department,
            item.document.expires_on.isoformat() if item.document.expires_on else "",
            item.days_left,
            yes_no(lang, item.expired),
        ]
        for item in expiring_documents(session, user=user, within_days=within_days, today=today)
    ]
    # Never silently left out: what could not be dated follows, marked as such.
    rows += [
        [
            unknown.document.archive_no,
            unknown.document.partner.name,
            label("doc_type", unknown.document.doc_type),
            unknown.document.title,
            unknown.document.department,
            t("到期日未知"),
            "",
            "",
        ]
        for unknown in expiry_unknown_documents(session, user=user)
    ]
    body = csv_bytes(Table(columns=columns, rows=rows, mask_ids=masks_id_numbers_for(user)))
    stamp = today.strftime("%Y%m%d")
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="expiring-{within_days}d-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
