"""四性检测 in the browser: the archive office's list of failed documents, the check runs,
the report for a period, and the XLSX downloads (the same services as the API)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from archive import check_reports as service
from archive.audit import record_event
from archive.audit_retention import export_before, purge_before, require_exporter
from archive.errors import InvalidInput
from archive.reports import today
from search_api.routers.reports import attachment_response
from search_api.web.core import WebRoute, WebSession, WebSettings, WebUser, render
from search_api.web.security import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/checks", response_class=HTMLResponse)
def checks_page(
    request: Request,
    session: WebSession,
    user: WebUser,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    failures = service.failed_documents(session, user=user)
    runs = service.list_runs(session, user=user)
    until = until or today()
    since = since or until - timedelta(days=30)
    report = None
    if "since" in request.query_params:
        _check_period(since, until)
        report = service.period_report(session, user=user, since=since, until=until)
    return render(
        request,
        "checks.html",
        {
            "failures": failures,
            "runs": runs,
            "since": since,
            "until": until,
            "report": report,
        },
    )


def _check_period(since: date, until: date) -> None:
    if until < since or (until - since).days > 366:
        raise InvalidInput(
            "检测期间须为一年以内，且结束不早于开始 (a period of at most a year)", field="until"
        )


@router.get("/checks/report.xlsx")
def period_xlsx(session: WebSession, user: WebUser, since: date, until: date) -> Response:
    _check_period(since, until)
    report = service.period_report(session, user=user, since=since, until=until)
    return attachment_response(service.render_report_xlsx(report, user=user))


@router.get("/checks/runs/{run_id}.xlsx")
def run_xlsx(run_id: str, session: WebSession, user: WebUser) -> Response:
    report = service.run_report(session, user=user, run_id=run_id)
    return attachment_response(service.render_report_xlsx(report, user=user))


@router.get("/documents/{document_id}/checks.xlsx")
def document_xlsx(document_id: str, session: WebSession, user: WebUser) -> Response:
    report = service.document_report(session, user=user, document_id=document_id)
    return attachment_response(service.render_report_xlsx(report, user=user))


@router.get("/audit/export.json")
def audit_export(session: WebSession, user: WebUser, before: date) -> Response:
    """Entries older than `before` with the chain's verification (admin)."""
    require_exporter(user)
    moment = datetime.combine(before, time.min, tzinfo=UTC)
    export = export_before(session, before=moment)
    record_event(
        session,
        user=user.sub,
        action="audit_export",
        details={"before": moment.isoformat(), "entries": export.entries, "sha256": export.sha256},
    )
    return Response(
        export.content,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="audit-before-{before.isoformat()}.json"'},
    )


@router.post("/audit/purge")
def audit_purge(
    request: Request,
    session: WebSession,
    settings: WebSettings,
    user: WebUser,
    csrf_token: Annotated[str, Form()],
    before: Annotated[date, Form()],
) -> RedirectResponse:
    """Export, then purge, what is older than `before` (admin; never younger than the retention)."""
    check_csrf(request, csrf_token)
    moment = datetime.combine(before, time.min, tzinfo=UTC)
    target = settings.data_path / "audit-exports" / f"audit-before-{before.isoformat()}.json"
    purge_before(session, user=user, actor=user.sub, before=moment, export_to=target, settings=settings)
    return RedirectResponse("/audit?action=audit_purge", status_code=303)
