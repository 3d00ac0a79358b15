"""PP-OCR (detection, recognition) through rapidocr on ONNX Runtime.

The models ship inside the rapidocr wheel and are named by path, so nothing is ever
downloaded. One engine per process, loaded on first use and shared by the page threads
(ONNX Runtime sessions may run concurrently); each inference uses one thread, so that as many
pages (or processes) as there are cores keep every core busy without oversubscribing them.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any

from ocr.model import OcrError, OcrOptions, OcrResult, OcrWord, require_image_file

logger = logging.getLogger(__name__)

_DETECTION_MODEL = "PP-OCRv6_det_small.onnx"
_RECOGNITION_MODEL = "PP-OCRv6_rec_small.onnx"
# Pages are scaled so that their longer side is at most this many pixels before detection and
# recognition (rapidocr's default): an A4 page at 300 dpi reads with 12 pt text ~28 px high.
_MAX_SIDE = 2000
# Text is found on the page scaled to at most this many pixels (its longer side), each box
# found widened by this ratio, boxes kept down to this score. At rapidocr's defaults (the whole
# 2000 px, 1.6, 0.5) detection was 75% of a page's time; scaled down, a spaced label's lone
# character (住 of 住　　所) falls under 0.5. Measured on 8 real-layout scans, one thread:
# 4.1 → 2.2 CPU-s per page; bag-of-characters error 2.8% → 3.7% (2.7% at 0.5, which loses
# that 住 and the address with it: more stray text read, where the field reader skips it).
_DETECTION_MAX_SIDE = 1280
_DETECTION_UNCLIP = 2.0
_DETECTION_BOX_SCORE = 0.3
_ENGINE_LOCK = threading.Lock()


def _models_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


@functools.cache
def model_version() -> str:
    """The rapidocr release and the model files it runs, for cache keys and reports."""
    from importlib.metadata import version

    models = "+".join(name.removesuffix(".onnx") for name in (_DETECTION_MODEL, _RECOGNITION_MODEL))
    detection = f"det{_DETECTION_MAX_SIDE}x{_DETECTION_UNCLIP}@{_DETECTION_BOX_SCORE}"
    return f"rapidocr-{version('rapidocr')}/{models}/{detection}"


_engine: Any = None


def _shared_engine() -> Any:
    """The process's one engine, created on first use (~0.1-0.5 s), never per page."""
    global _engine
    with _ENGINE_LOCK:
        if _engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as error:
                missing = f"未安装 PP-OCR (PP-OCR not installed): {error}"
                raise OcrError(missing) from error
            models = _models_dir()
            for name in (_DETECTION_MODEL, _RECOGNITION_MODEL):
                if not (models / name).is_file():
                    raise OcrError(f"PP-OCR 模型文件缺失: {name} (model file missing from the wheel)")
            _engine = RapidOCR(
                params={
                    "Global.log_level": "warning",
                    "Global.max_side_len": _MAX_SIDE,
                    "Global.return_word_box": True,
                    "Global.return_single_char_box": True,
                    "Det.model_path": str(models / _DETECTION_MODEL),
                    "Rec.model_path": str(models / _RECOGNITION_MODEL),
                    # The line orientation model turned some long upright lines upside down
                    # (a 32-character sentence then read as "于于用年"); pages upside down are
                    # told by their low confidence and turned whole (see _orientation).
                    "Global.use_cls": False,
                    "Det.limit_type": "max",
                    "Det.limit_side_len": _DETECTION_MAX_SIDE,
                    "Det.unclip_ratio": _DETECTION_UNCLIP,
                    "Det.box_thresh": _DETECTION_BOX_SCORE,
                    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
        return _engine


def ocr_image_file(path: Path, options: OcrOptions) -> OcrResult:
    """Recognise one image file: its lines as text, its characters as words with boxes.

    rapidocr's own steps, run one by one as its __call__ does.
    """
    require_image_file(path)
    engine = _shared_engine()
    try:
        image = engine.load_img(str(path))
        prepared, record = engine.preprocess_img(image)
        detected, classified, recognised, crops = engine.run_ocr_steps(prepared, record)
        output = engine.build_final_output(image, detected, classified, recognised, crops, record)
    except Exception as error:  # rapidocr wraps decoder and runtime failures in many types
        raise OcrError(f"PP-OCR 无法读取图像 {path.name}: {error} (unreadable image)") from error
    height, width = image.shape[:2]
    if not getattr(output, "txts", None):
        return OcrResult(text="", confidence=None, words=(), width=width, height=height)
    lines = [
        _Line(text=text, box=_bounding_box(box), score=float(score) * 100)
        for text, box, score in zip(output.txts, output.boxes, output.scores, strict=True)
    ]
    words = tuple(_words(output.word_results, lines))
    confidence = sum(line.score for line in lines) / len(lines)
    return OcrResult(
        text=_page_text(lines),
        confidence=confidence,
        words=words,
        width=width,
        height=height,
        orientation=_orientation(lines),
    )


# A page is taken as sideways when most of its lines stand, and only with a few lines to go by.
_MIN_LINES_FOR_ORIENTATION = 3
# Upright print reads at 90-100; a page upside down reads as confident-looking nonsense at
# 40-75. Below this mean the page's way up is left to the caller to find (OSD, read again).
_UPRIGHT_CONFIDENCE = 80.0


def _orientation(lines: list[_Line]) -> int | None:
    """0 upright; None when it may be sideways (most lines standing) or upside down (read
    with low confidence)."""
    if sum(line.score for line in lines) / len(lines) < _UPRIGHT_CONFIDENCE:
        return None
    long_lines = [line for line in lines if len(line.text) >= 3]
    if len(long_lines) < _MIN_LINES_FOR_ORIENTATION:
        return 0
    standing = sum(1 for line in long_lines if line.box[3] - line.box[1] > line.box[2] - line.box[0])
    return None if standing * 2 > len(long_lines) else 0


class _Line:
    __slots__ = ("box", "score", "text")

    def __init__(self, text: str, box: tuple[int, int, int, int], score: float) -> None:
        self.text, self.box, self.score = text, box, score


def _bounding_box(points: Any) -> tuple[int, int, int, int]:
    xs = [float(point[0]) for point in points]
    ys = [float(point[1]) for point in points]
    return round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))


