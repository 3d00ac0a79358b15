"""Partners (客商): registration (pending until approved, unless the archive office registers),
credit-code checks, edits with history, and a second person on the changes fraud goes for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.departments import require_known_department
from archive.errors import Conflict, Forbidden, NotFound
from archive.models import (
    Partner,
    PartnerChange,
    PartnerStatusChange,
    PendingPartnerChange,
    RelationshipRecord,
    SupplierEvaluation,
    SuspensionProposal,
    utcnow,
)
from archive.numbering import partner_archive_no, provisional_partner_no
from archive.permissions import (
    PARTNER_EDITOR_ROLES,
    User,
    can_change_partner,
    can_confirm_change,
    partner_visibility_clause,
)
from archive.schemas import PartnerCreate, PartnerUpdate
from archive.settings import Settings

# A change of these reaches the partner's money or its identity (the classic payment-fraud
# route): it takes effect only when a second person confirms it. The bank's name goes with
# the account number, since one without the other sends money elsewhere just the same.
SENSITIVE_FIELDS = ("bank_name", "bank_account", "credit_code", "legal_representative")


def _refuse_duplicate_code(
    session: Session, code: str | None, *, user: User, except_id: str | None = None
) -> None:
    if code is None:
        return
    existing = session.scalars(select(Partner).where(Partner.credit_code == code)).first()
    if existing is None or existing.id == except_id:
        return
    visible = session.scalar(
        select(Partner.id).where(Partner.id == existing.id, partner_visibility_clause(user))
    )
    if visible is None:
        # The code is taken (it identifies one company), but by a partner this user may not
        # see: say no more than that.
        raise Conflict("统一社会信用代码已登记 (credit code already on file)")
    raise Conflict(
        f"统一社会信用代码 {code} 已登记为「{existing.name}」（{existing.number}）"
        f" (credit code already on file for partner {existing.id})",
        existing_id=existing.id,
    )


def mark_decided(
    item: PendingPartnerChange | SuspensionProposal, *, status: str, by: str, note: str | None
) -> datetime:
    """A change or a proposal decided: how, by whom, when, and what they said."""
    now = utcnow()
    item.status, item.decided_by, item.decided_at, item.decision_note = status, by, now, note
    return now


def opens_directly(user: User) -> bool:
    """The archive office and admins open an archive at once; anyone else's waits for approval."""
    return bool(user.roles & PARTNER_EDITOR_ROLES)


def create_partner(session: Session, *, settings: Settings, user: User, data: PartnerCreate) -> Partner:
    require_known_department(settings, data.department)
    _refuse_duplicate_code(session, data.credit_code, user=user)
    if opens_directly(user):
        numbers = {
            "status": "active",
            "archive_no": partner_archive_no(session, settings=settings, kind=data.kind.value),
        }
    else:
        numbers = {"status": "pending", "provisional_no": provisional_partner_no(session, settings=settings)}
    partner = Partner(**data.model_dump(mode="json"), **numbers, created_by=user.sub)
    session.add(partner)
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent request registered the same code between our check and our insert.
        session.rollback()
        _refuse_duplicate_code(session, data.credit_code, user=user)
        raise Conflict("客商登记冲突，请重试 (conflicting registration; retry)") from exc
    session.add(
        PartnerStatusChange(
            partner_id=partner.id,
            from_status=None,
            to_status=partner.status,
            action="create",
            changed_by=user.sub,
        )
    )
    record_event(
        session,
        user=user.sub,
        action="partner_create",
        target=partner.id,
        details={
            "name": partner.name,
            "archive_no": partner.archive_no,
            "provisional_no": partner.provisional_no,
            "status": partner.status,
            "kind": partner.kind,
        },
    )
    return partner


def get_visible_partner(session: Session, *, user: User, partner_id: str) -> Partner:
    partner = session.scalars(
        select(Partner).where(Partner.id == partner_id, partner_visibility_clause(user))
    ).first()
    if partner is None:
        raise NotFound(f"客商不存在 (partner {partner_id} not found)")
    return partner


def get_changeable_partner(session: Session, *, user: User, partner_id: str) -> Partner:
    """A partner the caller may change: hidden is 404, seen but not theirs to change is 403."""
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    if not can_change_partner(user, department=partner.department):
        raise Forbidden(
            "只有该客商所属部门的业务人员和部门负责人、档案管理员或管理员可以修改它"
            " (only the partner's own department's staff and managers, archivists and admins may change it)"
        )
    return partner


@dataclass(frozen=True)
class UpdateOutcome:
    partner: Partner
    applied: dict[str, Any]
    awaiting: PendingPartnerChange | None


