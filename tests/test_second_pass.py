"""The targeted re-read of a scan's credit code or ID number, with real Tesseract and generated scans."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.identifiers import is_valid_id_number, resolve_credit_code
from ingest.extraction import PDF, ExtractedPage, ExtractionLimits, extract
from ingest.fields import FieldExtraction, extract_fields
from ingest.fields.second_pass import _tokens, needs_second_pass, reread_identifier
from tests import samples

# Its check character is a J, which the whole-page chi_sim+eng reading drops on these scans
# (the licence fonts' J looks like a bracket): the text holds 17 characters.
J_CODE = "91350100412524273J"
OTHER_CODE = "91350200705123457E"  # a valid code of another company
ID_NUMBER = "350102198503071236"
MISSING = FieldExtraction(
    fields={}, problems={"credit_code": "未找到统一社会信用代码 (no credit_code found)"}
)


# The first pass these tests are about is Tesseract's (PP-OCR reads these codes on the page).
TESSERACT = ExtractionLimits(ocr_engine="tesseract")


def _pages(extraction) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(page.number, page.text) for page in extraction.pages]


def test_codes_used_here_are_valid() -> None:
    for code in (J_CODE, OTHER_CODE):
        resolved = resolve_credit_code(code)
        assert resolved is not None and resolved.value == code and not resolved.corrected
    assert is_valid_id_number(ID_NUMBER)


def test_a_code_the_page_text_loses_is_read_by_the_second_pass(tmp_path: Path) -> None:
    scan = samples.scan_image(
        tmp_path / "licence.png", samples.LICENCE_TEXT.replace(samples.CREDIT_CODE, J_CODE)
    )
    extraction = extract(scan, "image/png", limits=TESSERACT)
    first = extract_fields("business_license", _pages(extraction))
    assert "credit_code" not in first.fields  # the first pass read 17 characters
    assert needs_second_pass("business_license", first, extraction.pages)

    reread = reread_identifier(
        "business_license", first, path=scan, media_type="image/png", pages=extraction.pages
    )

    assert reread.outcome == "found"
    found = reread.fields.fields["credit_code"]
    assert (found.value, found.page, found.method) == (J_CODE, 1, "second_pass")
    assert "credit_code" not in reread.fields.problems
    assert reread.tesseract_runs == 3
    # Everything else is what the first pass read.
    assert {k: v for k, v in reread.fields.fields.items() if k != "credit_code"} == first.fields


def test_a_scanned_pdf_page_is_rendered_again(tmp_path: Path) -> None:
    scan = samples.scanned_pdf(
        tmp_path / "licence.pdf", [samples.LICENCE_TEXT.replace(samples.CREDIT_CODE, J_CODE)]
    )
    extraction = extract(scan, PDF, limits=TESSERACT)
    # Whatever the first pass made of it, the second pass alone must find the code.
    reread = reread_identifier("business_license", MISSING, path=scan, media_type=PDF, pages=extraction.pages)
    assert reread.fields.fields["credit_code"].value == J_CODE


def test_two_different_valid_codes_on_a_page_give_none(tmp_path: Path) -> None:
    text = samples.LICENCE_TEXT + f"\n原统一社会信用代码 {OTHER_CODE}"
    scan = samples.scan_image(tmp_path / "licence.png", text)
    extraction = extract(scan, "image/png", limits=TESSERACT)

    # As if the first pass had read neither.
    reread = reread_identifier(
        "business_license", MISSING, path=scan, media_type="image/png", pages=extraction.pages
    )

    assert reread.outcome == "ambiguous"
    assert "credit_code" not in reread.fields.fields
    problem = reread.fields.problems["credit_code"]
    assert samples.CREDIT_CODE in problem and OTHER_CODE in problem


def test_a_text_layer_document_is_never_read_again(tmp_path: Path) -> None:
    text = samples.LICENCE_TEXT.replace(f"统一社会信用代码 {samples.CREDIT_CODE}\n", "")
    document = samples.text_pdf(tmp_path / "licence.pdf", [text])
    extraction = extract(document, PDF, limits=TESSERACT)
    first = extract_fields("business_license", _pages(extraction))
    assert "credit_code" not in first.fields
    assert not needs_second_pass("business_license", first, extraction.pages)

    reread = reread_identifier(
        "business_license", first, path=document, media_type=PDF, pages=extraction.pages
    )

    assert (reread.outcome, reread.tesseract_runs, reread.fields) == ("not_needed", 0, first)


def test_conflicting_readings_in_the_text_are_not_settled_by_a_third(tmp_path: Path) -> None:
    text = f"统一社会信用代码 {samples.CREDIT_CODE}\n统一社会信用代码 {OTHER_CODE}"
    first = extract_fields("business_license", [(1, text)])
    assert "credit_code" not in first.fields
    ocr_page = [ExtractedPage(number=1, text=text, source="ocr")]
    assert not needs_second_pass("business_license", first, ocr_page)


def test_found_fields_and_other_document_types_are_left_alone() -> None:
    ocr_page = [ExtractedPage(number=1, text="", source="ocr")]
    found = extract_fields("business_license", [(1, samples.LICENCE_TEXT)])
    assert not needs_second_pass("business_license", found, ocr_page)
    assert not needs_second_pass("contract", FieldExtraction(fields={}, problems={}), ocr_page)


def test_an_id_number_is_read_again_with_digits_and_x_only(tmp_path: Path) -> None:
    front = f"姓名 林建华\n性别 男  民族 汉\n出生 1985年3月7日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 {ID_NUMBER}"
    scan = samples.scan_image(tmp_path / "id.png", front, page_inches=(8.27, 5.5))
    extraction = extract(scan, "image/png", limits=TESSERACT)
    missing = FieldExtraction(fields={}, problems={"id_number": "未找到公民身份号码 (no id_number found)"})

    reread = reread_identifier("id_card", missing, path=scan, media_type="image/png", pages=extraction.pages)

    assert reread.fields.fields["id_number"].value == ID_NUMBER
    assert reread.fields.fields["id_number"].method == "second_pass"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # The label comes out as letters glued to the code; the code ends the run.
        (f"RLHAR{J_CODE}\nBARNTEE", [J_CODE]),
        # A final J read as a bracket; a bracket elsewhere is never taken for one.
        (f"AB{J_CODE[:-1]})", [J_CODE[:-1] + ")"]),
        (f"{J_CODE[:5]}){J_CODE[6:]}", []),
        # A code split at a wide gap is joined again.
        (f"HABE {J_CODE[:8]} {J_CODE[8:]}", [J_CODE]),
        ("SHORT 12345", []),
    ],
)
def test_tokens_end_where_a_run_ends(text: str, tokens: list[str]) -> None:
    assert _tokens(text) == tokens


@pytest.fixture
def tesseract_worker(settings):  # type: ignore[no-untyped-def]
    """The worker configured with Tesseract, whose first pass misses this code."""
    settings.ocr_engine = "tesseract"
    return settings


def test_the_worker_records_that_the_value_came_from_the_second_pass(
    tmp_path, tesseract_worker, client, upload, run_worker, make_caller, create_partner
) -> None:  # type: ignore[no-untyped-def]
    buyer = make_caller("zhang.wei", departments="采购部")
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    scan = samples.scan_image(
        tmp_path / "营业执照.png", samples.LICENCE_TEXT.replace(samples.CREDIT_CODE, J_CODE)
    )
    document_id = upload(buyer, scan, partner_id=partner["id"], doc_type="business_license").json()["id"]
    run_worker()

    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()

    assert document["fields"]["credit_code"] == J_CODE
    provenance = document["field_provenance"]["credit_code"]
    assert provenance["method"] == "second_pass"
    assert provenance["page_source"] == "ocr"
    assert provenance["needs_review"] is False  # both check characters hold
    assert "credit_code" not in document["field_problems"]
