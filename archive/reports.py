"""Reports for the archive office: 客商汇总表, 基本资料登记表 and the 7.1 annual review (年审).

Every report reads only what the caller may see (the visibility clauses sit inside the
SQL), is rendered in memory, and is recorded in the audit log under the action "report".
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo

from docx import Document as DocxDocument
from docx.shared import Pt
from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from archive.audit import record_event
from archive.compliance import expiry_unknown_documents
from archive.destruction import list_records
from archive.errors import Forbidden
from archive.exports import (
    DOCX_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Attachment,
    Heading,
    Table,
    TableFormat,
    table_bytes,
    xlsx_bytes,
)
from archive.labels import CONFIDENTIALITY_LABELS, DOC_TYPE_LABELS
from archive.masking import mask_id_numbers
from archive.models import Document, Partner
from archive.partner_life.completeness import LIVE_STATUSES, assess_partners
from archive.partner_life.status import STATUS_LABELS as PARTNER_STATUS_LABELS
from archive.partners import get_visible_partner
from archive.permissions import (
    User,
    current_document_clause,
    document_visibility_clause,
    masks_id_numbers_for,
    partner_visibility_clause,
)
from archive.schemas import IncompletePartner
from archive.settings import Settings
from archive.supersession import awaiting_confirmation_clause

REPORT_ROLES = ("archivist", "compliance", "admin")

KIND_LABELS = {"customer": "客户", "supplier": "供应商", "partner": "合作伙伴", "prospect": "潜在客户"}
STATUS_LABELS = {"queued": "排队中", "processing": "处理中", "indexed": "已入库", "failed": "处理失败"}

PARTNER_COLUMNS = ("序号", "供应商/客户", "企业法人", "联系人", "联系电话", "联系邮件", "合作内容", "备注")
_PARTNER_WIDTHS = (6, 36, 12, 12, 16, 26, 36, 30)


def require_report_role(user: User) -> None:
    if not user.has_role(*REPORT_ROLES):
        raise Forbidden(
            "报表仅限档案管理员、合规或管理员 (reports are for archivist, compliance or admin)"
        )


def today(zone: tzinfo = UTC) -> date:
    """The date on a report: today where the office is (PARTNER_ARCHIVE_TIMEZONE)."""
    return datetime.now(zone).date()


# ---------------------------------------------------------------- 客商汇总表

def _summary_title(kind: str | None) -> str:
    return {"supplier": "供应商汇总表", "customer": "客户汇总表"}.get(kind or "", "客商汇总表")


def partner_summary(
    session: Session,
    *,
    user: User,
    fmt: TableFormat,
    kind: str | None = None,
    department: str | None = None,
    statuses: Sequence[str] | None = None,
    zone: tzinfo = UTC,
) -> Attachment:
    """供应商/客户汇总表 of the partners the caller may see, as XLSX or CSV."""
    require_report_role(user)
    conditions = [partner_visibility_clause(user)]
    if kind:
        conditions.append(Partner.kind == kind)
    if department:
        conditions.append(Partner.department == department)
    if statuses:
        conditions.append(Partner.status.in_(list(statuses)))
    partners = session.scalars(
        select(Partner).where(*conditions).order_by(Partner.archive_no.is_(None), Partner.archive_no,
                                                    Partner.provisional_no)
    ).all()
    rows = [
        (number, p.name, p.legal_representative, p.contact_person, p.phone, p.email, p.cooperation,
         p.remarks)
        for number, p in enumerate(partners, start=1)
    ]
    made_on = today(zone)
    heading = Heading(title=_summary_title(kind), department=department or "全部部门", made_on=made_on)
    stamp = made_on.strftime("%Y%m%d")
    content, media_type = table_bytes(
        Table(columns=PARTNER_COLUMNS, rows=rows, heading=heading, widths=_PARTNER_WIDTHS,
              sheet_title=heading.title, mask_ids=masks_id_numbers_for(user)),
        fmt,
    )
    record_event(session, user=user.sub, action="report", target="partners",
                 details={"format": fmt, "kind": kind, "department": department,
                          "statuses": list(statuses) if statuses else None, "rows": len(rows)})
    return Attachment(
        filename=f"{heading.title}-{stamp}.{fmt}",
        ascii_filename=f"partners-{stamp}.{fmt}",
        media_type=media_type,
        content=content,
    )


# ---------------------------------------------------------------- 基本资料登记表

def effective_expiry(document: Document) -> date | None:
    """The expiry the index uses: the record's date, else the one read from the document."""
    if document.expires_on is not None:
        return document.expires_on
    value = (document.fields or {}).get("expires_on")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def is_perpetual(document: Document) -> bool:
    return (document.fields or {}).get("perpetual") is True


