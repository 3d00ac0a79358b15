"""Audit retention: entries are kept at least AUDIT_RETENTION_DAYS (180 by default and at
the least, 网络安全法 Art. 21: six months). Older ones may be exported — with the chain's
verification up to the last exported entry — and only then purged; the purge moves the
chain's anchor to the first entry kept and is itself recorded. No path deletes younger ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.audit import GENESIS, record_event, verify_chain
from archive.errors import Conflict, Forbidden, InvalidInput
from archive.models import AuditAnchor, AuditEntry, AuditSubject
from archive.permissions import CONFIDENTIALITY_LEVELS, CONFIDENTIALITY_RANK, User
from archive.settings import Settings

EXPORT_FORMAT = "partner-archive-audit-export/1"


@dataclass(frozen=True)
class AuditExport:
    content: bytes
    first_seq: int | None
    last_seq: int | None
    entries: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def require_exporter(user: User) -> None:
    """The export is the whole log (its chain is verified over every entry), and entries name
    documents of every level: only an admin whose clearance reaches the highest may take it."""
    if not user.has_role("admin"):
        raise Forbidden("只有管理员可以导出审计日志 (admin only)")
    if user.clearance_rank < CONFIDENTIALITY_RANK[CONFIDENTIALITY_LEVELS[-1]]:
        raise Forbidden(
            "审计日志导出包含各密级文档的记录，仅限密级为“机密”的管理员"
            " (the export names documents of every level: admins cleared for confidential only)"
        )


def oldest_kept(settings: Settings, *, now: datetime | None = None) -> datetime:
    """Entries at or after this moment may never be purged."""
    return (now or datetime.now(UTC)) - timedelta(days=settings.audit_retention_days)


def export_before(session: Session, *, before: datetime) -> AuditExport:
    """Every entry older than `before`, with the chain verified from its anchor up to the last of them."""
    last_seq = session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.at < before))
    anchor = session.get(AuditAnchor, 1)
    chain = verify_chain(session, up_to=last_seq) if last_seq is not None else None
    entries = (
        []
        if last_seq is None
        else list(
            session.scalars(select(AuditEntry).where(AuditEntry.seq <= last_seq).order_by(AuditEntry.seq))
        )
    )
    body: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "before": before.isoformat(),
        "chain": {
            "starts_after_hash": anchor.prev_hash if anchor else GENESIS,
            "first_seq": entries[0].seq if entries else None,
            "last_seq": last_seq,
            "intact": chain.intact if chain else True,
            "broken_at": chain.broken_at if chain else None,
            "problem": chain.problem if chain else None,
            "last_hash": entries[-1].hash if entries else None,
        },
        "entries": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "user": e.user,
                "action": e.action,
                "target": e.target,
                "details": e.details,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in entries
        ],
    }
    content = json.dumps(body, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    return AuditExport(content, entries[0].seq if entries else None, last_seq, len(entries))


def purge_before(
    session: Session, *, user: User | None, actor: str, before: datetime, export_to: Path, settings: Settings
) -> AuditExport:
    """Export the entries older than `before` to `export_to`, then delete them; refused for
    anything younger than the retention period or when the chain does not verify."""
    if user is not None and not user.has_role("admin"):
        raise Forbidden("只有管理员可以清理审计日志 (admin only)")
    limit = oldest_kept(settings)
    if before > limit:
        raise InvalidInput(
            f"审计日志至少保留 {settings.audit_retention_days} 天："
            f"只能清理 {limit:%Y-%m-%d %H:%M} UTC 之前的记录"
            f" (audit entries are kept at least {settings.audit_retention_days} days)",
            field="before",
        )
    export = export_before(session, before=before)
    if export.last_seq is None:
        raise Conflict("没有早于该时间的审计记录 (no audit entries before that time)")
    chain = json.loads(export.content)["chain"]
    if not chain["intact"]:
        raise Conflict(f"审计哈希链校验未通过，不能清理 (the chain does not verify): {chain['problem']}")
    _write_whole(export_to, export.content)
    last = session.get(AuditEntry, export.last_seq)
    assert last is not None
    session.execute(delete(AuditSubject).where(AuditSubject.seq <= export.last_seq))
    session.execute(delete(AuditEntry).where(AuditEntry.seq <= export.last_seq))
    anchor = session.get(AuditAnchor, 1)
    now = datetime.now(UTC)
    if anchor is None:
        session.add(
            AuditAnchor(
                id=1, first_seq=export.last_seq + 1, prev_hash=last.hash, purged_at=now, purged_by=actor
            )
        )
    else:
        anchor.first_seq, anchor.prev_hash, anchor.purged_at, anchor.purged_by = (
            export.last_seq + 1,
            last.hash,
            now,
            actor,
        )
    session.flush()
    record_event(
        session,
        user=actor,
        action="audit_purge",
        details={
            "before": before.isoformat(),
            "first_seq": export.first_seq,
            "last_seq": export.last_seq,
            "entries": export.entries,
            "export_sha256": export.sha256,
            "export": export_to.name,
        },
    )
    return export


def _write_whole(path: Path, content: bytes) -> None:
    """The export lands whole (written beside, synced, renamed) before anything is deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".audit-export-")
    with os.fdopen(handle, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(name, path)
