"""Archive numbers (档案编号) from gap-free sequences kept in the record."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.models import ArchiveSequence, Partner
from archive.settings import Settings


def next_value(session: Session, key: str) -> int:
    """The next number of a sequence, safe against concurrent writers."""
    return next_values(session, key, 1)[0]


def next_values(session: Session, key: str, count: int) -> range:
    """The next `count` numbers of a sequence in one statement (a bulk import's batch)."""
    bumped = session.execute(
        update(ArchiveSequence)
        .where(ArchiveSequence.key == key)
        .values(last_value=ArchiveSequence.last_value + count)
        .returning(ArchiveSequence.last_value)
    ).scalar_one_or_none()
    if bumped is not None:
        return range(bumped - count + 1, bumped + 1)
    try:
        with session.begin_nested():
            session.add(ArchiveSequence(key=key, last_value=count))
        return range(1, count + 1)
    except IntegrityError:
        # Another writer created the sequence first; take the next numbers of theirs.
        return next_values(session, key, count)


def partner_archive_no(session: Session, *, settings: Settings, kind: str) -> str:
    return _numbered(session, settings=settings, prefix=settings.archive_no_prefixes.get(kind, kind.upper()))


def provisional_partner_no(session: Session, *, settings: Settings) -> str:
    """A pending partner's number (`LS-2026-000007`): its documents are filed under it until
    approval gives the archive number. Its own prefix and sequence, so it never collides with
    an archive number, and a rejected partner leaves no gap in the archive numbers."""
    return _numbered(session, settings=settings, prefix=settings.provisional_no_prefix)


def _numbered(session: Session, *, settings: Settings, prefix: str) -> str:
    year = datetime.now(UTC).year
    seq = next_value(session, f"partner:{prefix}:{year}")
    return settings.archive_no_format.format(prefix=prefix, year=year, seq=seq)


def document_archive_no(session: Session, *, partner: Partner) -> str:
    """A document's number within its partner's archive: `GYS-2026-000123-0007`."""
    return document_archive_nos(session, partner=partner, count=1)[0]


def document_archive_nos(session: Session, *, partner: Partner, count: int) -> list[str]:
    """Numbered under the partner's archive number, or its provisional one while pending."""
    numbers = next_values(session, f"documents:{partner.id}", count)
    return [f"{partner.number}-{seq:04d}" for seq in numbers]


def renumbered(document_no: str, *, provisional_no: str, archive_no: str) -> str:
    """A document's number once its partner's archive is opened: same sequence, new stem."""
    stem = f"{provisional_no}-"
    return archive_no + document_no[len(provisional_no):] if document_no.startswith(stem) else document_no
