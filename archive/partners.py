"""Partners (客商): creation with numbering and credit-code checks, edits with history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Conflict, NotFound
from archive.models import Partner, PartnerChange, SupplierEvaluation
from archive.numbering import partner_archive_no
from archive.permissions import User, partner_visibility_clause
from archive.schemas import PartnerCreate, PartnerUpdate
from archive.settings import Settings


def _refuse_duplicate_code(session: Session, code: str | None, *, except_id: str | None = None) -> None:
    if code is None:
        return
    existing = session.scalars(select(Partner).where(Partner.credit_code == code)).first()
    if existing is not None and existing.id != except_id:
        raise Conflict(
            f"统一社会信用代码 {code} 已登记为「{existing.name}」（{existing.archive_no}）"
            f" (credit code already on file for partner {existing.id})",
            existing_id=existing.id,
        )


def create_partner(session: Session, *, settings: Settings, user: User, data: PartnerCreate) -> Partner:
    _refuse_duplicate_code(session, data.credit_code)
    partner = Partner(
        **data.model_dump(mode="json"),
        archive_no=partner_archive_no(session, settings=settings, kind=data.kind.value),
        created_by=user.sub,
    )
    session.add(partner)
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent request registered the same code between our check and our insert.
        session.rollback()
        _refuse_duplicate_code(session, data.credit_code)
        raise Conflict("客商登记冲突，请重试 (conflicting registration; retry)") from exc
    record_event(
        session,
        user=user.sub,
        action="partner_create",
        target=partner.id,
        details={"name": partner.name, "archive_no": partner.archive_no, "kind": partner.kind},
    )
    return partner


def get_visible_partner(session: Session, *, user: User, partner_id: str) -> Partner:
    partner = session.scalars(
        select(Partner).where(Partner.id == partner_id, partner_visibility_clause(user))
    ).first()
    if partner is None:
        raise NotFound(f"客商不存在 (partner {partner_id} not found)")
    return partner


def update_partner(session: Session, *, user: User, partner_id: str, data: PartnerUpdate) -> Partner:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    requested = data.model_dump(mode="json", exclude_unset=True)
    if "credit_code" in requested:
        _refuse_duplicate_code(session, requested["credit_code"], except_id=partner.id)
    changes: dict[str, Any] = {}
    for field, new in requested.items():
        old = getattr(partner, field)
        if old != new:
            changes[field] = {"old": old, "new": new}
            setattr(partner, field, new)
    if changes:
        session.add(PartnerChange(partner_id=partner.id, user=user.sub, changes=changes))
        record_event(session, user=user.sub, action="partner_update", target=partner.id, details=changes)
        session.flush()
    return partner


def view_partner(session: Session, *, user: User, partner_id: str) -> Partner:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    record_event(session, user=user.sub, action="partner_view", target=partner.id)
    return partner


def list_partners(
    session: Session,
    *,
    user: User,
    q: str | None,
    kind: str | None,
    credit_rating: str | None = None,
    min_score: float | None = None,
    offset: int,
    limit: int,
) -> tuple[int, list[Partner]]:
    conditions = [partner_visibility_clause(user)]
    if kind:
        conditions.append(Partner.kind == kind)
    if credit_rating:
        conditions.append(Partner.credit_rating == credit_rating)
    if min_score is not None:
        latest_score = (
            select(SupplierEvaluation.score)
            .where(SupplierEvaluation.partner_id == Partner.id)
            .order_by(SupplierEvaluation.created_at.desc(), SupplierEvaluation.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        conditions.append(latest_score >= min_score)
    if q:
        pattern = f"%{q.strip()}%"
        conditions.append(
            or_(
                Partner.name.like(pattern),
                Partner.archive_no.like(pattern),
                Partner.credit_code.like(pattern),
                Partner.contact_person.like(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(Partner).where(*conditions)) or 0
    items = session.scalars(
        select(Partner).where(*conditions).order_by(Partner.archive_no).offset(offset).limit(limit)
    ).all()
    record_event(
        session,
        user=user.sub,
        action="partner_search",
        details={
            "q": q,
            "kind": kind,
            "credit_rating": credit_rating,
            "min_score": min_score,
            "total": total,
        },
    )
    return total, list(items)
