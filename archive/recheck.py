"""The periodic 四性检测 in storage (长期保存): fixity by both digests, readability, the
件号 sequence and, when configured, a fresh virus scan, for a rolling share of the archive
(every document within RECHECK_DAYS), or for all of it on demand (`partner-archive check`).
Failures are kept with each document, listed, audited and sent to the archive office."""

from __future__ import annotations

import math
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from archive.antivirus import Scanner, make_scanner
from archive.audit import record_event
from archive.checks import CheckInput, check_document, finish_run, start_run, stored_facts
from archive.db import session_scope
from archive.documents import scan_record
from archive.models import Document
from archive.settings import Settings
from archive.storage import OriginalStore

log = structlog.get_logger(__name__)
_BATCH = 200
CHECKED_STATUSES = ("indexed", "failed")


@dataclass
class RecheckResult:
    run_id: str
    documents: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)


def due_count(session: Session, settings: Settings) -> int:
    """Today's share: every document comes round within RECHECK_DAYS."""
    total = session.scalar(
        select(func.count()).select_from(Document).where(Document.status.in_(CHECKED_STATUSES))
    )
    return math.ceil((total or 0) / max(1, settings.recheck_days))


def recheck(
    session_factory: sessionmaker[Session],
    *,
    store: OriginalStore,
    settings: Settings,
    actor: str,
    everything: bool,
    kind: str = "storage",
) -> RecheckResult:
    """Re-check the due share (least recently checked first), or every document."""
    scanner = make_scanner(settings)
    with session_scope(session_factory) as session:
        run = start_run(
            session, kind=kind, actor=actor, note="全部文档 (all documents)" if everything else None
        )
        limit = None if everything else due_count(session, settings)
        query = (
            select(Document.id)
            .where(Document.status.in_(CHECKED_STATUSES))
            .order_by(Document.checked_at.is_not(None), Document.checked_at, Document.id)
        )
        ids = list(session.scalars(query if limit is None else query.limit(limit)))
        run_id = run.id
    result = RecheckResult(run_id=run_id)
    groups: dict[str, Any] = {}  # 件号 findings per group, judged once per run
    for start in range(0, len(ids), _BATCH):
        _check_batch(
            session_factory,
            ids[start : start + _BATCH],
            store=store,
            settings=settings,
            scanner=scanner,
            run_id=run_id,
            result=result,
            groups=groups,
        )
    with session_scope(session_factory) as session:
        from archive.models import CheckRun  # noqa: PLC0415 - the run row only

        run = session.get(CheckRun, run_id)
        assert run is not None
        run.documents, run.failed = result.documents, len(result.failed)
        finish_run(run)
        record_event(
            session,
            user=actor,
            action="check_run",
            target=run_id,
            details={"kind": kind, "documents": result.documents, "failed": len(result.failed)},
        )
        if result.failed:
            result.alerted = _alert(settings, result)
            record_event(
                session,
                user=actor,
                action="check_alert",
                target=run_id,
                details={"failed": result.failed[:200], "sent_to": result.alerted},
            )
    return result


def _check_batch(
    session_factory: sessionmaker[Session],
    ids: list[str],
    *,
    store: OriginalStore,
    settings: Settings,
    scanner: Scanner | None,
    run_id: str,
    result: RecheckResult,
    groups: dict[str, Any],
) -> None:
    from archive.models import CheckRun  # noqa: PLC0415

    limit = settings.max_inflated_mb * 1024 * 1024
    with session_scope(session_factory) as session:
        run = session.get(CheckRun, run_id)
        assert run is not None
        documents = list(
            session.scalars(
                select(Document).where(Document.id.in_(ids)).options(selectinload(Document.page_texts))
            )
        )
        facts = {d.id: stored_facts(store, d.sha256, max_inflated_bytes=limit) for d in documents}
        if scanner is not None:
            present = [d for d in documents if facts[d.id].get("stored")]
            for document, verdict in zip(
                present, scanner.scan([store.path_for(d.sha256) for d in present]), strict=True
            ):
                facts[document.id]["virus_scan"] = scan_record(verdict)
        for document in documents:
            check = check_document(
                session,
                document,
                settings=settings,
                run=run,
                stage="storage",
                given=CheckInput(facts[document.id]),
                groups=groups,
            )
            result.documents += 1
            if not check.passed:
                result.failed.append(
                    {
                        "document_id": document.id,
                        "archival_code": document.archival_code,
                        "items": [
                            f"{i['code']} {i['name']}: {i['evidence']}"
                            for i in check.items
                            if i["result"] == "fail"
                        ],
                    }
                )


def _alert(settings: Settings, result: RecheckResult) -> list[str]:
    """Tell the archive office; a channel that fails is logged, the failures stay listed."""
    subject = f"四性检测发现 {len(result.failed)} 份文档未通过 (periodic check: {len(result.failed)} failed)"
    lines = [subject, ""] + [f"{f['archival_code']}: {'；'.join(f['items'])}" for f in result.failed[:100]]
    sent: list[str] = []
    if settings.check_alert_webhook:
        try:
            httpx.post(
                settings.check_alert_webhook,
                json={"title": subject, "run_id": result.run_id, "failed": result.failed[:100]},
                timeout=10,
            )
            sent.append("webhook")
        except httpx.HTTPError as exc:
            log.warning("check.alert_failed", channel="webhook", error=str(exc))
    if settings.check_alert_emails and settings.smtp_host:
        message = EmailMessage()
        message["Subject"], message["From"] = subject, settings.smtp_sender
        message["To"] = ", ".join(settings.check_alert_emails)
        message.set_content("\n".join(lines))
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username and settings.smtp_password:
                    smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
                smtp.send_message(message)
            sent.append("email")
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("check.alert_failed", channel="email", error=str(exc))
    log.warning("check.failures", run_id=result.run_id, failed=len(result.failed))
    return sent
