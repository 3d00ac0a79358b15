"""Compliance: cross-checks of extracted fields, supersession, expiry list and notices."""

from __future__ import annotations

import smtplib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from archive.audit import record_event
from archive.errors import InvalidInput
from archive.models import Document, ExpiryNotice, Partner, ReviewItem
from archive.permissions import User, current_document_clause, document_visibility_clause
from archive.settings import Settings

log = structlog.get_logger(__name__)

# Documents whose expiry decides whether the partner may still be dealt with.
EXPIRY_TYPES = ("business_license", "id_card", "contract")
# Of those, the ones that always state an expiry (or 长期); a contract may have no term at all.
EXPIRY_EXPECTED_TYPES = ("business_license", "id_card")
EXPIRY_UNKNOWN = "expiry_unknown"


def _same_name(a: str, b: str) -> bool:
    def clean(text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        return "".join(ch for ch in text if ch.isalnum())

    return clean(a) == clean(b)


def cross_check_flags(
    *,
    doc_type: str,
    fields: dict[str, Any],
    partner: Partner,
    unverified: frozenset[str] | set[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Findings for compliance: what the document says that the partner record does not.

    A finding that rests on free text read by OCR says so (`needs_review`): it may be the
    reading that is wrong, not the document.
    """
    flags: list[dict[str, Any]] = []
    code = fields.get("credit_code")
    if doc_type == "business_license" and code and partner.credit_code and code != partner.credit_code:
        flags.append(
            {
                "kind": "credit_code_mismatch",
                "message": f"营业执照上的统一社会信用代码 {code} 与客商登记的 {partner.credit_code} 不一致"
                " (the licence's credit code differs from the partner's)",
            }
        )
    if doc_type == "business_license" and fields.get("name") and not _same_name(fields["name"], partner.name):
        flags.append(
            {
                "kind": "name_mismatch",
                "message": f"营业执照上的名称「{fields['name']}」与客商名称「{partner.name}」不一致"
                " (the licence's name differs from the partner's)",
            }
        )
    if doc_type == "contract":
        parties = [fields[key] for key in ("party_a", "party_b") if fields.get(key)]
        if parties and not any(_same_name(party, partner.name) for party in parties):
            flags.append(
                {
                    "kind": "party_mismatch",
                    "message": f"合同当事方（{'、'.join(parties)}）中没有客商「{partner.name}」"
                    " (no contract party matches the partner's name)",
                }
            )
    for flag in flags:
        flag["needs_review"] = bool(_FLAG_FIELDS[flag["kind"]] & set(unverified))
    return flags


_FLAG_FIELDS = {
    "credit_code_mismatch": frozenset({"credit_code"}),
    "name_mismatch": frozenset({"name"}),
    "party_mismatch": frozenset({"party_a", "party_b"}),
}
CROSS_CHECK_KINDS = frozenset(_FLAG_FIELDS)
# The national enterprise credit information system, where every 2016+ licence's QR code points.
NATIONAL_SYSTEM_HOST = "gsxt.gov.cn"


def licence_qr_flags(*, doc_type: str, fields: dict[str, Any], scanned: bool) -> list[dict[str, Any]]:
    """Authenticity hints from a licence's QR code (field `qr_host`): a scanned 2016+ licence
    (one with an 18-character credit code) whose code could not be read, or any licence whose
    code points elsewhere than the national system."""
    if doc_type != "business_license":
        return []
    host = fields.get("qr_host")
    national = (NATIONAL_SYSTEM_HOST, f".{NATIONAL_SYSTEM_HOST}")
    if isinstance(host, str) and host != national[0] and not host.endswith(national[1]):
        return [
            {
                "kind": "licence_qr_elsewhere",
                "message": f"营业执照二维码指向 {host}，不是国家企业信用信息公示系统"
                " (the licence's QR code points elsewhere than the national credit system)",
                "needs_review": False,
            }
        ]
    if host is None and scanned and len(str(fields.get("credit_code") or "")) == 18:
        return [
            {
                "kind": "licence_qr_missing",
                "message": "扫描的营业执照上未读到二维码，请核对原件"
                " (no readable QR code on a scanned licence of the 2016 format: check the original)",
                "needs_review": False,
            }
        ]
    return []


@dataclass(frozen=True)
class ExpiringDocument:
    document: Document
    expired: bool
    days_left: int


def expiring_documents(
    session: Session, *, user: User, within_days: int, today: date | None = None
) -> list[ExpiringDocument]:
    """Visible, current documents expiring before today + N days: expired ones first."""
    if not 1 <= within_days <= 3650:
        raise InvalidInput(
            "within_days 须在 1 到 3650 之间 (within_days must be 1-3650)", field="within_days"
        )
    today = today or datetime.now(UTC).date()
    documents = session.scalars(
        select(Document)
        .where(
            Document.expires_on.is_not(None),
            Document.expires_on < today + timedelta(days=within_days),
            current_document_clause(user),
            document_visibility_clause(user),
        )
        .options(selectinload(Document.partner))
        .order_by(Document.expires_on, Document.archive_no)
    )
    result = [
        ExpiringDocument(document=d, expired=d.expires_on < today, days_left=(d.expires_on - today).days)
        for d in documents
        if d.expires_on is not None
    ]
    record_event(
        session,
        user=user.sub,
        action="compliance_expiring",
        details={"within_days": within_days, "count": len(result)},
    )
    # Expired first, then by date (the query already orders by date within each group).
    return sorted(result, key=lambda item: not item.expired)


@dataclass(frozen=True)
class UnknownExpiry:
    document: Document
    reason: str | None


def _expiry_unknown_query(user: User | None = None):  # type: ignore[no-untyped-def]
    """Current documents whose expiry matters and could not be read, until a person settles it.

    The open `unknown` review item on `expires_on` is the mark: supplying the date, 长期, or
    recording that the document has none closes it (archive/review.py). For a `user`, current
    means not replaced by a document they see, and only documents they see are listed.
    """
    current = Document.superseded_by.is_(None) if user is None else current_document_clause(user)
    visible = true() if user is None else document_visibility_clause(user)
    return (
        select(Document, ReviewItem.reason)
        .join(ReviewItem, ReviewItem.document_id == Document.id)
        .where(
            ReviewItem.field == "expires_on",
            ReviewItem.kind == "unknown",
            ReviewItem.decided_at.is_(None),
            Document.doc_type.in_(EXPIRY_TYPES),
            Document.status == "indexed",
            current,
            visible,
            Document.expires_on.is_(None),
        )
        .options(selectinload(Document.partner))
        .order_by(Document.department, Document.archive_no)
    )


def expiry_unknown_documents(session: Session, *, user: User) -> list[UnknownExpiry]:
    """Visible, current licences, ID cards and contracts whose expiry nobody knows yet."""
    rows = session.execute(_expiry_unknown_query(user)).all()
    result = [UnknownExpiry(document=document, reason=reason) for document, reason in rows]
    record_event(session, user=user.sub, action="compliance_expiry_unknown", details={"count": len(result)})
    return result


def count_expiry_unknown(session: Session, *, user: User) -> int:
    """How many documents `expiry_unknown_documents` would list for the user."""
    query = _expiry_unknown_query(user)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _recipients(mapping: dict[str, Any], department: str) -> Any:
    return mapping.get(department) or mapping.get("*")


@dataclass
class _DepartmentNotice:
    expiring: list[Document] = field(default_factory=list)
    unknown: list[Document] = field(default_factory=list)

    def subjects(self) -> list[tuple[Document, str]]:
        """What each notice is about: its expiry date, or that the expiry is unknown."""
        dated = [(d, d.expires_on.isoformat()) for d in self.expiring if d.expires_on is not None]
        return dated + [(d, EXPIRY_UNKNOWN) for d in self.unknown]


def send_expiry_notices(session: Session, *, settings: Settings, today: date | None = None) -> int:
    """Tell each department what enters the window and what has no known expiry; each once."""
    today = today or datetime.now(UTC).date()
    horizon = today + timedelta(days=settings.notify_within_days)
    expiring = session.scalars(
        select(Document)
        .where(
            Document.expires_on.is_not(None),
            Document.expires_on < horizon,
            Document.superseded_by.is_(None),
            Document.status == "indexed",
        )
        .options(selectinload(Document.partner))
        .order_by(Document.expires_on)
    )
    by_department: dict[str, _DepartmentNotice] = defaultdict(_DepartmentNotice)
    for document in expiring:
        by_department[document.department].expiring.append(document)
    for document, _reason in session.execute(_expiry_unknown_query()):
        by_department[document.department].unknown.append(document)
    sent = 0
    for department, notice in sorted(by_department.items()):
        webhook = _recipients(settings.notify_webhooks, department)
        emails = _recipients(settings.notify_emails, department)
        if webhook:
            sent += _notify(
                session,
                "webhook",
                department,
                notice,
                lambda fresh, url=webhook, dept=department: _post_webhook(url, dept, fresh, today),
            )
        if emails and settings.smtp_host:
            sent += _notify(
                session,
                "email",
                department,
                notice,
                lambda fresh, to=emails, dept=department: _send_email(settings, to, dept, fresh, today),
            )
    return sent


def _notify(session: Session, channel: str, department: str, notice: _DepartmentNotice, deliver) -> int:  # type: ignore[no-untyped-def]
    """Claim the notices, deliver them, keep the claims only if delivery worked."""
    fresh = _DepartmentNotice()
    for document, subject in notice.subjects():
        try:
            with session.begin_nested():
                session.add(
                    ExpiryNotice(
                        document_id=document.id,
                        channel=channel,
                        subject=subject,
                        expires_on=document.expires_on,
                        department=department,
                    )
                )
        except IntegrityError:
            continue  # sent before, about this expiry date (or that it is unknown)
        (fresh.unknown if subject == EXPIRY_UNKNOWN else fresh.expiring).append(document)
    if not fresh.expiring and not fresh.unknown:
        return 0
    try:
        deliver(fresh)
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
        log.warning("expiry_notice.failed", channel=channel, department=department, error=str(exc))
        session.rollback()
        return 0
    record_event(
        session,
        user="system",
        action="expiry_notice",
        target=department,
        details={
            "channel": channel,
            "documents": [d.id for d in fresh.expiring],
            EXPIRY_UNKNOWN: [d.id for d in fresh.unknown],
        },
    )
    session.commit()
    return len(fresh.expiring) + len(fresh.unknown)


def _summary(documents: list[Document], today: date) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "archive_no": d.archive_no,
            "partner": d.partner.name,
            "doc_type": d.doc_type,
            "title": d.title,
            "expires_on": d.expires_on.isoformat() if d.expires_on else None,
            "expired": bool(d.expires_on and d.expires_on < today),
        }
        for d in documents
    ]


def _post_webhook(url: str, department: str, notice: _DepartmentNotice, today: date) -> None:
    response = httpx.post(
        url,
        json={
            "department": department,
            "date": today.isoformat(),
            "documents": _summary(notice.expiring, today),
            EXPIRY_UNKNOWN: _summary(notice.unknown, today),
        },
        timeout=10,
    )
    response.raise_for_status()


def _send_email(
    settings: Settings, recipients: list[str], department: str, notice: _DepartmentNotice, today: date
) -> None:
    message = EmailMessage()
    counts = []
    if notice.expiring:
        counts.append(f"{len(notice.expiring)} 份文档即将到期")
    if notice.unknown:
        counts.append(f"{len(notice.unknown)} 份文档到期日期未知")
    message["Subject"] = f"【客商档案】{department} 有 {'，'.join(counts)}"
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(recipients)
    lines = []
    if notice.expiring:
        lines += [f"{department}：以下文档将在 {settings.notify_within_days} 天内到期或已过期：", ""]
        for item in _summary(notice.expiring, today):
            state = "已过期" if item["expired"] else "即将到期"
            lines.append(
                f"- {item['archive_no']} {item['partner']}《{item['title']}》 {item['expires_on']} {state}"
            )
        lines.append("")
    if notice.unknown:
        lines += [f"{department}：以下文档的到期日期未能读出，请档案室核对补录：", ""]
        for item in _summary(notice.unknown, today):
            lines.append(f"- {item['archive_no']} {item['partner']}《{item['title']}》 到期日期未知")
    message.set_content("\n".join(lines))
    with smtplib.SMTP(settings.smtp_host or "localhost", settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
