"""The archive office's review queue, and the one service that changes a document's fields.

Every field read with no check to vouch for it (`needs_review`) and every field that could
not be read (`field_problems`) waits here for a person: accept the reading, correct it, or
record that the document does not carry it. A document that may not supersede older ones
without an archivist's confirmation waits here too (archive/supersession.py). Corrections
made elsewhere (`PATCH /documents/{id}` with `fields`, the document edit page) go through
`correct_fields`, so every path leaves the same provenance, audit entry, expiry columns,
supersession and index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from elasticsearch import Elasticsearch
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, contains_eager, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from archive.audit import record_event
from archive.compliance import CROSS_CHECK_KINDS, EXPIRY_EXPECTED_TYPES, cross_check_flags
from archive.credit_code import (
    is_valid_credit_code,
    is_valid_registration_no,
    normalize_license_no,
)
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound
from archive.identifiers import is_valid_id_number, normalize_id_number
from archive.models import Document, ReviewItem
from archive.permissions import User, can_view_document, current_document_clause, document_visibility_clause
from archive.search_index import reindex_documents
from archive.supersession import CONFIRMED, REJECTED, apply_supersession, holder_of

DECIDERS = ("archivist", "admin")
NEEDS_REVIEW, UNKNOWN, SUPERSESSION = "needs_review", "unknown", "supersession"
KINDS = (NEEDS_REVIEW, UNKNOWN, SUPERSESSION)
Verdict = Literal["accept", "correct", "not_present", "confirm", "reject"]
_VERDICTS_BY_KIND: dict[str, tuple[str, ...]] = {
    NEEDS_REVIEW: ("accept", "correct", "not_present"),
    UNKNOWN: ("correct", "not_present"),
    SUPERSESSION: ("confirm", "reject"),
}
# What a decision is recorded as on the item (past tense, as the audit log says it).
DECISION_RECORDED = {
    "accept": "accepted",
    "correct": "corrected",
    "not_present": "not_present",
    "confirm": CONFIRMED,
    "reject": REJECTED,
}

UNREAD_EXPIRY = "未读出到期日期 (no expiry date was read)"
PERPETUAL_WORDS = frozenset({"长期", "长期有效", "永久", "perpetual"})

_DATE_FIELDS = frozenset({"issued_on", "expires_on", "signed_on", "founded_on"})
_AMOUNT_FIELDS = frozenset({"amount", "registered_capital"})
_TEXT_FIELDS = frozenset(
    {
        "name",
        "company_type",
        "legal_representative",
        "address",
        "contract_no",
        "party_a",
        "party_b",
        "bank_name",
        "account_no",
        "account_name",
        "certificate_no",
    }
)
KNOWN_FIELDS = _DATE_FIELDS | _AMOUNT_FIELDS | _TEXT_FIELDS | {"credit_code", "registration_no", "id_number"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_TEXT = 300


class _NotPresent:
    """A person's statement that the document does not carry the field."""

    def __repr__(self) -> str:
        return "NOT_PRESENT"


class _Accept:
    """A person's statement that the value as read is right."""

    def __repr__(self) -> str:
        return "ACCEPT"


NOT_PRESENT = _NotPresent()
ACCEPT = _Accept()
FieldChange = str | _NotPresent | _Accept


# ---------------------------------------------------------------- keeping the queue


def expiry_expected_but_unread(document: Document) -> bool:
    """A licence or ID card with no expiry, not 长期, that nobody has spoken for."""
    fields = document.fields or {}
    return (
        document.doc_type in EXPIRY_EXPECTED_TYPES
        and document.expires_on is None
        and "expires_on" not in fields
        and fields.get("perpetual") is not True
        and "expires_on" not in (document.field_provenance or {})
    )


