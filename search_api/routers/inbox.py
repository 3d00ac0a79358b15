"""What waits for a department head (or the archive office): the inbox and suspension proposals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from archive.models import SuspensionProposal
from archive.partner_life import inbox as inbox_service
from archive.partner_life import proposals
from archive.schemas import ChangeDecision, Inbox, PartnerOut, PendingChangeOut, SuspensionProposalOut
from archive.search_index import reindex_partner_documents
from search_api.deps import CurrentUser, EsDep, SessionDep, SettingsDep

router = APIRouter(tags=["partners"])


def proposal_out(proposal: SuspensionProposal) -> SuspensionProposalOut:
    return SuspensionProposalOut.model_validate(
        {
            **{
                name: getattr(proposal, name)
                for name in SuspensionProposalOut.model_fields
                if hasattr(proposal, name)
            },
            "partner_name": proposal.partner.name,
            "partner_department": proposal.partner.department,
        }
    )


@router.get("/inbox", response_model=Inbox)
def my_inbox(session: SessionDep, user: CurrentUser) -> Inbox:
    """Partners to approve, sensitive changes to confirm, suspensions proposed: what the
    caller may decide (empty for roles that decide none of them)."""
    items = inbox_service.inbox(session, user=user)
    return Inbox(
        pending_partners=[PartnerOut.model_validate(p) for p in items.pending_partners],
        pending_changes=[PendingChangeOut.model_validate(c) for c in items.pending_changes],
        suspension_proposals=[proposal_out(p) for p in items.suspension_proposals],
    )


@router.get("/suspension-proposals", response_model=list[SuspensionProposalOut])
def list_proposals(
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[str | None, Query(pattern="^(pending|accepted|dismissed|closed)$")] = "pending",
) -> list[SuspensionProposalOut]:
    """Suspension proposals of the partners whose status the caller decides."""
    return [proposal_out(p) for p in proposals.list_proposals(session, user=user, status=status)]


@router.post("/suspension-proposals/{proposal_id}/accept", response_model=SuspensionProposalOut)
def accept_proposal(
    proposal_id: str,
    data: ChangeDecision,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> SuspensionProposalOut:
    """Suspend the partner as proposed (its department's manager, an archivist or an admin)."""
    proposal = proposals.accept(session, user=user, proposal_id=proposal_id, note=data.note)
    reindex_partner_documents(es, session, prefix=settings.es_index_prefix, partner_id=proposal.partner_id)
    return proposal_out(proposal)


@router.post("/suspension-proposals/{proposal_id}/dismiss", response_model=SuspensionProposalOut)
def dismiss_proposal(
    proposal_id: str, data: ChangeDecision, session: SessionDep, user: CurrentUser
) -> SuspensionProposalOut:
    """Keep cooperating; the note (required) says why."""
    return proposal_out(proposals.dismiss(session, user=user, proposal_id=proposal_id, note=data.note))
