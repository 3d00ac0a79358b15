"""The audit log (审计日志): append-only, each entry chained to the previous by SHA-256.

An entry is written in the same transaction as the action it records, so an action and
its record stand or fall together. `verify_chain()` proves nothing was edited or removed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from archive.db import session_scope
from archive.metrics import AUDIT_WAIT_SECONDS
from archive.models import AuditAnchor, AuditEntry, AuditHead, AuditSubject, DestructionRecord, Document
from archive.permissions import User, destruction_record_visibility_clause, document_visibility_clause

GENESIS = "0" * 64
# The tables, not the mapped classes: an ORM-enabled insert/update of plain rows goes through
# the ORM's bulk persistence, which cost more CPU than the rest of a search's audit entry.
_ENTRIES = AuditEntry.__table__
_HEAD = AuditHead.__table__
_SUBJECTS = AuditSubject.__table__
# Built once: a search's entry is written per request, and building these statements anew
# (coercing their clauses, generating their cache keys) cost as much as running them.
_CLAIM_SEQUENCE = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("count"))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_ENTRIES = insert(_ENTRIES)
_INSERT_SUBJECTS = insert(_SUBJECTS)
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("head_hash"))
# Past this an entry waiting for the write lock fails its request rather than hang it.
WRITE_TIMEOUT_SECONDS = 60


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


def _advance_head(session: Session, count: int) -> tuple[int, str]:
    """Claim `count` sequence numbers; the row lock makes concurrent writers queue up.

    Returns the first number claimed and the hash of the entry before it.
    """
    bumped = session.execute(_CLAIM_SEQUENCE, {"count": count}).one_or_none()
    if bumped is not None:
        return bumped.seq - count + 1, bumped.hash
    try:
        with session.begin_nested():
            session.add(AuditHead(id=1, seq=count, hash=GENESIS))
        return 1, GENESIS
    except IntegrityError:
        return _advance_head(session, count)


@dataclass(frozen=True)
class Event:
    user: str
    action: str
    target: str | None = None
    details: dict[str, Any] | None = None


def record_events(session: Session, events: list[Event]) -> None:
    """Append entries in order, chained; they commit with the caller's transaction."""
    if not events:
        return
    seq, prev_hash = _advance_head(session, len(events))
    rows = []
    for event in events:
        at = datetime.now(UTC)
        body = event.details or {}
        digest = _digest(
            prev_hash, seq=seq, at=at, user=event.user, action=event.action, target=event.target, details=body
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "user": event.user,
                "action": event.action,
                "target": event.target,
                "details": body,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        seq, prev_hash = seq + 1, digest
    session.execute(_INSERT_ENTRIES, rows)
    subjects = [
        {"seq": row["seq"], "subject": subject}
        for row, event in zip(rows, events, strict=True)
        for subject in subjects_of(event.target, event.details)
    ]
    if subjects:
        session.execute(_INSERT_SUBJECTS, subjects)
    session.execute(_SET_HEAD_HASH, {"head_hash": prev_hash})


def subjects_of(target: str | None, details: dict[str, Any] | None) -> set[str]:
    """What an entry names: its target and the documents in its details, for the reader's rule."""
    found = {target} if target else set()
    details = details or {}
    if isinstance(details.get("document_id"), str):
        found.add(details["document_id"])
    for key in ("document_ids", "documents"):
        items = details.get(key)
        for item in items if isinstance(items, list) else ():
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict) and isinstance(item.get("id"), str):
                found.add(item["id"])
    return {subject[:200] for subject in found}


