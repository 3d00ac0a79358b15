"""The audit log, for the archive office and leaders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from archive.audit import record_event, search_entries
from archive.audit_retention import export_before, purge_before, require_exporter
from archive.errors import Forbidden
from archive.schemas import AuditEntryOut
from search_api.deps import CurrentUser, SessionDep, SettingsDep

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
        viewer=user,
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


class AuditPurge(BaseModel):
    before: datetime = Field(description="entries older than this are exported and purged (UTC)")


@router.get("/export", responses={200: {"content": {"application/json": {}}}})
def export_audit(session: SessionDep, user: CurrentUser, before: datetime) -> Response:
    """Entries older than `before` with the chain's verification, as a JSON download (admin)."""
    require_exporter(user)
    export = export_before(session, before=_utc(before))
    record_event(
        session,
        user=user.sub,
        action="audit_export",
        details={"before": before.isoformat(), "entries": export.entries, "sha256": export.sha256},
    )
    return Response(
        export.content,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{export.first_seq}-{export.last_seq}.json"',
        },
    )


@router.post("/purge")
def purge_audit(
    data: AuditPurge, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, object]:
    """Export entries older than `before` under DATA_DIR/audit-exports, then purge them (admin;
    never anything younger than AUDIT_RETENTION_DAYS)."""
    before = _utc(data.before)
    target = settings.data_path / "audit-exports" / f"audit-before-{before:%Y%m%dT%H%M%S}.json"
    done = purge_before(
        session, user=user, actor=user.sub, before=before, export_to=target, settings=settings
    )
    return {
        "entries": done.entries,
        "first_seq": done.first_seq,
        "last_seq": done.last_seq,
        "export_sha256": done.sha256,
        "export": target.name,
    }


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