def sync_field_items(document: Document) -> None:
    """Open an item per field marked for review or not read; withdraw open ones no longer so."""
    fields = document.fields or {}
    wanted: dict[str, tuple[str, str | None]] = {}
    for name, entry in (document.field_provenance or {}).items():
        if name in fields and entry.get("needs_review") and entry.get("source") != "supplied":
            wanted[name] = (NEEDS_REVIEW, None)
    for name, why in (document.field_problems or {}).items():
        if name not in fields:
            wanted[name] = (UNKNOWN, why)
    if expiry_expected_but_unread(document):
        wanted.setdefault("expires_on", (UNKNOWN, UNREAD_EXPIRY))
    session = object_session(document)
    assert session is not None, "the document must be loaded in a session"
    existing = {item.field: item for item in document.review_items}
    for name, item in existing.items():
        if item.kind != SUPERSESSION and item.decision is None and name not in wanted:
            session.delete(item)
    now = datetime.now(UTC)
    new_rows = []
    for name, (kind, reason) in wanted.items():
        item = existing.get(name)
        if item is None:
            new_rows.append(
                {"document_id": document.id, "field": name, "kind": kind, "reason": reason, "opened_at": now}
            )
            continue
        if item.decision is not None:
            # Decided once, read again as unsure (a re-extraction): a person looks again.
            item.decision = item.decided_by = item.decided_at = None
            item.opened_at = now
        item.kind, item.reason = kind, reason
    if new_rows:
        # One INSERT for all of them: object by object cost a bulk import ~0.8 ms a document.
        session.execute(insert(ReviewItem), new_rows)
    session.expire(document, ["review_items"])


# ---------------------------------------------------------------- reading the queue


@dataclass(frozen=True)
class QueueFilters:
    department: str | None = None
    doc_type: str | None = None
    field: str | None = None
    kind: str | None = None
    document_id: str | None = None
    partner_id: str | None = None
    status: Literal["open", "decided", "all"] = "open"


