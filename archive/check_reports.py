"""The 四性检测报告: per document, per run (an intake, an import batch, a re-check) and per
period, as JSON and as an XLSX an inspector can read. Rows only for documents the caller
may open (the visibility clause sits in the SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.checks import PROPERTIES, RESULTS
from archive.documents import get_visible_document
from archive.errors import Forbidden, NotFound
from archive.exports import XLSX_MEDIA_TYPE, Attachment, Heading, Table, xlsx_bytes
from archive.models import CheckRun, Document, DocumentCheck
from archive.permissions import User, document_visibility_clause
from archive.reports import today

REPORT_ROLES = ("archivist", "compliance", "admin")
SUMMARY_COLUMNS = ("检测项编号", "检测属性", "检测项目", "通过", "未通过", "不适用")
DETAIL_COLUMNS = (
    "序号",
    "档号",
    "题名",
    "检测环节",
    "检测时间",
    "检测项编号",
    "检测属性",
    "检测项目",
    "结果",
    "依据",
)
STAGE_LABELS = {"intake": "归档", "storage": "长期保存"}
RUN_KINDS = {"intake": "归档检测", "import": "批量导入检测", "storage": "定期检测", "on_demand": "按需检测"}


@dataclass(frozen=True)
class ReportRow:
    document_id: str
    archival_code: str | None
    title: str
    stage: str
    at: datetime
    items: list[dict[str, str]]


@dataclass(frozen=True)
class CheckReport:
    title: str
    scope: dict[str, Any]
    rows: list[ReportRow]

    def summary(self) -> list[dict[str, Any]]:
        counts: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            for item in row.items:
                entry = counts.setdefault(
                    item["code"],
                    {
                        "code": item["code"],
                        "property": item["property"],
                        "name": item["name"],
                        "pass": 0,
                        "fail": 0,
                        "not_applicable": 0,
                    },
                )
                entry[item["result"]] += 1
        return sorted(counts.values(), key=lambda e: _code_order(e["code"]))

    def as_json(self) -> dict[str, Any]:
        failed = sum(1 for row in self.rows if any(i["result"] == "fail" for i in row.items))
        return {
            "title": self.title,
            "scope": self.scope,
            "documents": len(self.rows),
            "failed_documents": failed,
            "summary": self.summary(),
            "documents_checked": [
                {
                    "document_id": r.document_id,
                    "archival_code": r.archival_code,
                    "title": r.title,
                    "stage": r.stage,
                    "at": r.at.isoformat(),
                    "items": r.items,
                }
                for r in self.rows
            ],
        }


def _code_order(code: str) -> tuple[Any, ...]:
    parts = code.replace(".", "-").split("-")
    return (parts[0], *[int(p) if p.isdigit() else 0 for p in parts[1:]])


def require_report_role(user: User) -> None:
    if not user.has_role(*REPORT_ROLES):
        raise Forbidden("四性检测报告仅限档案管理员、合规或管理员 (archivist, compliance or admin only)")


def latest_check(session: Session, *, user: User, document_id: str) -> tuple[Document, DocumentCheck | None]:
    """The document (if the caller may see it) and its most recent check."""
    document = get_visible_document(session, user=user, document_id=document_id)
    check = session.scalars(
        select(DocumentCheck)
        .where(DocumentCheck.document_id == document.id)
        .order_by(DocumentCheck.at.desc(), DocumentCheck.id.desc())
        .limit(1)
    ).first()
    return document, check


def document_report(session: Session, *, user: User, document_id: str) -> CheckReport:
    document, check = latest_check(session, user=user, document_id=document_id)
    rows = [] if check is None else [_row(document, check)]
    record_event(
        session, user=user.sub, action="check_report", target=document.id, details={"scope": "document"}
    )
    return CheckReport(
        title=f"四性检测报告（{document.archival_code or document.archive_no}）",
        scope={"document_id": document.id},
        rows=rows,
    )


def _row(document: Document, check: DocumentCheck) -> ReportRow:
    return ReportRow(document.id, document.archival_code, document.title, check.stage, check.at, check.items)


def run_report(session: Session, *, user: User, run_id: str) -> CheckReport:
    require_report_role(user)
    run = session.get(CheckRun, run_id)
    if run is None:
        raise NotFound(f"检测批次不存在 (check run {run_id} not found)")
    rows = _rows(session, user, DocumentCheck.run_id == run.id)
    record_event(session, user=user.sub, action="check_report", target=run.id, details={"scope": "run"})
    return CheckReport(
        title=f"四性检测报告（{RUN_KINDS.get(run.kind, run.kind)} "
        f"{run.started_at.strftime('%Y-%m-%d %H:%M')}）",
        scope={
            "run_id": run.id,
            "kind": run.kind,
            "started_at": run.started_at.isoformat(),
            "actor": run.actor,
        },
        rows=rows,
    )


def period_report(session: Session, *, user: User, since: date, until: date) -> CheckReport:
    require_report_role(user)
    # The whole last day, without stepping past it (31 December 9999 has no next day).
    start = datetime.combine(since, time.min, tzinfo=UTC)
    end = datetime.combine(until, time.max, tzinfo=UTC)
    rows = _rows(session, user, DocumentCheck.at >= start, DocumentCheck.at <= end)
    record_event(
        session,
        user=user.sub,
        action="check_report",
        details={"scope": "period", "since": since.isoformat(), "until": until.isoformat()},
    )
    return CheckReport(
        title=f"四性检测报告（{since.isoformat()} 至 {until.isoformat()}）",
        scope={"since": since.isoformat(), "until": until.isoformat()},
        rows=rows,
    )


def _rows(session: Session, user: User, *conditions: Any) -> list[ReportRow]:
    query = (
        select(DocumentCheck, Document)
        .join(Document, Document.id == DocumentCheck.document_id)
        .where(document_visibility_clause(user), *conditions)
        .order_by(Document.archival_code, DocumentCheck.at)
    )
    return [_row(document, check) for check, document in session.execute(query)]


@dataclass(frozen=True)
class RunSummary:
    """A run as its reader may know it: documents and failures counted among what they see."""

    id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    actor: str
    documents: int
    failed: int
    note: str | None


def list_runs(session: Session, *, user: User, limit: int = 50) -> list[RunSummary]:
    require_report_role(user)
    runs = list(
        session.scalars(
            select(CheckRun)
            .where(CheckRun.kind != "intake")
            .order_by(CheckRun.started_at.desc())
            .limit(limit)
        )
    )
    counts: dict[str, tuple[int, int]] = {}
    if runs:
        # The run's own totals count every document checked, hidden ones too: counted again here.
        rows = session.execute(
            select(
                DocumentCheck.run_id,
                func.count(DocumentCheck.id),
                func.count(DocumentCheck.id).filter(DocumentCheck.passed.is_(False)),
            )
            .join(Document, Document.id == DocumentCheck.document_id)
            .where(DocumentCheck.run_id.in_([run.id for run in runs]), document_visibility_clause(user))
            .group_by(DocumentCheck.run_id)
        )
        counts = {run_id: (documents, failed) for run_id, documents, failed in rows}
    return [
        RunSummary(
            run.id, run.kind, run.started_at, run.finished_at, run.actor, *counts.get(run.id, (0, 0)),
            note=run.note,
        )
        for run in runs
    ]


def failed_documents(
    session: Session, *, user: User, limit: int = 500
) -> list[tuple[Document, DocumentCheck | None]]:
    """Documents whose latest check failed, or that were never checked: the archive office's list."""
    require_report_role(user)
    documents = list(
        session.scalars(
            select(Document)
            .where(
                document_visibility_clause(user),
                (Document.check_status == "failed")
                | (Document.check_status.is_(None) & Document.status.in_(("indexed", "failed"))),
            )
            .order_by(Document.archival_code)
            .limit(limit)
        )
    )
    latest: dict[str, DocumentCheck] = {}
    if documents:
        newest = (
            select(DocumentCheck.document_id, func.max(DocumentCheck.id).label("id"))
            .where(DocumentCheck.document_id.in_([d.id for d in documents]))
            .group_by(DocumentCheck.document_id)
            .subquery()
        )
        for check in session.scalars(select(DocumentCheck).join(newest, DocumentCheck.id == newest.c.id)):
            latest[check.document_id] = check
    return [(document, latest.get(document.id)) for document in documents]