def _licence_candidates(session: Session, *, user: User, partner_ids: Sequence[str] | None = None
                        ) -> list[Document]:
    """Indexed, current (not superseded) business licences the caller may see and may trust.

    A licence still waiting for an archivist to confirm it may replace an older one (or refused
    that) is left out: a forged licence must not make its partner look licensed.
    """
    query = select(Document).where(
        Document.doc_type == "business_license",
        Document.status == "indexed",
        current_document_clause(user),
        document_visibility_clause(user),
        ~awaiting_confirmation_clause(),
    )
    if partner_ids is not None:
        query = query.where(Document.partner_id.in_(partner_ids))
    return list(session.scalars(query))


def _licence_text(partner: Partner, licences: Sequence[Document], *, on: date) -> str:
    code = partner.credit_code or "未登记"
    valid = [doc for doc in licences if is_perpetual(doc) or (effective_expiry(doc) or date.min) >= on]
    if not valid:
        return f"统一社会信用代码：{code}；有效营业执照：未存档"
    if any(is_perpetual(doc) for doc in valid):
        return f"统一社会信用代码：{code}；有效营业执照：已存档（长期有效）"
    latest = max(effective_expiry(doc) or date.min for doc in valid)
    return f"统一社会信用代码：{code}；有效营业执照：已存档（有效期至 {latest.isoformat()}）"


def _number_text(partner: Partner) -> str:
    if partner.archive_no:
        return partner.archive_no
    return f"待审批（临时编号 {partner.provisional_no}）"


def registration_form(session: Session, *, user: User, partner_id: str, zone: tzinfo = UTC) -> Attachment:
    """基本资料登记表 of one partner the caller may see, as DOCX; 经办人 is the caller."""
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    made_on = today(zone)
    licences = _licence_candidates(session, user=user, partner_ids=[partner.id])
    bank = " ".join(part for part in (partner.bank_name, partner.bank_account) if part)
    other = (f"档案编号：{_number_text(partner)}；状态：{PARTNER_STATUS_LABELS[partner.status]}；"
             f"信用等级：{partner.credit_rating or '未评级'}")
    rows = (
        ("企业名称", partner.name),
        ("地址", partner.address),
        ("法人代表", partner.legal_representative),
        ("银行账户", bank),
        ("营业执照", _licence_text(partner, licences, on=made_on)),
        ("主要合作产品", partner.cooperation),
        ("联系电话", partner.phone),
        ("联系传真", partner.fax),
        ("联系人", partner.contact_person),
        ("经办人", user.sub),
        ("联系邮箱", partner.email),
        ("其他", other),
        ("备注", partner.remarks),
    )
    kind_label = KIND_LABELS.get(partner.kind, "客商")
    title = f"{kind_label}基本资料登记表"
    document = DocxDocument()
    heading = document.add_heading(title, level=1)
    heading.alignment = 1  # centred
    document.add_paragraph(f"档案编号：{_number_text(partner)}    部门：{partner.department}    "
                           f"填表日期：{made_on.isoformat()}")
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    shown = mask_id_numbers if masks_id_numbers_for(user) else (lambda text: text)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = shown(value or "")
        for run in cells[0].paragraphs[0].runs:
            run.font.bold = True
            run.font.size = Pt(11)
    buffer = io.BytesIO()
    document.save(buffer)
    record_event(session, user=user.sub, action="report", target=partner.id,
                 details={"report": "registration-form", "format": "docx"})
    stamp = made_on.strftime("%Y%m%d")
    return Attachment(
        filename=f"{partner.name}-{title}-{stamp}.docx",
        ascii_filename=f"registration-form-{partner.number}-{stamp}.docx",
        media_type=DOCX_MEDIA_TYPE,
        content=buffer.getvalue(),
    )


