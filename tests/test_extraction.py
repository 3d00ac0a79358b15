"""Text extraction from real generated PDFs, DOCX files and images, OCR by the real Tesseract."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ingest.extraction import (
    DOCX,
    PDF,
    Extraction,
    ExtractionError,
    ExtractionLimits,
    extract,
)
from ocr import osd_available
from tests import samples

# Most OCR here checks plumbing, not accuracy: 200 dpi keeps it quick.
FAST = ExtractionLimits(ocr_dpi=200)
HALF_PAGE = (8.27, 5.0)


def extract_counting(
    path: Path, media_type: str, limits: ExtractionLimits = FAST
) -> tuple[Extraction, list[int]]:
    done: list[int] = []
    return extract(path, media_type, limits=limits, on_page=done.append), done


def failure_reason(path: Path, media_type: str, limits: ExtractionLimits = FAST) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract(path, media_type, limits=limits)
    assert str(caught.value), "a failure must say why"
    return caught.value.reason


# --- PDF ---------------------------------------------------------------------------------


def test_text_pdf_is_read_from_its_text_layer(tmp_path: Path) -> None:
    pdf = samples.text_pdf(tmp_path / "licence.pdf", [samples.LICENCE_TEXT, samples.CONTRACT_TEXT])
    extraction, done = extract_counting(pdf, PDF)
    assert [(page.number, page.source) for page in extraction.pages] == [(1, "text"), (2, "text")]
    assert extraction.ocr_pages == 0
    assert done == [1, 2]
    first, second = extraction.pages
    assert f"统一社会信用代码 {samples.CREDIT_CODE}" in first.text
    assert "营业期限 2015年03月11日至2035年03月10日" in first.text
    assert "合同编号：HT-2026-0042" in second.text
    assert extraction.text == first.text + "\n\f\n" + second.text


def test_long_lines_are_wrapped_not_lost(tmp_path: Path) -> None:
    sentence = "本合同自双方签字盖章之日起生效，" * 12
    pdf = samples.text_pdf(tmp_path / "long.pdf", [sentence])
    extraction = extract(pdf, PDF)
    assert extraction.pages[0].text.replace("\n", "") == sentence


def test_scanned_pdf_is_ocrd_page_by_page(tmp_path: Path) -> None:
    pdf = samples.scanned_pdf(tmp_path / "scan.pdf", [samples.LICENCE_TEXT, samples.CONTRACT_TEXT], dpi=200)
    extraction, done = extract_counting(pdf, PDF)
    assert [(page.number, page.source) for page in extraction.pages] == [(1, "ocr"), (2, "ocr")]
    assert extraction.ocr_pages == 2
    assert sorted(done) == [1, 2]
    assert "统一社会信用代码" in extraction.pages[0].text
    assert samples.CREDIT_CODE in extraction.pages[0].text
    assert "HT-2026-0042" in extraction.pages[1].text
    assert "Supply Agreement" in extraction.pages[1].text
    assert all(page.ocr_confidence and page.ocr_confidence > 50 for page in extraction.pages)


def test_mixed_pdf_ocrs_only_the_scanned_page(tmp_path: Path) -> None:
    pdf = samples.mixed_pdf(tmp_path / "mixed.pdf", samples.LICENCE_TEXT, samples.CONTRACT_TEXT)
    extraction, done = extract_counting(pdf, PDF)
    assert extraction.ocr_pages == 1
    assert [page.source for page in extraction.pages] == ["text", "ocr"]
    assert sorted(done) == [1, 2]
    assert "福建省闽江供应链管理有限公司" in extraction.pages[0].text
    assert extraction.pages[0].ocr_confidence is None
    assert "HT-2026-0042" in extraction.pages[1].text


def test_page_with_too_little_text_is_ocrd(tmp_path: Path) -> None:
    pdf = samples.text_pdf(tmp_path / "short.pdf", ["第1页"])
    assert extract(pdf, PDF, limits=FAST).pages[0].source == "ocr"
    assert extract(pdf, PDF, limits=ExtractionLimits(min_text_chars_per_page=3)).ocr_pages == 0


@pytest.mark.parametrize("user_password", ["secret", ""], ids=["user-password", "owner-only"])
def test_encrypted_pdf_is_refused(tmp_path: Path, user_password: str) -> None:
    pdf = samples.encrypted_pdf(tmp_path / "locked.pdf", user_password)
    with pytest.raises(ExtractionError, match="已加密") as caught:
        extract(pdf, PDF)
    assert caught.value.reason == "encrypted"


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    assert failure_reason(samples.truncated_pdf(tmp_path / "cut.pdf"), PDF) == "corrupt"


def test_garbage_named_pdf_is_corrupt(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    assert failure_reason(garbage, PDF) == "corrupt"


def test_max_pages_is_enforced_before_any_work(tmp_path: Path) -> None:
    pdf = samples.text_pdf(
        tmp_path / "three.pdf", ["本页内容足够长，可以直接从文本层读取，不需要光学字符识别。"] * 3
    )
    assert failure_reason(pdf, PDF, ExtractionLimits(max_pages=2)) == "too_many_pages"
    assert len(extract(pdf, PDF, limits=ExtractionLimits(max_pages=3)).pages) == 3


def test_page_too_large_to_render_is_refused(tmp_path: Path) -> None:
    pdf = samples.scanned_pdf(tmp_path / "scan.pdf", ["营业执照"], dpi=100, noise=False)
    # An A4 page at 300 dpi is 2481 x 3508 = 8.7 million pixels.
    tight = ExtractionLimits(max_image_pixels=8_000_000)
    assert failure_reason(pdf, PDF, tight) == "image_too_large"


def test_on_page_is_called_once_per_page(tmp_path: Path) -> None:
    pages = [f"第{n}页：本页文字足够长，可以直接从文本层读取。" for n in range(1, 6)]
    _, done = extract_counting(samples.text_pdf(tmp_path / "five.pdf", pages), PDF)
    assert done == [1, 2, 3, 4, 5]


# --- DOCX --------------------------------------------------------------------------------


def test_docx_paragraphs_table_header_and_footer(tmp_path: Path) -> None:
    docx = samples.docx_file(
        tmp_path / "agreement.docx",
        ["技术服务协议", "甲方：福建省闽江供应链管理有限公司"],
        table_rows=[["服务项目", "年费"], ["系统运维", "捌万元整"]],
        header="闽江供应链 内部资料",
        footer="第 1 页",
    )
    extraction, done = extract_counting(docx, DOCX)
    assert done == [1]
    (page,) = extraction.pages
    assert (page.number, page.source, page.ocr_confidence) == (1, "text", None)
    assert page.text.splitlines() == [
        "闽江供应链 内部资料",
        "技术服务协议",
        "甲方：福建省闽江供应链管理有限公司",
        "服务项目\t年费",
        "系统运维\t捌万元整",
        "第 1 页",
    ]


def test_docx_external_entity_is_not_resolved(tmp_path: Path) -> None:
    hostname = Path("/etc/hostname").read_text(encoding="utf-8").strip()
    assert hostname, "the test needs a non-empty /etc/hostname to look for"
    extraction = extract(samples.xxe_docx(tmp_path / "xxe.docx"), DOCX)
    assert "外部实体" in extraction.text
    assert hostname not in extraction.text


def test_docx_bomb_is_refused_from_the_zip_directory(tmp_path: Path) -> None:
    bomb = samples.docx_bomb(tmp_path / "bomb.docx")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    assert failure_reason(bomb, DOCX) == "docx_bomb"


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04 not really a zip", b"plain text"], ids=["broken-zip", "not-zip"]
)
def test_broken_docx_is_corrupt(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(content)
    assert failure_reason(broken, DOCX) == "corrupt"


# --- Images ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type"), [("png", "image/png"), ("jpeg", "image/jpeg")], ids=["png", "jpeg"]
)
def test_scanned_image_is_read(tmp_path: Path, fmt: str, media_type: str) -> None:
    image = samples.scan_image(
        tmp_path / f"contract.{fmt}",
        samples.CONTRACT_TEXT,
        dpi=200,
        fmt=fmt,  # type: ignore[arg-type]
        page_inches=HALF_PAGE,
    )
    extraction, done = extract_counting(image, media_type)
    assert done == [1]
    (page,) = extraction.pages
    assert page.source == "ocr"
    assert "HT-2026-0042" in page.text
    assert "采购合同" in page.text


def test_multi_page_tiff_gives_one_page_per_frame(tmp_path: Path) -> None:
    tiff = samples.scan_tiff(
        tmp_path / "pages.tiff",
        ["营业执照\n统一社会信用代码 " + samples.CREDIT_CODE, "采购合同\n合同编号：HT-2026-0042"],
        page_inches=(8.27, 2.0),
    )
    extraction, done = extract_counting(tiff, "image/tiff")
    assert extraction.ocr_pages == 2
    assert sorted(done) == [1, 2]
    assert samples.CREDIT_CODE in extraction.pages[0].text
    assert "HT-2026-0042" in extraction.pages[1].text
    assert failure_reason(tiff, "image/tiff", ExtractionLimits(max_pages=1)) == "too_many_pages"


def test_sideways_image_is_turned_upright_before_ocr(tmp_path: Path) -> None:
    if not osd_available():
        pytest.fail("Tesseract's osd data is missing: apt-get install tesseract-ocr-osd (make system-deps)")
    upright = samples.scan_image(
        tmp_path / "licence.png", samples.LICENCE_TEXT, dpi=200, page_inches=HALF_PAGE
    )
    sideways = tmp_path / "sideways.png"
    with Image.open(upright) as image:
        image.rotate(90, expand=True).save(sideways, dpi=(200, 200))
    (page,) = extract(sideways, "image/png", limits=FAST).pages
    assert "统一社会信用代码" in page.text
    assert samples.CREDIT_CODE in page.text
    assert page.ocr_confidence and page.ocr_confidence > 70


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # A single line gives OSD too little to go on, so only EXIF can turn this page upright.
    upright = samples.scan_image(tmp_path / "upright.png", "合同编号 HT-2026-0042", page_inches=(8.27, 1.0))
    stored_turned = tmp_path / "camera.jpg"
    with Image.open(upright) as image:
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 CW to display": the pixels are stored turned left
        image.rotate(90, expand=True).save(stored_turned, "JPEG", dpi=(300, 300), exif=exif)
    (page,) = extract(stored_turned, "image/jpeg").pages
    assert "HT-2026-0042" in page.text


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # PIL's own note on the cut TIFF
@pytest.mark.parametrize(
    ("fmt", "media_type"), [("png", "image/png"), ("tiff", "image/tiff")], ids=["png", "tiff"]
)
def test_truncated_image_is_corrupt(tmp_path: Path, fmt: str, media_type: str) -> None:
    if fmt == "tiff":
        whole = samples.scan_tiff(tmp_path / "whole.tiff", ["第一页", "第二页"], page_inches=(4, 1))
    else:
        whole = samples.scan_image(tmp_path / "whole.png", "营业执照", dpi=100, noise=False)
    cut = samples.truncated_copy(whole, tmp_path / f"cut.{fmt}", keep=0.6)
    assert failure_reason(cut, media_type) == "corrupt"


def test_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    assert failure_reason(samples.huge_image(tmp_path / "huge.png"), "image/png") == "image_too_large"


def test_image_over_the_configured_pixel_limit_is_refused(tmp_path: Path) -> None:
    image = samples.scan_image(tmp_path / "small.png", "营业执照", dpi=100, noise=False)
    tight = ExtractionLimits(max_image_pixels=100_000)
    assert failure_reason(image, "image/png", tight) == "image_too_large"


def test_file_not_of_the_declared_image_type_is_corrupt(tmp_path: Path) -> None:
    pdf = samples.text_pdf(tmp_path / "really-a-pdf.png", ["营业执照"])
    assert failure_reason(pdf, "image/png") == "corrupt"


def test_blank_image_gives_an_empty_ocr_page(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (800, 600), (0, 0, 0, 0)).save(blank)  # transparent, black underneath
    (page,) = extract(blank, "image/png").pages
    assert (page.text, page.source, page.ocr_confidence) == ("", "ocr", None)


def test_missing_tesseract_fails_as_ocr_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = samples.scan_image(tmp_path / "scan.png", "营业执照", dpi=100, noise=False)
    # A machine without Tesseract: the real binary is simply not on the PATH.
    monkeypatch.setenv("PATH", "/nonexistent")
    assert failure_reason(image, "image/png", ExtractionLimits(ocr_engine="tesseract")) == "ocr_failed"


# --- Dispatch ----------------------------------------------------------------------------


def test_missing_file_is_not_mistaken_for_a_damaged_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        extract(tmp_path / "absent.png", "image/png")


def test_unsupported_media_type(tmp_path: Path) -> None:
    sheet = tmp_path / "prices.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(ExtractionError, match="不支持") as caught:
        extract(sheet, "application/vnd.ms-excel")
    assert caught.value.reason == "unsupported"


def test_the_configured_ocr_languages_reach_tesseract(tmp_path: Path) -> None:
    image = samples.scan_image(tmp_path / "licence.png", samples.LICENCE_TEXT, dpi=300)
    english_only = extract(image, "image/png", limits=ExtractionLimits(ocr_engine="tesseract", ocr_languages="eng"))
    chinese = extract(image, "image/png", limits=ExtractionLimits(ocr_engine="tesseract", ocr_languages="chi_sim+eng"))
    assert "统一社会信用代码" in chinese.text
    assert "统一社会信用代码" not in english_only.text
    assert samples.CREDIT_CODE in english_only.text


def test_a_page_that_takes_too_long_is_cut_off(tmp_path: Path) -> None:
    image = samples.scan_image(tmp_path / "licence.png", samples.LICENCE_TEXT, dpi=300)
    # ocr_failed is also what a missing or broken Tesseract gives: the message tells them apart.
    with pytest.raises(ExtractionError, match=r"超过 0\.05 秒 \(tesseract timed out\)") as caught:
        extract(image, "image/png", limits=ExtractionLimits(ocr_engine="tesseract", ocr_page_timeout_seconds=0.05))
    assert caught.value.reason == "ocr_failed"


def test_a_scan_at_the_ocr_resolution_is_read_from_its_own_jpeg(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    from ingest.extraction.pdf import _scanned_jpeg

    scan = samples.scanned_pdf(tmp_path / "营业执照.pdf", [samples.LICENCE_TEXT], dpi=300, page_inches=HALF_PAGE)
    document = pdfium.PdfDocument(scan)
    page = document[0]
    jpeg, dpi = _scanned_jpeg(page, 300, 10**8)
    assert jpeg.startswith(b"\xff\xd8") and dpi == 300
    # A 300-dpi scan is not read at 150 (too big: rendered down) nor a 200-dpi one at 300 (rendered up).
    assert _scanned_jpeg(page, 150, 10**8) is None
    assert _scanned_jpeg(page, 300, 1000) is None  # a scan bigger than allowed is rendered at the OCR resolution
    page.set_rotation(90)
    assert _scanned_jpeg(page, 300, 10**8) is None  # a turned page is rendered upright
    page.close()
    document.close()
    low = samples.scanned_pdf(tmp_path / "low.pdf", [samples.LICENCE_TEXT], dpi=200, page_inches=HALF_PAGE)
    document = pdfium.PdfDocument(low)
    assert _scanned_jpeg(document[0], 300, 10**8) is None
    document.close()

    # Its JPEG says 1 dpi; Tesseract is told the resolution from the page and reads the code.
    read = extract(scan, PDF, limits=ExtractionLimits(ocr_dpi=300, ocr_engine="tesseract"))
    assert samples.CREDIT_CODE in read.text.replace(" ", "")
