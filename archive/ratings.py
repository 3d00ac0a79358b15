"""信用评级 and 供应商评价: kept with history; the newest rating is the partner's."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Forbidden, InvalidInput
from archive.models import CreditRatingEntry, SupplierEvaluation
from archive.partner_life.proposals import propose_suspension
from archive.partners import get_visible_partner
from archive.permissions import User, can_change_partner

RATERS = ("archivist", "compliance", "admin")


def rate_partner(
    session: Session, *, user: User, partner_id: str, rating: str, rated_on: date, reason: str
) -> CreditRatingEntry:
    if not user.has_role(*RATERS):
        raise Forbidden("只有档案管理员、合规或管理员可以评定信用等级 (archivist, compliance or admin only)")
    if rating not in ("A", "B", "C", "D"):
        raise InvalidInput("信用等级须为 A、B、C 或 D (rating must be A-D)", field="rating")
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    entry = CreditRatingEntry(
        partner_id=partner.id, rating=rating, rated_on=rated_on, reviewer=user.sub, reason=reason
    )
    session.add(entry)
    previous = partner.credit_rating
    partner.credit_rating = rating
    session.flush()
    record_event(
        session,
        user=user.sub,
        action="credit_rating",
        target=partner.id,
        details={"old": previous, "new": rating, "reason": reason, "rated_on": rated_on.isoformat()},
    )
    if rating == "D":
        propose_suspension(
            session,
            partner=partner,
            source="rating",
            reason=f"信用等级评为 D（{rated_on.isoformat()}）：{reason}",
            details={"rating": rating, "rated_on": rated_on.isoformat(), "previous": previous},
            by=user.sub,
        )
    return entry


def rating_history(session: Session, *, user: User, partner_id: str) -> list[CreditRatingEntry]:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    return list(
        session.scalars(
            select(CreditRatingEntry)
            .where(CreditRatingEntry.partner_id == partner.id)
            .order_by(CreditRatingEntry.rated_on.desc(), CreditRatingEntry.id.desc())
        )
    )


def evaluate_supplier(
    session: Session,
    *,
    user: User,
    partner_id: str,
    period: str,
    quality: int,
    delivery: int,
    service: int,
    notes: str | None,
    suspension_score_below: float,
) -> SupplierEvaluation:
    """Score a supplier; below `suspension_score_below` suspension is proposed to its manager."""
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    if not (can_change_partner(user, department=partner.department) or user.has_role("compliance")):
        raise Forbidden(
            "只有该供应商所属部门的人员、合规、档案管理员或管理员可以评价它"
            " (the supplier's own department, compliance, archivists and admins evaluate it)"
        )
    if partner.kind != "supplier":
        raise InvalidInput("只能评价供应商 (only suppliers are evaluated)", field="partner_id")
    for name, value in (("quality", quality), ("delivery", delivery), ("service", service)):
        if not 0 <= value <= 100:
            raise InvalidInput(f"{name} 须在 0 到 100 之间 ({name} must be 0-100)", field=name)
    # Quality weighs most: a late delivery can be made up, a bad part cannot.
    score = round(quality * 0.5 + delivery * 0.3 + service * 0.2, 1)
    evaluation = SupplierEvaluation(
        partner_id=partner.id,
        period=period,
        quality=quality,
        delivery=delivery,
        service=service,
        score=score,
        notes=notes,
        evaluator=user.sub,
    )
    session.add(evaluation)
    session.flush()
    record_event(
        session,
        user=user.sub,
        action="supplier_evaluation",
        target=partner.id,
        details={"period": period, "score": score},
    )
    if score < suspension_score_below:
        propose_suspension(
            session,
            partner=partner,
            source="evaluation",
            reason=f"{period} 供应商评价 {score} 分，低于 {suspension_score_below:g} 分",
            details={"period": period, "score": score, "threshold": suspension_score_below},
            by=user.sub,
        )
    return evaluation


def evaluations(session: Session, *, user: User, partner_id: str) -> list[SupplierEvaluation]:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    return list(
        session.scalars(
            select(SupplierEvaluation)
            .where(SupplierEvaluation.partner_id == partner.id)
            .order_by(SupplierEvaluation.created_at.desc())
        )
    )
