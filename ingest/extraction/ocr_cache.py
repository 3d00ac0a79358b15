"""OCR results kept by page-image hash, so a re-upload or a retry never runs Tesseract twice.

A page is keyed by the SHA-256 of the exact image handed to Tesseract (pixels and DPI), salted
with everything else that shapes the result: languages, page segmentation mode, whether
sideways pages are turned, and the Tesseract version. One small JSON file per page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import pytesseract

from ocr import OcrOptions, OcrResult

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
# Bumped when what is stored, or how a page is read, changes in a way the salt cannot see.
_FORMAT = 1


@functools.cache
def _tesseract_version() -> str:
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError:
        # No cache entry can be made without Tesseract anyway; OCR itself will report it.
        return "unknown"


class OcrCache:
    """A directory of OCR results; safe for several processes (writes are atomic renames)."""

    def __init__(self, root: Path, options: OcrOptions, *, fix_orientation: bool) -> None:
        self.root = root
        salt = f"{_FORMAT}|{options.languages}|{options.psm}|{fix_orientation}|{_tesseract_version()}"
        self._salt = salt.encode()

    def key(self, image_path: Path, dpi: int | None = None) -> str:
        """The image's bytes, the settings, and the resolution Tesseract is told if any."""
        digest = hashlib.sha256(self._salt + (f"|{dpi}" if dpi else "").encode())
        with image_path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> OcrResult | None:
        try:
            stored = json.loads(self._path(key).read_text(encoding="utf-8"))
            return OcrResult(text=stored["text"], confidence=stored["confidence"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            # A damaged entry costs one OCR run, never a wrong text.
            logger.warning("OCR cache entry %s unreadable, reading the page again: %s", key, error)
            return None

    def put(self, key: str, result: OcrResult) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump({"text": result.text, "confidence": result.confidence}, out, ensure_ascii=False)
                os.replace(name, target)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
        except OSError as error:
            # The text is already read; a full disk or a read-only cache must not lose it.
            logger.warning("OCR cache entry %s not written: %s", key, error)
