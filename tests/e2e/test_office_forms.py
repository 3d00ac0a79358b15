"""The document page and the borrowing forms in a real browser: ID numbers masked for staff and
shown to the office and to a borrower, the original downloaded; a loan rejected with a note,
another approved, used and returned. (The destruction forms: tests/e2e/test_office_inboxes.py.)"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot, sign_in
from tests.samples import text_pdf

ID_CARD = "姓名 林建华\n性别 男 民族 汉\n出生 1985年6月12日\n住址 福建省福州市鼓楼区五四路158号\n公民身份号码 350102198506123011"
FULL, MASKED = "350102198506123011", "350102********3011"


def _pdf_text(path: Path) -> str:
    document = pdfium.PdfDocument(path)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def _download(page: Page) -> Path:
    with page.expect_download() as downloading:
        page.click("text=下载原件")
    return Path(downloading.value.path())


def test_the_document_page_masks_for_staff_and_a_loan_is_rejected_approved_and_returned(
    new_context, tmp_path, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    card = text_pdf(tmp_path / "法人身份证.pdf", [ID_CARD])
    document_id = upload(
        make_caller("zhang.wei", departments="采购部"), card, partner_id=partner["id"], doc_type="id_card"
    ).json()["id"]
    run_worker()
    url = f"/documents/{document_id}"

    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    zhang.goto(url)
    expect(zhang.locator("main")).to_contain_text(MASKED)
    assert FULL not in zhang.content() and "19850612" not in zhang.content()
    shot(zhang, "forms-01-document-masked-for-staff")

    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto(url)
    expect(wang.locator("main")).to_contain_text(FULL)
    assert _download(wang).read_bytes() == card.read_bytes()

    # 李娜 of 销售部 cannot open it; her first request is rejected with a reason.
    li = sign_in(new_context(), "li.na", departments="销售部")
    assert li.goto(url).status == 404  # type: ignore[union-attr]

    def ask(reason: str) -> None:
        li.goto("/borrowing")
        li.fill("#b-docs", document_id)
        li.fill("#b-reason", reason)
        li.click('form[action="/borrowing"] button[type="submit"]')

    def decide(button: str, note: str) -> None:
        wang.goto("/borrowing")
        row = wang.locator("#borrow-inbox tr[data-request]")
        expect(row).to_have_count(1)
        row.locator("input[name=note]").fill(note)
        row.locator("button", has_text=button).click()
        expect(wang.locator("#borrow-inbox tr[data-request]")).to_have_count(0)

    ask("核对法人身份")
    decide("驳回", "请说明用途")
    li.goto("/borrowing")
    expect(li.locator("#my-requests tbody tr").first).to_contain_text("已驳回")
    expect(li.locator("#my-requests tbody tr").first).to_contain_text("请说明用途")
    assert li.goto(url).status == 404  # type: ignore[union-attr]
    shot(li, "forms-02-loan-rejected")

    ask("签订合同前核对法人身份证件")
    decide("批准", "同意，三日内归还")
    li.goto(url)
    expect(li.locator("main")).to_contain_text(FULL)  # a borrower sees the number whole
    shot(li, "forms-03-borrowed-document-unmasked")
    assert FULL in _pdf_text(_download(li))  # a watermarked copy of the whole original

    li.goto("/borrowing")
    approved = li.locator("#my-requests tbody tr", has_text="已批准")
    approved.locator("button", has_text="归还").click()
    expect(li.locator("#my-requests tbody tr", has_text="已归还")).to_have_count(1)
    shot(li, "forms-04-loan-returned")
    assert li.goto(url).status == 404  # type: ignore[union-attr]
    assert li.request.get(f"{url}/download").status == 404

