"""OCR results kept by page-image hash, so a re-upload or a retry never runs Tesseract twice.

A page is keyed by the SHA-256 of the exact image handed to the recogniser (pixels and DPI),
salted with everything else that shapes the result: the engine with its version and models
(Tesseract's languages and page segmentation mode), and whether sideways pages are turned.
One small JSON file per page, its words and their boxes included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from ocr import OcrOptions, OcrResult, OcrWord, engine_version

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
# Bumped when what is stored, or how a page is read, changes in a way the salt cannot see.
_FORMAT = 2  # 2: words with their boxes and the page size are kept


class OcrCache:
    """A directory of OCR results; safe for several processes (writes are atomic renames)."""

    def __init__(self, root: Path, options: OcrOptions, *, fix_orientation: bool) -> None:
        self.root = root
        salt = f"{_FORMAT}|{engine_version(options)}|{fix_orientation}"
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

    def entry_name(self, key: str) -> str:
        """Where a key's entry lives, relative to the cache directory (what a document records)."""
        return self._path(key).relative_to(self.root).as_posix()

    def get(self, key: str) -> OcrResult | None:
        try:
            stored = json.loads(self._path(key).read_text(encoding="utf-8"))
            return OcrResult(
                text=stored["text"],
                confidence=stored["confidence"],
                words=tuple(OcrWord(*word) for word in stored["words"]),
                width=stored["width"],
                height=stored["height"],
                turned=stored.get("turned", 0),
            )
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
                    json.dump(
                        {
                            "text": result.text,
                            "confidence": result.confidence,
                            "words": [word.as_list() for word in result.words],
                            "width": result.width,
                            "height": result.height,
                            "turned": result.turned,
                        },
                        out,
                        ensure_ascii=False,
                    )
                os.replace(name, target)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
        except OSError as error:
            # The text is already read; a full disk or a read-only cache must not lose it.
            logger.warning("OCR cache entry %s not written: %s", key, error)
