"""`partner-archive check`: originals against their SHA-256, the index against the record.

The record is the truth. An original that is missing or altered can only be reported (it
comes back from a backup); the index is derived, so what is missing, extra or stale there
can be repaired from the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from archive.audit import record_event
from archive.models import Document
from archive.progress import SILENT, Progress
from archive.search_index import delete_document, documents_alias, ensure_index, index_body, reindex_documents
from archive.storage import OriginalStore

# Fields of the index entry that decide who sees a document and what a search shows.
COMPARED_FIELDS = (
    "confidentiality", "department", "title", "partner_name", "expires_on", "superseded_by", "legal_hold",
)
_BATCH = 200


@dataclass(frozen=True)
class FileProblem:
    document_id: str
    archive_no: str
    sha256: str
    problem: str  # "missing" or "altered"


@dataclass(frozen=True)
class IndexEntry:
    document_id: str
    archive_no: str | None
    fields: tuple[str, ...] = ()


@dataclass
class IntegrityReport:
    documents: int = 0
    originals: int = 0
    index_entries: int = 0
    index_exists: bool = True
    files: list[FileProblem] = field(default_factory=list)
    missing_from_index: list[IndexEntry] = field(default_factory=list)
    extra_in_index: list[IndexEntry] = field(default_factory=list)
    stale: list[IndexEntry] = field(default_factory=list)
    repaired: bool = False
    reindexed: int = 0
    deleted: int = 0

    @property
    def index_problems(self) -> int:
        return len(self.missing_from_index) + len(self.extra_in_index) + len(self.stale)

    @property
    def problems(self) -> int:
        return len(self.files) + self.index_problems

    @property
    def unresolved(self) -> int:
        """Problems still there: everything, or after a repair only the files."""
        return len(self.files) if self.repaired else self.problems

    def details(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "originals": self.originals,
            "index_entries": self.index_entries,
            "missing_files": [p.document_id for p in self.files if p.problem == "missing"],
            "altered_files": [p.document_id for p in self.files if p.problem == "altered"],
            "missing_from_index": [e.document_id for e in self.missing_from_index],
            "extra_in_index": [e.document_id for e in self.extra_in_index],
            "stale": {e.document_id: list(e.fields) for e in self.stale},
            "repaired": self.repaired,
            "reindexed": self.reindexed,
            "deleted": self.deleted,
        }

    def render(self) -> str:
        """A readable report, Chinese first."""
        lines = [
            "档案完整性检查 (integrity check)",
            f"  文档记录 (documents on record): {self.documents}",
            f"  原件 (originals checked): {self.originals}",
            f"  索引条目 (index entries): {self.index_entries}"
            + ("" if self.index_exists else "  —— 索引不存在 (the index does not exist)"),
        ]
        labels = {"missing": "原件缺失 (original missing)", "altered": "原件被改动 (original altered)"}
        for problem in self.files:
            lines.append(f"  ✗ {labels[problem.problem]}: {problem.archive_no} "
                         f"[{problem.document_id}] sha256={problem.sha256}")
        for entry in self.missing_from_index:
            lines.append(f"  ✗ 索引缺失 (missing from index): {entry.archive_no} [{entry.document_id}]")
        for entry in self.extra_in_index:
            lines.append(f"  ✗ 索引多余 (in the index, not on record): [{entry.document_id}]")
        for entry in self.stale:
            lines.append(f"  ✗ 索引过期 (stale index entry): {entry.archive_no} [{entry.document_id}] "
                         f"字段 (fields): {', '.join(entry.fields)}")
        if self.repaired:
            lines.append(f"已修复索引 (index repaired): 重新索引 {self.reindexed} 条 (reindexed), "
                         f"删除 {self.deleted} 条 (deleted)")
        if self.files:
            lines.append("原件问题无法自动修复，请从备份恢复 (originals cannot be repaired here: "
                         "restore them from a backup)")
        if self.problems == 0:
            lines.append("结果：未发现问题 (result: no problems found)")
        else:
            lines.append(f"结果：发现 {self.problems} 个问题，尚余 {self.unresolved} 个 "
                         f"(result: {self.problems} problems found, {self.unresolved} unresolved)")
        return "\n".join(lines)


def _fingerprint(source: dict[str, Any]) -> dict[str, Any]:
    content = source.get("content") or []
    pages = content if isinstance(content, list) else [content]
    return {
        **{name: source.get(name) for name in COMPARED_FIELDS},
        "content_length": sum(len(page or "") for page in pages),
    }


def _index_fingerprints(es: Elasticsearch, *, prefix: str) -> dict[str, dict[str, Any]] | None:
    """Every entry behind the alias, reduced to what is compared; None when there is no index."""
    alias = documents_alias(prefix)
    if not es.indices.exists_alias(name=alias):
        return None
    return {
        hit["_id"]: _fingerprint(hit["_source"])
        for hit in helpers.scan(
            es, index=alias, query={"query": {"match_all": {}}},
            _source=[*COMPARED_FIELDS, "content"], size=500,
        )
    }


def _check_files(
    session: Session, *, store: OriginalStore, report: IntegrityReport, progress: Progress
) -> None:
    verdicts: dict[str, str | None] = {}
    progress.stage("校验原件 (originals against SHA-256)", session.scalar(select(func.count(Document.id))))
    rows = session.execute(
        select(Document.id, Document.archive_no, Document.sha256).order_by(Document.archive_no)
    )
    for document_id, archive_no, sha256 in rows:
        progress.advance()
        report.documents += 1
        if sha256 not in verdicts:
            if not store.exists(sha256):
                verdicts[sha256] = "missing"
            else:
                verdicts[sha256] = None if store.verify(sha256) else "altered"
        if (problem := verdicts[sha256]) is not None:
            report.files.append(FileProblem(document_id, archive_no, sha256, problem))
    report.originals = len(verdicts)


def _indexed_documents(session: Session, ids: Iterable[str] | None = None) -> Iterable[Document]:
    query = (
        select(Document)
        .where(Document.status == "indexed")
        .options(selectinload(Document.page_texts), selectinload(Document.partner))
        .order_by(Document.archive_no)
        .execution_options(yield_per=_BATCH)
    )
    if ids is not None:
        query = query.where(Document.id.in_(list(ids)))
    return session.scalars(query)


def check_integrity(
    session: Session,
    *,
    es: Elasticsearch,
    store: OriginalStore,
    prefix: str,
    repair: bool,
    actor: str,
    progress: Progress = SILENT,
) -> IntegrityReport:
    """Check originals and the index; with `repair`, bring the index back in line with the record."""
    report = IntegrityReport()
    _check_files(session, store=store, report=report, progress=progress)

    in_index = _index_fingerprints(es, prefix=prefix)
    report.index_exists = in_index is not None
    in_index = in_index or {}
    report.index_entries = len(in_index)
    on_record: set[str] = set()
    progress.stage(
        "比对索引与记录 (index against the record)",
        session.scalar(select(func.count(Document.id)).where(Document.status == "indexed")),
    )
    for document in _indexed_documents(session):
        progress.advance()
        on_record.add(document.id)
        found = in_index.get(document.id)
        if found is None:
            report.missing_from_index.append(IndexEntry(document.id, document.archive_no))
            continue
        expected = _fingerprint(index_body(document))
        differing = tuple(name for name in expected if expected[name] != found.get(name))
        if differing:
            report.stale.append(IndexEntry(document.id, document.archive_no, differing))
    # An entry whose record is gone, or no longer indexed (e.g. failed on a re-run), is extra;
    # queued or processing ones are in flight and the worker will rewrite them.
    in_flight = set(session.scalars(
        select(Document.id).where(Document.status.in_(("queued", "processing")))
    ))
    report.extra_in_index = [
        IndexEntry(document_id, None) for document_id in sorted(set(in_index) - on_record - in_flight)
    ]

    if repair and report.index_problems:
        if not report.index_exists:
            ensure_index(es, prefix=prefix)
        to_write = [entry.document_id for entry in (*report.missing_from_index, *report.stale)]
        if to_write:
            report.reindexed = reindex_documents(
                es, prefix=prefix, documents=_indexed_documents(session, to_write)
            )
        for entry in report.extra_in_index:
            delete_document(es, prefix=prefix, document_id=entry.document_id)
            report.deleted += 1
    report.repaired = repair
    record_event(session, user=actor, action="check", details=report.details())
    return report