def render_report_xlsx(report: CheckReport, *, user: User) -> Attachment:
    """Two sheets: 汇总 (per item: pass, fail, not applicable) and 明细 (every item of every document)."""
    made_on = today()
    reach = "全部部门" if user.sees_all_departments else "、".join(sorted(user.departments)) or "公开档案"
    heading = Heading(title=report.title, department=reach, made_on=made_on)
    summary = Table(
        columns=SUMMARY_COLUMNS,
        rows=[
            (e["code"], PROPERTIES[e["property"]], e["name"], e["pass"], e["fail"], e["not_applicable"])
            for e in report.summary()
        ],
        heading=heading,
        widths=(12, 10, 44, 8, 8, 8),
        sheet_title="汇总",
    )
    rows = []
    for row in report.rows:
        for item in row.items:
            rows.append(
                (
                    len(rows) + 1,
                    row.archival_code or "",
                    row.title,
                    STAGE_LABELS.get(row.stage, row.stage),
                    row.at.strftime("%Y-%m-%d %H:%M"),
                    item["code"],
                    PROPERTIES[item["property"]],
                    item["name"],
                    RESULTS[item["result"]],
                    item["evidence"],
                )
            )
    details = Table(
        columns=DETAIL_COLUMNS,
        rows=rows,
        heading=heading,
        widths=(6, 30, 30, 10, 17, 12, 10, 40, 8, 80),
        sheet_title="明细",
    )
    stamp = made_on.strftime("%Y%m%d")
    return Attachment(
        filename=f"四性检测报告-{stamp}.xlsx",
        ascii_filename=f"four-property-checks-{stamp}.xlsx",
        media_type=XLSX_MEDIA_TYPE,
        content=xlsx_bytes(summary, details),
    )
