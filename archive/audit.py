"""The audit log (审计日志): append-only, each entry chained to the previous by SHA-256.

An entry is written in the same transaction as the action it records, so an action and
its record stand or fall together. `verify_chain()` proves nothing was edited or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _digest(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    user: str,
    action: str,
    target: str | None,
    details: dict[str, Any],
) -> str:
    canonical = json.dumps(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(),
            "user": user,
            "action": action,
            "target": target,
            "details": details,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _advance_head(session: Session) -> tuple[int, str]:
    """Claim the next sequence number; the row lock makes concurrent writers queue up."""
    bumped = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if bumped is not None:
        return bumped.seq, bumped.hash
    try:
        with session.begin_nested():
            session.add(AuditHead(id=1, seq=1, hash=GENESIS))
        return 1, GENESIS
    except IntegrityError:
        return _advance_head(session)


def record_event(
    session: Session,
    *,
    user: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; it commits with the caller's transaction."""
    seq, prev_hash = _advance_head(session)
    at = datetime.now(UTC)
    body = details or {}
    digest = _digest(prev_hash, seq=seq, at=at, user=user, action=action, target=target, details=body)
    entry = AuditEntry(
        seq=seq,
        at=at,
        user=user,
        action=action,
        target=target,
        details=body,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash from the first entry; report the first entry that does not fit."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for entry in _entries(session):
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(
                count, entry.seq, f"第 {expected_seq} 条记录缺失 (entry {expected_seq} is missing)"
            )
        if entry.prev_hash != prev_hash:
            return ChainReport(count, entry.seq, f"第 {entry.seq} 条记录的前序哈希不符 (prev_hash mismatch)")
        recomputed = _digest(
            prev_hash,
            seq=entry.seq,
            at=entry.at,
            user=entry.user,
            action=entry.action,
            target=entry.target,
            details=entry.details,
        )
        if recomputed != entry.hash:
            return ChainReport(
                count, entry.seq, f"第 {entry.seq} 条记录被修改 (entry {entry.seq} was altered)"
            )
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainReport(count, expected_seq, "日志末尾的记录被删除 (entries were removed from the end)")
    return ChainReport(count, None, None)


def search_entries(
    session: Session,
    *,
    user: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    target: str | None,
    offset: int,
    limit: int,
) -> list[AuditEntry]:
    query = select(AuditEntry)
    if user:
        query = query.where(AuditEntry.user == user)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)))