# ---------------------------------------------------------------- 7.1 年审

class PartnerSummary(BaseModel):
    id: str
    archive_no: str | None
    name: str
    kind: str
    department: str
    status: str


class ExpiringDocument(BaseModel):
    id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: str
    doc_type_label: str
    title: str
    department: str
    expires_on: date
    expired: bool


class UnknownExpiryDocument(BaseModel):
    id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: str
    doc_type_label: str
    title: str
    department: str
    uploaded_on: date


class DepartmentReview(BaseModel):
    department: str
    missing_licence: list[PartnerSummary] = []
    missing_bank_info: list[PartnerSummary] = []
    incomplete: list[IncompletePartner] = []
    expiring: list[ExpiringDocument] = []
    # Licences, ID cards and contracts whose expiry could not be read: they may expire any day.
    expiry_unknown: list[UnknownExpiryDocument] = []


class AnnualReview(BaseModel):
    year: int
    review_date: date
    statuses: list[str]
    departments: list[DepartmentReview]


def _partner_summary(partner: Partner) -> PartnerSummary:
    return PartnerSummary(id=partner.id, archive_no=partner.archive_no, name=partner.name,
                          kind=partner.kind, department=partner.department, status=partner.status)


def annual_review(
    session: Session, *, user: User, settings: Settings, year: int, statuses: Sequence[str] = LIVE_STATUSES
) -> AnnualReview:
    """每年7月1日年审: the completeness rule (齐全) on the review date — who lacks a valid licence,
    bank information, or anything else their kind requires — and what expires within the year.

    Review date is 1 July of `year`; "expiring" is everything that ends before the next 1 July,
    already-expired documents first and flagged. Only partners in `statuses` (by default those
    whose file is still kept: pending, active, suspended) and only what the caller may see count.
    """
    require_report_role(user)
    review_date = date(year, 7, 1)
    next_review = date(year + 1, 7, 1)
    partners = session.scalars(
        select(Partner)
        .where(partner_visibility_clause(user), Partner.status.in_(list(statuses)))
        .order_by(Partner.archive_no)
    ).all()
    assessed = assess_partners(session, user=user, settings=settings, partners=partners, on=review_date)
    # Expiry may come from the record's column or from the fields read off the page, so the
    # date test runs here; which documents are read at all is decided in SQL.
    current_documents = session.scalars(
        select(Document)
        .join(Partner, Document.partner_id == Partner.id)
        .where(
            Document.status == "indexed",
            current_document_clause(user),
            Partner.status.in_(list(statuses)),
            document_visibility_clause(user),
            or_(
                Document.expires_on < next_review,
                and_(Document.expires_on.is_(None), Document.fields["expires_on"].as_string().is_not(None)),
            ),
        )
        .options(joinedload(Document.partner))
    ).all()

    departments: dict[str, DepartmentReview] = {}

    def section(name: str) -> DepartmentReview:
        return departments.setdefault(name, DepartmentReview(department=name))

    for partner in partners:
        problems = [item for item in assessed[partner.id] if item.status not in ("present", "not_required")]
        if not problems:
            continue
        codes = {item.code for item in problems}
        if "business_license" in codes:
            section(partner.department).missing_licence.append(_partner_summary(partner))
        if "bank_account" in codes:
            section(partner.department).missing_bank_info.append(_partner_summary(partner))
        section(partner.department).incomplete.append(IncompletePartner(
            partner_id=partner.id, name=partner.name, number=partner.number, kind=partner.kind,
            department=partner.department, status=partner.status, problems=problems,
        ))
    for doc in current_documents:
        expires_on = effective_expiry(doc)
        if expires_on is None or is_perpetual(doc) or expires_on >= next_review:
            continue
        section(doc.department).expiring.append(ExpiringDocument(
            id=doc.id, archive_no=doc.archive_no, partner_id=doc.partner_id,
            partner_name=doc.partner.name, doc_type=doc.doc_type,
            doc_type_label=DOC_TYPE_LABELS.get(doc.doc_type, doc.doc_type), title=doc.title,
            department=doc.department, expires_on=expires_on, expired=expires_on < review_date,
        ))
    for unknown in expiry_unknown_documents(session, user=user):
        doc = unknown.document
        section(doc.department).expiry_unknown.append(UnknownExpiryDocument(
            id=doc.id, archive_no=doc.archive_no, partner_id=doc.partner_id, partner_name=doc.partner.name,
            doc_type=doc.doc_type, doc_type_label=DOC_TYPE_LABELS.get(doc.doc_type, doc.doc_type),
            title=doc.title, department=doc.department, uploaded_on=doc.created_at.date(),
        ))
    for review in departments.values():
        review.expiring.sort(key=lambda item: (not item.expired, item.expires_on, item.archive_no))

    result = AnnualReview(year=year, review_date=review_date, statuses=list(statuses),
                          departments=[departments[name] for name in sorted(departments)])
    record_event(session, user=user.sub, action="report", target="annual-review", details={
        "year": year,
        "statuses": list(statuses),
        "missing_licence": sum(len(d.missing_licence) for d in result.departments),
        "missing_bank_info": sum(len(d.missing_bank_info) for d in result.departments),
        "incomplete": sum(len(d.incomplete) for d in result.departments),
        "expiring": sum(len(d.expiring) for d in result.departments),
        "expiry_unknown": sum(len(d.expiry_unknown) for d in result.departments),
    })
    return result


