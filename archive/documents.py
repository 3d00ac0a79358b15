"""Documents: uploads that land whole or not at all, fetch by id under the visibility rule."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path, PurePath

import structlog
from anyio import to_thread
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from archive.antivirus import NOT_CONFIGURED, Scanner, Verdict, make_scanner
from archive.archival_codes import ArchivalRule, apply_code, assign_codes, longer_retention
from archive.audit import record_event
from archive.db import checkpoint_sqlite, session_scope
from archive.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable, UnsupportedFile
from archive.filetypes import identify_upload
from archive.metrics import UPLOADS
from archive.models import AccessGrant, AuditEntry, Document, OcrCacheUse
from archive.numbering import document_archive_no
from archive.permissions import (
    CONFIDENTIALITY_RANK,
    User,
    can_view_document,
    document_visibility_clause,
    sees_id_numbers,
)
from archive.review import correct_fields
from archive.schemas import Confidentiality, DocType, DocumentUpdate
from archive.search_index import delete_document, reindex_documents
from archive.settings import Settings
from archive.storage import OriginalStore, StagedFile, remove_cache_entries

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class UploadRequest:
    partner_id: str
    doc_type: DocType
    confidentiality: Confidentiality
    department: str | None
    title: str | None
    expires_on: date | None
    filename: str | None
    declared_media_type: str | None


@dataclass(frozen=True)
class IntakePolicy:
    """How intake numbers and screens a file: the 档号 rule and the virus scanner (if any)."""

    rule: ArchivalRule
    scanner: Scanner | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakePolicy:
        return cls(rule=ArchivalRule.from_settings(settings), scanner=make_scanner(settings))


def scan_verdict(scanner: Scanner | None, path: Path) -> Verdict:
    """The scan of one file, refusing it when a signature matched (安全性 GD-4-2)."""
    verdict = NOT_CONFIGURED if scanner is None else scanner.scan([path])[0]
    if verdict.result == "infected":
        raise UnsupportedFile(
            f"病毒扫描检出 {verdict.signature}，四性检测 GD-4-2 病毒感染检测未通过，文件未保存"
            f" (the virus scan found {verdict.signature}; nothing was kept)"
        )
    if verdict.result == "error":
        raise ServiceUnavailable(
            "病毒扫描无法完成，文件未保存，请稍后再试"
            f" (the virus scan could not run; nothing was kept): {verdict.detail}"
        )
    return verdict


def scan_record(verdict: Verdict) -> dict[str, str | None]:
    return {**verdict.as_dict(), "at": datetime.now(UTC).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class UploadOutcome:
    document: Document
    duplicate: bool
    hidden: bool = False
    """The uploader may not see this document (they uploaded where they cannot read): answer
    as for any new upload, whatever became of the copy on file."""

    @property
    def status(self) -> str:
        return "queued" if self.hidden else self.document.status


# Runs inside the upload's transaction once the document is recorded (or found to be on
# file already), so that what it adds (a relationship record) lands with the file or not at all.
AlsoRecord = Callable[[Session, Document], None]


def safe_filename(raw: str | None) -> str:
    """The last path component, without control characters, at most 200 characters."""
    name = PurePath((raw or "").replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable() and char not in '<>:"|?*')
    name = name.strip(" .")
    return name[-200:] or "upload"


async def accept_upload(
    session_factory: sessionmaker[Session],
    *,
    store: OriginalStore,
    user: User,
    request: UploadRequest,
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    policy: IntakePolicy,
    also: AlsoRecord | None = None,
) -> UploadOutcome:
    """Stage, identify, record and keep one upload; every failure leaves nothing behind.

    The database work runs in worker threads: blocking the event loop on a pooled
    connection while other requests hold the rest of the pool would deadlock the server.
    """
    try:
        department = await to_thread.run_sync(
            partial(upload_department, session_factory, user=user, request=request)
        )
        staged = await store.stage(chunks, max_bytes=max_bytes)
        outcome = await to_thread.run_sync(
            partial(
                record_upload,
                session_factory,
                store=store,
                user=user,
                request=request,
                staged=staged,
                department=department,
                policy=policy,
                also=also,
            )
        )
    except Exception:
        UPLOADS.labels("refused").inc()
        raise
    UPLOADS.labels("duplicate" if outcome.duplicate else "accepted").inc()
    return outcome


def upload_department(session_factory: sessionmaker[Session], *, user: User, request: UploadRequest) -> str:
    """The department the upload will belong to; refuses an unknown or hidden partner, a
    department that is neither the uploader's nor the partner's, and a level above the
    uploader's clearance (a file its uploader could not open again)."""
    with session_scope(session_factory) as session:
        partner = _partner_for_upload(session, user=user, partner_id=request.partner_id)
        department = request.department or partner.department
    if CONFIDENTIALITY_RANK[request.confidentiality.value] > user.clearance_rank:
        raise Forbidden(
            f"不能上传高于本人密级的文档：{request.confidentiality.value}"
            f" (confidentiality above your clearance {user.clearance})"
        )
    if not user.sees_all_departments and department not in {*user.departments, partner.department}:
        raise Forbidden(
            f"只能上传到本部门或客商所属部门，不能上传到{department}"
            f" (a document goes to your department or the partner's, not {department})"
        )
    return department


