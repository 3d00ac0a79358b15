"""The Tesseract wrapper, run against the real Tesseract on generated scans."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from ocr import (
    OcrError,
    OcrOptions,
    OcrResult,
    detect_orientation,
    ocr_image_file,
    osd_available,
    remove_cjk_spaces,
)
from tests import samples

# The first lines of the licence on a short page: enough to test reading, cheap to OCR.
LICENCE_HEAD = "\n".join(samples.LICENCE_TEXT.splitlines()[:3])
SHORT_PAGE = (8.27, 2.0)


@pytest.fixture(scope="module")
def licence_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.scan_image(
        tmp_path_factory.mktemp("ocr") / "licence.png", LICENCE_HEAD, page_inches=SHORT_PAGE
    )


@pytest.fixture(scope="module")
def licence_result(licence_scan: Path) -> OcrResult:
    return ocr_image_file(licence_scan)


def test_reads_a_scanned_chinese_licence(licence_result: OcrResult) -> None:
    assert "营业执照" in licence_result.text
    assert "统一社会信用代码" in licence_result.text
    assert samples.CREDIT_CODE in licence_result.text


def test_keeps_line_breaks(licence_result: OcrResult) -> None:
    lines = [line for line in licence_result.text.splitlines() if line.strip()]
    assert lines[0] == "营业执照"
    assert len(lines) == 3


def test_confidence_is_a_mean_word_score(licence_result: OcrResult) -> None:
    assert isinstance(licence_result.confidence, float)
    assert 50 < licence_result.confidence <= 100


def test_no_spaces_left_between_chinese_characters(licence_result: OcrResult) -> None:
    assert "福建省闽江供应链管理有限公司" in licence_result.text
    assert "营 业" not in licence_result.text


def test_remove_cjk_spaces_keeps_latin_word_spacing() -> None:
    raw = "采 购 合 同 Supply Agreement 合 同 编 号 ： HT-2026-0042"
    assert remove_cjk_spaces(raw) == "采购合同 Supply Agreement 合同编号： HT-2026-0042"


def test_blank_page_has_no_text_and_no_confidence(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (600, 400), 255).save(blank)
    assert ocr_image_file(blank) == OcrResult(text="", confidence=None, width=600, height=400)
    assert ocr_image_file(blank, OcrOptions(engine="ppocr")) == OcrResult(
        text="", confidence=None, width=600, height=400
    )


def test_non_image_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(OcrError, match="不是可识别的图像文件.*not an image"):
        ocr_image_file(samples.not_an_image(tmp_path / "notes.png"))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OcrError, match="image file not found"):
        ocr_image_file(tmp_path / "absent.png")


def test_unreadable_image_data_names_tesseracts_complaint(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(OcrError, match="unreadable image"):
        ocr_image_file(broken)


def test_missing_tesseract_binary_is_an_ocr_error(
    licence_scan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine without Tesseract: the real binary is simply not on the PATH.
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OcrError, match="tesseract not installed"):
        ocr_image_file(licence_scan)


def test_languages_can_be_chosen(licence_scan: Path) -> None:
    result = ocr_image_file(licence_scan, OcrOptions(languages="eng", psm=6))
    assert samples.CREDIT_CODE in result.text


def _omp_limit_given_to_tesseract(environment: dict[str, str]) -> str | None:
    """OCR one page in a fresh interpreter; the OMP_THREAD_LIMIT its Tesseract process was given."""
    probe = (
        "import os, subprocess, sys\n"
        "from pathlib import Path\n"
        "import ocr\n"
        "given = []\n"
        "start = subprocess.Popen.__init__\n"
        "def spy(self, args, *rest, **options):\n"
        "    if 'tesseract' in str(args[0]):\n"
        "        given.append((options.get('env') or os.environ).get('OMP_THREAD_LIMIT'))\n"
        "    start(self, args, *rest, **options)\n"
        "subprocess.Popen.__init__ = spy\n"
        "ocr.ocr_image_file(Path(sys.argv[1]))\n"
        "print(repr(given))\n"
    )
    image = samples.scan_image(Path(tempfile.mkdtemp()) / "line.png", "合同", page_inches=(2.0, 1.0))
    done = subprocess.run(
        [sys.executable, "-c", probe, str(image)], env=environment, capture_output=True, text=True, check=True
    )
    (given,) = ast.literal_eval(done.stdout.strip())
    return given


def test_tesseract_runs_single_threaded() -> None:
    # Not this process's environment (pytest's, or the operator's): a fresh interpreter without
    # the variable, and what the wrapper hands the Tesseract process it actually starts.
    clean = {key: value for key, value in os.environ.items() if key != "OMP_THREAD_LIMIT"}
    by_default = _omp_limit_given_to_tesseract(clean)
    set_by_the_operator = _omp_limit_given_to_tesseract({**clean, "OMP_THREAD_LIMIT": "2"})
    assert (by_default, set_by_the_operator) == ("1", "2")


@pytest.fixture(scope="module")
def osd() -> None:
    """Orientation detection needs Debian's tesseract-ocr-osd; `make test` installs it."""
    if not osd_available():
        pytest.fail("Tesseract's osd data is missing: apt-get install tesseract-ocr-osd (make system-deps)")


def test_orientation_of_turned_pages(tmp_path: Path, osd: None) -> None:
    upright = samples.scan_image(
        tmp_path / "upright.png", samples.LICENCE_TEXT, dpi=200, page_inches=(8.27, 5.0)
    )
    with Image.open(upright) as image:
        image.rotate(90, expand=True).save(tmp_path / "left.png")  # counter-clockwise
        image.rotate(180).save(tmp_path / "upside-down.png")
    assert detect_orientation(upright) == 0
    assert detect_orientation(tmp_path / "left.png") == 90
    assert detect_orientation(tmp_path / "upside-down.png") == 180


def test_orientation_of_a_page_without_text_is_zero(tmp_path: Path, osd: None) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (600, 400), 255).save(blank)
    assert detect_orientation(blank) == 0


def test_pp_ocr_reads_offline_with_the_models_of_its_wheel(licence_scan: Path, tmp_path: Path) -> None:
    """Every connection refused in a fresh process: nothing is fetched at run time."""
    script = f"""
import socket
def refuse(*args, **kwargs):
    raise OSError("network refused by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
from pathlib import Path
from ocr import OcrOptions, ocr_image_file
result = ocr_image_file(Path({str(licence_scan)!r}), OcrOptions(engine="ppocr"))
print(result.text)
print(len(result.words), result.width, result.height)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    assert samples.CREDIT_CODE in done.stdout and "统一社会信用代码" in done.stdout
    words, width, height = done.stdout.splitlines()[-1].split()
    assert int(words) > 20 and (int(width), int(height)) == Image.open(licence_scan).size


def test_both_engines_give_words_with_boxes_on_the_page(licence_scan: Path) -> None:
    width, height = Image.open(licence_scan).size
    for engine in ("tesseract", "ppocr"):
        result = ocr_image_file(licence_scan, OcrOptions(engine=engine))
        assert (result.width, result.height) == (width, height), engine
        assert result.words and all(
            0 <= word.left < word.right <= width and 0 <= word.top < word.bottom <= height
            for word in result.words
        ), engine
        code = "".join(word.text for word in result.words)
        assert samples.CREDIT_CODE in code, engine
