"""四性检测 costs: intake overhead on the 2,000-document import and on a 40-page scan (ratio to
intake without the checks, target ≤ 1.1×), and the periodic re-check's rate on a large archive.

`python -m bench --only checks [--quick]`. The import runs as the command does, with
PARTNER_ARCHIVE_INTAKE_CHECKS true and false, interleaved. The scan is processed by the
worker's own `process_document` once with the checks off (OCR included); the check that
intake adds is then timed on the same record, so the ratio compares like with like without
a second OCR run (the OCR cache would make one meaningless). The re-check reads real
originals: each document a distinct small PDF in the store, its digests on record.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.common import OUT, VENV_BIN, Figure, log, prepare_data_dir, service_env
from bench.partners import make_partner


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_overhead(directory: Path, count: int, es_url: str, runs: int) -> list[Figure]:
    with_checks, without = [], []
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for run in range(runs):
        for checks, samples in ((False, without), (True, with_checks)):
            data_dir = OUT / "checks" / f"import-{run}-{checks}"
            prepare_data_dir(data_dir)
            partner_id, _ = make_partner(data_dir, "福建省闽江供应链管理有限公司")
            env = service_env(data_dir, es_url, f"bench-checks-{run}-{str(checks).lower()}-{time.time_ns()}",
                              PARTNER_ARCHIVE_INTAKE_CHECKS=str(checks).lower())
            started, cpu_before = time.perf_counter(), _children_cpu()
            result = subprocess.run(
                [str(VENV_BIN / "partner-archive"), "import", str(directory), "--partner", partner_id,
                 "--doc-type", "contract"], env=env, capture_output=True, text=True, check=False,
            )
            elapsed = time.perf_counter() - started
            cpu[checks].append(_children_cpu() - cpu_before)
            if result.returncode != 0:
                raise RuntimeError(f"import failed: {result.stdout}\n{result.stderr}")
            samples.append(elapsed)
            log(f"checks import run {run + 1}/{runs} checks={checks}: {elapsed:.1f} s, "
                f"{cpu[checks][-1]:.1f} s CPU (import and its pool)")
            shutil.rmtree(data_dir, ignore_errors=True)
    return [Figure(
        name="import with 四性检测", unit="s", samples=with_checks, reference_samples=without,
        reference="the same import with PARTNER_ARCHIVE_INTAKE_CHECKS=false, interleaved",
        higher_is_better=False, target_ratio=1 / 1.1,
        command=f"partner-archive import DIR --partner ID ({count} mixed documents, fresh data directory per run)",
        note="ratio = without / with; ≥ 0.909 means overhead ≤ 10 %",
        extra={"cpu_seconds_with": cpu[True], "cpu_seconds_without": cpu[False]},
    )]


def scan_overhead(pdf: Path, es_url: str, runs: int) -> list[Figure]:
    from archive.db import session_scope
    from archive.models import Document
    from bench.ingest_runs import Ingest
    from ingest.pipeline import check_intake

    processed, added = [], []
    for run in range(runs):
        ingest = Ingest(OUT / "checks" / f"scan-{run}", es_url, f"bench-checks-scan-{run}-{time.time_ns()}",
                        intake_checks=False)
        document_id = ingest.record(pdf)
        processed.append(ingest.process(document_id))
        checking = replace(ingest.ctx, settings=ingest.settings.model_copy(update={"intake_checks": True}))
        started = time.perf_counter()
        check_intake(checking, document_id)
        added.append(time.perf_counter() - started)
        with session_scope(ingest.ctx.session_factory) as session:
            status = session.get(Document, document_id).check_status  # type: ignore[union-attr]
        log(f"checks scan run {run + 1}/{runs}: process {processed[-1]:.1f} s, check {added[-1]:.3f} s ({status})")
        ingest.close()
    return [Figure(
        name="40-page scan with 四性检测", unit="s",
        samples=[p + a for p, a in zip(processed, added, strict=True)], reference_samples=processed,
        reference="process_document of the same scan with the checks off (OCR included)",
        higher_is_better=False, target_ratio=1 / 1.1,
        command=f"{pdf.name}: record, process_document (checks off), then the intake check alone on the same record",
        note="ratio = without / with",
        extra={"check_seconds": added},
    )]


def recheck_rate(documents: int) -> list[Figure]:
    """Periodic re-check of every document of an archive of `documents` real originals."""
    from archive.db import make_engine, make_session_factory
    from archive.models import Document, Partner
    from archive.recheck import recheck
    from archive.settings import Settings
    from archive.storage import OriginalStore, file_digests
    from bench.inputs import text_pdf

    data_dir = OUT / "checks" / "recheck"
    prepare_data_dir(data_dir)
    settings = Settings(data_dir=data_dir)
    store = OriginalStore(settings.originals_dir)
    template = text_pdf(data_dir / "template.pdf", 1).read_bytes()
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with factory() as session:
        session.execute(insert(Partner), [{"id": "p" * 32, "name": "福建省闽江供应链管理有限公司", "kind": "supplier",
                                            "department": "采购部", "archive_no": "GYS-2026-000001", "created_by": "bench"}])
        batch = []
        for n in range(documents):
            data = template + f"%{n}\n".encode()
            path = data_dir / "one.pdf"
            path.write_bytes(data)
            sha256, sm3, size = file_digests(path)
            target = store.path_for(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
            batch.append({
                "id": f"{n:032d}", "partner_id": "p" * 32, "archive_no": f"GYS-2026-000001-{n + 1:06d}",
                "doc_type": "contract", "confidentiality": "internal", "department": "采购部", "title": f"合同{n}",
                "original_filename": f"合同{n}.pdf", "media_type": "application/pdf", "size_bytes": size,
                "sha256": sha256, "sm3": sm3, "fields": {}, "field_provenance": {}, "field_problems": {},
                "flags": [], "legal_hold": False, "status": "indexed", "attempts": 1, "pages": 1, "ocr_pages": 0,
                "uploaded_by": "bench", "created_at": now, "updated_at": now, "indexed_at": now,
                "retention": "D30", "filing_year": 2026, "archival_group": "Q001-WS·2026-D30-", "item_no": n + 1,
                "archival_code": f"Q001-WS·2026-D30-{n + 1:04d}", "file_properties": {},
            })
            if len(batch) == 5000:
                session.execute(insert(Document), batch)
                batch = []
        if batch:
            session.execute(insert(Document), batch)
        session.commit()
    log(f"re-check archive of {documents} originals written in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    cpu = time.process_time()
    result = recheck(factory, store=store, settings=settings, actor="bench", everything=True, kind="on_demand")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    log(f"re-check: {result.documents} documents in {elapsed:.1f} s ({result.documents / elapsed:.0f}/s, "
        f"{cpu:.1f} s CPU), {len(result.failed)} failed")
    shutil.rmtree(data_dir, ignore_errors=True)
    return [Figure(
        name="periodic re-check", unit="docs/s", samples=[result.documents / elapsed],
        reference_samples=[result.documents / cpu], reference="the same run's rate per CPU second of this process",
        higher_is_better=True, target_ratio=None,
        command=f"archive.recheck.recheck(everything=True) over {documents} one-page PDFs (SHA-256 and SM3, "
        "structure and pages, 件号 sequence, one DocumentCheck row each; SQLite)",
        note="the reference is CPU-bound throughput: wall/CPU shows what waiting on the shared machine cost",
    )]
