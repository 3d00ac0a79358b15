"""OCR of image files with Tesseract; imports nothing else of the project."""

from ocr.tesseract import (
    OcrError,
    OcrOptions,
    OcrResult,
    detect_orientation,
    ocr_image_file,
    osd_available,
    remove_cjk_spaces,
)

__all__ = [
    "OcrError",
    "OcrOptions",
    "OcrResult",
    "detect_orientation",
    "ocr_image_file",
    "osd_available",
    "remove_cjk_spaces",
]
