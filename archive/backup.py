"""`partner-archive backup DEST` / `restore SRC`: a consistent copy of the record and the originals.

A backup holds the database (SQLite through its online backup API, so the API and workers
may keep running; PostgreSQL through `pg_dump`), the SQLite queue, every original (each
verified against its SHA-256 while copied) and `manifest.json`, written last, so a
directory without one is not a finished backup. The search index is derived: a restore
rebuilds it from the record. An Elasticsearch snapshot is taken only when a repository is
named in PARTNER_ARCHIVE_ES_SNAPSHOT_REPOSITORY.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

from archive.audit import record_event
from archive.db import make_engine, make_session_factory, session_scope
from archive.errors import DomainError
from archive.migrate import upgrade_database
from archive.models import Document, Partner
from archive.partner_life.records import rebuild_records
from archive.progress import SILENT, Progress
from archive.search_index import documents_alias, make_client, rebuild
from archive.settings import Settings

MANIFEST = "manifest.json"
FORMAT = "partner-archive-backup"
VERSION = 1
# Read here rather than in Settings: it only matters to this command, and a snapshot is
# optional (the index can always be rebuilt from the record).
SNAPSHOT_REPOSITORY_ENV = "PARTNER_ARCHIVE_ES_SNAPSHOT_REPOSITORY"
_SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024
_COUNTED_TABLES = ("partners", "documents", "document_pages", "audit_entries")


class BackupError(DomainError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    dest: Path
    manifest: dict[str, Any]

    @property
    def warnings(self) -> list[str]:
        return list(self.manifest.get("warnings", []))


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    index: str
    indexed: int


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_verified(source: Path, target: Path, *, expected: str) -> bool:
    """Copy while hashing; a copy whose bytes do not match `expected` is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    if digest.hexdigest() != expected:
        target.unlink()
        return False
    return True


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None


