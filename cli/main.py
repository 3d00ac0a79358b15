"""`partner-archive`: run the service, its parts, and the archive office's tools.

Imports stay inside the commands: `token` or `es status` should not pay for loading the
pipeline, and a spawned import process re-imports this module as its main module.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from archive.settings import Settings, get_settings

app = typer.Typer(help="客商档案 Partner Archive", no_args_is_help=True, add_completion=False)
es_app = typer.Typer(help="The local single-node Elasticsearch (the embedded default).")
db_app = typer.Typer(help="The database schema.")
app.add_typer(es_app, name="es")
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


def _local_node(settings: Settings):  # type: ignore[no-untyped-def]
    from archive.elasticsearch_node import LocalNode, default_distribution_dir

    return LocalNode(
        home=settings.local_es_dir,
        distribution_dir=settings.es_distribution_dir or default_distribution_dir(),
        http_port=settings.es_local_port,
        transport_port=settings.es_local_transport_port,
        heap_mb=settings.es_local_heap_mb,
        java_home=settings.es_java_home,
    )


@es_app.command("start")
def es_start() -> None:
    """Fetch (once) and start the local node in the background."""
    settings = get_settings()
    if not settings.uses_local_elasticsearch:
        typer.echo(f"PARTNER_ARCHIVE_ES_URL is set ({settings.es_url}); no local node needed")
        return
    node = _local_node(settings)
    node.start()
    typer.echo(f"Elasticsearch: {node.status()}")


@es_app.command("stop")
def es_stop() -> None:
    """Stop the local node."""
    stopped = _local_node(get_settings()).stop()
    typer.echo("Elasticsearch stopped" if stopped else "Elasticsearch was not running")


@es_app.command("status")
def es_status() -> None:
    """Whether the local node runs and answers."""
    typer.echo(f"Elasticsearch: {_local_node(get_settings()).status()}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from archive.migrate import upgrade_database

    upgrade_database(get_settings().resolved_database_url)
    typer.echo("database schema is current")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 at the first entry that was altered or removed."""
    from archive.audit import verify_chain
    from archive.db import make_engine, make_session_factory

    engine = make_engine(get_settings().resolved_database_url)
    with make_session_factory(engine)() as session:
        report = verify_chain(session)
    engine.dispose()
    if report.intact:
        typer.echo(f"审计日志完整 (audit chain intact): {report.entries} entries")
        return
    typer.echo(f"审计日志被篡改 (audit chain broken) at entry {report.broken_at}: {report.problem}", err=True)
    raise typer.Exit(code=1)


@audit_app.command("purge")
def audit_purge(
    before: Annotated[str, typer.Option(help="purge entries older than this date (YYYY-MM-DD, UTC)")],
    export: Annotated[Path, typer.Option(help="where the export (JSON, with the chain's verification) goes")],
) -> None:
    """Export audit entries older than BEFORE with the chain's verification, then purge them.

    Refused for anything younger than PARTNER_ARCHIVE_AUDIT_RETENTION_DAYS (at least 180).
    """
    from datetime import UTC, datetime

    from archive.audit_retention import purge_before
    from archive.db import make_engine, make_session_factory, session_scope
    from archive.errors import DomainError
    from cli.office import cli_actor

    settings = get_settings()
    cutoff = datetime.fromisoformat(before).replace(tzinfo=UTC)
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            done = purge_before(session, user=None, actor=cli_actor(), before=cutoff, export_to=export,
                                settings=settings)
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    typer.echo(
        f"已导出并清理 {done.entries} 条审计记录 (exported and purged) #{done.first_seq}–#{done.last_seq}"
        f" → {export} (sha256 {done.sha256})"
    )


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="user id")],
    roles: Annotated[str, typer.Option(help="comma-separated: staff,manager,archivist,compliance,admin")],
    clearance: Annotated[str, typer.Option(help="public, internal, secret or confidential")],
    departments: Annotated[str, typer.Option(help="comma-separated departments")] = "",
    ttl: Annotated[str, typer.Option(help="lifetime such as 8h, 30m, 2d")] = "8h",
) -> None:
    """Print a bearer token that the running service accepts."""
    from archive.auth import AuthenticationError, mint_token

    try:
        printed = mint_token(
            get_settings(),
            sub=sub,
            roles=_split(roles),
            departments=_split(departments),
            clearance=clearance,
            ttl=_parse_ttl(ttl),
        )
    except AuthenticationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(printed)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_ttl(value: str) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise typer.BadParameter(f"ttl like 8h, 30m or 2d, not {value!r}")
    return timedelta(**{units[value[-1]]: int(value[:-1])})