_REVIEW_PARTNER_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "类别")
_REVIEW_PARTNER_WIDTHS = (6, 14, 22, 36, 12)
_REVIEW_INCOMPLETE_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "类别", "缺少或有问题的资料")
_REVIEW_INCOMPLETE_WIDTHS = (6, 14, 22, 36, 12, 60)
_ITEM_STATUS_LABELS = {"missing": "缺失", "expired": "已过期", "unreadable": "无法判断"}
_REVIEW_DOCUMENT_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "文档类型", "题名", "到期日期", "状态")
_REVIEW_DOCUMENT_WIDTHS = (6, 14, 26, 36, 14, 30, 14, 10)
_REVIEW_UNKNOWN_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "文档类型", "题名", "上传日期", "状态")


def annual_review_xlsx(review: AnnualReview, *, user: User, zone: tzinfo = UTC) -> Attachment:
    """The annual review as a workbook: one sheet per finding, all departments in each."""
    made_on = today(zone)
    sheets = []
    for sheet_title, attribute in (("缺营业执照", "missing_licence"), ("缺银行信息", "missing_bank_info")):
        listed = [(d.department, p) for d in review.departments for p in getattr(d, attribute)]
        numbered = [
            (n, department, p.archive_no, p.name, KIND_LABELS.get(p.kind, p.kind))
            for n, (department, p) in enumerate(listed, start=1)
        ]
        sheets.append(Table(
            columns=_REVIEW_PARTNER_COLUMNS, rows=numbered, widths=_REVIEW_PARTNER_WIDTHS,
            sheet_title=sheet_title, mask_ids=masks_id_numbers_for(user),
            heading=Heading(title=f"{review.year}年度年审：{sheet_title}", department="全部部门",
                            made_on=made_on),
        ))
    incomplete_rows = [
        (n, p.department, p.number or "", p.name, KIND_LABELS.get(p.kind, p.kind),
         "；".join(f"{i.name}：{_ITEM_STATUS_LABELS.get(i.status, i.status)}" for i in p.problems))
        for n, p in enumerate((p for d in review.departments for p in d.incomplete), start=1)
    ]
    sheets.append(Table(
        columns=_REVIEW_INCOMPLETE_COLUMNS, rows=incomplete_rows, widths=_REVIEW_INCOMPLETE_WIDTHS,
        sheet_title="资料不齐全",
        heading=Heading(title=f"{review.year}年度年审：资料不齐全的客商", department="全部部门",
                        made_on=made_on),
    ))
    document_rows = [
        (n, doc.department, doc.archive_no, doc.partner_name, doc.doc_type_label, doc.title,
         doc.expires_on.isoformat(), "已过期" if doc.expired else "将到期")
        for n, doc in enumerate((doc for d in review.departments for doc in d.expiring), start=1)
    ]
    sheets.append(Table(
        columns=_REVIEW_DOCUMENT_COLUMNS, rows=document_rows, widths=_REVIEW_DOCUMENT_WIDTHS,
        sheet_title="即将到期", mask_ids=masks_id_numbers_for(user),
        heading=Heading(title=f"{review.year}年度年审：次年7月1日前到期的文档", department="全部部门",
                        made_on=made_on),
    ))
    unknown_rows = [
        (n, doc.department, doc.archive_no, doc.partner_name, doc.doc_type_label, doc.title,
         doc.uploaded_on.isoformat(), "到期日未知")
        for n, doc in enumerate((doc for d in review.departments for doc in d.expiry_unknown), start=1)
    ]
    sheets.append(Table(
        columns=_REVIEW_UNKNOWN_COLUMNS, rows=unknown_rows, widths=_REVIEW_DOCUMENT_WIDTHS,
        sheet_title="到期日未知", mask_ids=masks_id_numbers_for(user),
        heading=Heading(title=f"{review.year}年度年审：到期日期未能读出的文档", department="全部部门",
                        made_on=made_on),
    ))
    return Attachment(
        filename=f"{review.year}年度年审-{made_on.strftime('%Y%m%d')}.xlsx",
        ascii_filename=f"annual-review-{review.year}.xlsx",
        media_type=XLSX_MEDIA_TYPE,
        content=xlsx_bytes(*sheets),
    )


