"""Image text (PNG, JPEG, TIFF with any number of pages) by OCR."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ingest.extraction.model import Extraction, ExtractionError, ExtractionLimits, PageDone
from ingest.extraction.page_ocr import (
    PageOcrPool,
    PageUnreadable,
    RenderedPage,
    RenderPage,
    raise_if_nothing_read,
)
from ocr import OcrError, osd_available

_MIN_SCAN_DPI = 100
# What PIL raises on damaged files varies by plugin: OSError for truncated data, SyntaxError
# for bad headers, TypeError/ValueError/EOFError for a TIFF cut inside its directory chain.
_PIL_DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError)
# Only the decoder of the declared type may run: Image.open would otherwise also accept, for
# example, an EPS file, whose decoding starts Ghostscript on attacker-supplied PostScript.
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/tiff": "TIFF"}


def extract_image(
    path: Path, media_type: str, limits: ExtractionLimits, on_page: PageDone | None
) -> Extraction:
    """OCR every page (TIFF frame) of an image file, turning sideways pages upright."""
    with _open_checked(path, PIL_FORMATS[media_type], limits) as image:
        page_count = _page_count(image)
        with (
            tempfile.TemporaryDirectory(prefix="image-ocr-") as workdir,
            PageOcrPool(
                Path(workdir),
                limits.ocr_workers,
                on_page,
                options=limits.ocr_options(),
                fix_orientation=_can_detect_rotation(),
                cache_dir=limits.ocr_cache_dir,
            ) as pool,
        ):
            for index in range(page_count):
                pool.submit(index + 1, _frame_renderer(image, index, colour=limits.ocr_in_colour))
            by_number = pool.finish()
    pages = [by_number[number] for number in range(1, page_count + 1)]
    raise_if_nothing_read(pages, pool)
    return Extraction(pages=pages)


def _can_detect_rotation() -> bool:
    try:
        return osd_available()
    except OcrError as error:
        raise ExtractionError("ocr_failed", f"无法运行 OCR: {error} (OCR unavailable)") from error


def _open_checked(path: Path, pil_format: str, limits: ExtractionLimits) -> Image.Image:
    """Open lazily and check page count and pixel counts before any pixel is decoded."""
    try:
        image = Image.open(path, formats=[pil_format])
    except Image.DecompressionBombError as error:
        raise _too_large(str(error)) from error
    except (UnidentifiedImageError, *_PIL_DECODE_ERRORS) as error:
        raise _corrupt(pil_format, error) from error
    try:
        _check_pages(image, limits)
    except _PIL_DECODE_ERRORS as error:
        image.close()
        raise _corrupt(pil_format, error) from error
    except BaseException:
        image.close()
        raise
    return image


def _corrupt(pil_format: str, error: Exception) -> ExtractionError:
    return ExtractionError("corrupt", f"图像文件损坏或格式不符 ({pil_format}): {error} (corrupt image)")


def _page_count(image: Image.Image) -> int:
    # Only TIFF frames are pages. Phone JPEGs open as MPO whose second frame is a preview of
    # the first, and an animated PNG's frames are animation, not pages.
    return getattr(image, "n_frames", 1) if image.format == "TIFF" else 1


def _check_pages(image: Image.Image, limits: ExtractionLimits) -> None:
    page_count = _page_count(image)
    if page_count > limits.max_pages:
        raise ExtractionError(
            "too_many_pages",
            f"图像共 {page_count} 页，超过上限 {limits.max_pages} 页 (too many pages)",
        )
    for index in range(page_count):
        image.seek(index)  # reads the frame's header only
        width, height = image.size
        if width * height > limits.max_image_pixels:
            raise _too_large(
                f"第 {index + 1} 页 {width}x{height} 像素，超过上限 {limits.max_image_pixels} 像素"
            )
    image.seek(0)


def _too_large(detail: str) -> ExtractionError:
    return ExtractionError("image_too_large", f"图像过大: {detail} (image too large)")


def _frame_renderer(image: Image.Image, index: int, colour: bool = False) -> RenderPage:
    """A callable decoding frame `index`, turned upright per EXIF, in greyscale or colour."""

    def render() -> RenderedPage:
        try:
            image.seek(index)
            upright = ImageOps.exif_transpose(image)
            grey = _on_white(upright).convert("RGB" if colour else "L")
        except _PIL_DECODE_ERRORS as error:
            raise PageUnreadable(f"无法解码第 {index + 1} 页: {error}") from error
        return RenderedPage(image=grey, dpi=_scan_resolution(image))

    return render


def _scan_resolution(image: Image.Image) -> tuple[int, int] | None:
    """The file's DPI for Tesseract, which reads small print markedly worse without it."""
    dpi = image.info.get("dpi")
    # 72 and 96 are what software writes when it does not know; Tesseract estimates better.
    if not dpi or min(dpi) < _MIN_SCAN_DPI:
        return None
    return (round(dpi[0]), round(dpi[1]))


def _on_white(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white; converting RGBA to L directly would turn it black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return image
