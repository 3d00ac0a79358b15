"""Text pages/second, bulk import overhead and worker memory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium

from bench.common import OUT, VENV_BIN, Figure, log, prepare_data_dir, service_env
from bench.ingest_runs import MEDIA_TYPES, Ingest
from bench.partners import make_partner
from ingest.extraction import ExtractionLimits, extract


def raw_pdfium(pdf: Path) -> float:
    started = time.perf_counter()
    document = pdfium.PdfDocument(pdf)
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        textpage.get_text_bounded()
        textpage.close()
        page.close()
    document.close()
    return time.perf_counter() - started


def raw_pdfplumber(pdf: Path) -> float:
    started = time.perf_counter()
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            page.extract_text()
            page.close()
    return time.perf_counter() - started


def text_pages(pdf: Path, pages: int, es_url: str, runs: int) -> list[Figure]:
    ingest = Ingest(OUT / "text" / "data", es_url, f"bench-text-{time.time_ns()}")
    ours, pdfium_rates, plumber_rates = [], [], []
    try:
        # Untimed, as a running worker is past it: the first document creates the index and
        # meets the engine's cold JIT (243 against 720-900 pages/s after it, 2026-12-02).
        ingest.process(ingest.record(pdf))
        raw_pdfium(pdf)
        for run in range(runs):
            document_id = ingest.record(pdf)
            seconds = ingest.process(document_id)
            ours.append(pages / seconds)
            pdfium_rates.append(pages / raw_pdfium(pdf))
            plumber_rates.append(pages / raw_pdfplumber(pdf))
            log(f"text run {run + 1}/{runs}: pipeline {pages / seconds:.0f} pages/s, pdfium "
                f"{pdfium_rates[-1]:.0f}, pdfplumber {plumber_rates[-1]:.0f}")
    finally:
        ingest.close()
    command = (f"process_document() of a {pages}-page Chinese text PDF (~800 characters a page): claim, "
               "extract, keep text and fields, index and refresh; in-process, real SQLite and ES; after one "
               "untimed document")
    return [
        Figure(
            name="text pages/second vs pypdfium2",
            unit="pages/s",
            samples=ours,
            reference_samples=pdfium_rates,
            reference="raw pypdfium2: open, get_textpage().get_text_bounded() per page",
            higher_is_better=True,
            target_ratio=0.5,
            command=command,
        ),
        Figure(
            name="text pages/second vs pdfplumber",
            unit="pages/s",
            samples=ours,
            reference_samples=plumber_rates,
            reference="raw pdfplumber: extract_text() and page.close() per page",
            higher_is_better=True,
            target_ratio=1.0,
            command=command,
        ),
    ]


def bulk_import(directory: Path, count: int, es_url: str, runs: int) -> list[Figure]:
    files = sorted(directory.iterdir())
    ours, raw = [], []
    for run in range(runs):
        # Reference: the same extraction, file after file, in this process.
        started = time.perf_counter()
        total = 0.0
        limits = ExtractionLimits(ocr_workers=2)
        for path in files:
            began = time.perf_counter()
            extract(path, MEDIA_TYPES[path.suffix], limits=limits)
            total += time.perf_counter() - began
        raw.append(total)
        log(f"bulk run {run + 1}/{runs}: raw extraction of {len(files)} files {total:.1f} s "
            f"(loop {time.perf_counter() - started:.1f} s)")
        data_dir = OUT / "bulk" / f"data-{run}"
        prepare_data_dir(data_dir)
        partner_id, _ = make_partner(data_dir, "福建省闽江供应链管理有限公司")
        env = service_env(data_dir, es_url, f"bench-bulk-{run}-{time.time_ns()}")
        started = time.perf_counter()
        result = subprocess.run(
            [str(VENV_BIN / "partner-archive"), "import", str(directory), "--partner", partner_id,
             "--doc-type", "contract"],
            env=env, capture_output=True, text=True, check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"import failed: {result.stdout}\n{result.stderr}")
        ours.append(elapsed)
        log(f"bulk run {run + 1}/{runs}: import {elapsed:.1f} s: {result.stdout.strip().splitlines()[-1]}")
        shutil.rmtree(data_dir, ignore_errors=True)
    return [
        Figure(
            name="bulk import",
            unit="s",
            samples=ours,
            reference_samples=raw,
            reference="sum of ingest.extraction.extract() times for the same files, one after another",
            higher_is_better=False,
            target_ratio=0.9,
            command=f"partner-archive import DIR --partner ID ({count} text PDFs and DOCX: licences, ID "
            "cards, bank letters, certificates (1 page), contracts (3-10 pages); fresh data directory per "
            "run; wall time of the command, Python start-up included)",
            note="ratio = raw / import; ≥ 0.9 (issue 15) means overhead ≤ 11 %",
        )
    ]


def memory(files: dict[str, tuple[Path, Path]], es_url: str) -> list[Figure]:
    """Peak RSS of a fresh worker process for a large and a 10-page document of each kind."""
    figures = []
    for kind, (large, small) in files.items():
        peaks: dict[Path, dict[str, float]] = {}
        for path in (small, large):
            data_dir = OUT / "memory" / f"data-{path.stem}"
            result = subprocess.run(
                [sys.executable, "-m", "bench.memory_probe", str(data_dir), es_url,
                 f"bench-mem-{time.time_ns()}", str(path)],
                capture_output=True, text=True, check=True,
            )
            peaks[path] = json.loads(result.stdout.strip().splitlines()[-1])
            log(f"memory {path.name}: {peaks[path]}")
            shutil.rmtree(data_dir, ignore_errors=True)
        figures.append(
            Figure(
                name=f"worker memory, {kind}",
                unit="MB peak RSS",
                samples=[peaks[large]["peak_rss_mb"]],
                reference_samples=[peaks[small]["peak_rss_mb"]],
                reference=f"the same for {small.name}",
                higher_is_better=False,
                target_ratio=1 / 1.5,
                command=f"python -m bench.memory_probe … {large.name}: a fresh process runs "
                "process_document(); VmHWM of that process (Tesseract runs as child processes, one per page)",
                note="ratio = small / large; ≥ 0.67 means ≤ 1.5× the small one",
                extra={"rss_before_processing_mb": {p.name: round(v["rss_before_mb"], 1) for p, v in peaks.items()},
                       "seconds": {p.name: round(v["seconds"], 1) for p, v in peaks.items()}},
            )
        )
    return figures


