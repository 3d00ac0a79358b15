"""`make bench` / `python -m bench [--quick] [--only ocr,text,bulk,search,memory,cluster,mixed,checks]`.

Generates its inputs, runs each measurement several times against a reference measured in
the same run on the same inputs, and writes bench/results.json and bench/results.md.
Not a test: nothing here asserts; the table says which targets are met.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time

from bench import inputs
from bench.common import OUT, ROOT, Figure, elasticsearch_url, load_now, log

RESULTS = ROOT / "bench" / "results.json"
TABLE = ROOT / "bench" / "results.md"
PARTS = ("ocr", "text", "bulk", "memory", "search", "cluster", "mixed", "checks")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer runs, for iterating")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    arguments = parser.parse_args()
    parts = [part for part in arguments.only.split(",") if part]
    quick = arguments.quick
    started = time.monotonic()
    load_before = load_now()
    log(f"before: {load_before}")
    scratch = OUT / "perf"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)

    figures: list[Figure] = []
    with elasticsearch_url() as es_url:
        if "ocr" in parts:
            from bench import ocr

            pages = 10 if quick else 40
            pdf = inputs.scanned_pdf(scratch / f"scan-{pages}.pdf", pages)
            images = inputs.page_images(pdf, scratch / "scan-images")
            figures += ocr.measure(pdf, images, es_url, runs=1 if quick else 2)
        if "text" in parts:
            from bench import ingest_figures

            pages = 200
            pdf = inputs.text_pdf(scratch / f"text-{pages}.pdf", pages)
            figures += ingest_figures.text_pages(pdf, pages, es_url, runs=3 if quick else 5)
        if "bulk" in parts:
            from bench import ingest_figures

            count = 300 if quick else 2000
            directory = scratch / "archive"
            inputs.mixed_archive(directory, count)
            figures += ingest_figures.bulk_import(directory, count, es_url, runs=1 if quick else 3)
        if "memory" in parts:
            from bench import ingest_figures

            large_text, large_scan = (100, 20) if quick else (500, 100)
            files = {
                f"{large_text}-page text PDF": (
                    inputs.text_pdf(scratch / f"text-{large_text}.pdf", large_text),
                    inputs.text_pdf(scratch / "text-10.pdf", 10),
                ),
                f"{large_scan}-page scan": (
                    inputs.scanned_pdf(scratch / f"sparse-scan-{large_scan}.pdf", large_scan, sparse=True),
                    inputs.scanned_pdf(scratch / "sparse-scan-10.pdf", 10, sparse=True),
                ),
            }
            figures += ingest_figures.memory(files, es_url)
        if "search" in parts:
            from bench import search

            documents, scale = (20_000, (2_000, 20_000, 60_000)) if quick else (100_000, (10_000, 100_000, 300_000))
            figures += search.archive_figures(es_url, documents, scale, runs=1 if quick else 2,
                                              requests=400 if quick else 800)
        if "cluster" in parts:
            from bench import cluster

            figures += cluster.measure(es_url, documents=5_000 if quick else 20_000, requests=200 if quick else 400)
        if "mixed" in parts:
            from bench import mixed

            # Three rounds: a p95 of ~150 searches swings by 2× from round to round (53 and 95 ms
            # idle in the quiet run of 2026-12-02), and the median of two is their mean.
            figures += mixed.measure(es_url, documents=20_000 if quick else 100_000, pages=4 if quick else 10,
                                     runs=1 if quick else 3, idle_seconds=15 if quick else 30)
        if "checks" in parts:
            from bench import checks

            count = 300 if quick else 2000
            directory = scratch / "archive-checks"
            inputs.mixed_archive(directory, count)
            figures += checks.import_overhead(directory, count, es_url, runs=1 if quick else 2)
            pages = 10 if quick else 40
            figures += checks.scan_overhead(inputs.scanned_pdf(scratch / f"scan-checks-{pages}.pdf", pages), es_url,
                                            runs=1)
            figures += checks.recheck_rate(10_000 if quick else 100_000)
    elapsed = time.monotonic() - started
    load_after = load_now()
    log(f"after: {load_after}")
    report = {
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "quick": quick,
        "wall_seconds": round(elapsed),
        "machine": {"cores": _cores(), "python": platform.python_version(), "tesseract": _tesseract()},
        "load_before": load_before,
        "load_after": load_after,
        "figures": [figure.as_json() for figure in figures],
    }
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = render_table(report)
    TABLE.write_text(table, encoding="utf-8")
    print()
    print(table)
    log(f"{len(figures)} figures in {elapsed / 60:.1f} min; {RESULTS.relative_to(ROOT)} and {TABLE.relative_to(ROOT)}")


def render_table(report: dict) -> str:
    lines = [
        f"`{report['command']}` — {report['wall_seconds'] / 60:.1f} min, {report['machine']['cores']} cores, "
        f"Tesseract {report['machine']['tesseract']}",
        "",
        "| figure | unit | median | min | max | reference median | ratio | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for f in report["figures"]:
        met = {True: "yes", False: "**no**", None: "—"}[f["met"]]
        target = "—" if f["target_ratio"] is None else f"≥ {f['target_ratio']:g}"
        lines.append(
            f"| {f['name']} | {f['unit']} | {_fmt(f['median'])} | {_fmt(f['min'])} | {_fmt(f['max'])} | "
            f"{_fmt(f['reference_median'])} | {_fmt(f['ratio'])} | {target} | {met} |"
        )
    lines += ["", "What each figure compares (ratio oriented so that higher is better):", ""]
    for f in report["figures"]:
        extra = f" {json.dumps(f['extra'], ensure_ascii=False)}" if f.get("extra") else ""
        note = f" {f['note']}." if f["note"] else ""
        lines.append(f"- **{f['name']}** ({f['runs']} runs): {f['command']}. Reference: {f['reference']}.{note}{extra}")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _tesseract() -> str:
    result = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).split("\n", 1)[0].replace("tesseract ", "")


if __name__ == "__main__":
    main()
