"""Reports for the archive office: 客商汇总表, 基本资料登记表 and the 7.1 annual review (年审).

Every report reads only what the caller may see (the visibility clauses sit inside the
SQL), is rendered in memory, and is recorded in the audit log under the action "report".
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime

from docx import Document as DocxDocument
from docx.shared import Pt
from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from archive.audit import record_event
from archive.compliance import expiry_unknown_documents
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
from archive.models import Document, Partner
from archive.partners import get_visible_partner
from archive.permissions import User, document_visibility_clause, partner_visibility_clause
from archive.supersession import awaiting_confirmation_clause

REPORT_ROLES = ("archivist", "compliance", "admin")

KIND_LABELS = {"customer": "客户", "supplier": "供应商", "partner": "合作伙伴", "prospect": "潜在客户"}
DOC_TYPE_LABELS = {
    "business_license": "营业执照",
    "contract": "合同",
    "id_card": "身份证",
    "bank_account": "银行开户信息",
    "authorization": "授权委托书",
    "qualification": "资质证书",
    "invoice": "发票",
    "other": "其他",
}
CONFIDENTIALITY_LABELS = {"public": "公开", "internal": "一般", "secret": "秘密", "confidential": "机密"}
STATUS_LABELS = {"queued": "排队中", "processing": "处理中", "indexed": "已入库", "failed": "处理失败"}

PARTNER_COLUMNS = ("序号", "供应商/客户", "企业法人", "联系人", "联系电话", "联系邮件", "合作内容", "备注")
_PARTNER_WIDTHS = (6, 36, 12, 12, 16, 26, 36, 30)


def require_report_role(user: User) -> None:
    if not user.has_role(*REPORT_ROLES):
        raise Forbidden(
            "报表仅限档案管理员、合规或管理员 (reports are for archivist, compliance or admin)"
        )


def today() -> date:
    return datetime.now(UTC).date()


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
) -> Attachment:
    """供应商/客户汇总表 of the partners the caller may see, as XLSX or CSV."""
    require_report_role(user)
    conditions = [partner_visibility_clause(user)]
    if kind:
        conditions.append(Partner.kind == kind)
    if department:
        conditions.append(Partner.department == department)
    partners = session.scalars(select(Partner).where(*conditions).order_by(Partner.archive_no)).all()
    rows = [
        (number, p.name, p.legal_representative, p.contact_person, p.phone, p.email, p.cooperation,
         p.remarks)
        for number, p in enumerate(partners, start=1)
    ]
    made_on = today()
    heading = Heading(title=_summary_title(kind), department=department or "全部部门", made_on=made_on)
    stamp = made_on.strftime("%Y%m%d")
    content, media_type = table_bytes(
        Table(columns=PARTNER_COLUMNS, rows=rows, heading=heading, widths=_PARTNER_WIDTHS,
              sheet_title=heading.title),
        fmt,
    )
    record_event(session, user=user.sub, action="report", target="partners",
                 details={"format": fmt, "kind": kind, "department": department, "rows": len(rows)})
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
        Document.superseded_by.is_(None),
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


def registration_form(session: Session, *, user: User, partner_id: str) -> Attachment:
    """基本资料登记表 of one partner the caller may see, as DOCX; 经办人 is the caller."""
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    made_on = today()
    licences = _licence_candidates(session, user=user, partner_ids=[partner.id])
    bank = " ".join(part for part in (partner.bank_name, partner.bank_account) if part)
    other = f"档案编号：{partner.archive_no}；信用等级：{partner.credit_rating or '未评级'}"
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
    document.add_paragraph(f"档案编号：{partner.archive_no}    部门：{partner.department}    "
                           f"填表日期：{made_on.isoformat()}")
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value or ""
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
        ascii_filename=f"registration-form-{partner.archive_no}-{stamp}.docx",
        media_type=DOCX_MEDIA_TYPE,
        content=buffer.getvalue(),
    )


# ---------------------------------------------------------------- 7.1 年审

class PartnerSummary(BaseModel):
    id: str
    archive_no: str
    name: str
    kind: str
    department: str


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
    expiring: list[ExpiringDocument] = []
    # Licences, ID cards and contracts whose expiry could not be read: they may expire any day.
    expiry_unknown: list[UnknownExpiryDocument] = []


class AnnualReview(BaseModel):
    year: int
    review_date: date
    departments: list[DepartmentReview]


def _partner_summary(partner: Partner) -> PartnerSummary:
    return PartnerSummary(id=partner.id, archive_no=partner.archive_no, name=partner.name,
                          kind=partner.kind, department=partner.department)


def annual_review(session: Session, *, user: User, year: int) -> AnnualReview:
    """每年7月1日年审: who lacks a valid licence or bank information, what expires within the year.

    Review date is 1 July of `year`; "expiring" is everything that ends before the next 1 July,
    already-expired documents first and flagged. Only what the caller may see is counted.
    """
    require_report_role(user)
    review_date = date(year, 7, 1)
    next_review = date(year + 1, 7, 1)
    partners = session.scalars(
        select(Partner).where(partner_visibility_clause(user)).order_by(Partner.archive_no)
    ).all()

    licensed = {
        doc.partner_id
        for doc in _licence_candidates(session, user=user)
        if is_perpetual(doc) or (effective_expiry(doc) or date.min) >= review_date
    }
    with_bank_document = set(session.scalars(
        select(Document.partner_id).where(
            Document.doc_type == "bank_account",
            Document.status != "failed",
            Document.superseded_by.is_(None),
            document_visibility_clause(user),
        )
    ))
    # Expiry may come from the record's column or from the fields read off the page, so the
    # date test runs here; which documents are read at all is decided in SQL.
    current_documents = session.scalars(
        select(Document)
        .join(Partner, Document.partner_id == Partner.id)
        .where(
            Document.status == "indexed",
            Document.superseded_by.is_(None),
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
        if partner.id not in licensed:
            section(partner.department).missing_licence.append(_partner_summary(partner))
        if not (partner.bank_account or "").strip() and partner.id not in with_bank_document:
            section(partner.department).missing_bank_info.append(_partner_summary(partner))
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

    result = AnnualReview(year=year, review_date=review_date,
                          departments=[departments[name] for name in sorted(departments)])
    record_event(session, user=user.sub, action="report", target="annual-review", details={
        "year": year,
        "missing_licence": sum(len(d.missing_licence) for d in result.departments),
        "missing_bank_info": sum(len(d.missing_bank_info) for d in result.departments),
        "expiring": sum(len(d.expiring) for d in result.departments),
        "expiry_unknown": sum(len(d.expiry_unknown) for d in result.departments),
    })
    return result


_REVIEW_PARTNER_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "类别")
_REVIEW_PARTNER_WIDTHS = (6, 14, 22, 36, 12)
_REVIEW_DOCUMENT_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "文档类型", "题名", "到期日期", "状态")
_REVIEW_DOCUMENT_WIDTHS = (6, 14, 26, 36, 14, 30, 14, 10)
_REVIEW_UNKNOWN_COLUMNS = ("序号", "部门", "档案编号", "客商名称", "文档类型", "题名", "上传日期", "状态")


def annual_review_xlsx(review: AnnualReview) -> Attachment:
    """The annual review as a workbook: one sheet per finding, all departments in each."""
    made_on = today()
    sheets = []
    for sheet_title, attribute in (("缺营业执照", "missing_licence"), ("缺银行信息", "missing_bank_info")):
        listed = [(d.department, p) for d in review.departments for p in getattr(d, attribute)]
        numbered = [
            (n, department, p.archive_no, p.name, KIND_LABELS.get(p.kind, p.kind))
            for n, (department, p) in enumerate(listed, start=1)
        ]
        sheets.append(Table(
            columns=_REVIEW_PARTNER_COLUMNS, rows=numbered, widths=_REVIEW_PARTNER_WIDTHS,
            sheet_title=sheet_title,
            heading=Heading(title=f"{review.year}年度年审：{sheet_title}", department="全部部门",
                            made_on=made_on),
        ))
    document_rows = [
        (n, doc.department, doc.archive_no, doc.partner_name, doc.doc_type_label, doc.title,
         doc.expires_on.isoformat(), "已过期" if doc.expired else "将到期")
        for n, doc in enumerate((doc for d in review.departments for doc in d.expiring), start=1)
    ]
    sheets.append(Table(
        columns=_REVIEW_DOCUMENT_COLUMNS, rows=document_rows, widths=_REVIEW_DOCUMENT_WIDTHS,
        sheet_title="即将到期",
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
        sheet_title="到期日未知",
        heading=Heading(title=f"{review.year}年度年审：到期日期未能读出的文档", department="全部部门",
                        made_on=made_on),
    ))
    return Attachment(
        filename=f"{review.year}年度年审-{made_on.strftime('%Y%m%d')}.xlsx",
        ascii_filename=f"annual-review-{review.year}.xlsx",
        media_type=XLSX_MEDIA_TYPE,
        content=xlsx_bytes(*sheets),
    )
