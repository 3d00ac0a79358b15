"""What every recogniser takes and gives: options in; text, words with their boxes, confidence out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Engine = Literal["tesseract", "ppocr"]
ENGINES: tuple[Engine, ...] = ("tesseract", "ppocr")


@dataclass(frozen=True)
class OcrOptions:
    """How a page is recognised; only `engine`, `timeout_seconds` and `dpi` apply to every engine."""

    engine: Engine = "tesseract"
    languages: str = "chi_sim+eng"  # Tesseract's language models
    psm: int = 3  # Tesseract's page segmentation mode
    timeout_seconds: float = 120.0  # Tesseract runs are killed after this; PP-OCR runs in-process
    # Only these characters may be recognised (Tesseract's tessedit_char_whitelist); None: all.
    char_whitelist: str | None = None
    # The image's resolution when its file does not carry it (scanners' JPEGs often say 1 dpi,
    # and Tesseract then assumes 70); None: as the file says.
    dpi: int | None = None


@dataclass(frozen=True)
class OcrWord:
    """One recognised word (for Chinese usually one character) and its box in image pixels."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    confidence: float  # 0-100

    def as_list(self) -> list[str | int | float]:
        """[text, left, top, right, bottom, confidence]: the shape DocumentPage.layout keeps."""
        return [self.text, self.left, self.top, self.right, self.bottom, round(self.confidence, 1)]


@dataclass(frozen=True)
class OcrResult:
    """Recognised text, the mean word confidence (0-100, None when no word was found), and the
    words with their boxes on an image of `width` x `height` pixels."""

    text: str
    confidence: float | None
    words: tuple[OcrWord, ...] = field(default=(), compare=False)
    width: int = 0
    height: int = 0
    # Clockwise degrees the engine says would turn the page upright: 0 when it reads upright,
    # None when it cannot tell (a page that may be sideways or upside down: ask OSD).
    orientation: int | None = field(default=0, compare=False)
    # Clockwise degrees the page was turned to be read; the words' boxes may be on the page
    # before turning (see the caller), which a reader turns again to read them upright.
    turned: int = field(default=0, compare=False)


class OcrError(Exception):
    """The recogniser could not produce a result; the message says why."""


# Tesseract reads a non-image input as a list of image paths and OCRs those instead, so only
# files that start like an image it can decode are handed to a recogniser.
_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF, little endian
    b"MM\x00*",  # TIFF, big endian
    b"BM",
    b"GIF8",
    b"\x00\x00\x00\x0cjP  ",  # JPEG 2000
    *(f"P{kind}".encode() for kind in "123456"),  # PNM
)


def require_image_file(path: Path) -> None:
    """Refuse a missing file or one that does not start like an image."""
    if not path.is_file():
        raise OcrError(f"图像文件不存在: {path} (image file not found)")
    with path.open("rb") as file:
        head = file.read(16)
    is_webp = head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    if not (is_webp or head.startswith(_IMAGE_SIGNATURES)):
        raise OcrError(f"不是可识别的图像文件: {path.name} (not an image file)")