def _words(word_results: Any, lines: list[_Line]) -> list[OcrWord]:
    """Each character (a Latin word stays whole) with its box; a line without them as one word."""
    words: list[OcrWord] = []
    per_line = list(word_results) if word_results and len(word_results) == len(lines) else []
    for index, line in enumerate(lines):
        pieces = [piece for piece in (per_line[index] if per_line else ()) if piece and piece[2] is not None]
        if not pieces:
            words.append(OcrWord(line.text, *line.box, confidence=line.score))
            continue
        for text, score, box in pieces:
            if text.strip():
                words.append(OcrWord(text.strip(), *_bounding_box(box), confidence=float(score) * 100))
    return words


def _page_text(lines: list[_Line]) -> str:
    """Lines in reading order: rows top to bottom, each row's pieces left to right.

    Pieces of one row set far apart (two columns, or a label and its distant value) are
    separated by two blanks, as Tesseract's text separates them.
    """
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1]
            top = min(piece.box[1] for piece in last)
            bottom = max(piece.box[3] for piece in last)
            if top < middle < bottom:
                last.append(line)
                continue
        rows.append([line])
    text_rows = []
    for row in rows:
        row.sort(key=lambda line: line.box[0])
        text = row[0].text
        for before, after in zip(row, row[1:], strict=False):
            height = max(before.box[3] - before.box[1], 1)
            text += ("  " if after.box[0] - before.box[2] > height else "") + after.text
        text_rows.append(text)
    return "\n".join(text_rows)
