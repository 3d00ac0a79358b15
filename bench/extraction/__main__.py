"""Run the field-extraction benchmark: `python -m bench.extraction [--quick]`."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from bench.extraction.corpus import SOURCES, Document, generate
from ingest.extraction import DOCX, PDF, ExtractionLimits, extract
from ingest.fields import FieldExtraction, extract_fields
from ingest.fields.second_pass import reread_identifier
from tests import samples

OUT = Path(__file__).resolve().parents[1] / "out" / "extraction"
# Values guarded by a check character, a calendar or a cross-check; names and addresses
# read by OCR have nothing to check them against.
CHECKED = {
    "credit_code",
    "id_number",
    "registration_no",
    "founded_on",
    "issued_on",
    "expires_on",
    "perpetual",
    "signed_on",
    "amount",
    "registered_capital",
}
_SOURCE_GROUP = {
    "text_pdf": "text/docx",
    "docx": "text/docx",
    "scan_300": "scan 300dpi",
    "scan_200": "scan 200dpi",
}
GROUPS = ("text/docx", "scan 300dpi", "scan 200dpi")
TARGETS = {
    ("credit_code", "scan 300dpi"): 0.97,
    ("id_number", "scan 300dpi"): 0.97,
    ("credit_code", "scan 200dpi"): 0.90,
    ("id_number", "scan 200dpi"): 0.90,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.extraction", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about 40 documents instead of 300")
    parser.add_argument("--count", type=int, help="number of documents")
    parser.add_argument("--jobs", type=int, default=2, help="documents processed at once")
    arguments = parser.parse_args()
    count = arguments.count or (40 if arguments.quick else 300)
    started = time.monotonic()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    documents = generate(count)
    # One OCR worker per document and two documents at a time: most documents have one page,
    # so this keeps both cores busy where ocr_workers=2 on a single page would leave one idle.
    limits = ExtractionLimits(ocr_workers=1)
    with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        outcomes = list(pool.map(lambda document: _run(document, limits), documents))
    elapsed = time.monotonic() - started
    report = _score(documents, outcomes)
    report["wall_seconds"] = round(elapsed, 1)
    report["documents"] = count
    (OUT / "results.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    _print(report)
    print(f"\n{count} documents in {elapsed:.0f} s; details in {OUT / 'results.json'}")


def _run(document: Document, limits: ExtractionLimits) -> dict[str, object]:
    path, media_type = _render(document)
    dpi = 200 if document.source == "scan_200" else 300
    extraction = extract(
        path, media_type, limits=ExtractionLimits(ocr_workers=limits.ocr_workers, ocr_dpi=dpi)
    )
    pages = [(page.number, page.text) for page in extraction.pages]
    # The worker's path (ingest/pipeline.py read_fields): fields from the text, then the targeted
    # re-read of a scan whose credit code or ID number the text did not yield.
    first = extract_fields(document.doc_type, pages)
    reread = reread_identifier(
        document.doc_type, first, path=path, media_type=media_type, pages=extraction.pages
    )
    return {
        "fields": reread.fields,
        "first_pass": first,
        "text": pages,
        "ocr_pages": extraction.ocr_pages,
        "second_pass": {
            "outcome": reread.outcome,
            "tesseract_runs": reread.tesseract_runs,
            "seconds": round(reread.seconds, 2),
        },
    }


def _render(document: Document) -> tuple[Path, str]:
    stem = OUT / document.doc_id
    if document.source == "text_pdf":
        return samples.text_pdf(stem.with_suffix(".pdf"), document.pages), PDF
    if document.source == "docx":
        paragraphs = [line for page in document.pages for line in page.splitlines()]
        return samples.docx_file(stem.with_suffix(".docx"), paragraphs), DOCX
    dpi = 300 if document.source == "scan_300" else 200
    if len(document.pages) == 1:
        suffix, media_type = ".png", "image/png"
    elif document.seed % 2:
        suffix, media_type = ".pdf", PDF
    else:
        suffix, media_type = ".tif", "image/tiff"
    path = samples.noisy_scan(
        stem.with_suffix(suffix),
        document.pages,
        dpi=dpi,
        rotate_degrees=document.rotate,
        blur_radius=document.blur,
        seed=document.seed,
        page_inches=document.page_inches,
    )
    return path, media_type


def _score(documents: list[Document], outcomes: list[dict[str, object]]) -> dict[str, object]:
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"truth": 0, "reported": 0, "correct": 0}
    )
    # The same figures from the text alone (before the second pass), for comparison.
    first_tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"reported": 0, "correct": 0})
    wrong: list[dict[str, object]] = []
    missed: list[dict[str, object]] = []
    corrected = 0
    second_passes: list[dict[str, object]] = []
    for document, outcome in zip(documents, outcomes, strict=True):
        fields, first = outcome["fields"], outcome["first_pass"]
        assert isinstance(fields, FieldExtraction) and isinstance(first, FieldExtraction)
        group = _SOURCE_GROUP[document.source]
        second = outcome["second_pass"]
        assert isinstance(second, dict)
        if second["tesseract_runs"]:
            second_passes.append(
                {"doc": document.doc_id, "source": group, **second}
                | {
                    "found_correct": any(
                        value.method == "second_pass" and document.truth.get(name) == value.value
                        for name, value in fields.fields.items()
                    )
                }
            )
        for name, value in first.fields.items():
            first_tally[(name, group)]["reported"] += 1
            first_tally[(name, group)]["correct"] += document.truth.get(name) == value.value
        for name, expected in document.truth.items():
            tally[(name, group)]["truth"] += 1
            if name not in fields.fields:
                missed.append(
                    {
                        "doc": document.doc_id,
                        "field": name,
                        "expected": expected,
                        "problem": fields.problems.get(name),
                    }
                )
        for name, value in fields.fields.items():
            cell = tally[(name, group)]
            cell["reported"] += 1
            corrected += value.corrected
            if document.truth.get(name) == value.value:
                cell["correct"] += 1
            else:
                wrong.append(
                    {
                        "doc": document.doc_id,
                        "field": name,
                        "expected": document.truth.get(name),
                        "got": value.value,
                        "raw": value.raw,
                        "corrected": value.corrected,
                        "method": value.method,
                        "checked": name in CHECKED,
                    }
                )
    table = [
        {
            "field": name,
            "source": group,
            **cell,
            "precision": _ratio(cell["correct"], cell["reported"]),
            "recall": _ratio(cell["correct"], cell["truth"]),
            "first_pass_recall": _ratio(first_tally[(name, group)]["correct"], cell["truth"]),
        }
        for (name, group), cell in sorted(
            tally.items(), key=lambda item: (item[0][0], GROUPS.index(item[0][1]))
        )
    ]
    seconds = [float(item["seconds"]) for item in second_passes]  # type: ignore[arg-type]
    return {
        "table": table,
        "second_pass": {
            "runs": len(second_passes),
            "found_correct": sum(1 for item in second_passes if item["found_correct"]),
            "outcomes": {
                outcome: sum(1 for item in second_passes if item["outcome"] == outcome)
                for outcome in ("found", "nothing", "ambiguous")
            },
            "tesseract_runs": sum(int(item["tesseract_runs"]) for item in second_passes),  # type: ignore[call-overload]
            "seconds_total": round(sum(seconds), 1),
            "seconds_per_document": round(sum(seconds) / len(seconds), 2) if seconds else None,
            "documents": second_passes,
        },
        "wrong_checked": sum(1 for item in wrong if item["checked"]),
        "wrong_free_text": sum(1 for item in wrong if not item["checked"]),
        "corrected_values": corrected,
        "wrong": wrong,
        "missed": missed,
        "targets": [
            {
                "field": name,
                "source": group,
                "target": target,
                "recall": next(
                    (row["recall"] for row in table if row["field"] == name and row["source"] == group), None
                ),
            }
            for (name, group), target in TARGETS.items()
        ],
        "documents_by_source": {
            source: sum(1 for d in documents if d.source == source) for source in SOURCES
        },
        "truth": [asdict(document) | {"pages": None} for document in documents],
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _print(report: dict[str, object]) -> None:
    print(
        f"{'field':<22}{'source':<14}{'truth':>6}{'reported':>9}{'correct':>8}{'precision':>10}{'recall':>8}"
        f"{'text only':>11}"
    )
    for row in report["table"]:  # type: ignore[union-attr]
        print(
            f"{row['field']:<22}{row['source']:<14}{row['truth']:>6}{row['reported']:>9}{row['correct']:>8}"
            f"{_percent(row['precision']):>10}{_percent(row['recall']):>8}"
            f"{_percent(row['first_pass_recall']):>11}"
        )
    second = report["second_pass"]
    print(
        f"\nsecond pass (identifier re-read of a scan): ran on {second['runs']} documents"  # type: ignore[index]
        f" ({second['outcomes']}), found the right value {second['found_correct']} times;"  # type: ignore[index]
        f" {second['tesseract_runs']} Tesseract runs, {second['seconds_total']} s,"  # type: ignore[index]
        f" {second['seconds_per_document']} s per document it ran on"  # type: ignore[index]
    )
    print(f"\nwrong values reported (checked fields: identifiers, dates, amounts): {report['wrong_checked']}")
    print(f"wrong values reported (free text read by OCR: names, addresses): {report['wrong_free_text']}")
    print(f"values repaired by a check character: {report['corrected_values']}")
    for target in report["targets"]:  # type: ignore[union-attr]
        met = target["recall"] is not None and target["recall"] >= target["target"]
        print(
            f"target {target['field']} {target['source']} >= {target['target']:.0%}: "
            f"{_percent(target['recall'])} {'met' if met else 'NOT met'}"
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    main()
