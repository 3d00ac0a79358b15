"""Page images for the document page: drawn within the ingest's pixel limits, kept in a
bounded cache, and with every ID number blacked out for those who see numbers masked.

Where a number stands comes from the page itself: the words OCR read and their boxes
(`DocumentPage.layout`), the characters of a text layer (PDFium), and the box a field was
read from (`field_provenance[...]["box"]`). An ID card page whose number cannot be placed is
not shown at all to those who may not see it.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageSequence

from archive.errors import Forbidden, NotFound
from archive.file_facts import PDFIUM_LOCK
from archive.masking import find_id_numbers

RENDER_DPI = 100
# A page on screen at ~100 dpi is about 1 MP (A4); an A0 drawing is 14 MP. Larger pages are
# drawn smaller rather than at the cost of a gigabyte per request.
MAX_SHOWN_PIXELS = 8_000_000
# On an ID card, a run of this many digits (or letters OCR reads for digits) is taken for a
# number, read well or not.
_DIGIT_LIKE_RUN = re.compile(r"[0-9０-９OoIlLBSZ]{10,}")
_MARGIN = 3

Box = tuple[float, float, float, float]


class PageImageCache:
    """Rendered PNGs by (sha256, page, variant, version), least recently used first out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> bytes | None:
        with self._lock:
            png = self._entries.get(key)
            if png is not None:
                self._entries.move_to_end(key)
            return png

    def put(self, key: tuple[str, ...], png: bytes) -> None:
        if len(png) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._size -= len(old) if old else 0
            self._entries[key] = png
            self._size += len(png)
            while self._size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def forget(self, sha256: str) -> None:
        """Drop every page of one original (after its destruction)."""
        with self._lock:
            for key in [key for key in self._entries if key[0] == sha256]:
                self._size -= len(self._entries.pop(key))

    @property
    def size(self) -> int:
        return self._size


@dataclass(frozen=True)
class Drawn:
    """A page drawn for the screen, and how to place the ID numbers on it."""

    image: Image.Image
    text_boxes: list[tuple[str, Box]] | None
    """The page's own characters with their boxes in image pixels (PDF text layer)."""


def draw_page(path: Path, media_type: str, number: int, *, max_pixels: int) -> Drawn:
    """Page `number` at ~100 dpi, never more pixels than ingest would have accepted."""
    budget = min(max_pixels, MAX_SHOWN_PIXELS)
    if media_type == "application/pdf":
        return _pdf_page(path, number, budget=budget)
    return Drawn(_image_page(path, number, max_pixels=max_pixels, budget=budget), None)


def _pdf_page(path: Path, number: int, *, budget: int) -> Drawn:
    # PDFium is not thread-safe: one lock for every use of it in the process.
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(path)
        try:
            if number > len(pdf):
                raise NotFound(f"没有第 {number} 页 (no page {number})")
            page = pdf[number - 1]
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > budget:
                # A huge MediaBox is drawn within the budget, not at 100 dpi.
                scale = 0.99 * math.sqrt(budget / max(width * height, 1.0))
            image = page.render(scale=scale).to_pil()
            boxes = _pdf_text_boxes(page, scale=scale, height=height) if page.get_rotation() == 0 else None
            return Drawn(image, boxes)
        finally:
            pdf.close()


def _pdf_text_boxes(page: Any, *, scale: float, height: float) -> list[tuple[str, Box]]:
    textpage = page.get_textpage()
    try:
        placed = []
        for index in range(textpage.count_chars()):
            char = textpage.get_text_range(index, 1)[:1] or " "
            left, bottom, right, top = textpage.get_charbox(index)
            box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
            placed.append((char, box))
        return placed
    finally:
        textpage.close()


