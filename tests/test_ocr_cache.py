"""OCR results kept by page-image hash: the same page is never read twice, another page always is."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extraction import PDF, ExtractionError, ExtractionLimits, extract
from tests import samples

HALF_PAGE = (8.27, 5.0)


def test_the_same_page_again_is_read_from_the_cache_without_tesseract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "ocr-cache"
    limits = ExtractionLimits(ocr_dpi=200, ocr_cache_dir=cache, ocr_engine="tesseract")
    first_upload = samples.scanned_pdf(tmp_path / "licence.pdf", [samples.LICENCE_TEXT], dpi=200,
                                       page_inches=HALF_PAGE)
    read = extract(first_upload, PDF, limits=limits)
    assert samples.CREDIT_CODE in read.text
    assert len(list(cache.rglob("*.json"))) == 1

    # The same bytes under another name (a re-upload for another partner), and no Tesseract.
    again = tmp_path / "copy.pdf"
    again.write_bytes(first_upload.read_bytes())
    monkeypatch.setenv("PATH", "/nonexistent")
    cached = extract(again, PDF, limits=limits)
    assert [(p.text, p.source, p.ocr_confidence, p.layout) for p in cached.pages] == [
        (p.text, p.source, p.ocr_confidence, p.layout) for p in read.pages
    ]
    assert cached.pages[0].layout and cached.pages[0].layout["words"]

    # A page never seen before still needs Tesseract: proof that the cache is keyed by image.
    other = samples.scanned_pdf(tmp_path / "contract.pdf", [samples.CONTRACT_TEXT], dpi=200,
                                page_inches=HALF_PAGE)
    with pytest.raises(ExtractionError) as caught:
        extract(other, PDF, limits=limits)
    assert caught.value.reason == "ocr_failed"


def test_other_settings_miss_the_cache_and_a_damaged_entry_is_read_again(tmp_path: Path) -> None:
    cache = tmp_path / "ocr-cache"
    scan = samples.scanned_pdf(tmp_path / "licence.pdf", [samples.LICENCE_TEXT], dpi=200, page_inches=HALF_PAGE)
    extract(scan, PDF, limits=ExtractionLimits(ocr_dpi=200, ocr_cache_dir=cache))
    # At 200 dpi the scan's own JPEG is read; asked for 300 dpi, the page is rendered up to
    # that: another image, so another entry.
    extract(scan, PDF, limits=ExtractionLimits(ocr_dpi=300, ocr_cache_dir=cache))
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_text("{not json", encoding="utf-8")
    read = extract(scan, PDF, limits=ExtractionLimits(ocr_dpi=200, ocr_cache_dir=cache))
    assert samples.CREDIT_CODE in read.text


def test_each_engine_has_its_own_entries(tmp_path: Path) -> None:
    cache = tmp_path / "ocr-cache"
    scan = samples.scan_image(tmp_path / "licence.png", "\n".join(samples.LICENCE_TEXT.splitlines()[:3]),
                              dpi=200, page_inches=(8.27, 2.0))
    by_engine = {
        engine: extract(scan, "image/png", limits=ExtractionLimits(ocr_cache_dir=cache, ocr_engine=engine))
        for engine in ("tesseract", "ppocr")
    }
    assert len(list(cache.rglob("*.json"))) == 2  # the same image, read by two engines
    for engine, read in by_engine.items():
        again = extract(scan, "image/png", limits=ExtractionLimits(ocr_cache_dir=cache, ocr_engine=engine))
        assert again.pages[0].text == read.pages[0].text, engine
    assert samples.CREDIT_CODE in by_engine["ppocr"].text
