"""Tesseract OCR of image files: text, words with their boxes and mean confidence from one run."""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytesseract
from pytesseract.pytesseract import run_tesseract

from ocr.model import OcrError, OcrOptions, OcrResult, OcrWord, require_image_file

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
_TSV_PAGE_LEVEL = "1"
# Upright text reads at ~85-95; a page turned 90/180 degrees reads at ~25. Only pages below
# this pay for an orientation check, so upright pages cost one Tesseract run, not two.
_SUSPECT_ORIENTATION_BELOW = 60.0
_NOT_FOUND = "未找到 Tesseract 可执行程序 (tesseract not installed or not on PATH)"

T = TypeVar("T")


_DEFAULT_OPTIONS = OcrOptions()


def ocr_image_file(path: Path, options: OcrOptions = _DEFAULT_OPTIONS) -> OcrResult:
    """Recognise the text of one image file with one Tesseract run."""
    require_image_file(path)
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
    words, width, height = _words_and_size(tsv)
    confidence = _mean_confidence(words)
    return OcrResult(
        text=_tidy(text),
        confidence=confidence,
        words=tuple(words),
        width=width,
        height=height,
        orientation=0 if (confidence or 0) >= _SUSPECT_ORIENTATION_BELOW else None,
    )


def _dpi(options: OcrOptions) -> str:
    return f" --dpi {options.dpi}" if options.dpi else ""


def detect_orientation(path: Path, options: OcrOptions = _DEFAULT_OPTIONS) -> int:
    """Clockwise degrees (0/90/180/270) that make the page upright; 0 when OSD cannot tell."""
    require_image_file(path)
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


def _words_and_size(tsv: str) -> tuple[list[OcrWord], int, int]:
    """The recognised words with their boxes, and the page's size, from Tesseract's TSV."""
    words: list[OcrWord] = []
    width = height = 0
    for row in tsv.splitlines()[1:]:  # first row is the column header
        cells = row.split("\t")
        # level, page, block, paragraph, line, word, left, top, width, height, conf, text
        if len(cells) != 12:
            continue
        left, top, box_width, box_height = (int(cell) for cell in cells[6:10])
        if cells[0] == _TSV_PAGE_LEVEL:
            width, height = box_width, box_height
        elif cells[0] == _TSV_WORD_LEVEL and cells[11].strip() and float(cells[10]) >= 0:
            words.append(
                OcrWord(
                    text=cells[11].strip(),
                    left=left,
                    top=top,
                    right=left + box_width,
                    bottom=top + box_height,
                    confidence=float(cells[10]),
                )
            )
    return words, width, height


def _mean_confidence(words: list[OcrWord]) -> float | None:
    return sum(word.confidence for word in words) / len(words) if words else None