def _sqlite_online_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, as one self-contained file."""
    reader = sqlite3.connect(source)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
        # The copy keeps the source's WAL mode; a rollback journal makes it one file, no -wal.
        writer.execute("PRAGMA journal_mode=DELETE")
        writer.commit()
    finally:
        writer.close()
        reader.close()


def _sqlite_counts(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in _COUNTED_TABLES if table in present
        }
    finally:
        connection.close()


def _sqlite_hashes(path: Path) -> set[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in connection.execute("SELECT DISTINCT sha256 FROM documents")}
    finally:
        connection.close()


def _pg_command(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"PostgreSQL 的备份与恢复需要 {name}，但 PATH 中找不到它；请安装 PostgreSQL 客户端工具"
            f" (backing up or restoring PostgreSQL requires {name} on PATH;"
            " install the PostgreSQL client tools)"
        )
    return found


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, which goes through the environment instead of argv."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], *, env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what}失败 ({what} failed): {result.stderr.strip()[-2000:]}")


def _database_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return {
                "partners": session.scalar(select(func.count()).select_from(Partner)) or 0,
                "documents": session.scalar(select(func.count()).select_from(Document)) or 0,
            }
    finally:
        engine.dispose()


def _database_hashes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return set(session.scalars(select(Document.sha256).distinct()))
    finally:
        engine.dispose()


def _snapshot(settings: Settings, *, repository: str, stamp: str) -> dict[str, Any]:
    es = make_client(settings)
    try:
        alias = documents_alias(settings.es_index_prefix)
        indices = sorted(es.indices.get_alias(name=alias).keys())
        name = f"{settings.es_index_prefix}-{stamp}".lower()
        es.snapshot.create(
            repository=repository, snapshot=name, indices=",".join(indices),
            include_global_state=False, wait_for_completion=True,
        )
        return {"repository": repository, "snapshot": name, "indices": indices}
    finally:
        es.close()


def _is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def create_backup(settings: Settings, *, dest: Path, actor: str, progress: Progress = SILENT) -> BackupResult:
    """Copy the record, the queue and the originals into `dest` (new or empty), manifest last."""
    dest = dest.expanduser().resolve()
    if not _is_empty_dir(dest):
        raise BackupError(f"备份目录非空，拒绝写入 (the backup directory is not empty): {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(UTC)
    stamp = created_at.strftime("%Y%m%dT%H%M%SZ")
    warnings: list[str] = []
    database_url = settings.resolved_database_url

    # The record first: every original it names is then already on disk (files are only
    # ever removed by a destruction, which also removes the record).
    source_db = _sqlite_path(database_url)
    if source_db is not None:
        copy = dest / "archive.db"
        _sqlite_online_copy(source_db, copy)
        counts = _sqlite_counts(copy)
        referenced = _sqlite_hashes(copy)
        database: dict[str, Any] = {"kind": "sqlite", "file": copy.name}
    else:
        copy = dest / "archive.pgdump"
        target, env = _pg_target(database_url)
        _run([_pg_command("pg_dump"), "--format=custom", "--no-owner", f"--file={copy}", target],
             env=env, what="pg_dump ")
        counts = _database_counts(database_url)
        referenced = _database_hashes(database_url)
        database = {"kind": "postgresql", "file": copy.name}
    database.update(sha256=_sha256_of(copy), size=copy.stat().st_size)

    queue: dict[str, Any] | None = None
    source_queue = _sqlite_path(settings.resolved_queue_url)
    if source_queue is not None and source_queue.exists():
        queue_copy = dest / "queue.db"
        _sqlite_online_copy(source_queue, queue_copy)
        queue = {"kind": "sqlite", "file": queue_copy.name, "sha256": _sha256_of(queue_copy)}
    elif source_queue is None:
        warnings.append("队列不是 SQLite，未备份；未完成的文档会被重新入队 (the queue is not SQLite "
                        "and was not copied; unfinished documents are swept back onto the queue)")

    originals, total_bytes, corrupt = _copy_originals(settings.originals_dir, dest / "originals", progress)
    missing = sorted(referenced - set(originals))
    if corrupt:
        warnings.append(f"{len(corrupt)} 个原件与其 SHA-256 不符，未备份 (originals that fail their SHA-256 "
                        "were not copied); run `partner-archive check`")
    if missing:
        warnings.append(f"{len(missing)} 个记录中的原件不在存储中 (originals named by the record are missing "
                        "from storage)")

    snapshot: dict[str, Any] | None = None
    repository = os.environ.get(SNAPSHOT_REPOSITORY_ENV)
    if repository:
        snapshot = _snapshot(settings, repository=repository, stamp=stamp)

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": created_at.isoformat(),
        "created_by": actor,
        "database": database,
        "queue": queue,
        "counts": {**counts, "originals": len(originals)},
        "originals": {
            "files": sorted(originals), "bytes": total_bytes, "corrupt": corrupt, "missing": missing,
        },
        "elasticsearch": {
            "index_prefix": settings.es_index_prefix,
            "snapshot": snapshot,
            "note": "索引由记录重建 (the index is rebuilt from the record on restore)",
        },
        "warnings": warnings,
    }
    partial = dest / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    partial.replace(dest / MANIFEST)

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            record_event(session, user=actor, action="backup", target=str(dest), details={
                "counts": manifest["counts"], "database_sha256": database["sha256"],
                "snapshot": snapshot, "warnings": warnings,
            })
    finally:
        engine.dispose()
    return BackupResult(dest=dest, manifest=manifest)


def _copy_originals(
    source_root: Path, target_root: Path, progress: Progress
) -> tuple[list[str], int, list[str]]:
    """Copy every stored original whose bytes match its name; return copied, bytes, corrupt."""
    copied: list[str] = []
    corrupt: list[str] = []
    total = 0
    if not source_root.is_dir():
        return copied, total, corrupt
    stored = [
        path
        for path in sorted(source_root.rglob("*"))
        if path.relative_to(source_root).parts[0] != ".staging"
        and path.is_file()
        and _SHA256_NAME.match(path.name)
    ]
    progress.stage("复制并校验原件 (originals copied and verified)", len(stored))
    for path in stored:
        progress.advance()
        relative = path.relative_to(source_root)
        if _copy_verified(path, target_root / relative, expected=path.name):
            copied.append(path.name)
            total += path.stat().st_size
        else:
            corrupt.append(path.name)
    return copied, total, corrupt


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    if not path.is_file():
        raise BackupError(f"{src} 不是完整的备份：缺少 {MANIFEST} (not a finished backup: no {MANIFEST})")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"不支持的备份格式 (unsupported backup format): {manifest.get('format')} "
                          f"v{manifest.get('version')}")
    _refuse_foreign_names(manifest)
    return manifest


# The only names a backup writes; anything else in a manifest was put there by someone else.
_DATABASE_FILES = {"sqlite": "archive.db", "postgresql": "archive.pgdump"}
_QUEUE_FILE = "queue.db"


def _refuse_foreign_names(manifest: dict[str, Any]) -> None:
    """A manifest names files inside the backup and the store: never a path that leads out."""
    problems = []
    database = manifest.get("database") or {}
    if _DATABASE_FILES.get(database.get("kind")) != database.get("file"):
        problems.append(f"database.file={database.get('file')!r}")
    queue = manifest.get("queue")
    if queue is not None and queue.get("file") != _QUEUE_FILE:
        problems.append(f"queue.file={queue.get('file')!r}")
    files = (manifest.get("originals") or {}).get("files")
    if not isinstance(files, list):
        problems.append("originals.files")
    else:
        problems.extend(f"originals: {name!r}" for name in files if not (
            isinstance(name, str) and _SHA256_NAME.match(name)))
    if problems:
        raise BackupError(
            "备份清单含有不合规的文件名，拒绝恢复 (the manifest names files a backup never writes;"
            f" refusing to restore): {', '.join(problems[:5])}"
        )


def _refuse_non_empty(settings: Settings) -> None:
    data = settings.data_path
    # The local Elasticsearch node may already keep its own data here; the index is rebuilt anyway.
    entries = data.iterdir() if data.is_dir() else iter(())
    present = sorted(entry.name for entry in entries if entry.name != "elasticsearch")
    if present:
        raise BackupError(
            f"数据目录非空，拒绝恢复以免覆盖现有档案 (the data directory is not empty; restore refuses to "
            f"overwrite an archive): {data} contains {', '.join(present[:5])}"
        )
    if _sqlite_path(settings.resolved_database_url) is None:
        try:
            counts = _database_counts(settings.resolved_database_url)
        except Exception:
            # No schema yet: an empty database, which is what a restore wants.
            return
        if any(counts.values()):
            raise BackupError("目标数据库非空，拒绝恢复 (the target database is not empty; restore refuses)")


def restore_backup(
    settings: Settings, *, src: Path, actor: str, progress: Progress = SILENT
) -> RestoreResult:
    """Restore a backup into an empty data directory, verify it, then rebuild the index."""
    src = src.expanduser().resolve()
    manifest = read_manifest(src)
    _refuse_non_empty(settings)
    database = manifest["database"]
    copy = src / database["file"]
    if not copy.is_file() or _sha256_of(copy) != database["sha256"]:
        raise BackupError(f"备份中的数据库文件缺失或已损坏 (the database copy is missing or damaged): {copy}")
    expected_files = manifest["originals"]["files"]
    for sha256 in expected_files:
        if not (src / "originals" / sha256[:2] / sha256[2:4] / sha256).is_file():
            raise BackupError(f"备份中缺少原件 (an original is missing from the backup): {sha256}")

    settings.data_path.mkdir(parents=True, exist_ok=True)
    database_url = settings.resolved_database_url
    try:
        _copy_back(settings, src=src, manifest=manifest, progress=progress)
    except BaseException:
        # The target was empty before: take back what was written, so a retry can start over.
        _remove_restored(settings)
        raise
    # A backup from an older release gets the newer schema before anything reads it.
    upgrade_database(database_url)
    counts = _database_counts(database_url)
    for name in ("partners", "documents"):
        if name in manifest["counts"] and counts[name] != manifest["counts"][name]:
            raise BackupError(f"恢复后的 {name} 数量与清单不符 (restored {name}: {counts[name]}, "
                              f"manifest: {manifest['counts'][name]})")

    engine = make_engine(database_url)
    es = make_client(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            progress.stage("重建索引 (index rebuilt)", session.scalar(
                select(func.count(Document.id)).where(Document.status == "indexed")
            ))
            documents = session.scalars(
                select(Document)
                .where(Document.status == "indexed")
                .options(selectinload(Document.page_texts), selectinload(Document.partner))
                .execution_options(yield_per=500)
            )
            index, indexed = rebuild(es, prefix=settings.es_index_prefix, documents=documents,
                                     replicas=settings.es_replicas, progress=progress)
            _records_index, records = rebuild_records(session, es, prefix=settings.es_index_prefix,
                                                      replicas=settings.es_replicas)
            record_event(session, user=actor, action="restore", target=str(src), details={
                "backup_created_at": manifest["created_at"], "counts": manifest["counts"],
                "index": index, "indexed": indexed, "records": records,
            })
    finally:
        es.close()
        engine.dispose()
    return RestoreResult(manifest=manifest, index=index, indexed=indexed)


def _copy_back(settings: Settings, *, src: Path, manifest: dict[str, Any], progress: Progress) -> None:
    database = manifest["database"]
    copy = src / database["file"]
    database_url = settings.resolved_database_url
    target_db = _sqlite_path(database_url)
    if database["kind"] == "sqlite":
        if target_db is None:
            raise BackupError("SQLite 备份只能恢复到 SQLite (a SQLite backup restores into SQLite only)")
        target_db.parent.mkdir(parents=True, exist_ok=True)
        if not _copy_verified(copy, target_db, expected=database["sha256"]):
            raise BackupError("复制数据库时校验失败 (the database copy failed its SHA-256)")
    else:
        if target_db is not None:
            raise BackupError("PostgreSQL 备份需要 PARTNER_ARCHIVE_DATABASE_URL 指向 PostgreSQL "
                              "(a PostgreSQL backup needs PARTNER_ARCHIVE_DATABASE_URL "
                              "to name a PostgreSQL database)")
        target, env = _pg_target(database_url)
        _run([_pg_command("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={target}", str(copy)],
             env=env, what="pg_restore ")

    queue = manifest.get("queue")
    target_queue = _sqlite_path(settings.resolved_queue_url)
    if queue and target_queue is not None:
        target_queue.parent.mkdir(parents=True, exist_ok=True)
        if not _copy_verified(src / queue["file"], target_queue, expected=queue["sha256"]):
            raise BackupError("复制队列时校验失败 (the queue copy failed its SHA-256)")

    target_root = settings.originals_dir
    progress.stage("恢复并校验原件 (originals restored and verified)", len(manifest["originals"]["files"]))
    for sha256 in manifest["originals"]["files"]:
        progress.advance()
        relative = Path(sha256[:2]) / sha256[2:4] / sha256
        if not _copy_verified(src / "originals" / relative, target_root / relative, expected=sha256):
            raise BackupError(f"原件校验失败 (an original in the backup fails its SHA-256): {sha256}")


def _remove_restored(settings: Settings) -> None:
    for url in (settings.resolved_database_url, settings.resolved_queue_url):
        path = _sqlite_path(url)
        if path is not None:
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
    shutil.rmtree(settings.originals_dir, ignore_errors=True)