@app.command()
def reindex() -> None:
    """Rebuild the search index from the record (no OCR is repeated) and switch the alias."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from archive.db import make_engine, make_session_factory
    from archive.models import Document
    from archive.partner_life.records import rebuild_records
    from archive.search_index import make_client, rebuild
    from cli.progress import progress_shown

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    es = make_client(settings)
    started = time.perf_counter()
    with make_session_factory(engine)() as session, progress_shown() as progress:
        progress.stage(
            "重建索引 (reindex)",
            session.scalar(select(func.count(Document.id)).where(Document.status == "indexed")),
        )
        documents = session.scalars(
            select(Document)
            .where(Document.status == "indexed")
            .options(selectinload(Document.page_texts), selectinload(Document.partner))
            .execution_options(yield_per=500)
        )
        index, count = rebuild(
            es,
            prefix=settings.es_index_prefix,
            documents=documents,
            replicas=settings.es_replicas,
            progress=progress,
        )
        records_index, records = rebuild_records(
            session, es, prefix=settings.es_index_prefix, replicas=settings.es_replicas
        )
    elapsed = time.perf_counter() - started
    typer.echo(
        f"reindexed {count} documents into {index} and {records} relationship records into"
        f" {records_index} in {elapsed:.1f} s"
    )


@app.command()
def serve() -> None:
    """Run the HTTP API alone."""
    import uvicorn

    settings = get_settings()
    _refuse_exposed_development_defaults(settings)
    _prepare(settings)
    uvicorn.run("search_api.app:create_app", factory=True, host=settings.host, port=settings.port)


def _refuse_exposed_development_defaults(settings: Settings) -> None:
    from archive.settings import UnsafeExposure

    try:
        settings.refuse_development_defaults_beyond_loopback()
    except UnsafeExposure as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def worker() -> None:
    """Run one ingest worker (several may run side by side)."""
    from ingest.worker import run as run_worker

    settings = get_settings()
    _prepare(settings)
    run_worker(settings)


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="directory of PDF, DOCX, PNG, JPEG and TIFF files")],
    partner: Annotated[
        str | None,
        typer.Option(help="partner id or archive number for every file; default: DIR/<partner>/…"),
    ] = None,
    doc_type: Annotated[
        str, typer.Option(help="type of files not under a directory named after a type")
    ] = "other",
    confidentiality: Annotated[
        str, typer.Option(help="public, internal, secret or confidential")
    ] = "internal",
    user: Annotated[str, typer.Option(help="recorded as the uploader")] = "import",
    jobs: Annotated[int, typer.Option(help="extraction processes; 0: one per core")] = 0,
) -> None:
    """Import a whole archive: extraction in a process pool, bulk indexing, one refresh."""
    from contextlib import nullcontext

    from cli.progress import progress_shown
    from ingest.reading import reading_pool

    settings = get_settings()
    processes = jobs or settings.import_jobs or os.cpu_count() or 1
    # The pool's processes start and import while this one imports the rest and brings the
    # schema up to date: a second or two of start-up on 2 cores (bench/, bulk import).
    early = reading_pool(processes) if processes > 0 and directory.is_dir() else None
    with early if early is not None else nullcontext():
        from ingest.bulk_import import main as import_main

        _prepare(settings)
        arguments = [str(directory), "--doc-type", doc_type, "--confidentiality", confidentiality]
        arguments += ["--user", user, "--jobs", str(jobs), *(["--partner", partner] if partner else [])]
        with progress_shown() as progress:
            code = import_main(arguments, progress=progress, pool=early)
    raise typer.Exit(code=code)


def _prepare(settings: Settings) -> None:
    from archive.migrate import upgrade_database

    settings.data_path.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)


@app.command()
def run() -> None:
    """Everything on this machine: local Elasticsearch, the API and a worker; Ctrl-C stops all."""
    settings = get_settings()
    _refuse_exposed_development_defaults(settings)
    _prepare(settings)
    node = None
    if settings.uses_local_elasticsearch:
        node = _local_node(settings)
        typer.echo("starting Elasticsearch …")
        node.start()
        typer.echo(f"Elasticsearch: {node.status()}")
    executable = sys.executable
    # The API serves /metrics (with PARTNER_ARCHIVE_METRICS_PORT) for both processes: they
    # count into one directory, emptied here so that no earlier run's counts are added in.
    metrics_dir = settings.data_path / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir()
    api_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    worker_env = {key: value for key, value in api_env.items() if key != "PARTNER_ARCHIVE_METRICS_PORT"}
    children = [
        subprocess.Popen(
            [
                executable,
                "-m",
                "uvicorn",
                "search_api.app:create_app",
                "--factory",
                "--host",
                settings.host,
                "--port",
                str(settings.port),
            ],
            env=api_env,
        ),
        subprocess.Popen([executable, "-m", "ingest.worker"], env=worker_env),
    ]
    typer.echo(f"API on http://{settings.host}:{settings.port}/docs — Ctrl-C stops everything")

    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        if node is not None:
            typer.echo("stopping Elasticsearch …")
            node.stop()
    failed = [child.args for child in children if child.returncode not in (0, -15, None)]
    if failed and not stopping:
        raise typer.Exit(code=1)


# The archive office's commands (check, backup, restore) live in their own module to keep this file short.
from cli.office import register as _register_office_commands  # noqa: E402

_register_office_commands(app)


if __name__ == "__main__":
    app()
