"""One page of an uploaded file as a greyscale image, for the readings that need its pixels
again after the OCR pass (the identifier re-read, the licence's QR code)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from ingest.extraction.images import PIL_FORMATS
from ingest.extraction.pdf import _PDFIUM_LOCK  # PDFium is not thread-safe: the extraction's lock

PDF = "application/pdf"
_POINTS_PER_INCH = 72
# What PIL and PDFium raise on a page that cannot be turned into an image.
RENDER_ERRORS = (OSError, ValueError, pdfium.PdfiumError)


def renders(media_type: str) -> bool:
    """Whether `render_page` draws pages of this type (Word and OFD files have none drawn here)."""
    return media_type == PDF or media_type in PIL_FORMATS


def render_page(
    path: Path, media_type: str, number: int, dpi: int = 300
) -> tuple[Image.Image, tuple[int, int] | None]:
    """Page `number` (1-based) in greyscale, upright per EXIF, with its resolution when known."""
    if media_type == PDF:
        with _PDFIUM_LOCK:
            document = pdfium.PdfDocument(path)
            try:
                page = document[number - 1]
                try:
                    image = page.render(scale=dpi / _POINTS_PER_INCH, grayscale=True).to_pil()
                finally:
                    page.close()
            finally:
                document.close()
        return image, (dpi, dpi)
    with Image.open(path, formats=[PIL_FORMATS[media_type]]) as source:
        source.seek(number - 1)
        upright = ImageOps.exif_transpose(source)
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            # Flattened onto white: transparency straight to grey would turn black.
            rgba = upright.convert("RGBA")
            upright = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        image = upright.convert("L")
        found = source.info.get("dpi")
    return image, (round(found[0]), round(found[1])) if found and min(found) >= 100 else None
