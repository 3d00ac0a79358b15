"""Shapes that cross the API boundary, named after the contract's words."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from archive.credit_code import is_valid_credit_code, is_valid_registration_no, normalize_license_no


class PartnerKind(StrEnum):
    customer = "customer"
    supplier = "supplier"
    partner = "partner"
    prospect = "prospect"


class PartnerStatus(StrEnum):
    pending = "pending"
    active = "active"
    suspended = "suspended"
    terminated = "terminated"
    blacklisted = "blacklisted"
    rejected = "rejected"


class RecordKind(StrEnum):
    visit = "visit"
    communication = "communication"
    survey = "survey"
    complaint = "complaint"
    other = "other"


class DocType(StrEnum):
    business_license = "business_license"
    contract = "contract"
    id_card = "id_card"
    bank_account = "bank_account"
    authorization = "authorization"
    qualification = "qualification"
    invoice = "invoice"
    other = "other"


class Confidentiality(StrEnum):
    public = "public"
    internal = "internal"
    secret = "secret"  # noqa: S105 - a confidentiality level, not a password
    confidential = "confidential"


class DocumentStatus(StrEnum):
    queued = "queued"
    processing = "processing"
    indexed = "indexed"
    failed = "failed"


CreditRating = str  # "A"-"D", validated below


def _checked_credit_code(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = normalize_license_no(value)
    if len(code) == 18 and is_valid_credit_code(code):
        return code
    if len(code) == 15 and is_valid_registration_no(code):
        return code
    raise ValueError(
        f"统一社会信用代码无效（校验位不符或格式错误）: {value} "
        "(invalid credit code: bad check character or shape)"
    )


def _checked_rating(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in ("A", "B", "C", "D"):
        raise ValueError("信用等级须为 A、B、C 或 D (credit_rating must be A-D)")
    return value


def _refuse_control_characters(value: Any) -> Any:
    if isinstance(value, str) and any(
        unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\r\t" for char in value
    ):
        raise ValueError("含有不可见的控制字符 (contains control characters)")
    return value


class _PartnerFields(BaseModel):
    legal_representative: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    contact_person: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: EmailStr | None = None
    fax: str | None = Field(default=None, max_length=50)
    bank_name: str | None = Field(default=None, max_length=200)
    bank_account: str | None = Field(default=None, max_length=60)
    cooperation: str | None = Field(default=None, max_length=2000)
    credit_rating: str | None = None
    remarks: str | None = Field(default=None, max_length=2000)

    _rating = field_validator("credit_rating")(_checked_rating)
    _printable = field_validator("*", mode="before")(_refuse_control_characters)


class PartnerCreate(_PartnerFields):
    name: str = Field(min_length=1, max_length=200)
    kind: PartnerKind
    department: str = Field(min_length=1, max_length=100)
    credit_code: str | None = None

    _code = field_validator("credit_code")(_checked_credit_code)


def _refuse_null(model: BaseModel, required: tuple[str, ...]) -> None:
    """A PATCH may leave these out, but may not blank them."""
    blanked = [name for name in required if name in model.model_fields_set and getattr(model, name) is None]
    if blanked:
        raise ValueError(f"{', '.join(blanked)} 不能为空 (may not be null)")


class PartnerUpdate(_PartnerFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: PartnerKind | None = None
    department: str | None = Field(default=None, min_length=1, max_length=100)
    credit_code: str | None = None

    _code = field_validator("credit_code")(_checked_credit_code)

    @model_validator(mode="after")
    def _required_stay_set(self) -> PartnerUpdate:
        _refuse_null(self, ("name", "kind", "department"))
        return self


class PartnerChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    user: str
    changes: dict[str, Any]
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


class PendingChangeOut(BaseModel):
    """A bank, credit-code or legal-representative change waiting for a second person."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    partner_id: str
    changes: dict[str, Any]
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: PartnerStatus | None
    to_status: PartnerStatus
    action: str
    reason: str | None
    changed_by: str
    at: datetime


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    archive_no: str | None = Field(description="given when the archive is opened; null while pending")
    provisional_no: str | None = Field(description="what a pending partner's documents are filed under")
    status: PartnerStatus
    name: str
    kind: PartnerKind
    department: str
    credit_code: str | None
    legal_representative: str | None
    address: str | None
    contact_person: str | None
    phone: str | None
    email: str | None
    fax: str | None
    bank_name: str | None
    bank_account: str | None
    cooperation: str | None
    credit_rating: str | None
    remarks: str | None
    created_at: datetime
    updated_at: datetime


