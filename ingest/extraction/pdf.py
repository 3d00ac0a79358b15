"""PDF text: the text layer where a page has one, OCR of the rendered page where it has not."""

from __future__ import annotations

import functools
import logging
import math
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.utils.exceptions import PdfminerException

from archive.file_facts import PDFIUM_LOCK
from ingest.extraction.model import (
    ExtractedPage,
    Extraction,
    ExtractionError,
    ExtractionLimits,
    PageDone,
)
from ingest.extraction.page_ocr import (
    PageOcrPool,
    PageUnreadable,
    RenderedPage,
    RenderPage,
    raise_if_nothing_read,
)

logger = logging.getLogger(__name__)

# PDFium is not thread-safe, not even across different documents, and a task queue may run
# several extractions in threads of one process. Every PDFium call here holds this lock; OCR
# itself runs outside it. It is the one the file facts and watermarks hold too: the intake
# check reads a file's facts beside the next stages of its extraction.
_PDFIUM_LOCK = PDFIUM_LOCK
# pdfminer writes glyphs it cannot map to Unicode as "(cid:123)".
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")
_NOT_TEXT = {"Cc", "Cf", "Co", "Cn", "Cs"}  # control, format, private use, unassigned
_POINTS_PER_INCH = 72


@dataclass(frozen=True)
class _PagePlan:
    number: int
    pdfium_text: str
    needs_ocr: bool
    unloadable: bool = False  # PDFium could not read the page's text (or not even load it)
    loaded: bool = True  # PDFium could load the page


def extract_pdf(path: Path, limits: ExtractionLimits, on_page: PageDone | None) -> Extraction:
    """Extract every page of a PDF, OCR'ing in parallel the pages without a usable text layer."""
    document = _open_with_pdfium(path)
    if document is None:
        return _extract_text_with_pdfplumber_only(path, limits, on_page)
    try:
        plans = _plan_pages(path, document, limits)
        _refuse_missing_pages(path, plans)
        with (
            tempfile.TemporaryDirectory(prefix="pdf-ocr-") as workdir,
            _PdfplumberPages(path) as plumber,
            _Renderer(path) as renderer,
            PageOcrPool(
                Path(workdir),
                limits.ocr_workers,
                on_page,
                options=limits.ocr_options(),
                cache_dir=limits.ocr_cache_dir,
            ) as pool,
        ):
            text_pages: dict[int, ExtractedPage] = {}
            for plan in plans:
                if plan.needs_ocr:
                    render = renderer.page(
                        plan.number, limits.ocr_dpi, limits.max_image_pixels, colour=limits.ocr_in_colour
                    )
                    pool.submit(plan.number, render)
                    continue
                if _reads_cleanly(plan.pdfium_text):
                    text = plan.pdfium_text.strip()
                else:
                    text = _choose_text(plumber.text(plan.number), plan.pdfium_text)
                text_pages[plan.number] = ExtractedPage(number=plan.number, text=text, source="text")
                if on_page is not None:
                    on_page(plan.number)
                pool.collect_finished()
            ocr_pages = pool.finish()
        pages = [text_pages.get(plan.number) or ocr_pages[plan.number] for plan in plans]
        raise_if_nothing_read(pages, pool)
        return Extraction(pages=pages, loadable_pages=sum(1 for plan in plans if plan.loaded))
    finally:
        with _PDFIUM_LOCK:
            document.close()


def _refuse_missing_pages(path: Path, plans: list[_PagePlan]) -> None:
    """A page tree that declares more pages than it holds: the document is not whole.

    PDFium counts the pages the tree declares (/Count); pdfminer walks the tree. Kept as it
    is, the missing pages would be archived as blank ones.
    """
    unloadable = [plan.number for plan in plans if plan.unloadable]
    if not unloadable:
        return
    try:
        with pdfplumber.open(path) as pdf:
            present = len(pdf.pages)
    except PdfminerException:
        present = len(plans) - len(unloadable)
    if present < len(plans):
        raise ExtractionError(
            "page_count_mismatch",
            f"PDF 声明 {len(plans)} 页，实际只有 {present} 页，四性检测 GD-2-7 内容数据完整性检测未通过"
            f" (the PDF declares {len(plans)} pages but holds {present})",
        )


