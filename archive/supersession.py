"""Which of a partner's documents of one type is current, and which ones it replaces.

The newer document is the one issued later (`issued_on`: the 登记机关 date of a licence, the
start of an ID card's validity), else the one uploaded later; 成立日期 (`founded_on`), which
every re-issued licence repeats, plays no part. A document with no readable issue date
counts as issued on the day it was uploaded: it cannot have been issued later than that.

ID cards are replaced per person (the same ID number): a partner files several people's.

A newer document hides an older one only when nobody could have used it to hide a real
licence's expiry (issue 12, finding 8): it must be dated no later than the day it was
uploaded, and come from the same uploader as the document it replaces. Otherwise it waits
in the review queue until an archivist confirms it; until then both stay current, so the
older one's expiry keeps showing in the expiry list, the notices and the annual review.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from archive.models import Document, ReviewItem

# Types where a newer document replaces the older one; contracts stand side by side.
SUPERSEDABLE_TYPES = frozenset(
    {"business_license", "id_card", "bank_account", "authorization", "qualification"}
)
# The review item of a document that waits to replace older ones.
SUPERSESSION_FIELD = "supersedes"
CONFIRMED, REJECTED = "confirmed", "rejected"
# Dates on Chinese documents are days in China's one time zone (no daylight saving): a licence
# issued this morning in Fuzhou and uploaded at 07:00 there is not dated after its upload day,
# although that day has not begun in UTC.
CHINA_TIME = timezone(timedelta(hours=8), "CST")


def upload_day(document: Document) -> date:
    return document.created_at.astimezone(CHINA_TIME).date()


def issued_on(document: Document) -> date | None:
    value = (document.fields or {}).get("issued_on")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def dated_after_upload(document: Document) -> bool:
    issued = issued_on(document)
    return issued is not None and issued > upload_day(document)


def _rank(document: Document) -> tuple[date, datetime, str]:
    return (issued_on(document) or upload_day(document), document.created_at, document.id)


def _decision(document: Document) -> str | None:
    item = next((i for i in document.review_items if i.field == SUPERSESSION_FIELD), None)
    return item.decision if item is not None else None


def _may_hide(newer: Document, older: Document, decisions: dict[str, str | None]) -> bool:
    decision = decisions[newer.id]
    if decision in (CONFIRMED, REJECTED):
        return decision == CONFIRMED
    return not dated_after_upload(newer) and newer.uploaded_by == older.uploaded_by


def apply_supersession(session: Session, document: Document) -> list[Document]:
    """Recompute `superseded_by` for the document's partner and type; returns those changed.

    Each document is superseded by the newest document ranked above it that may hide it. A
    newer one that may not (dated after its upload day, or another uploader's document to
    replace) and that no archivist has decided on gets an open review item; an open item whose
    reason went away (a corrected date) is withdrawn.
    """
    if document.doc_type not in SUPERSEDABLE_TYPES:
        return []
    siblings = list(
        session.scalars(
            select(Document)
            .where(
                Document.partner_id == document.partner_id,
                Document.doc_type == document.doc_type,
                Document.status == "indexed",
            )
            .options(
                selectinload(Document.page_texts),
                selectinload(Document.partner),
                selectinload(Document.review_items),
            )
        )
    )
    decisions = {doc.id: _decision(doc) for doc in siblings}
    waiting: dict[str, list[Document]] = defaultdict(list)
    changed = []
    groups: dict[str, list[Document]] = defaultdict(list)
    for doc in siblings:
        holder = holder_of(doc)
        groups[doc.id if holder is None else holder].append(doc)
    for group in groups.values():
        ranked = sorted(group, key=_rank, reverse=True)
        for position, older in enumerate(ranked):
            successor = None
            for newer in ranked[:position]:
                if _may_hide(newer, older, decisions):
                    successor = newer
                    break
                if decisions[newer.id] is None:
                    waiting[newer.id].append(older)
            wanted = successor.id if successor is not None else None
            if older.superseded_by != wanted:
                older.superseded_by = wanted
                changed.append(older)
    for doc in siblings:
        _keep_item(doc, waiting.get(doc.id, []))
    session.flush()
    return changed


def holder_of(document: Document) -> str | None:
    """Whose document it is, where a partner keeps one per person; None: not known yet.

    A partner files the ID cards of its legal representative and of its agents: a newer card
    replaces only an older card of the same person (the same ID number). A card whose number
    was not read replaces nothing and is replaced by nothing until the number is supplied.
    Every other type has one holder, the partner.
    """
    if document.doc_type != "id_card":
        return ""
    number = (document.fields or {}).get("id_number")
    return number if isinstance(number, str) and number else None


def _keep_item(document: Document, would_hide: list[Document]) -> None:
    """Open the document's supersession item while it waits; withdraw it once it does not."""
    item = next((i for i in document.review_items if i.field == SUPERSESSION_FIELD), None)
    if item is not None and item.decision is not None:
        return
    if not would_hide:
        if item is not None:
            document.review_items.remove(item)
        return
    reason = waiting_reason(document, would_hide)
    if item is None:
        document.review_items.append(ReviewItem(field=SUPERSESSION_FIELD, kind="supersession", reason=reason))
    else:
        item.reason = reason


def waiting_reason(document: Document, would_hide: list[Document]) -> str:
    """Why an archivist must confirm; names no other document (the reader may not see it)."""
    reasons = []
    if dated_after_upload(document):
        reasons.append(
            f"签发日期 {issued_on(document)} 晚于上传日 {upload_day(document)}"
            " (issued after the day it was uploaded)"
        )
    if any(older.uploaded_by != document.uploaded_by for older in would_hide):
        reasons.append("将替代他人上传的同类文档 (would replace a document someone else uploaded)")
    return "；".join(reasons) or "待确认是否替代旧文档 (to confirm before it replaces older ones)"


def awaiting_confirmation_clause() -> ColumnElement[bool]:
    """SQL: the document waits for, or was refused, an archivist's confirmation to supersede.

    Such a document is not trusted as the partner's valid licence (annual review,
    registration form): a forged licence must not make a partner look licensed.
    """
    return exists(
        select(ReviewItem.id).where(
            ReviewItem.document_id == Document.id,
            ReviewItem.field == SUPERSESSION_FIELD,
            or_(ReviewItem.decision.is_(None), ReviewItem.decision == REJECTED),
        )
    )