class PartnerDetail(PartnerOut):
    history: list[PartnerChangeOut] = []
    status_history: list[StatusChangeOut] = []
    pending_changes: list[PendingChangeOut] = []


class PartnerList(BaseModel):
    total: int
    items: list[PartnerOut]


def _refuse_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("不能为空白 (may not be blank)")
    return value.strip() if value is not None else None


class OpeningDecision(BaseModel):
    """建档审批: approve (comment optional) or reject (comment required)."""

    comment: str | None = Field(default=None, max_length=1000)

    _printable = field_validator("comment", mode="before")(_refuse_control_characters)


class StatusChangeRequest(BaseModel):
    status: PartnerStatus
    reason: str = Field(min_length=1, max_length=2000)

    _printable = field_validator("reason", mode="before")(_refuse_control_characters)
    _blank = field_validator("reason")(_refuse_blank)


class ChangeDecision(BaseModel):
    note: str | None = Field(default=None, max_length=1000)

    _printable = field_validator("note", mode="before")(_refuse_control_characters)


class SuspensionProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    partner_id: str
    partner_name: str
    partner_department: str
    source: str
    details: dict[str, Any]
    reason: str
    proposed_by: str
    created_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class CompletenessDocument(BaseModel):
    id: str
    archive_no: str
    title: str
    doc_type: str
    expires_on: date | None


class CompletenessItem(BaseModel):
    code: str
    name: str = Field(description="the item as people call it (Chinese)")
    required: bool
    status: str = Field(
        description="present, missing, expired or unreadable; not_required when it does not apply"
    )
    document: CompletenessDocument | None = None
    note: str | None = None
    missing_fields: list[str] = []


class Completeness(BaseModel):
    partner_id: str
    partner_name: str
    kind: PartnerKind
    department: str
    status: PartnerStatus
    complete: bool
    checked_on: date
    items: list[CompletenessItem]


class IncompletePartner(BaseModel):
    partner_id: str
    name: str
    number: str | None
    kind: PartnerKind
    department: str
    status: PartnerStatus
    problems: list[CompletenessItem]


class IncompleteList(BaseModel):
    checked_on: date
    total: int
    departments: dict[str, list[IncompletePartner]]


class RecordOut(BaseModel):
    id: str
    partner_id: str
    date: date
    kind: RecordKind
    summary: str
    participants: str | None
    confidentiality: Confidentiality
    department: str
    recorded_by: str
    created_at: datetime
    attachment: dict[str, Any] | None = Field(
        default=None, description="{id, archive_no, title, status} of the attached document, when visible"
    )


class RecordHit(BaseModel):
    id: str
    partner_id: str
    partner_name: str
    date: date
    kind: RecordKind
    summary: str
    highlights: list[str]
    document_id: str | None
    score: float | None


class RecordSearchResponse(BaseModel):
    total: int
    page: int
    size: int
    hits: list[RecordHit]


class Inbox(BaseModel):
    """What waits for the caller's decision."""

    pending_partners: list[PartnerOut]
    pending_changes: list[PendingChangeOut]
    suspension_proposals: list[SuspensionProposalOut]


class DocumentAccepted(BaseModel):
    id: str
    status: DocumentStatus
    archive_no: str
    duplicate: bool = False


class DocumentOut(BaseModel):
    id: str
    archive_no: str
    partner_id: str
    doc_type: DocType
    confidentiality: Confidentiality
    department: str
    title: str
    original_filename: str
    media_type: str
    size_bytes: int
    status: DocumentStatus
    error: str | None
    error_reason: str | None
    pages: int | None
    ocr_pages: int | None
    sha256: str
    expires_on: date | None
    legal_hold: bool
    fields: dict[str, Any]
    field_provenance: dict[str, Any]
    field_problems: dict[str, str]
    flags: list[dict[str, Any]]
    superseded_by: str | None
    uploaded_by: str
    created_at: datetime
    indexed_at: datetime | None
    sm3: str | None = None
    retention: str | None = None
    filing_year: int | None = None
    item_no: int | None = None
    archival_code: str | None = None
    check_status: str | None = None


