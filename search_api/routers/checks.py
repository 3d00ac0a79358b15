"""四性检测: a document's items, the archive office's failure list, runs, and the reports."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Response

from archive import check_reports as service
from archive.check_reports import CheckReport
from archive.errors import InvalidInput
from archive.permissions import User
from archive.schemas import CheckFailureOut, CheckItemOut, CheckRunOut, DocumentChecksOut
from search_api.deps import CurrentUser, SessionDep
from search_api.routers.reports import attachment_response

router = APIRouter(tags=["checks"])
ReportFormat = Literal["json", "xlsx"]
_XLSX = {200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}}


@router.get("/documents/{document_id}/checks", response_model=DocumentChecksOut)
def document_checks(document_id: str, session: SessionDep, user: CurrentUser) -> DocumentChecksOut:
    """The 四性检测 items of one document: code, property, name, result and evidence."""
    document, check = service.latest_check(session, user=user, document_id=document_id)
    return DocumentChecksOut(
        document_id=document.id,
        archival_code=document.archival_code,
        status=document.check_status,
        stage=check.stage if check else None,
        checked_at=check.at if check else None,
        items=[CheckItemOut(**item) for item in (check.items if check else [])],
    )


def _answer(report: CheckReport, fmt: ReportFormat, user: User) -> dict[str, Any] | Response:
    if fmt == "xlsx":
        return attachment_response(service.render_report_xlsx(report, user=user))
    return report.as_json()


@router.get("/documents/{document_id}/checks/report", responses=_XLSX)
def document_report(
    document_id: str,
    session: SessionDep,
    user: CurrentUser,
    format: ReportFormat = "json",  # noqa: A002
) -> Any:
    """One document's 四性检测报告, JSON or XLSX."""
    return _answer(service.document_report(session, user=user, document_id=document_id), format, user)


@router.get("/check-runs", response_model=list[CheckRunOut])
def check_runs(session: SessionDep, user: CurrentUser) -> list[CheckRunOut]:
    """Batch runs: bulk imports, periodic and on-demand re-checks (archive office, compliance, admin)."""
    return [CheckRunOut.model_validate(run) for run in service.list_runs(session, user=user)]


@router.get("/check-runs/{run_id}/report", responses=_XLSX)
def run_report(
    run_id: str,
    session: SessionDep,
    user: CurrentUser,
    format: ReportFormat = "json",  # noqa: A002
) -> Any:
    """The 四性检测报告 of one run (a batch), JSON or XLSX."""
    return _answer(service.run_report(session, user=user, run_id=run_id), format, user)


@router.get("/check-report", responses=_XLSX)
def period_report(
    session: SessionDep,
    user: CurrentUser,
    since: date,
    until: date,
    format: ReportFormat = "json",  # noqa: A002
) -> Any:
    """The 四性检测报告 of every check between two dates (inclusive), JSON or XLSX."""
    if until < since or (until - since).days > 366:
        raise InvalidInput(
            "检测期间须为一年以内，且结束不早于开始 (a period of at most a year)", field="until"
        )
    return _answer(service.period_report(session, user=user, since=since, until=until), format, user)


@router.get("/check-failures", response_model=list[CheckFailureOut])
def check_failures(session: SessionDep, user: CurrentUser) -> list[CheckFailureOut]:
    """Documents whose latest check failed, or that were never checked, for the archive office."""
    return [
        CheckFailureOut(
            document_id=document.id,
            archival_code=document.archival_code,
            title=document.title,
            status=document.status,
            check_status=document.check_status,
            checked_at=document.checked_at,
            failed_items=[CheckItemOut(**i) for i in (check.items if check else []) if i["result"] == "fail"],
        )
        for document, check in service.failed_documents(session, user=user)
    ]
