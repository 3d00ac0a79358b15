"""OCR of image files with Tesseract or PP-OCR; imports nothing else of the project."""

from __future__ import annotations

import functools
from pathlib import Path

from ocr import ppocr, tesseract
from ocr.model import ENGINES, Engine, OcrError, OcrOptions, OcrResult, OcrWord
from ocr.tesseract import detect_orientation, osd_available, remove_cjk_spaces

__all__ = [
    "ENGINES",
    "Engine",
    "OcrError",
    "OcrOptions",
    "OcrResult",
    "OcrWord",
    "detect_orientation",
    "engine_version",
    "ocr_image_file",
    "osd_available",
    "remove_cjk_spaces",
]

_DEFAULT_OPTIONS = OcrOptions()


def ocr_image_file(path: Path, options: OcrOptions = _DEFAULT_OPTIONS) -> OcrResult:
    """Recognise the text of one image file with the engine `options` name."""
    if options.engine == "ppocr":
        return ppocr.ocr_image_file(path, options)
    return tesseract.ocr_image_file(path, options)


def engine_version(options: OcrOptions) -> str:
    """The engine with its version and models: what a cached result was produced by."""
    if options.engine == "ppocr":
        return ppocr.model_version()
    return f"tesseract-{_tesseract_version()}/{options.languages}/psm{options.psm}"


@functools.cache
def _tesseract_version() -> str:
    import pytesseract

    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError:
        # No cache entry can be made without Tesseract anyway; OCR itself will report it.
        return "unknown"