def list_items(
    session: Session, *, user: User, filters: QueueFilters, offset: int = 0, limit: int = 50
) -> tuple[int, list[ReviewItem]]:
    """Items on indexed documents the user may see, oldest open first; total and one page."""
    conditions = [Document.status == "indexed", document_visibility_clause(user)]
    if filters.status == "open":
        conditions.append(ReviewItem.decided_at.is_(None))
    elif filters.status == "decided":
        conditions.append(ReviewItem.decided_at.is_not(None))
    for column, wanted in (
        (Document.department, filters.department),
        (Document.doc_type, filters.doc_type),
        (ReviewItem.field, filters.field),
        (ReviewItem.kind, filters.kind),
        (Document.id, filters.document_id),
        (Document.partner_id, filters.partner_id),
    ):
        if wanted:
            conditions.append(column == wanted)
    base = select(ReviewItem).join(ReviewItem.document).where(*conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = (
        [ReviewItem.decided_at.desc(), ReviewItem.id]
        if filters.status == "decided"
        else [ReviewItem.opened_at, Document.archive_no, ReviewItem.id]
    )
    items = list(
        session.scalars(
            base.options(contains_eager(ReviewItem.document).selectinload(Document.partner))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
    )
    record_event(
        session,
        user=user.sub,
        action="review_queue",
        details={
            "filters": {k: v for k, v in filters.__dict__.items() if v},
            "total": total,
            "returned": len(items),
        },
    )
    return total, items


def open_counts_by_department(session: Session, *, user: User) -> list[tuple[str, int]]:
    """Open items per department, counting only documents the user may see."""
    rows = session.execute(
        select(Document.department, func.count(ReviewItem.id))
        .join(ReviewItem.document)
        .where(
            ReviewItem.decided_at.is_(None),
            Document.status == "indexed",
            document_visibility_clause(user),
        )
        .group_by(Document.department)
        .order_by(Document.department)
    )
    return [(department, count) for department, count in rows]


def would_supersede(session: Session, *, user: User, document: Document) -> list[Document]:
    """The current documents this one would replace (same partner, type and holder) the user sees."""
    return [
        other
        for other in session.scalars(
            select(Document)
            .where(
                Document.partner_id == document.partner_id,
                Document.doc_type == document.doc_type,
                Document.status == "indexed",
                current_document_clause(user),
                Document.id != document.id,
                document_visibility_clause(user),
            )
            .order_by(Document.created_at)
        )
        if holder_of(other) == holder_of(document) is not None
    ]


# ---------------------------------------------------------------- deciding


def _require_decider(user: User) -> None:
    if not user.has_role(*DECIDERS):
        raise Forbidden("只有档案管理员或管理员可以核对字段 (archivist or admin only)")


def _document_for_change(session: Session, *, user: User, document_id: str) -> Document:
    document = session.scalars(
        select(Document)
        .where(Document.id == document_id)
        .options(selectinload(Document.partner), selectinload(Document.review_items))
        .with_for_update()
    ).first()
    if document is None or not can_view_document(
        user,
        document_id=document.id,
        confidentiality=document.confidentiality,
        department=document.department,
    ):
        raise NotFound(f"文档不存在 (document {document_id} not found)")
    return document


def decide(
    session: Session,
    *,
    es: Elasticsearch,
    index_prefix: str,
    user: User,
    document_id: str,
    field: str,
    verdict: Verdict,
    value: str | None = None,
    note: str | None = None,
) -> ReviewItem:
    """One decision on one queued item; audited, and searchable as decided on return."""
    _require_decider(user)
    document = _document_for_change(session, user=user, document_id=document_id)
    item = next((i for i in document.review_items if i.field == field), None)
    if item is None:
        raise NotFound(f"该文档的字段 {field} 不在核对队列中 (no review item for field {field})")
    if item.decision is not None:
        assert item.decided_at is not None
        raise Conflict(
            f"该项已由 {item.decided_by} 于 {item.decided_at:%Y-%m-%d %H:%M} 处理"
            f" (already decided: {item.decision})"
        )
    allowed = _VERDICTS_BY_KIND[item.kind]
    if verdict not in allowed:
        raise InvalidInput(
            f"此项只能选择 {'、'.join(allowed)} (this item takes one of: {', '.join(allowed)})",
            field="decision",
        )
    if verdict == "correct" and (value is None or value == ""):
        raise InvalidInput("更正须给出新值 (a correction needs a value)", field="value")
    if item.kind == SUPERSESSION:
        _claim(session, item, verdict=verdict, user=user)
        changed = apply_supersession(session, document)
        record_event(
            session,
            user=user.sub,
            action="review_decision",
            target=document.id,
            details={"field": field, "decision": item.decision, "note": note},
        )
        _reindex(session, es, index_prefix, [document, *changed])
        return item
    change: FieldChange
    if verdict == "accept":
        change = ACCEPT
    elif verdict == "not_present":
        change = NOT_PRESENT
    else:
        assert value is not None
        change = value
    _change_fields(
        session,
        es=es,
        index_prefix=index_prefix,
        user=user,
        document=document,
        changes={field: change},
        note=note,
    )
    return item


def correct_fields(
    session: Session,
    *,
    es: Elasticsearch,
    index_prefix: str,
    user: User,
    document_id: str,
    changes: Mapping[str, str | None],
    note: str | None = None,
) -> Document:
    """Set fields as a person states them (None: the document does not carry it).

    The one way fields change after extraction: the queue's decisions, `PATCH
    /documents/{id}` and the document edit page all end here. A value equal to the one read
    counts as accepting it. Open review items for those fields are closed as decided.
    """
    _require_decider(user)
    if not changes:
        raise InvalidInput("没有要修改的字段 (no fields given)", field="fields")
    document = _document_for_change(session, user=user, document_id=document_id)
    return _change_fields(
        session,
        es=es,
        index_prefix=index_prefix,
        user=user,
        document=document,
        changes={name: NOT_PRESENT if value is None else value for name, value in changes.items()},
        note=note,
    )


def _change_fields(
    session: Session,
    *,
    es: Elasticsearch,
    index_prefix: str,
    user: User,
    document: Document,
    changes: Mapping[str, FieldChange],
    note: str | None,
) -> Document:
    now = datetime.now(UTC)
    stamp = {"source": "supplied", "by": user.sub, "at": now.isoformat()}
    fields = dict(document.fields or {})
    provenance = dict(document.field_provenance or {})
    problems = dict(document.field_problems or {})
    verdicts: dict[str, str] = {}
    audit: dict[str, Any] = {}
    for name, change in changes.items():
        old = fields.get(name)
        read = provenance.get(name) or {}
        # Where the value stands on the page stays known, whoever said what it is.
        location = {key: read[key] for key in ("page", "page_source", "box") if key in read}
        if isinstance(change, _Accept):
            if name not in fields:
                raise InvalidInput(
                    f"字段 {name} 没有读出的值可以确认 (nothing was read to accept)", field=name
                )
            provenance[name] = {**read, **stamp, "needs_review": False}
            verdicts[name] = "accept"
        elif isinstance(change, _NotPresent):
            fields.pop(name, None)
            problems.pop(name, None)
            provenance[name] = {**stamp, "not_present": True}
            if name == "expires_on" and fields.pop("perpetual", None) is not None:
                provenance.pop("perpetual", None)
            verdicts[name] = "not_present"
        else:
            held_as_text = isinstance(fields.get(name), str) or (name not in fields and name in problems)
            value = normalize_field_value(name, change, known=held_as_text)
            problems.pop(name, None)
            if name == "expires_on" and value is True:
                fields.pop("expires_on", None)
                fields["perpetual"] = True
                provenance["perpetual"] = dict(stamp)
                provenance[name] = {**stamp, **location, "perpetual": True}
            else:
                fields[name] = value
                if name == "expires_on" and fields.pop("perpetual", None) is not None:
                    provenance.pop("perpetual", None)
                as_read = read.get("raw", old) if old is not None and old != value else None
                provenance[name] = {**stamp, **location, **({"raw": as_read} if as_read is not None else {})}
            verdicts[name] = "accept" if value == old else "correct"
        stated = "长期" if name == "expires_on" and fields.get("perpetual") is True else fields.get(name)
        audit[name] = {"old": old, "new": stated, "decision": DECISION_RECORDED[verdicts[name]]}
    document.fields = fields
    document.field_provenance = provenance
    document.field_problems = problems
    if "expires_on" in changes:
        document.expires_on = date.fromisoformat(fields["expires_on"]) if "expires_on" in fields else None
    # The cross-check findings follow the fields; findings of other kinds stay as they were.
    unverified = {name for name, entry in provenance.items() if entry.get("needs_review")}
    kept = [flag for flag in (document.flags or []) if flag.get("kind") not in CROSS_CHECK_KINDS]
    document.flags = kept + cross_check_flags(
        doc_type=document.doc_type, fields=fields, partner=document.partner, unverified=unverified
    )
    for item in document.review_items:
        if item.field in verdicts and item.decision is None:
            _claim(session, item, verdict=verdicts[item.field], user=user, at=now)
    record_event(
        session,
        user=user.sub,
        action="field_correction",
        target=document.id,
        details={"fields": audit, **({"note": note} if note else {})},
    )
    changed: list[Document] = []
    if document.status == "indexed" and {"issued_on", "id_number"} & set(changes):
        changed = apply_supersession(session, document)
    if document.status == "indexed":
        _reindex(session, es, index_prefix, [document, *changed])
    return document


def _claim(
    session: Session, item: ReviewItem, *, verdict: str, user: User, at: datetime | None = None
) -> None:
    """Close an open item; a decision that lost the race to another is refused."""
    at = at or datetime.now(UTC)
    claimed = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.decided_at.is_(None))
        .values(decision=DECISION_RECORDED[verdict], decided_by=user.sub, decided_at=at)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict("该项刚被他人处理 (already decided by someone else)")
    # What the UPDATE wrote, told to the loaded object without marking it changed again.
    set_committed_value(item, "decision", DECISION_RECORDED[verdict])
    set_committed_value(item, "decided_by", user.sub)
    set_committed_value(item, "decided_at", at)


def _reindex(session: Session, es: Elasticsearch, index_prefix: str, documents: list[Document]) -> None:
    # Before the commit: if the engine is down the change is refused, not left half done.
    session.flush()
    unique = {doc.id: doc for doc in documents if doc.status == "indexed"}
    loaded = session.scalars(
        select(Document)
        .where(Document.id.in_(list(unique)))
        .options(selectinload(Document.page_texts), selectinload(Document.partner))
    ).all()
    reindex_documents(es, prefix=index_prefix, documents=loaded)


# ---------------------------------------------------------------- values as people type them


def normalize_field_value(name: str, raw: str, *, known: bool = False) -> str | bool:
    """The value to keep for `name`, checked as strictly as extraction checks it; else 422.

    Dates are ISO (2026-01-31); `expires_on` also takes 长期 (returned as True: perpetual);
    credit codes, 注册号 and ID numbers must pass their check character. A field this module
    does not know is taken as text only when the document already holds it as text.
    """
    if name == "perpetual":
        raise InvalidInput("长期有效请在到期日期中填写“长期” (set expires_on to 长期)", field=name)
    if name not in KNOWN_FIELDS and not known:
        raise InvalidInput(f"未知字段: {name} (unknown field)", field=name)
    typed = raw.strip()
    # Dates, codes and amounts typed with full-width digits are read as such; names keep their
    # full-width brackets (有限公司（分公司）is how they are registered).
    text = unicodedata.normalize("NFKC", typed)
    if not text:
        raise InvalidInput(f"{name} 不能为空；没有此项请选“无此项” (empty; use not_present)", field=name)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise InvalidInput(f"{name} 含有不可见的控制字符 (contains control characters)", field=name)
    if name in _DATE_FIELDS:
        if name == "expires_on" and text.lower() in PERPETUAL_WORDS:
            return True
        return _checked_date(name, text)
    if name == "credit_code":
        code = normalize_license_no(text)
        if is_valid_credit_code(code) or is_valid_registration_no(code):
            return code
        raise InvalidInput(
            f"统一社会信用代码无效（校验位不符或格式错误）: {raw}"
            " (invalid credit code: bad check character or shape)",
            field=name,
        )
    if name == "registration_no":
        number = normalize_license_no(text)
        if is_valid_registration_no(number):
            return number
        raise InvalidInput(f"注册号无效（校验位不符）: {raw} (invalid registration number)", field=name)
    if name == "id_number":
        number = normalize_id_number(text)
        if is_valid_id_number(number):
            return number
        raise InvalidInput(
            "公民身份号码无效（校验位不符或出生日期不存在）"
            " (invalid ID number: check character or birth date)",
            field=name,
        )
    if name in _AMOUNT_FIELDS:
        return _checked_amount(name, text)
    if len(typed) > _MAX_TEXT:
        raise InvalidInput(f"{name} 过长，最多 {_MAX_TEXT} 字 (too long)", field=name)
    return typed


def _checked_date(name: str, text: str) -> str:
    if not _ISO_DATE.match(text):
        raise InvalidInput(f"{name} 日期格式应为 2026-01-31: {text} (a date like 2026-01-31)", field=name)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise InvalidInput(f"{name} 日期不存在: {text} (no such date)", field=name) from exc


def _checked_amount(name: str, text: str) -> str:
    cleaned = text.replace(",", "").removeprefix("¥").removesuffix("元")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{name} 金额应为数字，如 123456.00: {text} (an amount like 123456.00)", field=name
        ) from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"{name} 金额应为非负数、最多两位小数: {text} (amount out of range)", field=name)
    return str(amount.quantize(Decimal("0.01")))