def record_upload(
    session_factory: sessionmaker[Session],
    *,
    store: OriginalStore,
    user: User,
    request: UploadRequest,
    staged: StagedFile,
    department: str,
    policy: IntakePolicy,
    also: AlsoRecord | None = None,
) -> UploadOutcome:
    """Identify and scan a staged file, then record it, number it and move it into the store
    in one step."""
    try:
        kind = identify_upload(
            staged.path, filename=request.filename, declared_media_type=request.declared_media_type
        )
        with session_scope(session_factory) as session:
            existing = _existing_copy(session, request.partner_id, staged.sha256, user=user)
            if existing is not None:
                store.discard(staged)
                record_event(
                    session,
                    user=user.sub,
                    action="upload",
                    target=existing.id,
                    details={"duplicate": True, "filename": request.filename, "sha256": staged.sha256},
                )
                if also is not None:
                    also(session, existing)
                return UploadOutcome(existing, duplicate=True)
            partner = _partner_for_upload(session, user=user, partner_id=request.partner_id)
            verdict = scan_verdict(policy.scanner, staged.path)
            filename = safe_filename(request.filename)
            document = Document(
                partner_id=partner.id,
                archive_no=document_archive_no(session, partner=partner),
                doc_type=request.doc_type.value,
                confidentiality=request.confidentiality.value,
                department=department,
                title=(request.title or "").strip() or Path(filename).stem,
                # Without a title from the uploader the worker derives one from what it reads.
                title_source="supplied" if (request.title or "").strip() else "filename",
                original_filename=filename,
                media_type=kind.media_type,
                size_bytes=staged.size,
                sha256=staged.sha256,
                sm3=staged.sm3,
                file_properties={"virus_scan": scan_record(verdict)},
                expires_on=request.expires_on,
                fields={"expires_on": request.expires_on.isoformat()} if request.expires_on else {},
                field_provenance={"expires_on": {"source": "supplied", "by": user.sub}}
                if request.expires_on
                else {},
                status="queued",
                uploaded_by=user.sub,
            )
            (code,) = assign_codes(
                session, rule=policy.rule, doc_type=document.doc_type, department=department
            )
            apply_code(document, code)
            session.add(document)
            session.flush()
            record_event(
                session,
                user=user.sub,
                action="upload",
                target=document.id,
                details={
                    "partner_id": partner.id,
                    "filename": filename,
                    "sha256": staged.sha256,
                    "sm3": staged.sm3,
                    "archival_code": code.code,
                    "size": staged.size,
                    "doc_type": document.doc_type,
                    "confidentiality": document.confidentiality,
                },
            )
            if also is not None:
                also(session, document)
            # The file moves into place inside the transaction; a failed commit takes it back.
            with store.keep(staged):
                session.flush()
                session.commit()
            return UploadOutcome(document, duplicate=False)
    except IntegrityError:
        # The same bytes with the same reach arrived concurrently for this partner (the first
        # one wins), or are on file where the uploader cannot see them.
        store.discard(staged)
        with session_scope(session_factory) as session:
            existing = session.scalars(
                select(Document).where(
                    Document.partner_id == request.partner_id,
                    Document.sha256 == staged.sha256,
                    Document.department == department,
                    Document.confidentiality == request.confidentiality.value,
                )
            ).first()
            if existing is None:
                raise
            visible = _existing_copy(session, request.partner_id, staged.sha256, user=user) is not None
            if visible and also is not None:
                also(session, existing)
        return UploadOutcome(existing, duplicate=visible, hidden=not visible)
    except BaseException:
        store.discard(staged)
        raise


