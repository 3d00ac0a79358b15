"""The system of record: partners, documents, their extracted pages, and access grants."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("provisional_no", name="uq_partners_provisional_no"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Given when the archive is opened: at creation by the archive office, else on approval.
    archive_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    # What a pending partner's documents are numbered under until approval gives archive_no.
    provisional_no: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True, default="active", server_default="active")
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    department: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_person: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    fax: Mapped[str | None] = mapped_column(String(50))
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bank_account: Mapped[str | None] = mapped_column(String(60))
    cooperation: Mapped[str | None] = mapped_column(Text)
    credit_rating: Mapped[str | None] = mapped_column(String(1))
    remarks: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="partner")
    changes: Mapped[list[PartnerChange]] = relationship(back_populates="partner", order_by="PartnerChange.at")
    status_history: Mapped[list[PartnerStatusChange]] = relationship(
        back_populates="partner", order_by="PartnerStatusChange.id"
    )

    @property
    def number(self) -> str | None:
        """The number its documents are filed under: the archive number, or the provisional one."""
        return self.archive_no or self.provisional_no


class PartnerChange(Base):
    """One edit of a partner: who, when, and each field's old and new value.

    A change of bank account, credit code or legal representative is applied only when a
    second person confirms it: `user`/`at` are its author and request, `confirmed_by` and
    `confirmed_at` the confirmation that applied it.
    """

    __tablename__ = "partner_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="changes")


class PendingPartnerChange(Base):
    """A change of sensitive fields waiting for a second person (双人复核)."""

    __tablename__ = "pending_partner_changes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship()


class PartnerStatusChange(Base):
    """One step of a partner's life: created, approved, rejected, suspended…, with reason."""

    __tablename__ = "partner_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    # create, approve, reject, resubmit, status, proposal
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="status_history")


class SuspensionProposal(Base):
    """暂停建议: a low evaluation or a D rating proposes suspension to the department's manager."""

    __tablename__ = "suspension_proposals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    # evaluation or rating, and what it said
    source: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # pending, accepted, dismissed, or closed when the partner left `active` another way
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship()