class DocumentUpdate(BaseModel):
    doc_type: DocType | None = None
    confidentiality: Confidentiality | None = None
    department: str | None = Field(default=None, min_length=1, max_length=100)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    expires_on: date | None = None
    legal_hold: bool | None = None
    fields: dict[str, Annotated[str, Field(max_length=500)] | None] | None = Field(
        default=None,
        max_length=40,
        description="Extracted fields as a person states them: a value (dates as 2026-01-31; "
        "expires_on also 长期), or null when the document does not carry the field.",
        examples=[{"expires_on": "2030-06-30", "legal_representative": "林建华"}],
    )

    @model_validator(mode="after")
    def _required_stay_set(self) -> DocumentUpdate:
        _refuse_null(self, ("doc_type", "confidentiality", "department", "title", "legal_hold", "fields"))
        return self


class SearchHit(BaseModel):
    id: str
    partner_id: str
    partner_name: str
    doc_type: DocType
    title: str
    score: float | None
    highlights: list[str]
    expires_on: date | None
    archive_no: str
    department: str


class SearchResponse(BaseModel):
    total: int
    page: int
    size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    user: str
    action: str
    target: str | None
    details: dict[str, Any]
    hash: str


class BorrowRequestCreate(BaseModel):
    document_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=100,
        description="document ids or archive numbers; those the caller cannot see are not checked here",
    )
    reason: str = Field(min_length=1, max_length=1000)
    days: int = Field(ge=1, le=30)
    allow_download: bool = Field(
        default=True,
        description="false: view only (watermarked page images); true: also a watermarked download",
    )


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class BorrowRequestOut(BaseModel):
    id: str
    requester: str
    reason: str
    days: int
    status: str
    document_ids: list[str]
    unresolved: int = Field(
        default=0,
        description="references the caller does not reach (not shown): absent or beyond their clearance",
    )
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    expires_at: datetime | None
    returned_at: datetime | None
    allow_download: bool = True
    requester_departments: list[str] = []
    recalled_by: str | None = None


class DestructionRequestCreate(BaseModel):
    document_ids: list[str] = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    appraisal_note: str | None = Field(default=None, max_length=4000)


class DestructionRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    requested_by: str
    reason: str
    appraisal_note: str | None
    status: str
    document_ids: list[str]
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    executed_by: str | None
    executed_at: datetime | None
    rejected_by: str | None = None
    rejection_note: str | None = None


class DestructionRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    request_id: str
    document_id: str
    archive_no: str
    partner_id: str
    partner_name: str
    doc_type: str
    title: str
    confidentiality: str
    department: str | None = None
    original_filename: str
    sha256: str
    pages: int | None
    uploaded_at: datetime
    archival_code: str | None = None
    item_no: int | None = None
    retention: str | None = None
    reason: str
    requested_by: str
    approved_by: str
    executed_by: str
    executed_at: datetime


class EligibleDocument(BaseModel):
    id: str
    archive_no: str
    partner_name: str
    doc_type: str
    title: str
    expires_on: date | None
    retention_ends: date
    retention: str | None = None
    archival_code: str | None = None


class CreditRatingCreate(BaseModel):
    rating: str = Field(pattern="^[A-D]$")
    rated_on: date
    reason: str = Field(min_length=1, max_length=2000)


class CreditRatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    rating: str
    rated_on: date
    reviewer: str
    reason: str
    created_at: datetime


class SupplierEvaluationCreate(BaseModel):
    period: str = Field(min_length=1, max_length=20, examples=["2026年度", "2026Q3"])
    quality: int = Field(ge=0, le=100)
    delivery: int = Field(ge=0, le=100)
    service: int = Field(ge=0, le=100)
    notes: str | None = Field(default=None, max_length=2000)


class SupplierEvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    period: str
    quality: int
    delivery: int
    service: int
    score: float
    notes: str | None
    evaluator: str
    created_at: datetime


class CheckItemOut(BaseModel):
    code: str
    property: str
    name: str
    result: str
    evidence: str


class DocumentChecksOut(BaseModel):
    """The latest 四性检测 of one document; `items` empty before the first one."""

    document_id: str
    archival_code: str | None
    status: str | None
    stage: str | None
    checked_at: datetime | None
    items: list[CheckItemOut]


class CheckRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    actor: str
    documents: int
    failed: int
    note: str | None


class CheckFailureOut(BaseModel):
    document_id: str
    archival_code: str | None
    title: str
    status: str
    check_status: str | None
    checked_at: datetime | None
    failed_items: list[CheckItemOut]