def _partner_for_upload(session: Session, *, user: User, partner_id: str):  # type: ignore[no-untyped-def]
    # Late import keeps partners and documents from importing each other at module load.
    from archive.partners import get_visible_partner

    try:
        return get_visible_partner(session, user=user, partner_id=partner_id)
    except NotFound as exc:
        raise InvalidInput(
            f"客商不存在或无权访问 (unknown partner_id: {partner_id})", field="partner_id"
        ) from exc


def _existing_copy(session: Session, partner_id: str, sha256: str, *, user: User) -> Document | None:
    """The copy of these bytes on file for this partner that the uploader may see, if any."""
    return session.scalars(
        select(Document).where(
            Document.partner_id == partner_id, Document.sha256 == sha256, document_visibility_clause(user)
        )
    ).first()


# Built once: every search reads the caller's grants.
_ACTIVE_GRANTS = select(AccessGrant.document_id).where(
    AccessGrant.user_sub == bindparam("user_sub"),
    AccessGrant.expires_at > bindparam("now"),
    AccessGrant.returned_at.is_(None),
)


def active_grants(session: Session, *, user_sub: str) -> frozenset[str]:
    """Documents the user may see through an approved, unexpired, unreturned borrow."""
    return frozenset(session.scalars(_ACTIVE_GRANTS, {"user_sub": user_sub, "now": datetime.now(UTC)}))