class RelationshipRecord(Base):
    """A visit, communication, satisfaction survey or complaint kept in the partner's archive."""

    __tablename__ = "relationship_records"
    __table_args__ = (Index("ix_relationship_records_partner_date", "partner_id", "occurred_on"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    participants: Mapped[str | None] = mapped_column(String(300))
    # Seen under the documents' rule: the partner's department and a level (never public).
    confidentiality: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(100), index=True)
    # The attachment, ingested like any upload; no foreign key, since a destroyed
    # document's row goes while the record of the visit stays.
    document_id: Mapped[str | None] = mapped_column(String(32), index=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship()


class ArchiveSequence(Base):
    """The last number handed out per numbering key (kind prefix and year)."""

    __tablename__ = "archive_sequences"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        # The same bytes twice for one partner are one document, unless the copy on file is
        # one its uploader may not see: theirs is then a document of its own (a hidden copy
        # must not answer for itself), so the reach is part of what makes a copy the same.
        UniqueConstraint(
            "partner_id", "sha256", "department", "confidentiality", name="uq_documents_partner_sha256_reach"
        ),
        Index("ix_documents_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    archive_no: Mapped[str] = mapped_column(String(50), unique=True)
    doc_type: Mapped[str] = mapped_column(String(30), index=True)
    confidentiality: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    # Where the title came from: "supplied" by a person (never replaced), "filename" until the
    # worker has read the document, then "derived" from what was read (采购合同 HT-2023-0111).
    title_source: Mapped[str] = mapped_column(String(20), default="supplied", server_default="supplied")
    original_filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per field: where its value came from ("extracted" or "supplied"), page, OCR correction.
    field_provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per field left out: why (never a made-up value instead).
    field_problems: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Cross-check findings for compliance, e.g. a licence code that is not the partner's.
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_by: Mapped[str | None] = mapped_column(String(32))

    # Fixity (GB/T 32905 SM3 beside SHA-256), recorded at intake.
    sm3: Mapped[str | None] = mapped_column(String(64))
    # 保管期限 (Y, D30, D10) and 档号 per DA/T 22-2015; the 件号 counts within archival_group.
    retention: Mapped[str | None] = mapped_column(String(4))
    filing_year: Mapped[int | None] = mapped_column(Integer)
    archival_group: Mapped[str | None] = mapped_column(String(80), index=True)
    item_no: Mapped[int | None] = mapped_column(Integer)
    archival_code: Mapped[str | None] = mapped_column(String(100), unique=True)
    # What the file says of itself at intake (size, type, declared pages, creation metadata,
    # signatures, encryption, the virus scan), compared again by every later check.
    file_properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # The latest 四性检测: "passed", "failed", or None before the first one.
    check_status: Mapped[str | None] = mapped_column(String(10), index=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int | None] = mapped_column(Integer)
    ocr_pages: Mapped[int | None] = mapped_column(Integer)
    indexed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="documents")
    page_texts: Mapped[list[DocumentPage]] = relationship(
        back_populates="document", order_by="DocumentPage.number", cascade="all, delete-orphan"
    )
    ocr_cache_uses: Mapped[list[OcrCacheUse]] = relationship(
        back_populates="document", cascade="all, delete-orphan"
    )
    # The database removes them with the document (destruction deletes rows in bulk).
    review_items: Mapped[list[ReviewItem]] = relationship(
        back_populates="document",
        order_by="ReviewItem.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DocumentPage(Base):
    """Extracted text of one page, kept so that reindexing never repeats OCR."""

    __tablename__ = "document_pages"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    # The words of an OCR'd page and where they stand, for reading fields by layout, showing
    # where a value was read and blacking out ID numbers on page images:
    # {"width": w, "height": h, "words": [[text, left, top, right, bottom, confidence], ...]}
    # in pixels of the page as rendered from the original, before any turning. None for a
    # page read from its text layer.
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="page_texts")


class ReviewItem(Base):
    """One thing about a document that waits for the archive office, or was decided by it.

    `kind` is `needs_review` (a value read that no check can verify), `unknown` (a field that
    could not be read; `reason` says why) or `supersession` (a document that may replace an
    older one only once an archivist confirms it; `field` is `supersedes`). An open item has
    no `decision`; a decided one stays as the record of who decided what, and when.
    """

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("document_id", "field", name="uq_review_item_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    document: Mapped[Document] = relationship(back_populates="review_items")


class OcrCacheUse(Base):
    """An OCR cache entry (its path under DATA_DIR/ocr-cache) a document's text was read from:
    when no living document uses an entry any more, destroying the last one removes it."""

    __tablename__ = "ocr_cache_uses"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    entry: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)

    document: Mapped[Document] = relationship(back_populates="ocr_cache_uses")


class AccessGrant(Base):
    """Access to one document for one user until it expires or is returned (借阅)."""

    __tablename__ = "access_grants"
    __table_args__ = (Index("ix_access_grants_user", "user_sub", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_sub: Mapped[str] = mapped_column(String(100))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The borrow request behind the grant (its number goes into the watermark), and whether
    # it lets the borrower download or only view.
    request_id: Mapped[str | None] = mapped_column(String(32))
    allow_download: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditEntry(Base):
    """One recorded action; each entry's hash covers the previous one's (tamper-evident)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_user_at", "user", "at"),
        Index("ix_audit_action_at", "action", "at"),
        # A document's own entries (the 四性检测's intake record, its history) without a scan.
        Index("ix_audit_target", "target"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """Where the chain starts after older entries were exported and purged: the first kept
    entry's number and the hash it chains to (one row; none before any purge)."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_by: Mapped[str] = mapped_column(String(100))


class AuditSubject(Base):
    """A document (or any other id) an audit entry names, so the log can be filtered by the
    visibility rule in SQL: an entry about a document hidden from the reader is left out."""

    __tablename__ = "audit_subjects"

    seq: Mapped[int] = mapped_column(ForeignKey("audit_entries.seq", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class AuditHead(Base):
    """The chain's tip, one row: updating it first serialises concurrent writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class BorrowRequest(Base):
    """借阅: a request to see documents for a while, approved by the archive office."""

    __tablename__ = "borrow_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    requester: Mapped[str] = mapped_column(String(100), index=True)
    reason: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who ended a loan early on the archive office's side (收回), when it did not come back.
    recalled_by: Mapped[str | None] = mapped_column(String(100))
    document_ids: Mapped[list[str]] = mapped_column(JSON)
    allow_download: Mapped[bool] = mapped_column(Boolean, default=True)
    # The requester's departments when they asked, for the approver to judge the request.
    requester_departments: Mapped[list[str] | None] = mapped_column(JSON)


class DestructionRequest(Base):
    """销毁: requested by the archive office, approved by a leader, executed by the office."""

    __tablename__ = "destruction_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    requested_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    appraisal_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    executed_by: Mapped[str | None] = mapped_column(String(100))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(100))
    rejection_note: Mapped[str | None] = mapped_column(Text)
    document_ids: Mapped[list[str]] = mapped_column(JSON)


class DestructionRecord(Base):
    """What was destroyed, by whom and why; kept forever."""

    __tablename__ = "destruction_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    document_id: Mapped[str] = mapped_column(String(32), index=True)
    archive_no: Mapped[str] = mapped_column(String(50))
    partner_id: Mapped[str] = mapped_column(String(32))
    partner_name: Mapped[str] = mapped_column(String(200))
    doc_type: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    confidentiality: Mapped[str] = mapped_column(String(20))
    # The destroyed document's department, so that its record follows the visibility rule;
    # None for records kept before it was noted (shown only to the archive-wide roles).
    department: Mapped[str | None] = mapped_column(String(100))
    original_filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The 档号 stays accounted for: its 件号 is not a gap in its group.
    archival_code: Mapped[str | None] = mapped_column(String(100))
    archival_group: Mapped[str | None] = mapped_column(String(80), index=True)
    item_no: Mapped[int | None] = mapped_column(Integer)
    retention: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str] = mapped_column(String(100))
    executed_by: Mapped[str] = mapped_column(String(100))
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditRatingEntry(Base):
    """信用评级: A-D with date, reviewer and reason; the newest is the partner's rating."""

    __tablename__ = "credit_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    rating: Mapped[str] = mapped_column(String(1))
    rated_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupplierEvaluation(Base):
    """供应商评价: quality, delivery and service scored 0-100, with notes."""

    __tablename__ = "supplier_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    period: Mapped[str] = mapped_column(String(20))
    quality: Mapped[int] = mapped_column(Integer)
    delivery: Mapped[int] = mapped_column(Integer)
    service: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    evaluator: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpiryNotice(Base):
    """One notice sent about a document, so none is sent twice: per expiry date announced, or
    once that its expiry is unknown."""

    __tablename__ = "expiry_notices"
    __table_args__ = (UniqueConstraint("document_id", "channel", "subject", name="uq_expiry_notice_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # The expiry date announced (ISO), or "expiry_unknown".
    subject: Mapped[str] = mapped_column(String(20))
    expires_on: Mapped[date | None] = mapped_column(Date)
    department: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckRun(Base):
    """One 四性检测 run: an upload's intake, a bulk import batch, a periodic or on-demand re-check."""

    __tablename__ = "check_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # intake, import, storage, on_demand
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    documents: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


class DocumentCheck(Base):
    """The items of one document's 四性检测 in one run: [{code, property, name, result, evidence}]."""

    __tablename__ = "document_checks"
    __table_args__ = (Index("ix_document_checks_document_at", "document_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    document_id: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(10))  # intake or storage
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
