"""Tesseract OCR of image files: text plus mean word confidence from a single run."""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytesseract
from pytesseract.pytesseract import run_tesseract

# Tesseract's OpenMP threads compete with our one-process-per-page parallelism (measured 2.3x
# slower with both). pytesseract starts the CLI via subprocess, which inherits os.environ, so
# this is the one place that reliably reaches every tesseract process. setdefault lets an
# operator still override it.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

_CJK = (
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3000-\u303f"  # CJK symbols and punctuation (。、「」 ...)
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # full-width forms (，：（） ...)
)
_SPACES_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])[ \u3000]+(?=[{_CJK}])")
_OSD_ROTATE = re.compile(r"^Rotate:\s*(\d+)", re.MULTILINE)
_OSD_CONFIDENCE = re.compile(r"^Orientation confidence:\s*([\d.]+)", re.MULTILINE)
# Below this OSD is guessing: upright pages with only a few lines score ~3, turned pages ~10.
_MIN_OSD_CONFIDENCE = 2.0
_TSV_WORD_LEVEL = "5"
# Tesseract reads a non-image input as a list of image paths and OCRs those instead, so only
# files that start like an image it can decode are handed to it.
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
_NOT_FOUND = "未找到 Tesseract 可执行程序 (tesseract not installed or not on PATH)"

T = TypeVar("T")


@dataclass(frozen=True)
class OcrOptions:
    """How Tesseract is run."""

    languages: str = "chi_sim+eng"
    psm: int = 3
    timeout_seconds: float = 120.0
    # Only these characters may be recognised (Tesseract's tessedit_char_whitelist); None: all.
    char_whitelist: str | None = None
    # The image's resolution when its file does not carry it (scanners' JPEGs often say 1 dpi,
    # and Tesseract then assumes 70); None: as the file says.
    dpi: int | None = None


@dataclass(frozen=True)
class OcrResult:
    """Recognised text and the mean word confidence (0-100), None when no word was found."""

    text: str
    confidence: float | None


class OcrError(Exception):
    """Tesseract could not produce a result; the message says why."""


_DEFAULT_OPTIONS = OcrOptions()


def ocr_image_file(path: Path, options: OcrOptions = _DEFAULT_OPTIONS) -> OcrResult:
    """Recognise the text of one image file with one Tesseract run."""
    _require_image_file(path)
    with tempfile.TemporaryDirectory(prefix="ocr-") as workdir:
        output_base = Path(workdir) / "page"
        # One run writes both renderings: the txt keeps Tesseract's own line and word spacing
        # (better than rebuilding it from word boxes), the tsv carries per-word confidences.
        _guarded(
            path,
            options,
            lambda: run_tesseract(
                str(path),  # a path, not a PIL image: avoids re-encoding the page (~0.8 s)
                str(output_base),
                extension="txt",
                lang=options.languages,
                config=f"--psm {options.psm}{_dpi(options)} -c tessedit_create_tsv=1{_whitelist(options)}",
                timeout=options.timeout_seconds,
            ),
        )
        text = output_base.with_suffix(".txt").read_text(encoding="utf-8")
        tsv = output_base.with_suffix(".tsv").read_text(encoding="utf-8")
    return OcrResult(text=_tidy(text), confidence=_mean_word_confidence(tsv))


def _dpi(options: OcrOptions) -> str:
    return f" --dpi {options.dpi}" if options.dpi else ""


def detect_orientation(path: Path, options: OcrOptions = _DEFAULT_OPTIONS) -> int:
    """Clockwise degrees (0/90/180/270) that make the page upright; 0 when OSD cannot tell."""
    _require_image_file(path)
    try:
        report = _guarded(
            path,
            options,
            lambda: pytesseract.image_to_osd(str(path), timeout=options.timeout_seconds),
        )
    except OcrError as error:
        # OSD refuses pages with little text; "cannot tell" is the documented answer for those.
        if "Too few characters" in str(error):
            return 0
        raise
    rotate = _OSD_ROTATE.search(report)
    confidence = _OSD_CONFIDENCE.search(report)
    if rotate is None or confidence is None or float(confidence.group(1)) < _MIN_OSD_CONFIDENCE:
        return 0
    return int(rotate.group(1)) % 360


@functools.cache
def osd_available() -> bool:
    """Whether the osd traineddata that detect_orientation needs is installed (asked once)."""
    try:
        return "osd" in pytesseract.get_languages(config="")
    except pytesseract.TesseractNotFoundError as error:
        raise OcrError(_NOT_FOUND) from error


def remove_cjk_spaces(text: str) -> str:
    """Drop the spaces Tesseract puts between adjacent CJK characters."""
    return _SPACES_BETWEEN_CJK.sub("", text)


def _require_image_file(path: Path) -> None:
    if not path.is_file():
        raise OcrError(f"图像文件不存在: {path} (image file not found)")
    with path.open("rb") as file:
        head = file.read(16)
    is_webp = head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    if not (is_webp or head.startswith(_IMAGE_SIGNATURES)):
        raise OcrError(f"不是可识别的图像文件: {path.name} (not an image file)")


def _guarded(path: Path, options: OcrOptions, call: Callable[[], T]) -> T:
    """Run a pytesseract call, turning its failures into OcrError with a readable reason."""
    try:
        return call()
    except pytesseract.TesseractNotFoundError as error:
        raise OcrError(_NOT_FOUND) from error
    except pytesseract.TesseractError as error:
        detail = " ".join(str(error.message).split())
        message = f"Tesseract 无法读取图像 {path.name}: {detail} (unreadable image)"
        raise OcrError(message) from error
    except RuntimeError as error:
        # pytesseract reports a process it had to kill for overrunning with a bare RuntimeError.
        if "timeout" not in str(error).lower():
            raise
        raise OcrError(
            f"Tesseract 处理 {path.name} 超过 {options.timeout_seconds:g} 秒 (tesseract timed out)"
        ) from error


def _whitelist(options: OcrOptions) -> str:
    if options.char_whitelist is None:
        return ""
    # pytesseract splits the config like a shell would: blanks and quotes would break it apart.
    if any(char.isspace() or char in "'\"\\" for char in options.char_whitelist):
        raise ValueError(f"char_whitelist cannot hold blanks or quotes: {options.char_whitelist!r}")
    return f" -c tessedit_char_whitelist={options.char_whitelist}"


def _tidy(text: str) -> str:
    lines = (remove_cjk_spaces(line).rstrip() for line in text.replace("\f", "").splitlines())
    return "\n".join(lines).strip("\n")


def _mean_word_confidence(tsv: str) -> float | None:
    confidences: list[float] = []
    rows = tsv.splitlines()
    for row in rows[1:]:  # first row is the column header
        cells = row.split("\t")
        # level, page, block, paragraph, line, word, left, top, width, height, conf, text
        if len(cells) == 12 and cells[0] == _TSV_WORD_LEVEL and cells[11].strip():
            confidence = float(cells[10])
            if confidence >= 0:
                confidences.append(confidence)
    return sum(confidences) / len(confidences) if confidences else None
