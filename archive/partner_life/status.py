"""Opening a partner's archive (建档审批) and its status afterwards, each step with who, when
and why kept as history.

    pending ─approve→ active ⇄ suspended → terminated
       └─reject→ rejected ─resubmit→ pending        any of active/suspended/terminated → blacklisted
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Conflict, Forbidden, InvalidInput
from archive.models import Document, Partner, PartnerStatusChange, SuspensionProposal, utcnow
from archive.numbering import partner_archive_no, renumbered
from archive.partners import get_changeable_partner, get_visible_partner, mark_decided
from archive.permissions import PARTNER_EDITOR_ROLES, User, can_change_status, can_decide_opening
from archive.settings import Settings

STATUS_LABELS = {
    "pending": "待审批",
    "active": "合作中",
    "suspended": "暂停",
    "terminated": "终止",
    "blacklisted": "黑名单",
    "rejected": "已驳回",
}
# Where `POST /status` may take a partner from each status; pending and rejected partners
# move only by approve, reject and resubmit.
TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"suspended", "terminated", "blacklisted"}),
    "suspended": frozenset({"active", "terminated", "blacklisted"}),
    "terminated": frozenset({"active", "blacklisted"}),
    "blacklisted": frozenset({"active", "suspended", "terminated"}),
}


def _step(
    session: Session, partner: Partner, *, to_status: str, action: str, reason: str | None, user: User
) -> PartnerStatusChange:
    step = PartnerStatusChange(
        partner_id=partner.id,
        from_status=partner.status,
        to_status=to_status,
        action=action,
        reason=reason,
        changed_by=user.sub,
        at=utcnow(),
    )
    session.add(step)
    partner.status = to_status
    if to_status != "active":
        _close_proposals(session, partner, user=user, why=f"客商状态已变为{STATUS_LABELS[to_status]}")
    return step


def _close_proposals(session: Session, partner: Partner, *, user: User, why: str) -> None:
    """A partner no longer active needs no proposal to suspend it."""
    for proposal in session.scalars(
        select(SuspensionProposal).where(
            SuspensionProposal.partner_id == partner.id, SuspensionProposal.status == "pending"
        )
    ):
        mark_decided(proposal, status="closed", by=user.sub, note=why)


def _pending_for_decision(session: Session, *, user: User, partner_id: str) -> Partner:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    if not can_decide_opening(user, department=partner.department):
        raise Forbidden(
            f"只有{partner.department}的部门负责人或管理员可以审批 (only a manager of the partner's"
            " department, or an admin, approves opening its archive)"
        )
    if partner.created_by == user.sub:
        raise Forbidden(
            "不能审批自己登记的客商 (a partner is approved by someone other than who registered it)"
        )
    if partner.status != "pending":
        raise Conflict(
            f"该客商不在待审批状态（当前：{STATUS_LABELS.get(partner.status, partner.status)}）"
            f" (the partner is not pending; it is {partner.status})"
        )
    return partner


def approve(
    session: Session, *, settings: Settings, user: User, partner_id: str, comment: str | None
) -> Partner:
    """Open the archive: the archive number now, and the documents filed under it."""
    partner = _pending_for_decision(session, user=user, partner_id=partner_id)
    provisional = partner.provisional_no
    partner.archive_no = partner_archive_no(session, settings=settings, kind=partner.kind)
    moved = 0
    if provisional:
        for document in session.scalars(select(Document).where(Document.partner_id == partner.id)):
            new_no = renumbered(
                document.archive_no, provisional_no=provisional, archive_no=partner.archive_no
            )
            if new_no != document.archive_no:
                document.archive_no = new_no
                moved += 1
    _step(session, partner, to_status="active", action="approve", reason=comment, user=user)
    record_event(
        session,
        user=user.sub,
        action="partner_approve",
        target=partner.id,
        details={
            "archive_no": partner.archive_no,
            "provisional_no": provisional,
            "documents_renumbered": moved,
            "comment": comment,
        },
    )
    session.flush()
    return partner


def reject(session: Session, *, user: User, partner_id: str, comment: str | None) -> Partner:
    if not (comment or "").strip():
        raise InvalidInput("驳回须说明理由 (a rejection needs a comment)", field="comment")
    partner = _pending_for_decision(session, user=user, partner_id=partner_id)
    _step(session, partner, to_status="rejected", action="reject", reason=comment, user=user)
    record_event(
        session, user=user.sub, action="partner_reject", target=partner.id, details={"comment": comment}
    )
    session.flush()
    return partner


def resubmit(session: Session, *, user: User, partner_id: str, comment: str | None) -> Partner:
    """A rejected partner, corrected, goes back to its department's manager."""
    partner = get_changeable_partner(session, user=user, partner_id=partner_id)
    if partner.status != "rejected":
        raise Conflict(
            f"只有已驳回的客商可以重新提交（当前：{STATUS_LABELS.get(partner.status, partner.status)}）"
            f" (only a rejected partner is resubmitted; it is {partner.status})"
        )
    _step(session, partner, to_status="pending", action="resubmit", reason=comment, user=user)
    record_event(
        session, user=user.sub, action="partner_resubmit", target=partner.id, details={"comment": comment}
    )
    session.flush()
    return partner


def change_status(
    session: Session, *, user: User, partner_id: str, status: str, reason: str, action: str = "status"
) -> Partner:
    """Suspend, terminate, blacklist or resume; the reason is required and kept."""
    if not reason.strip():
        raise InvalidInput("状态变更须说明理由 (a status change needs a reason)", field="reason")
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    if not can_change_status(user, department=partner.department):
        raise Forbidden(
            f"只有{partner.department}的部门负责人、档案管理员或管理员可以变更客商状态 (only a manager of the"
            " partner's department, an archivist or an admin changes its status)"
        )
    current = partner.status
    if current in ("pending", "rejected"):
        raise Conflict(
            f"该客商{STATUS_LABELS[current]}：请使用审批、驳回或重新提交 (the partner is {current}:"
            " use approve, reject or resubmit)"
        )
    if status == current:
        raise Conflict(f"该客商已是{STATUS_LABELS[current]} (the partner is already {current})")
    if status not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(
            f"不能从{STATUS_LABELS[current]}变为{STATUS_LABELS.get(status, status)}"
            f" (a partner cannot go from {current} to {status})"
        )
    if current == "blacklisted" and not user.roles & PARTNER_EDITOR_ROLES:
        raise Forbidden(
            "移出黑名单须由档案管理员或管理员办理 (only an archivist or an admin lifts a blacklisting)"
        )
    _step(session, partner, to_status=status, action=action, reason=reason.strip(), user=user)
    record_event(
        session,
        user=user.sub,
        action="partner_status",
        target=partner.id,
        details={"from": current, "to": status, "reason": reason.strip()},
    )
    session.flush()
    return partner


def status_history(session: Session, *, user: User, partner_id: str) -> list[PartnerStatusChange]:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    return list(partner.status_history)
