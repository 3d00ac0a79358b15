"""Text out of uploaded PDFs, DOCX files and images, with OCR where there is no text layer."""

from __future__ import annotations

from pathlib import Path

from ingest.extraction.images import PIL_FORMATS, extract_image
from ingest.extraction.model import (
    ExtractedPage,
    Extraction,
    ExtractionError,
    ExtractionFailure,
    ExtractionLimits,
    PageDone,
)
from ingest.extraction.ofd import extract_ofd
from ingest.extraction.pdf import extract_pdf
from ingest.extraction.word import extract_docx

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OFD = "application/ofd"
SUPPORTED_MEDIA_TYPES = frozenset({PDF, OFD, DOCX, *PIL_FORMATS})

_DEFAULT_LIMITS = ExtractionLimits()

__all__ = [
    "DOCX",
    "OFD",
    "PDF",
    "SUPPORTED_MEDIA_TYPES",
    "ExtractedPage",
    "Extraction",
    "ExtractionError",
    "ExtractionFailure",
    "ExtractionLimits",
    "extract",
]


def extract(
    path: Path,
    media_type: str,
    *,
    limits: ExtractionLimits = _DEFAULT_LIMITS,
    on_page: PageDone | None = None,
) -> Extraction:
    """Extract the text of a document page by page; on_page(n) runs as page n is done."""
    if not path.is_file():
        # A missing file is the caller's storage problem, not a damaged upload.
        raise FileNotFoundError(f"待提取的文件不存在: {path} (file not found)")
    if media_type == PDF:
        return extract_pdf(path, limits, on_page)
    if media_type == DOCX:
        return extract_docx(path, limits, on_page)
    if media_type == OFD:
        return extract_ofd(path, limits, on_page)
    if media_type in PIL_FORMATS:
        return extract_image(path, media_type, limits, on_page)
    raise ExtractionError("unsupported", f"不支持的文件类型: {media_type} (unsupported media type)")
