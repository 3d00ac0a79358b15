"""Value types of text extraction: limits, pages, the result and the error."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ocr import Engine, OcrOptions

PageDone = Callable[[int], None]

PAGE_SEPARATOR = "\n\f\n"

ExtractionFailure = Literal[
    "encrypted",
    "corrupt",
    "too_many_pages",
    "image_too_large",
    "docx_bomb",
    "zip_bomb",
    "external_reference",
    "page_count_mismatch",
    "unsupported",
    "ocr_failed",
]


@dataclass(frozen=True)
class ExtractionLimits:
    """Resource bounds and tuning of one extraction."""

    max_pages: int = 1000
    max_image_pixels: int = 60_000_000  # decompression-bomb guard for images and rendered pages
    max_docx_inflated_bytes: int = 200 * 1024 * 1024
    ocr_dpi: int = 300
    ocr_languages: str = "chi_sim+eng"
    ocr_page_timeout_seconds: float = 120.0  # a page Tesseract cannot finish in this is left empty
    ocr_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    min_text_chars_per_page: int = 20  # fewer usable chars than this => the page is OCR'd
    ocr_cache_dir: Path | None = None  # OCR results by page-image hash; None: no cache
    ocr_engine: Engine = "ppocr"

    @property
    def ocr_in_colour(self) -> bool:
        """PP-OCR reads pages in colour: a red seal over black print, grey, darkens it to the
        print's own shade, and isolated characters (a spaced label's 名) were lost in grey."""
        return self.ocr_engine == "ppocr"

    def ocr_options(self) -> OcrOptions:
        """How every page of this extraction is recognised."""
        return OcrOptions(
            engine=self.ocr_engine,
            languages=self.ocr_languages,
            timeout_seconds=self.ocr_page_timeout_seconds,
        )


@dataclass(frozen=True)
class ExtractedPage:
    """Text of one page and where it came from."""

    number: int  # 1-based
    text: str
    source: Literal["text", "ocr"]
    ocr_confidence: float | None = None
    # An OCR'd page's words with their boxes: {"width", "height", "words": [[text, left, top,
    # right, bottom, confidence], ...]} in pixels of the page as rendered; None for text pages.
    layout: dict[str, Any] | None = field(default=None, compare=False)
    # The OCR cache entry this page's text was read from or kept in (its path under the cache
    # directory), so that destroying the document can remove it when nothing else uses it.
    cache_entry: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Extraction:
    """All pages of a document, in page order."""

    pages: list[ExtractedPage]
    # Data the file carries apart from its text, e.g. an OFD e-invoice's number and parties.
    embedded: dict[str, str] = field(default_factory=dict)
    # A PDF read with PDFium: how many of its pages PDFium could load (the file facts'
    # `pages_loadable`, so that they need not load every page again); None otherwise.
    loadable_pages: int | None = None

    @property
    def pdf_page_counts(self) -> tuple[int, int] | None:
        """(pages read, pages loadable) of a PDF, for the file facts (`inspect_file`)."""
        return None if self.loadable_pages is None else (len(self.pages), self.loadable_pages)

    @property
    def ocr_pages(self) -> int:
        """How many pages were read by OCR."""
        return sum(1 for page in self.pages if page.source == "ocr")

    @property
    def text(self) -> str:
        """The whole document's text, pages separated by a form feed on its own line."""
        return PAGE_SEPARATOR.join(page.text for page in self.pages)


class ExtractionError(Exception):
    """The document cannot be read; `reason` is machine-readable, the message is for people."""

    def __init__(self, reason: ExtractionFailure, message: str) -> None:
        super().__init__(message)
        self.reason: ExtractionFailure = reason
        self.message = message

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str]]:
        # Two-argument constructor: keep the error picklable across process-based task queues.
        return (ExtractionError, (self.reason, self.message))
