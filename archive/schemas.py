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


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    archive_no: str
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


class PartnerList(BaseModel):
    total: int
    items: list[PartnerOut]


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
        _refuse_null(self, ("confidentiality", "department", "title", "legal_hold", "fields"))
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
    document_ids: list[str] = Field(min_length=1, max_length=100)
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
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    expires_at: datetime | None
    returned_at: datetime | None
    allow_download: bool = True


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
