"""暂停建议: a supplier evaluation below the configured score, or a credit rating of D,
proposes suspension to the partner's department manager. It never suspends by itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Partner, SuspensionProposal
from archive.partner_life.status import change_status
from archive.partners import mark_decided
from archive.permissions import PARTNER_EDITOR_ROLES, User, can_change_status, partner_visibility_clause


def propose_suspension(
    session: Session, *, partner: Partner, source: str, reason: str, details: dict[str, Any], by: str
) -> SuspensionProposal | None:
    """Put a proposal in the manager's inbox; only an active partner can be suspended."""
    if partner.status != "active":
        return None
    proposal = SuspensionProposal(
        partner_id=partner.id, source=source, reason=reason, details=details, proposed_by=by
    )
    session.add(proposal)
    session.flush()
    record_event(
        session,
        user=by,
        action="suspension_proposed",
        target=partner.id,
        details={"proposal_id": proposal.id, "source": source, "reason": reason, **details},
    )
    return proposal


def deciders_clause(user: User) -> ColumnElement[bool]:
    """Partners whose status the user may change, as SQL (the proposals they decide)."""
    if user.roles & PARTNER_EDITOR_ROLES:
        return partner_visibility_clause(user)
    if "manager" in user.roles and user.departments:
        return Partner.department.in_(sorted(user.departments))
    return false()


def list_proposals(
    session: Session, *, user: User, status: str | None = "pending"
) -> list[SuspensionProposal]:
    if not user.has_role("manager", *PARTNER_EDITOR_ROLES):
        raise Forbidden("暂停建议由部门负责人、档案管理员或管理员处理 (for managers, archivists and admins)")
    query = (
        select(SuspensionProposal)
        .join(Partner, SuspensionProposal.partner_id == Partner.id)
        .where(deciders_clause(user))
    )
    if status:
        query = query.where(SuspensionProposal.status == status)
    return list(session.scalars(query.order_by(SuspensionProposal.created_at.desc())))


def _open_proposal(session: Session, *, user: User, proposal_id: str) -> SuspensionProposal:
    proposal = session.get(SuspensionProposal, proposal_id)
    visible = proposal is not None and session.scalar(
        select(Partner.id).where(Partner.id == proposal.partner_id, partner_visibility_clause(user))
    )
    if proposal is None or not visible:
        raise NotFound(f"暂停建议不存在 (proposal {proposal_id} not found)")
    if not can_change_status(user, department=proposal.partner.department):
        raise Forbidden(
            "暂停建议由该客商所属部门的负责人、档案管理员或管理员处理"
            " (a proposal is decided by the partner's department manager, an archivist or an admin)"
        )
    if proposal.status != "pending":
        raise Conflict(
            f"该建议已处理：{proposal.status} (the proposal was already decided: {proposal.status})"
        )
    return proposal


def accept(session: Session, *, user: User, proposal_id: str, note: str | None) -> SuspensionProposal:
    """Suspend the partner as proposed; the proposal's reason goes into the status history."""
    proposal = _open_proposal(session, user=user, proposal_id=proposal_id)
    reason = proposal.reason + (f"；{note.strip()}" if note and note.strip() else "")
    # The status change closes every pending proposal of the partner, this one included;
    # this one is then marked as the one accepted.
    change_status(
        session,
        user=user,
        partner_id=proposal.partner_id,
        status="suspended",
        reason=reason,
        action="proposal",
    )
    mark_decided(proposal, status="accepted", by=user.sub, note=note)
    record_event(
        session,
        user=user.sub,
        action="suspension_accepted",
        target=proposal.partner_id,
        details={"proposal_id": proposal.id, "note": note},
    )
    session.flush()
    return proposal


def dismiss(session: Session, *, user: User, proposal_id: str, note: str | None) -> SuspensionProposal:
    """Keep cooperating; why is required, since the evaluation said otherwise."""
    if not (note or "").strip():
        raise InvalidInput("不予暂停须说明理由 (dismissing a proposal needs a note)", field="note")
    proposal = _open_proposal(session, user=user, proposal_id=proposal_id)
    mark_decided(proposal, status="dismissed", by=user.sub, note=note)
    record_event(
        session,
        user=user.sub,
        action="suspension_dismissed",
        target=proposal.partner_id,
        details={"proposal_id": proposal.id, "note": note},
    )
    session.flush()
    return proposal
