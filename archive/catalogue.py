"""档案目录: one row per document the caller may see, in archive-number order, exportable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from archive.archival_codes import RETENTION_LABELS
from archive.audit import record_event
from archive.exports import Attachment, Heading, Table, table_bytes
from archive.labels import CONFIDENTIALITY_LABELS, DOC_TYPE_LABELS
from archive.models import Document, Partner
from archive.permissions import User, document_visibility_clause, masks_id_numbers_for
from archive.reports import STATUS_LABELS, effective_expiry, today

CatalogueFormat = Literal["json", "csv", "xlsx"]

# The 归档章 items of DA/T 22-2015 follow the catalogue's own columns: 档号, then 全宗号, 年度,
# 保管期限, 件号 (页数 is already there).
CATALOGUE_COLUMNS = (
    "序号", "档案编号", "客商", "客商档案编号", "文档类型", "题名",
    "页数", "上传日期", "到期日期", "密级", "状态",
    "档号", "全宗号", "年度", "保管期限", "件号",
)
_WIDTHS = (6, 26, 36, 22, 14, 36, 8, 12, 12, 8, 10, 30, 8, 6, 10, 6)


class CatalogueRow(BaseModel):
    document_id: str
    archive_no: str
    partner_id: str
    partner_name: str
    partner_archive_no: str | None
    doc_type: str
    doc_type_label: str
    title: str
    pages: int | None
    uploaded_on: date
    expires_on: date | None
    confidentiality: str
    confidentiality_label: str
    department: str
    status: str
    status_label: str
    archival_code: str | None = None
    fonds: str | None = None
    filing_year: int | None = None
    retention: str | None = None
    retention_label: str | None = None
    item_no: int | None = None


class CataloguePage(BaseModel):
    total: int
    page: int
    size: int
    items: list[CatalogueRow]


@dataclass(frozen=True)
class CatalogueFilter:
    """What the office narrows the catalogue to; every field optional."""

    partner_id: str | None = None
    doc_type: str | None = None
    department: str | None = None
    status: str | None = None


def _conditions(user: User, chosen: CatalogueFilter) -> list[ColumnElement[bool]]:
    # Destroyed documents are deleted from the record, so every remaining row belongs here.
    conditions = [document_visibility_clause(user)]
    if chosen.partner_id:
        conditions.append(Document.partner_id == chosen.partner_id)
    if chosen.doc_type:
        conditions.append(Document.doc_type == chosen.doc_type)
    if chosen.department:
        conditions.append(Document.department == chosen.department)
    if chosen.status:
        conditions.append(Document.status == chosen.status)
    return conditions


def _row(document: Document, partner: Partner, zone: tzinfo) -> CatalogueRow:
    return CatalogueRow(
        document_id=document.id,
        archive_no=document.archive_no,
        partner_id=partner.id,
        partner_name=partner.name,
        partner_archive_no=partner.archive_no,
        doc_type=document.doc_type,
        doc_type_label=DOC_TYPE_LABELS.get(document.doc_type, document.doc_type),
        title=document.title,
        pages=document.pages,
        uploaded_on=document.created_at.astimezone(zone).date(),
        expires_on=effective_expiry(document),
        confidentiality=document.confidentiality,
        confidentiality_label=CONFIDENTIALITY_LABELS.get(document.confidentiality, document.confidentiality),
        department=document.department,
        status=document.status,
        status_label=STATUS_LABELS.get(document.status, document.status),
        archival_code=document.archival_code,
        # The 全宗号 is the 档号's first level (DA/T 22-2015: levels joined by "-").
        fonds=document.archival_code.split("-", 1)[0] if document.archival_code else None,
        filing_year=document.filing_year,
        retention=document.retention,
        retention_label=RETENTION_LABELS.get(document.retention or "", None),
        item_no=document.item_no,
    )


def _rows(
    session: Session, *, user: User, chosen: CatalogueFilter, offset: int = 0, limit: int | None = None,
    zone: tzinfo = UTC,
) -> tuple[int, list[CatalogueRow]]:
    conditions = _conditions(user, chosen)
    total = session.scalar(select(func.count()).select_from(Document).where(*conditions)) or 0
    query = (
        select(Document, Partner)
        .join(Partner, Document.partner_id == Partner.id)
        .where(*conditions)
        .order_by(Document.archive_no)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return total, [_row(document, partner, zone) for document, partner in session.execute(query)]


def list_catalogue(
    session: Session, *, user: User, partner_id: str | None, doc_type: str | None, page: int, size: int,
    department: str | None = None, status: str | None = None, zone: tzinfo = UTC,
) -> CataloguePage:
    """One page of the catalogue; the total counts only what the caller may see."""
    chosen = CatalogueFilter(partner_id, doc_type, department, status)
    total, items = _rows(session, user=user, chosen=chosen, offset=(page - 1) * size, limit=size, zone=zone)
    record_event(session, user=user.sub, action="catalogue", target=partner_id,
                 details={"format": "json", "doc_type": doc_type, "department": department, "status": status,
                          "page": page, "total": total})
    return CataloguePage(total=total, page=page, size=size, items=items)


def export_catalogue(
    session: Session, *, user: User, partner_id: str | None, doc_type: str | None,
    fmt: Literal["csv", "xlsx"], department: str | None = None, status: str | None = None,
    zone: tzinfo = UTC,
) -> Attachment:
    """The whole catalogue the caller may see as CSV (UTF-8 with BOM) or XLSX."""
    chosen = CatalogueFilter(partner_id, doc_type, department, status)
    total, items = _rows(session, user=user, chosen=chosen, zone=zone)
    rows = [
        (n, row.archive_no, row.partner_name, row.partner_archive_no, row.doc_type_label, row.title,
         row.pages, row.uploaded_on.isoformat(), row.expires_on.isoformat() if row.expires_on else "",
         row.confidentiality_label, row.status_label, row.archival_code or "", row.fonds or "",
         row.filing_year or "", row.retention_label or "", f"{row.item_no:04d}" if row.item_no else "")
        for n, row in enumerate(items, start=1)
    ]
    made_on = today(zone)
    reach = "全部部门" if user.sees_all_departments else "、".join(sorted(user.departments)) or "公开档案"
    heading = Heading(title="档案目录", department=reach, made_on=made_on)
    content, media_type = table_bytes(
        Table(columns=CATALOGUE_COLUMNS, rows=rows, heading=heading, widths=_WIDTHS, sheet_title="档案目录",
              mask_ids=masks_id_numbers_for(user)),
        fmt,
    )
    record_event(session, user=user.sub, action="catalogue", target=partner_id,
                 details={"format": fmt, "doc_type": doc_type, "department": department, "status": status,
                          "total": total})
    stamp = made_on.strftime("%Y%m%d")
    return Attachment(filename=f"档案目录-{stamp}.{fmt}", ascii_filename=f"catalogue-{stamp}.{fmt}",
                      media_type=media_type, content=content)