# ---------------------------------------------------------------- 销毁记录

DESTRUCTION_COLUMNS = (
    "序号", "档案编号", "客商", "文档类型", "题名", "密级", "原文件名", "页数", "上传时间",
    "销毁理由", "申请人", "批准人", "执行人", "销毁时间", "SHA-256",
)
_DESTRUCTION_WIDTHS = (6, 26, 36, 14, 36, 8, 30, 6, 18, 30, 12, 12, 12, 18, 66)


def destruction_register(
    session: Session, *, user: User, fmt: TableFormat, since: datetime | None = None,
    until: datetime | None = None, zone: tzinfo = UTC,
) -> Attachment:
    """销毁记录 the caller may see, as XLSX or CSV: what was destroyed, who asked, approved, executed."""
    records = list_records(session, user=user, since=since, until=until)

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    rows = [
        (n, r.archive_no, r.partner_name, DOC_TYPE_LABELS.get(r.doc_type, r.doc_type), r.title,
         CONFIDENTIALITY_LABELS.get(r.confidentiality, r.confidentiality), r.original_filename, r.pages,
         local(r.uploaded_at), r.reason, r.requested_by, r.approved_by, r.executed_by, local(r.executed_at),
         r.sha256)
        for n, r in enumerate(records, start=1)
    ]
    made_on = today(zone)
    heading = Heading(title="销毁记录", department="全部部门" if user.sees_all_departments else
                      "、".join(sorted(user.departments)) or "公开档案", made_on=made_on)
    content, media_type = table_bytes(
        Table(columns=DESTRUCTION_COLUMNS, rows=rows, heading=heading, widths=_DESTRUCTION_WIDTHS,
              sheet_title="销毁记录"),
        fmt,
    )
    record_event(session, user=user.sub, action="report", target="destruction-records",
                 details={"format": fmt, "rows": len(rows)})
    stamp = made_on.strftime("%Y%m%d")
    return Attachment(filename=f"销毁记录-{stamp}.{fmt}", ascii_filename=f"destruction-records-{stamp}.{fmt}",
                      media_type=media_type, content=content)