def update_partner(session: Session, *, user: User, partner_id: str, data: PartnerUpdate) -> UpdateOutcome:
    """Apply ordinary fields at once; bank, credit code and legal representative wait for a
    second person. Everything is checked before anything is changed."""
    partner = get_changeable_partner(session, user=user, partner_id=partner_id)
    requested = data.model_dump(mode="json", exclude_unset=True)
    differing = {
        field: {"old": getattr(partner, field), "new": new}
        for field, new in requested.items()
        if getattr(partner, field) != new
    }
    sensitive = {field: diff for field, diff in differing.items() if field in SENSITIVE_FIELDS}
    applied = {field: diff for field, diff in differing.items() if field not in SENSITIVE_FIELDS}
    if "credit_code" in sensitive:
        _refuse_duplicate_code(session, sensitive["credit_code"]["new"], user=user, except_id=partner.id)
    if sensitive and pending_change_of(session, partner.id) is not None:
        raise Conflict(
            "该客商已有一项待复核的变更，请先确认或驳回 (a change of this partner already awaits"
            " confirmation; confirm or reject it first)"
        )
    if applied:
        for field, diff in applied.items():
            setattr(partner, field, diff["new"])
        session.add(PartnerChange(partner_id=partner.id, user=user.sub, changes=applied))
        record_event(session, user=user.sub, action="partner_update", target=partner.id, details=applied)
        if "department" in applied:
            # Relationship records are the department's work with the partner: they follow it.
            for record in session.scalars(
                select(RelationshipRecord).where(RelationshipRecord.partner_id == partner.id)
            ):
                record.department = partner.department
    awaiting = None
    if sensitive:
        awaiting = PendingPartnerChange(partner_id=partner.id, changes=sensitive, requested_by=user.sub)
        session.add(awaiting)
        session.flush()
        record_event(
            session,
            user=user.sub,
            action="partner_change_requested",
            target=partner.id,
            details={"change_id": awaiting.id, "changes": sensitive},
        )
    session.flush()
    return UpdateOutcome(partner=partner, applied=applied, awaiting=awaiting)


def pending_change_of(session: Session, partner_id: str) -> PendingPartnerChange | None:
    return session.scalars(
        select(PendingPartnerChange).where(
            PendingPartnerChange.partner_id == partner_id, PendingPartnerChange.status == "pending"
        )
    ).first()


def _pending_change(session: Session, *, user: User, partner_id: str, change_id: str) -> PendingPartnerChange:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    change = session.get(PendingPartnerChange, change_id)
    if change is None or change.partner_id != partner.id:
        raise NotFound(f"待复核的变更不存在 (change {change_id} not found)")
    if change.status != "pending":
        raise Conflict(f"该变更已处理：{change.status} (the change was already decided: {change.status})")
    if not can_confirm_change(user, department=partner.department):
        raise Forbidden(
            "复核须由该客商所属部门的负责人、档案管理员或管理员进行"
            " (a change is confirmed by the partner's department manager, an archivist or an admin)"
        )
    if change.requested_by == user.sub:
        raise Forbidden("不能复核自己提出的变更 (a change is confirmed by someone other than its author)")
    return change


def confirm_change(
    session: Session, *, user: User, partner_id: str, change_id: str, note: str | None
) -> PendingPartnerChange:
    """The second person: the change takes effect now, with both names in the history."""
    change = _pending_change(session, user=user, partner_id=partner_id, change_id=change_id)
    partner = change.partner
    moved = [field for field, diff in change.changes.items() if getattr(partner, field) != diff["old"]]
    if moved:
        raise Conflict(
            f"{', '.join(moved)} 在申请后已被修改，请驳回后重新申请"
            f" (changed since the request: {', '.join(moved)}; reject it and ask again)"
        )
    if "credit_code" in change.changes:
        _refuse_duplicate_code(session, change.changes["credit_code"]["new"], user=user, except_id=partner.id)
    for field, diff in change.changes.items():
        setattr(partner, field, diff["new"])
    now = mark_decided(change, status="confirmed", by=user.sub, note=note)
    session.add(
        PartnerChange(
            partner_id=partner.id,
            at=change.requested_at,
            user=change.requested_by,
            changes=change.changes,
            confirmed_by=user.sub,
            confirmed_at=now,
        )
    )
    record_event(
        session,
        user=user.sub,
        action="partner_change_confirmed",
        target=partner.id,
        details={"change_id": change.id, "requested_by": change.requested_by, "changes": change.changes,
                 "note": note},
    )
    session.flush()
    return change


def reject_change(
    session: Session, *, user: User, partner_id: str, change_id: str, note: str | None
) -> PendingPartnerChange:
    change = _pending_change(session, user=user, partner_id=partner_id, change_id=change_id)
    mark_decided(change, status="rejected", by=user.sub, note=note)
    record_event(
        session,
        user=user.sub,
        action="partner_change_rejected",
        target=change.partner_id,
        details={"change_id": change.id, "requested_by": change.requested_by, "note": note},
    )
    session.flush()
    return change


def pending_changes(session: Session, *, partner_id: str) -> list[PendingPartnerChange]:
    return list(
        session.scalars(
            select(PendingPartnerChange)
            .where(PendingPartnerChange.partner_id == partner_id, PendingPartnerChange.status == "pending")
            .order_by(PendingPartnerChange.requested_at)
        )
    )


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
    status: str | None = None,
    credit_rating: str | None = None,
    min_score: float | None = None,
    offset: int,
    limit: int,
) -> tuple[int, list[Partner]]:
    conditions = [partner_visibility_clause(user)]
    if kind:
        conditions.append(Partner.kind == kind)
    if status:
        conditions.append(Partner.status == status)
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
                Partner.provisional_no.like(pattern),
                Partner.credit_code.like(pattern),
                Partner.contact_person.like(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(Partner).where(*conditions)) or 0
    items = session.scalars(
        select(Partner)
        .where(*conditions)
        .order_by(Partner.archive_no.is_(None), Partner.archive_no, Partner.provisional_no)
        .offset(offset)
        .limit(limit)
    ).all()
    record_event(
        session,
        user=user.sub,
        action="partner_search",
        details={
            "q": q,
            "kind": kind,
            "status": status,
            "credit_rating": credit_rating,
            "min_score": min_score,
            "total": total,
        },
    )
    return total, list(items)