def _image_page(path: Path, number: int, *, max_pixels: int, budget: int) -> Image.Image:
    try:
        source = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise NotFound(f"第 {number} 页图像过大，不予显示 (page {number} is too large to show)") from exc
    with source:
        frames = ImageSequence.Iterator(source)
        try:
            frame = frames[number - 1]
        except IndexError as exc:
            raise NotFound(f"没有第 {number} 页 (no page {number})") from exc
        # Judged from the header, before a pixel is decoded: what ingest refuses is never drawn.
        if frame.width * frame.height > max_pixels:
            raise NotFound(f"第 {number} 页图像过大，不予显示 (page {number} is too large to show)")
        dpi = frame.info.get("dpi", (300, 300))[0] or 300
        scale = min(1.0, RENDER_DPI / float(dpi), math.sqrt(budget / max(frame.width * frame.height, 1)))
        target = (max(1, int(frame.width * scale)), max(1, int(frame.height * scale)))
        if frame.format == "JPEG":
            frame.draft("RGB", target)  # decodes at a fraction of the size when it can
        image = frame.convert("RGB") if frame.mode not in ("RGB", "L") else frame.copy()
    if image.size != target:
        image = image.resize(target)
    return image


def id_number_boxes(
    *, image: Image.Image, text_boxes: list[tuple[str, Box]] | None, layout: dict[str, Any] | None,
    provenance_boxes: Iterable[list[float]], strict: bool,
) -> list[Box] | None:
    """Where ID numbers stand on the drawn page; None when the page cannot be placed at all."""
    found: list[Box] = []
    placed = False
    if text_boxes:
        placed = True
        found += _boxes_of_numbers(text_boxes, strict=strict)
    if layout and layout.get("words") and layout.get("width") and layout.get("height"):
        placed = True
        sx, sy = image.width / float(layout["width"]), image.height / float(layout["height"])
        found += [
            (left * sx, top * sy, right * sx, bottom * sy)
            for left, top, right, bottom in _boxes_of_words(layout["words"], strict=strict)
        ]
    for box in provenance_boxes:
        left, top, right, bottom = box
        found.append((left * image.width, top * image.height, right * image.width, bottom * image.height))
        placed = True
    return found if placed else None


def _boxes_of_numbers(chars: list[tuple[str, Box]], *, strict: bool) -> list[Box]:
    text = "".join(char for char, _ in chars)
    indexes = {index for span in find_id_numbers(text) for index in range(span.start, span.end)}
    if strict:
        indexes.update(i for m in _DIGIT_LIKE_RUN.finditer(text) for i in range(m.start(), m.end()))
    return [chars[index][1] for index in sorted(indexes)]


def _boxes_of_words(words: list[list[Any]], *, strict: bool) -> list[Box]:
    """The parts of the OCR'd words that an ID number (or, strictly, a digit run) covers."""
    text, starts = "", []
    for word in words:
        starts.append(len(text))
        text += str(word[0]) + " "
    spans = [(span.start, span.end) for span in find_id_numbers(text)]
    if strict:
        spans += [(m.start(), m.end()) for m in _DIGIT_LIKE_RUN.finditer(text)]
    boxes = []
    for start, end in spans:
        for word, word_start in zip(words, starts, strict=True):
            word_text, left, top, right, bottom = str(word[0]), *map(float, word[1:5])
            word_end = word_start + len(word_text)
            if word_end <= start or word_start >= end or not word_text:
                continue
            first = (max(start, word_start) - word_start) / len(word_text)
            last = (min(end, word_end) - word_start) / len(word_text)
            boxes.append((left + (right - left) * first, top, left + (right - left) * last, bottom))
    return boxes


def black_out(image: Image.Image, boxes: Iterable[Box]) -> Image.Image:
    shown = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    draw = ImageDraw.Draw(shown)
    black = 0 if shown.mode == "L" else "black"
    for left, top, right, bottom in boxes:
        draw.rectangle((left - _MARGIN, top - _MARGIN, right + _MARGIN, bottom + _MARGIN), fill=black)
    return shown


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def refuse_unplaced() -> Forbidden:
    return Forbidden(
        "此页含身份证号码，但未能确定其位置，图像不予显示"
        " (this page shows an ID number whose place is unknown; the image is not shown)"
    )
