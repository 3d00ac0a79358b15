"""Parallel OCR of page images: the caller renders pages one by one, worker threads OCR them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from PIL import Image

from archive.metrics import OCR_PAGES, OCR_SECONDS
from ingest.extraction.model import ExtractedPage, ExtractionError, PageDone
from ingest.extraction.ocr_cache import OcrCache
from ocr import OcrError, OcrOptions, OcrResult, OcrWord, detect_orientation, ocr_image_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedPage:
    """A page as a greyscale image, with its resolution when known; or, for a scanned page
    whose JPEG is already what Tesseract needs, that JPEG's bytes as they are."""

    image: Image.Image | None
    dpi: tuple[int, int] | None
    jpeg: bytes | None = None


RenderPage = Callable[[], RenderedPage]

# Page images live for seconds and are decoded once, so they are written uncompressed: TIFF
# keeps the DPI Tesseract needs for small print and costs 0.03 s to write an A4 page at 300 dpi
# where PNG costs 0.28 s, and Tesseract reads it ~0.1 s faster (measured on 2 cores).
_PAGE_IMAGE_SUFFIX = ".tif"

# Rendered pages waiting for a worker sit on disk; this many per worker keeps every worker
# busy without a 500-page scan ever holding 500 page images at once.
_QUEUED_PAGES_PER_WORKER = 2


class PageUnreadable(Exception):
    """One page could not be turned into an image; the rest of the document may still read."""


@dataclass(frozen=True)
class _Failure:
    number: int
    error: Exception


