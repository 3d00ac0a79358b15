"""Finding 2: ID numbers are masked in everything a caller who may not see them receives."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from archive.identifiers import id_number_check_char
from archive.masking import mask_id_numbers
from archive.models import AccessGrant
from tests.samples import credit_code_check_char, text_pdf
from tests.security.conftest import web_sign_in

# Planted numbers, as people and OCR write them; the birth date is what must never show.
MISREAD = "350102198506123012"  # check character wrong: still somebody's number
SPACED = "110101 19900307 1234"
FULL_WIDTH = "４４０３０５１９９２０２２９００１５"  # check character wrong too
OLD_STYLE = "320106670923451"  # 15 digits, issued before 1999
BIRTH_DATES = ("19850612", "19900307", "19920229", "670923")


def shows_a_birth_date(text: str) -> list[str]:
    """Birth dates of the planted numbers readable in `text` (any width, spacing or markup)."""
    flat = re.sub(r"\s|</?em>", "", unicodedata.normalize("NFKC", text))
    return [birth for birth in BIRTH_DATES if birth in flat]


def _id(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def _credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("公民身份号码 35010219850612301X", "公民身份号码 350102********301X"),
        (MISREAD, "350102********3012"),
        (SPACED, "110101 ******** 1234"),
        (FULL_WIDTH, "４４０３０５********００１５"),
        (f"身份证 {OLD_STYLE}", "身份证 320106******451"),
        ("<em>110101</em> <em>19900307</em> 1234", "<em>110101</em> <em>********</em> 1234"),
        ("ID110101199003071234", "ID110101********1234"),
        # Read from the middle of a longer stretch of joined groups (a date written just before it).
        ("2026-03-01 110101 19900307 1234", "2026-03-01 110101 ******** 1234"),
        ('{"expires_on":"2033-10-22","score":19.036362,"text":"<em>110101</em>-19900307-1234"}',
         '{"expires_on":"2033-10-22","score":19.036362,"text":"<em>110101</em>-********-1234"}'),
        (f"两人：{_id('11010119900307123')}、{_id('35010219850612301')}",
         f"两人：110101********{_id('11010119900307123')[-4:]}、350102********{_id('35010219850612301')[-4:]}"),
        # An ID number whose check character fits is masked whatever label stands before it.
        (f"账号 {_id('11010119900307123')}", f"账号 110101********{_id('11010119900307123')[-4:]}"),
    ],
)
def test_what_counts_as_an_id_number(text: str, masked: str) -> None:
    assert mask_id_numbers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "统一社会信用代码 913501003154662784",
        # A credit code shaped like an ID number (area 350119, 0101… where a birth date would be):
        # its GB 32100 check character fits, its GB 11643 one does not.
        _credit_code("91350119" + "900307123"),
        "注册号：350100670923451",  # a 15-digit 注册号 after its label
        '"credit_code":"350100670923451"',
        "<th>注册号</th><td>350100670923451</td>",
        "开户账号 6222 0210 0112 2334 455",
        "账号 110101199003071234",  # a bank account after its label, no fitting ID check
        "联系电话 0591-87654321、13800138000",
        "合同编号 HT-2026-000123，金额 123456789012345.00",
        "7340d741998d44078412bbf0108c9ddf",
        "GYS-2026-000001",
    ],
)
def test_business_numbers_stay_readable(text: str) -> None:
    assert mask_id_numbers(text) == text


def test_credit_codes_that_look_like_id_numbers_are_told_apart() -> None:
    """All-digit credit codes whose digits 7-14 read as a birth date, one per day of 1990."""
    kept = 0
    for day in range(365):
        born = (datetime(1990, 1, 1) + timedelta(days=day)).strftime("%Y%m%d")
        code = _credit_code(f"913501{born}123")
        if mask_id_numbers(f"代码 {code}") == f"代码 {code}":
            kept += 1
        else:
            # Masked only when the ID check character fits as well: nobody can tell them apart
            # then, and masking is the error that leaks nothing.
            assert code[17] == id_number_check_char(code[:17]), code
    assert kept >= 330


@pytest.fixture
def id_card(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner(
        "福州榕城包装材料有限公司", "采购部", credit_code="913501003154662784",
        remarks=f"法人身份证 {SPACED}",
    )
    buyer = make_caller("zhang.wei", departments="采购部")
    card = text_pdf(
        tmp_path / "id-card.pdf",
        [f"姓名 林建华\n公民身份号码 {MISREAD}\n有效期限 2016.03.01-2036.03.01",
         f"附页\n担保人证件 {FULL_WIDTH}\n旧证 {OLD_STYLE}"],
    )
    response = upload(buyer, card, partner_id=partner["id"], doc_type="id_card",
                      title=f"林建华身份证 {OLD_STYLE}", expires_on="2027-03-01")
    assert response.status_code == 202, response.text
    assert run_worker() == 1
    return partner, response.json()["id"]


def test_misread_numbers_are_masked_in_every_part_of_a_response(
    client, settings, make_caller, id_card
) -> None:
    partner, document_id = id_card
    buyer = make_caller("zhang.wei", departments="采购部")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")

    office_view = client.get(f"/api/v1/documents/{document_id}", headers=office.headers).json()
    assert MISREAD in office_view["field_problems"]["id_number"]  # the reading, kept for people

    staff_view = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers)
    assert staff_view.status_code == 200
    assert shows_a_birth_date(staff_view.text) == [], staff_view.json()["field_problems"]
    responses = {
        "partner": client.get(f"/api/v1/partners/{partner['id']}", headers=buyer.headers),
        "search": client.get("/api/v1/search", params={"q": "身份证"}, headers=buyer.headers),
        "catalogue": client.get("/api/v1/catalogue", headers=buyer.headers),
        "catalogue.csv": client.get("/api/v1/catalogue", params={"format": "csv"}, headers=buyer.headers),
        "expiring": client.get("/api/v1/compliance/expiring", params={"within_days": 3650},
                               headers=buyer.headers),
        "lookup": client.get("/api/v1/lookup", params={"license_no": "913501003154662784"},
                             headers=buyer.headers),
    }
    assert responses["search"].json()["total"] == 1
    # The partner's credit code is a business number: readable for everyone who sees it.
    assert responses["partner"].json()["credit_code"] == "913501003154662784"
    assert responses["lookup"].json()["license_no"] == ["913501003154662784"]
    web_sign_in(client, "zhang.wei", departments="采购部")
    for page in (f"/documents/{document_id}", f"/partners/{partner['id']}", "/search?q=身份证"):
        responses[page] = client.get(page)
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.text)
        assert shows_a_birth_date(response.text) == [], (name, response.text[:2000])

    xlsx = client.get("/api/v1/catalogue", params={"format": "xlsx"}, headers=buyer.headers)
    cells = " ".join(str(c.value) for row in openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows()
                     for c in row if c.value is not None)
    assert OLD_STYLE[:6] in cells and shows_a_birth_date(cells) == []


def test_exports_and_forms_mask_for_compliance_not_for_the_archive_office(
    client, make_caller, id_card
) -> None:
    partner, _document_id = id_card
    compliance = make_caller("he.jing", roles="compliance", clearance="confidential")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    for caller, masked_view in ((compliance, True), (office, False)):
        summary = client.get("/api/v1/reports/partners", params={"format": "xlsx"}, headers=caller.headers)
        text = " ".join(str(c.value) for row in openpyxl.load_workbook(io.BytesIO(summary.content)).active
                        .iter_rows() for c in row if c.value is not None)
        form = client.get(f"/api/v1/reports/partners/{partner['id']}/registration-form", headers=caller.headers)
        import docx

        form_text = "\n".join(cell.text for table in docx.Document(io.BytesIO(form.content)).tables
                              for row in table.rows for cell in row.cells)
        for name, body in (("summary", text), ("form", form_text)):
            assert (shows_a_birth_date(body) == []) is masked_view, (name, body)


def test_a_borrower_sees_the_numbers_of_what_they_borrowed(client, settings, make_caller, id_card) -> None:
    _partner, document_id = id_card
    seller = make_caller("li.na", departments="销售部")
    assert client.get(f"/api/v1/documents/{document_id}", headers=seller.headers).status_code == 404
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        session.add(AccessGrant(user_sub="li.na", document_id=document_id, granted_by="archive.office",
                                expires_at=datetime.now(UTC) + timedelta(days=3)))
        session.commit()
    engine.dispose()
    borrowed = client.get(f"/api/v1/documents/{document_id}", headers=seller.headers)
    assert MISREAD in json.dumps(borrowed.json(), ensure_ascii=False)
    # The partner's own remarks are not part of the loan.
    partner = client.get(f"/api/v1/partners/{_partner['id']}", headers=seller.headers)
    assert shows_a_birth_date(partner.text) == []


def test_the_original_of_an_id_card_is_for_those_who_see_numbers(
    client, settings, make_caller, id_card
) -> None:
    _partner, document_id = id_card
    buyer = make_caller("zhang.wei", departments="采购部")
    office = make_caller("archive.office", roles="archivist", clearance="confidential")
    refused = client.get(f"/api/v1/documents/{document_id}/content", headers=buyer.headers)
    assert refused.status_code == 403 and "身份证" in refused.json()["detail"]
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=office.headers).status_code == 200
    web_sign_in(client, "zhang.wei", departments="采购部")
    assert client.get(f"/documents/{document_id}/download").status_code == 403
    assert f"/documents/{document_id}/download" not in client.get(f"/documents/{document_id}").text


def test_a_download_names_its_file_with_the_number_masked(tmp_path, client, upload, run_worker, make_caller,
                                                          create_partner) -> None:
    """A further instance of finding 2: the file name travels in `Content-Disposition`, a header
    beside a binary body, which the text masking never read."""
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "contract.pdf", ["采购合同\n离心水泵二十台。"])
    filename = f"采购合同-经办人{OLD_STYLE}-{FULL_WIDTH}.pdf"
    document_id = upload(buyer, pdf, partner_id=partner["id"], filename=filename).json()["id"]
    assert run_worker() == 1

    def named(response) -> str:  # type: ignore[no-untyped-def]
        assert response.status_code == 200, response.text
        return unquote(response.headers["content-disposition"])

    assert shows_a_birth_date(named(client.get(f"/api/v1/documents/{document_id}/content",
                                               headers=buyer.headers))) == []
    assert shows_a_birth_date(named(client.get(f"/api/v1/documents/{document_id}/content",
                                               headers=office.headers))) == ["19920229", "670923"]
    web_sign_in(client, "zhang.wei", departments="采购部")
    assert shows_a_birth_date(named(client.get(f"/documents/{document_id}/download"))) == []
    client.cookies.clear()