def _usable_char_count(text: str) -> int:
    """Characters a reader could use: no whitespace, controls, private-use or U+FFFD."""
    return _char_counts(text)[0]


# Printable ASCII and Latin-1, CJK punctuation, unified ideographs, full-width forms: all
# assigned and usable. Only characters outside these need a look at their Unicode category,
# which keeps the count at C speed for a dense Chinese page (it runs on every page).
_RARE_CHAR = re.compile("[^\\s!-~\u00a1-\u00ac\u00ae-\u00ff\u3001-\u303f\u4e00-\u9fff\uff01-\uff60]")


def _char_counts(text: str) -> tuple[int, int]:
    """(usable, visible): visible characters are all but whitespace."""
    visible = sum(map(len, text.split()))
    unusable = sum(1 for char in _RARE_CHAR.findall(text) if not _usable(char))
    return visible - unusable, visible


@functools.lru_cache(maxsize=8192)
def _usable(char: str) -> bool:
    return char != "\ufffd" and unicodedata.category(char) not in _NOT_TEXT


def _open_with_pdfium(path: Path) -> pdfium.PdfDocument | None:
    """The document, or None when PDFium cannot parse it (pdfminer may still)."""
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as error:
            if error.err_code in (pdfium.raw.FPDF_ERR_PASSWORD, pdfium.raw.FPDF_ERR_SECURITY):
                raise _encrypted() from error
            logger.info("PDFium cannot open %s (%s); trying pdfminer", path.name, error)
            return None
        # PDFs with only an owner password open without one but are encrypted all the same;
        # the archive refuses both kinds alike.
        if pdfium.raw.FPDF_GetSecurityHandlerRevision(document) != -1:
            document.close()
            raise _encrypted()
        return document


def _encrypted() -> ExtractionError:
    return ExtractionError("encrypted", "PDF 已加密，无法提取文本 (encrypted PDF)")


def _corrupt(detail: str) -> ExtractionError:
    return ExtractionError("corrupt", f"PDF 文件损坏或不完整，无法打开: {detail} (corrupt PDF)")


def _check_page_count(count: int, limits: ExtractionLimits) -> None:
    if count == 0:
        raise _corrupt("没有页面 (no pages)")
    if count > limits.max_pages:
        raise ExtractionError(
            "too_many_pages",
            f"PDF 共 {count} 页，超过上限 {limits.max_pages} 页 (too many pages)",
        )


# PDFium keeps what it parsed of a page, a scan's image data included, until its document is
# closed: reading the text layer of a 100-page scan held all 263 MB of it (bench/, worker
# memory). Pages are therefore read, planned and rendered from documents reopened this often.
_PAGES_PER_OPENING = 8
# What PDFium keeps is about the file's own bytes (a 12 MB scan held 12 MB, a 500-page text
# PDF of 0.9 MB nothing measurable), so a file up to this size has its text layer read from
# one opening: reopening re-parsed the fonts every 8 pages, a third of the extraction's CPU
# on a 200-page text PDF (bench/, text pages/second).
_ONE_OPENING_MAX_BYTES = 16 * 1024 * 1024


def _plan_pages(path: Path, document: pdfium.PdfDocument, limits: ExtractionLimits) -> list[_PagePlan]:
    """Decide per page between its text layer and OCR, before any slow work starts."""
    with _PDFIUM_LOCK:
        count = len(document)
        _check_page_count(count, limits)
    per_opening = count if path.stat().st_size <= _ONE_OPENING_MAX_BYTES else _PAGES_PER_OPENING
    plans: list[_PagePlan] = []
    for start in range(0, count, per_opening):
        with _PDFIUM_LOCK:
            window = document if start == 0 else pdfium.PdfDocument(path)
            try:
                plans += _plan_window(window, range(start, min(start + per_opening, count)), limits)
            finally:
                if window is not document:
                    window.close()
    return plans


