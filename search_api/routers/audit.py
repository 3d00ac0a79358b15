"""The audit log, for the archive office and leaders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from archive.audit import record_event, search_entries
from archive.errors import Forbidden
from archive.schemas import AuditEntryOut
from search_api.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryOut])
def list_audit(
    session: SessionDep,
    user: CurrentUser,
    by_user: Annotated[str | None, Query(alias="user")] = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryOut]:
    """Recorded actions, newest first; this query is itself recorded."""
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以查看审计日志 (archivist or admin only)")
    entries = search_entries(
        session,
        user=by_user,
        action=action,
        since=since,
        until=until,
        target=target,
        offset=(page - 1) * size,
        limit=size,
    )
    result = [AuditEntryOut.model_validate(entry) for entry in entries]
    record_event(
        session,
        user=user.sub,
        action="audit_query",
        details={
            "user": by_user,
            "action": action,
            "target": target,
            "since": since.isoformat() if since else None,
            "returned": len(result),
        },
    )
    return result