class PageOcrPool:
    """OCRs rendered pages on worker threads while the caller renders the next ones."""

    def __init__(
        self,
        workdir: Path,
        workers: int,
        on_page: PageDone | None,
        options: OcrOptions | None = None,
        fix_orientation: bool = False,
        cache_dir: Path | None = None,
    ) -> None:
        self._workdir = workdir
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="page-ocr")
        self._max_queued = max(1, workers) * _QUEUED_PAGES_PER_WORKER
        self._on_page = on_page
        self._options = options or OcrOptions()
        self._fix_orientation = fix_orientation
        self._cache = (
            OcrCache(cache_dir, self._options, fix_orientation=fix_orientation) if cache_dir else None
        )
        self._in_flight: dict[Future[ExtractedPage], int] = {}
        self.pages: dict[int, ExtractedPage] = {}
        self.failures: list[_Failure] = []

    def __enter__(self) -> PageOcrPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # On an error nobody will read the remaining pages: drop what has not started.
        self._executor.shutdown(wait=True, cancel_futures=exc is not None)

    def submit(self, number: int, render: RenderPage) -> None:
        """Render page `number` now, in the caller's thread, and queue it for OCR."""
        while len(self._in_flight) >= self._max_queued:
            self._collect(block=True)
        try:
            rendered = render()
        except PageUnreadable as error:
            self._record_failure(number, error)
            return
        options = self._options
        if rendered.jpeg is not None:
            image_path = self._workdir / f"page-{number:05d}.jpg"
            image_path.write_bytes(rendered.jpeg)
            # A scanner's JPEG header rarely states the resolution; the PDF's placement does.
            options = replace(options, dpi=rendered.dpi[0] if rendered.dpi else None)
        else:
            assert rendered.image is not None
            image_path = self._workdir / f"page-{number:05d}{_PAGE_IMAGE_SUFFIX}"
            _save_page_image(rendered.image, rendered.dpi, image_path)
        future = self._executor.submit(self._ocr_page, number, image_path, options)
        self._in_flight[future] = number

    def collect_finished(self) -> None:
        """Take in pages finished so far without waiting, so on_page keeps beating."""
        self._collect(block=False)

    def finish(self) -> dict[int, ExtractedPage]:
        """Wait for every queued page; failed pages come back with empty text."""
        while self._in_flight:
            self._collect(block=True)
        return self.pages

    def _collect(self, block: bool) -> None:
        if not self._in_flight:
            return
        done, _ = wait(self._in_flight, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            number = self._in_flight.pop(future)
            try:
                page = future.result()
            except OcrError as error:
                self._record_failure(number, error)
                continue
            self.pages[number] = page
            if self._on_page is not None:
                self._on_page(number)

    def _record_failure(self, number: int, error: Exception) -> None:
        logger.warning("page %d could not be OCR'd: %s", number, error)
        self.failures.append(_Failure(number, error))
        self.pages[number] = ExtractedPage(number=number, text="", source="ocr")
        if self._on_page is not None:
            self._on_page(number)

    def _ocr_page(self, number: int, image_path: Path, options: OcrOptions) -> ExtractedPage:
        try:
            # Keyed by the image as rendered, before any turning: the same page gives the same key.
            key = self._cache.key(image_path, options.dpi) if self._cache else None
            result = self._cache.get(key) if self._cache and key else None
            if result is None:
                started = time.perf_counter()
                result, turned = ocr_image_file(image_path, options), 0
                if self._fix_orientation and result.orientation != 0:
                    result, turned = self._upright_result(number, image_path, result, options)
                OCR_SECONDS.inc(time.perf_counter() - started)
                OCR_PAGES.labels(options.engine).inc()
                # Kept as the page was rendered: boxes on a cached page need no turning back.
                result = as_rendered(result, turned)
                if self._cache and key:
                    self._cache.put(key, result)
            else:
                OCR_PAGES.labels("cache").inc()
        finally:
            image_path.unlink(missing_ok=True)
        return ExtractedPage(
            number=number,
            text=result.text,
            source="ocr",
            ocr_confidence=result.confidence,
            layout=layout_of(result) if result.words else None,
            cache_entry=self._cache.entry_name(key) if self._cache and key else None,
        )

    def _upright_result(
        self, number: int, image_path: Path, as_is: OcrResult, options: OcrOptions
    ) -> tuple[OcrResult, int]:
        """OCR again after turning the page if it is sideways or upside down (the engine's
        word for it, else OSD's); the turn made, in clockwise degrees, comes back with it."""
        try:
            degrees = as_is.orientation or detect_orientation(image_path, options)
            if not degrees:
                return as_is, 0
            _rotate_clockwise(image_path, degrees)
            turned = ocr_image_file(image_path, options)
        except OcrError as error:
            # The page was already read once; a failed second opinion must not discard that.
            logger.warning("page %d: orientation fix failed, keeping text as read: %s", number, error)
            return as_is, 0
        # Turned, the engine reads the page as upright where it did not before: that settles it
        # (PP-OCR reads a sideways page's lines nearly as confidently, so confidence cannot).
        if turned.orientation == 0 or (turned.confidence or 0) > (as_is.confidence or 0):
            return turned, degrees
        return as_is, 0


def layout_of(result: OcrResult) -> dict[str, Any]:
    """DocumentPage.layout: the page's size and its words as [text, left, top, right, bottom,
    confidence]."""
    words = [word.as_list() for word in result.words]
    layout: dict[str, Any] = {"width": result.width, "height": result.height, "words": words}
    if result.turned:
        layout["turned"] = result.turned  # clockwise degrees that make the page upright
    return layout


def as_rendered(result: OcrResult, turned_clockwise: int) -> OcrResult:
    """The result with its boxes on the page as it was rendered, before it was turned
    `turned_clockwise` degrees for reading."""
    if not turned_clockwise:
        return replace(result, orientation=0, turned=0)
    width, height = result.width, result.height
    if turned_clockwise in (90, 270):
        width, height = height, width  # the turned image's size, back to the original's
    words = tuple(_turned_back(word, turned_clockwise, width, height) for word in result.words)
    return replace(result, words=words, width=width, height=height, orientation=0, turned=turned_clockwise)


def _turned_back(word: OcrWord, degrees: int, width: int, height: int) -> OcrWord:
    """A word's box on the turned page mapped onto the page before turning (width x height)."""
    left, top, right, bottom = word.left, word.top, word.right, word.bottom
    if degrees == 90:  # turned (x, y) came from original (y, height - x)
        left, top, right, bottom = top, height - right, bottom, height - left
    elif degrees == 180:
        left, top, right, bottom = width - right, height - bottom, width - left, height - top
    elif degrees == 270:  # turned (x, y) came from original (width - y, x)
        left, top, right, bottom = width - bottom, left, width - top, right
    return replace(word, left=left, top=top, right=right, bottom=bottom)


def raise_if_nothing_read(pages: list[ExtractedPage], pool: PageOcrPool) -> None:
    """A document whose every page failed is a failure, not an empty document."""
    if not pool.failures or any(page.text.strip() for page in pages):
        return
    first = pool.failures[0]
    if all(isinstance(failure.error, PageUnreadable) for failure in pool.failures):
        raise ExtractionError(
            "corrupt", f"没有可解码的页面，第 {first.number} 页: {first.error} (no readable page)"
        )
    raise ExtractionError(
        "ocr_failed", f"OCR 未能识别任何页面，第 {first.number} 页: {first.error} (OCR failed)"
    )


def _save_page_image(image: Image.Image, dpi: tuple[int, int] | None, path: Path) -> None:
    image.save(path, "TIFF", compression="raw", **({"dpi": dpi} if dpi else {}))


def _rotate_clockwise(image_path: Path, degrees: int) -> None:
    with Image.open(image_path) as image:
        dpi = image.info.get("dpi")
        turned = image.rotate(-degrees, expand=True)  # PIL turns counter-clockwise
    _save_page_image(turned, (round(dpi[0]), round(dpi[1])) if dpi else None, image_path)