def record_event(
    session: Session,
    *,
    user: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry; it commits with the caller's transaction."""
    record_events(session, [Event(user, action, target, details)])


@dataclass
class _Pending:
    event: Event
    ready: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    error: BaseException | None = None


class AuditWriter:
    """Records the entries of read-only requests (searches, lookups) by group commit.

    A read has no transaction of its own to join, and one write transaction per search
    makes concurrent searches queue for the database's write lock (SQLite's busy handler
    sleeps between retries). Instead the caller that finds no write in progress writes its
    own entry at once, in its own thread; entries arriving meanwhile wait, and the first of
    them then writes all of them in one transaction. `record()` returns only once its entry
    is committed, so no answer leaves without its record, and a failed write fails the
    request.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, max_batch: int = 256) -> None:
        self._session_factory = session_factory
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._writing = False
        self._closed = False

    def record(
        self, *, user: str, action: str, target: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        started = time.perf_counter()
        pending = _Pending(Event(user, action, target, details))
        with self._lock:
            if self._closed:
                raise RuntimeError("audit writer is closed")
            self._waiting.append(pending)
            if not self._writing:
                self._writing = pending.leads = True
        if not pending.leads and not pending.ready.wait(WRITE_TIMEOUT_SECONDS):
            with self._lock:
                # Leave the line only if nobody has handed us the writing meanwhile: a
                # promoted caller that walked away would leave everyone behind it waiting.
                abandoned = not pending.leads and pending in self._waiting
                if abandoned:
                    self._waiting.remove(pending)
            if abandoned:
                raise TimeoutError("审计记录写入超时 (the audit entry was not written in time)")
            pending.ready.wait()  # written, or promoted, just now
        if pending.leads:
            self._write_waiting()
        AUDIT_WAIT_SECONDS.observe(time.perf_counter() - started)
        if pending.error is not None:
            raise pending.error

    def close(self) -> None:
        """Refuse new entries; those already waiting are written by their callers."""
        with self._lock:
            self._closed = True

    def _write_waiting(self) -> None:
        with self._lock:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
        try:
            with session_scope(self._session_factory) as session:
                record_events(session, [item.event for item in batch])
        except BaseException as exc:  # every caller in the batch learns its record was not kept
            for item in batch:
                item.error = exc
        finally:
            with self._lock:
                if self._waiting:  # the next caller in line writes the next batch
                    self._waiting[0].leads = True
                    self._waiting[0].ready.set()
                else:
                    self._writing = False
            for item in batch:
                item.ready.set()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_entry(entry: AuditEntry) -> bool:
    """Whether one entry's hash still covers its content and the hash before it."""
    return entry.hash == _digest(
        entry.prev_hash, seq=entry.seq, at=entry.at, user=entry.user, action=entry.action,
        target=entry.target, details=entry.details,
    )


def verify_chain(session: Session, *, up_to: int | None = None) -> ChainReport:
    """Recompute every hash from the first entry kept (the anchor left by a purge, else the
    genesis); report the first entry that does not fit. `up_to`: stop after that entry."""
    anchor = session.get(AuditAnchor, 1)
    prev_hash, expected_seq, count = (anchor.prev_hash, anchor.first_seq, 0) if anchor else (GENESIS, 1, 0)
    query = select(AuditEntry).where(AuditEntry.seq >= expected_seq)
    if up_to is not None:
        query = query.where(AuditEntry.seq <= up_to)
    for entry in session.scalars(query.order_by(AuditEntry.seq).execution_options(yield_per=1000)):
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
    if up_to is None and head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainReport(count, expected_seq, "日志末尾的记录被删除 (entries were removed from the end)")
    return ChainReport(count, None, None)


def search_entries(
    session: Session,
    *,
    viewer: User,
    user: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    target: str | None,
    offset: int,
    limit: int,
) -> list[AuditEntry]:
    # An entry about a document the reader may not see (or whose destruction record they may
    # not see) is left out: the rule applies to the log like to every other listing.
    hidden = or_(
        AuditSubject.subject.in_(select(Document.id).where(~document_visibility_clause(viewer))),
        AuditSubject.subject.in_(
            select(DestructionRecord.document_id).where(~destruction_record_visibility_clause(viewer))
        ),
    )
    query = select(AuditEntry).where(
        ~exists(select(AuditSubject.seq).where(AuditSubject.seq == AuditEntry.seq, hidden))
    )
    if user:
        query = query.where(AuditEntry.user == user)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    if since:
        query = query.where(AuditEntry.at >= _as_utc(since))
    if until:
        query = query.where(AuditEntry.at < _as_utc(until))
    return list(session.scalars(query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)))


def _as_utc(moment: datetime) -> datetime:
    """A time without a zone (`since=2026-01-01`) is read as UTC, as every time here is shown."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