def get_visible_document(session: Session, *, user: User, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None or not can_view_document(
        user,
        document_id=document.id,
        confidentiality=document.confidentiality,
        department=document.department,
    ):
        raise NotFound(f"文档不存在 (document {document_id} not found)")
    return document


def update_document(
    session: Session,
    *,
    es: Elasticsearch,
    index_prefix: str,
    user: User,
    document_id: str,
    data: DocumentUpdate,
    rule: ArchivalRule,
) -> Document:
    """Change what the archive office keeps about a document; fields go through the review service.

    Only what differs is changed and recorded. A new type means the document is read again:
    it goes back to `queued`, and the caller enqueues it once this is committed; its 保管期限
    becomes the new type's when that is longer (never shorter), its 档号 stays.

    The index is rewritten before the commit: a confidentiality change must never lag behind.
    """
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以修改文档 (archivist or admin only)")
    document = get_visible_document(session, user=user, document_id=document_id)
    stated = dict(data.fields or {})
    if "expires_on" in data.model_fields_set:
        given = data.expires_on.isoformat() if data.expires_on else None
        if "expires_on" in stated and stated["expires_on"] != given:
            raise InvalidInput(
                "expires_on 与 fields.expires_on 不一致 (expires_on and fields.expires_on differ)",
                field="expires_on",
            )
        # What the archive office states wins over what was read from the document.
        stated["expires_on"] = given
    changes: dict[str, object] = {}
    for field, value in data.model_dump(exclude_unset=True, exclude={"fields", "expires_on"}).items():
        old = getattr(document, field)
        if _jsonable(old) == _jsonable(value):
            continue
        changes[field] = {"old": _jsonable(old), "new": _jsonable(value)}
        setattr(document, field, value)
        if field == "title":
            document.title_source = "supplied"
    if "doc_type" in changes:
        retention = longer_retention(document.retention, rule.retention_for(document.doc_type))
        if retention != document.retention:
            changes["retention"] = {"old": document.retention, "new": retention}
            document.retention = retention
        if document.status in ("indexed", "failed"):
            _read_again(document)
    if changes:
        record_event(session, user=user.sub, action="document_update", target=document.id, details=changes)
        session.flush()
    if stated:
        document = correct_fields(
            session, es=es, index_prefix=index_prefix, user=user, document_id=document.id, changes=stated
        )
        if document.status == "indexed":
            return document  # reindexed there
    # Indexed once, in the index still: a confidentiality change must never lag behind there.
    if document.indexed_at is not None:
        refreshed = session.scalars(
            select(Document)
            .where(Document.id == document.id)
            .options(selectinload(Document.page_texts), selectinload(Document.partner))
        ).one()
        reindex_documents(es, prefix=index_prefix, documents=[refreshed])
    return document


def _read_again(document: Document) -> None:
    """Fields were read as the old type: only what people supplied stays; the worker reads anew."""
    supplied = {
        name: entry
        for name, entry in (document.field_provenance or {}).items()
        if entry.get("source") == "supplied"
    }
    # A person's word stands, including that the document does not carry a field.
    document.fields = {name: document.fields[name] for name in supplied if name in (document.fields or {})}
    document.field_provenance = supplied
    document.field_problems = {}
    document.flags = []
    document.pages = None
    document.status = "queued"
    document.error = None
    document.error_reason = None
    document.attempts = 0
    document.lease_expires_at = None


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


# What happened to a document, as opposed to who looked at it.
_NOT_CHANGES = ("view", "download", "search")


def change_history(session: Session, *, document_id: str, limit: int = 100) -> list[AuditEntry]:
    """The audit entries that changed a document (upload, edits, corrections, retries), newest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target == document_id, AuditEntry.action.not_in(_NOT_CHANGES))
            .order_by(AuditEntry.seq.desc())
            .limit(limit)
        )
    )


def view_document(session: Session, *, user: User, document_id: str) -> Document:
    document = get_visible_document(session, user=user, document_id=document_id)
    record_event(session, user=user.sub, action="view", target=document.id)
    return document


def shows_an_id_number(document: Document) -> bool:
    """An ID card, or a document an ID number was read from: its original shows the number."""
    return document.doc_type == "id_card" or bool((document.fields or {}).get("id_number"))


def download_document(session: Session, *, user: User, document_id: str) -> Document:
    document = get_visible_document(session, user=user, document_id=document_id)
    if shows_an_id_number(document) and not sees_id_numbers(user, document.id):
        raise Forbidden(
            "身份证原件仅限档案管理员、管理员或借阅人下载"
            " (the original shows an ID number: archivists, admins and its borrowers only)"
        )
    record_event(
        session, user=user.sub, action="download", target=document.id, details={"sha256": document.sha256}
    )
    return document


def requeue_failed(session: Session, *, user: User, document_id: str) -> Document:
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以重试 (archivist or admin only)")
    document = get_visible_document(session, user=user, document_id=document_id)
    if document.status != "failed":
        raise Conflict(
            f"只有失败的文档可以重试，当前状态：{document.status}"
            f" (only failed documents can be retried; status is {document.status})"
        )
    document.status = "queued"
    document.error = None
    document.error_reason = None
    document.attempts = 0
    document.lease_expires_at = None
    record_event(session, user=user.sub, action="document_retry", target=document.id)
    session.flush()
    return document


@dataclass(frozen=True)
class Unreferenced:
    """What a removed document leaves that no other document uses, to delete after the commit."""

    original: str | None
    """SHA-256 of the original, when no other document shares it."""
    ocr_cache_entries: list[str]
    """OCR cache entries (paths under the cache directory) no other document was read from."""

    def remove(self, *, store: OriginalStore, ocr_cache_root: Path, engine: Engine) -> None:
        """After the commit: the files, and the removed rows' old pages in SQLite's log."""
        if self.original:
            store.remove(self.original)
        remove_cache_entries(ocr_cache_root, self.ocr_cache_entries)
        if checkpoint_sqlite(engine):
            log.warning("document_remove.wal_busy", hint="the next checkpoint empties the log")


def remove_failed(
    session: Session, *, user: User, document_id: str, es: Elasticsearch, prefix: str
) -> Unreferenced:
    """Delete a document whose processing failed: record, pages and index entry.

    Returns the original and the OCR cache entries no other document uses, for the caller
    to remove once this is committed (a page read before the failure left its text in the
    cache). Its archive number is not used again.
    """
    if not user.has_role("archivist", "admin"):
        raise Forbidden("只有档案管理员或管理员可以删除失败的文档 (archivist or admin only)")
    document = get_visible_document(session, user=user, document_id=document_id)
    if document.status != "failed":
        raise Conflict(
            f"只有处理失败的文档可以删除，当前状态：{document.status}"
            f" (only failed documents can be removed; status is {document.status})"
        )
    details = {
        "archive_no": document.archive_no,
        "partner_id": document.partner_id,
        "filename": document.original_filename,
        "sha256": document.sha256,
        "error": document.error,
    }
    sha256 = document.sha256
    entries = set(session.scalars(select(OcrCacheUse.entry).where(OcrCacheUse.document_id == document.id)))
    session.execute(delete(AccessGrant).where(AccessGrant.document_id == document.id))
    session.delete(document)
    session.flush()
    # A failed document is normally not in the index; one that was indexed before a retry is.
    delete_document(es, prefix=prefix, document_id=document_id)
    record_event(session, user=user.sub, action="document_remove", target=document_id, details=details)
    shared = session.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1))
    in_use = set(session.scalars(select(OcrCacheUse.entry).where(OcrCacheUse.entry.in_(entries))))
    return Unreferenced(original=None if shared else sha256, ocr_cache_entries=sorted(entries - in_use))
