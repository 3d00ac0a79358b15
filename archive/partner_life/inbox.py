"""What waits for the caller's decision: partners to approve, changes to confirm as the
second person, suspensions proposed. A department head sees their departments; the archive
office and admins what their roles let them decide."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session, selectinload

from archive.models import Partner, PendingPartnerChange, SuspensionProposal
from archive.partner_life.proposals import deciders_clause, list_proposals
from archive.permissions import PARTNER_EDITOR_ROLES, User, partner_visibility_clause


@dataclass(frozen=True)
class InboxItems:
    pending_partners: list[Partner]
    pending_changes: list[PendingPartnerChange]
    suspension_proposals: list[SuspensionProposal]

    @property
    def count(self) -> int:
        return len(self.pending_partners) + len(self.pending_changes) + len(self.suspension_proposals)


def _openers_clause(user: User) -> ColumnElement[bool]:
    """Pending partners the user may approve: an admin any, a manager their departments'."""
    if "admin" in user.roles:
        return true()
    if "manager" in user.roles and user.departments:
        return Partner.department.in_(sorted(user.departments))
    return false()


def inbox(session: Session, *, user: User) -> InboxItems:
    if not user.has_role("manager", *PARTNER_EDITOR_ROLES):
        return InboxItems([], [], [])
    pending_partners = list(
        session.scalars(
            select(Partner)
            .where(
                Partner.status == "pending",
                Partner.created_by != user.sub,
                _openers_clause(user),
                partner_visibility_clause(user),
            )
            .order_by(Partner.created_at)
        )
    )
    pending_changes = list(
        session.scalars(
            select(PendingPartnerChange)
            .join(Partner, PendingPartnerChange.partner_id == Partner.id)
            .where(
                PendingPartnerChange.status == "pending",
                PendingPartnerChange.requested_by != user.sub,
                deciders_clause(user),
            )
            .options(selectinload(PendingPartnerChange.partner))
            .order_by(PendingPartnerChange.requested_at)
        )
    )
    return InboxItems(pending_partners, pending_changes, list_proposals(session, user=user))