def _plan_window(document: pdfium.PdfDocument, indexes: range, limits: ExtractionLimits) -> list[_PagePlan]:
    plans: list[_PagePlan] = []
    for index in indexes:
        number = index + 1
        try:
            page = document[index]
        except pdfium.PdfiumError as error:
            # A broken page costs its own text only; pdfminer gets a try at it later.
            logger.warning("PDFium cannot load page %d: %s", number, error)
            plans.append(
                _PagePlan(number=number, pdfium_text="", needs_ocr=False, unloadable=True, loaded=False)
            )
            continue
        try:
            text, size = _pdfium_text_and_size(page)
        except pdfium.PdfiumError as error:
            logger.warning("PDFium cannot read page %d: %s", number, error)
            plans.append(_PagePlan(number=number, pdfium_text="", needs_ocr=False, unloadable=True))
            continue
        needs_ocr = _usable_char_count(text) < limits.min_text_chars_per_page
        if needs_ocr:
            _check_render_size(number, size, limits)
        plans.append(_PagePlan(number=number, pdfium_text=text, needs_ocr=needs_ocr))
    return plans


def _pdfium_text_and_size(page: pdfium.PdfPage) -> tuple[str, tuple[float, float]]:
    """The page's text layer and size; the page is closed."""
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded()
        finally:
            textpage.close()
        return text.replace("\r\n", "\n"), page.get_size()
    finally:
        page.close()


def _check_render_size(number: int, size: tuple[float, float], limits: ExtractionLimits) -> None:
    width, height = (math.ceil(points / _POINTS_PER_INCH * limits.ocr_dpi) for points in size)
    if width * height > limits.max_image_pixels:
        raise ExtractionError(
            "image_too_large",
            f"第 {number} 页按 {limits.ocr_dpi} dpi 渲染为 {width}x{height} 像素，"
            f"超过上限 {limits.max_image_pixels} 像素 (page too large to render)",
        )


class _Renderer:
    """Renders pages from a document of its own, opened afresh every few pages (as above)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._document: pdfium.PdfDocument | None = None
        self._rendered = 0

    def __enter__(self) -> _Renderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _PDFIUM_LOCK:
            self._close()

    def _close(self) -> None:
        if self._document is not None:
            self._document.close()
            self._document = None

    def page(self, number: int, dpi: int, max_pixels: int, colour: bool = False) -> RenderPage:
        """A callable rendering page `number` at `dpi`, in greyscale unless `colour` (or taking
        its scan as is)."""
        return lambda: self._render(number, dpi, max_pixels, colour)

    def _render(self, number: int, dpi: int, max_pixels: int, colour: bool) -> RenderedPage:
        with _PDFIUM_LOCK:
            try:
                if self._document is None or self._rendered >= _PAGES_PER_OPENING:
                    self._close()
                    self._document = pdfium.PdfDocument(self._path)
                    self._rendered = 0
                self._rendered += 1
                page = self._document[number - 1]
                try:
                    scan = _scanned_jpeg(page, dpi, max_pixels)
                    if scan is not None:
                        jpeg, placed_dpi = scan
                        return RenderedPage(image=None, dpi=(placed_dpi, placed_dpi), jpeg=jpeg)
                    bitmap = page.render(scale=dpi / _POINTS_PER_INCH, grayscale=not colour)
                    image = bitmap.to_pil()
                finally:
                    page.close()
            except pdfium.PdfiumError as error:
                raise PageUnreadable(f"PDFium 无法渲染第 {number} 页: {error}") from error
        return RenderedPage(image=image, dpi=(dpi, dpi))


# A scan embedded at up to this much above the OCR resolution is read as it is: Tesseract
# decodes a JPEG faster than PDFium renders, converts and we write an uncompressed page.
_MAX_PASSTHROUGH_DPI_FACTOR = 1.5


def _scanned_jpeg(page: pdfium.PdfPage, dpi: int, max_pixels: int) -> tuple[bytes, int] | None:
    """The page's JPEG and its resolution on the page, when the page is nothing but one
    upright scan at (about) `dpi` or a little more; None when the page must be rendered.

    What a raw `tesseract` run on the scan would see, so OCR costs what it costs outside the
    pipeline (bench/, OCR pages/minute). Lower-resolution scans are rendered up to `dpi`,
    which Tesseract reads better; rotated, cropped, composed or CMYK pages are rendered too.
    """
    if page.get_rotation() != 0:
        return None
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1 or not isinstance(objects[0], pdfium.PdfImage):
        return None
    image = objects[0]
    if image.get_filters() != ["DCTDecode"]:
        return None
    metadata = image.get_metadata()
    if metadata.colorspace not in (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB):
        return None
    a, b, c, d, e, f = image.get_matrix().get()
    width_pt, height_pt = page.get_size()
    covers_page = (
        b == 0 and c == 0 and abs(e) < 1 and abs(f) < 1 and abs(a - width_pt) < 1 and abs(d - height_pt) < 1
    )
    if not covers_page:
        return None
    placed_dpi = metadata.width / (width_pt / _POINTS_PER_INCH)
    if not dpi * 0.98 <= placed_dpi <= dpi * _MAX_PASSTHROUGH_DPI_FACTOR:
        return None
    square_pixels = abs(metadata.height / (height_pt / _POINTS_PER_INCH) - placed_dpi) < placed_dpi * 0.01
    if not square_pixels or metadata.width * metadata.height > max_pixels:
        return None
    return bytes(image.get_data(decode_simple=False)), round(placed_dpi)


def _reads_cleanly(pdfium_text: str) -> bool:
    """Whether PDFium decoded (nearly) every glyph; only other pages need pdfminer's opinion.

    PDFium reads a page's text ~50x faster than pdfminer (1,900 vs 37 pages/s measured on a
    Chinese contract; the same characters on all 338 bench pages compared, spacing aside) and
    reads CID-keyed CJK fonts that pdfminer cannot; a
    font without a usable Unicode map shows up here as U+FFFD or private-use characters.
    """
    usable, visible = _char_counts(pdfium_text)
    return visible > 0 and (visible - usable) * 100 <= visible


def _choose_text(pdfplumber_text: str | None, pdfium_text: str) -> str:
    """pdfplumber's layout-aware text, unless it lost most characters PDFium could decode."""
    if pdfplumber_text is None:
        return pdfium_text.strip()
    mapped = _UNMAPPED_GLYPH.sub("", pdfplumber_text)
    # CID-keyed CFF CJK fonts defeat pdfminer (nothing or "(cid:N)") while PDFium reads them.
    if _usable_char_count(mapped) * 2 < _usable_char_count(pdfium_text):
        return pdfium_text.strip()
    return mapped.strip()


