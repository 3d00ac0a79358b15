"""The archive office's maintenance commands: `check [--repair]`, `backup DEST`, `restore SRC`."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from archive.settings import get_settings


def cli_actor() -> str:
    """Who runs the command, for the audit log: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        # A container user without a passwd entry.
        return "cli:unknown"


def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="reindex missing and stale entries, delete extra ones")
    ] = False,
    due_only: Annotated[
        bool, typer.Option("--due-only", help="四性检测 of today's share only, as the daily job does")
    ] = False,
) -> None:
    """Verify every original against its SHA-256 and the index against the record, then run the
    四性检测 in storage (both digests, readability, 件号, virus scan) on every document.

    Exits 1 when problems are found (with --repair: when problems remain, i.e. originals).
    """
    from archive.db import make_engine, make_session_factory, session_scope
    from archive.integrity import check_integrity
    from archive.search_index import is_unavailable, make_client
    from archive.storage import OriginalStore
    from cli.progress import progress_shown

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    es = make_client(settings)
    try:
        with session_scope(make_session_factory(engine)) as session, progress_shown() as progress:
            report = check_integrity(
                session, es=es, store=OriginalStore(settings.originals_dir),
                prefix=settings.es_index_prefix, repair=repair, actor=cli_actor(), progress=progress,
            )
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        typer.echo(f"搜索服务不可用，无法检查索引 (the search engine does not answer): {exc}", err=True)
        raise typer.Exit(code=2) from exc
    finally:
        es.close()
        engine.dispose()
    typer.echo(report.render())
    from archive.recheck import recheck

    engine = make_engine(settings.resolved_database_url)
    try:
        result = recheck(make_session_factory(engine), store=OriginalStore(settings.originals_dir),
                         settings=settings, actor=cli_actor(), everything=not due_only, kind="on_demand")
    finally:
        engine.dispose()
    typer.echo(
        f"四性检测 (four-property check): {result.documents} 份文档 (documents), "
        f"{len(result.failed)} 份未通过 (failed) — 报告 (report): /api/v1/check-runs/{result.run_id}/report"
    )
    for failure in result.failed:
        where = f"{failure['archival_code']} [{failure['document_id']}]"
        typer.echo(f"  ✗ {where}: " + "；".join(failure["items"]))
    if report.unresolved or result.failed:
        raise typer.Exit(code=1)


def backup(dest: Annotated[Path, typer.Argument(help="a new or empty directory")]) -> None:
    """Copy the record, the queue and the originals (verified) into DEST, with manifest.json."""
    from archive.backup import BackupError, create_backup
    from cli.progress import progress_shown

    try:
        with progress_shown() as progress:
            result = create_backup(get_settings(), dest=dest, actor=cli_actor(), progress=progress)
    except BackupError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from exc
    counts = result.manifest["counts"]
    typer.echo(
        f"备份完成 (backup written) → {result.dest}: {counts.get('partners', 0)} 个客商 (partners), "
        f"{counts.get('documents', 0)} 份文档 (documents), {counts['originals']} 个原件 (originals)"
    )
    snapshot = result.manifest["elasticsearch"]["snapshot"]
    if snapshot:
        typer.echo(f"Elasticsearch 快照 (snapshot): {snapshot['repository']}/{snapshot['snapshot']}")
    for warning in result.warnings:
        typer.echo(f"警告 (warning): {warning}", err=True)
    if result.warnings:
        raise typer.Exit(code=1)


def restore(src: Annotated[Path, typer.Argument(help="a directory written by `backup`")]) -> None:
    """Restore SRC into an empty data directory, verify it, and rebuild the search index."""
    from archive.backup import BackupError, restore_backup
    from cli.progress import progress_shown

    try:
        with progress_shown() as progress:
            result = restore_backup(get_settings(), src=src, actor=cli_actor(), progress=progress)
    except BackupError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from exc
    counts = result.manifest["counts"]
    typer.echo(
        f"恢复完成 (restored) ← {src}: {counts.get('partners', 0)} 个客商 (partners), "
        f"{counts.get('documents', 0)} 份文档 (documents); 索引已重建 (index rebuilt): "
        f"{result.indexed} → {result.index}"
    )


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("backup")(backup)
    app.command("restore")(restore)