class _PdfplumberPages:
    """Page-by-page pdfplumber text that frees each page's objects as soon as it is read."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pdf: pdfplumber.PDF | None = None
        self._unavailable = False

    def __enter__(self) -> _PdfplumberPages:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pdf is not None:
            self._pdf.close()

    def text(self, number: int) -> str | None:
        """Text of page `number`, or None when pdfminer cannot read it."""
        pdf = self._open()
        if pdf is None:
            return None
        try:
            page = pdf.pages[number - 1]
        except (PdfminerException, IndexError) as error:
            logger.warning("pdfminer cannot load page %d: %s", number, error)
            return None
        try:
            return page.extract_text() or ""
        except Exception as error:  # pdfminer raises all kinds of errors on odd page content
            logger.warning("pdfminer cannot read page %d, using PDFium text: %r", number, error)
            return None
        finally:
            # Without this pdfplumber keeps every page's layout objects: 464 MB vs 41 MB at
            # 200 pages.
            page.close()

    def _open(self) -> pdfplumber.PDF | None:
        # Opened only when the first text page needs it: a pure scan never pays for pdfminer.
        if self._pdf is None and not self._unavailable:
            try:
                self._pdf = pdfplumber.open(self._path)
            except PdfminerException as error:
                logger.warning("pdfminer cannot open %s, using PDFium text: %s", self._path, error)
                self._unavailable = True
        return self._pdf


def _extract_text_with_pdfplumber_only(
    path: Path, limits: ExtractionLimits, on_page: PageDone | None
) -> Extraction:
    """Last resort for files PDFium rejects: pdfminer's text, no OCR (nothing to render with)."""
    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as error:
        raise _corrupt(str(error) or type(error.__cause__).__name__) from error
    with pdf:
        try:
            count = len(pdf.pages)
        except PdfminerException as error:
            raise _corrupt(str(error)) from error
        _check_page_count(count, limits)
    pages: list[ExtractedPage] = []
    with _PdfplumberPages(path) as plumber:
        for number in range(1, count + 1):
            text = plumber.text(number) or ""
            pages.append(ExtractedPage(number=number, text=text.strip(), source="text"))
            if on_page is not None:
                on_page(number)
    return Extraction(pages=pages)
