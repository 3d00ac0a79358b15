"""The archive office in a real browser: the 四性检测 list and report (downloaded and read
back), a document's checks and 归档章, an OFD e-invoice, and a view-only loan whose page
images carry the borrower's watermark."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import openpyxl
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in
from tests.ofd_samples import Invoice, ofd_file
from tests.samples import CONTRACT_TEXT, encrypted_pdf, text_pdf

RESULTS = {"pass": "通过", "fail": "未通过", "not_applicable": "不适用"}


def _api(context, caller, method, url, **kwargs):  # type: ignore[no-untyped-def]
    response = context.request.fetch(url, method=method, headers=caller.headers, **kwargs)
    assert response.ok, response.text()
    return response.json()


def _workbook(download):  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))


def test_checks_report_filing_stamp_and_watermarked_view(new_context, make_caller, run_worker, tmp_path) -> None:
    office = make_caller("wang.fang", roles="archivist", clearance="confidential")
    buyer = make_caller("zhang.wei", departments="采购部", clearance="secret")
    seller = make_caller("li.na", departments="销售部")
    api = new_context()
    partner = _api(api, office, "POST", "/api/v1/partners", data={
        "name": "福建省闽江供应链管理有限公司", "kind": "supplier", "department": "采购部"})
    files = {
        "采购合同.pdf": (text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT]), "contract", "application/pdf"),
        "加密合同.pdf": (encrypted_pdf(tmp_path / "加密合同.pdf"), "contract", "application/pdf"),
        "数电发票.ofd": (ofd_file(tmp_path / "数电发票.ofd", invoice=Invoice()), "invoice", "application/ofd"),
    }
    ids = {}
    for name, (path, doc_type, media) in files.items():
        ids[name] = _api(api, buyer, "POST", "/api/v1/documents", multipart={
            "file": {"name": name, "mimeType": media, "buffer": path.read_bytes()},
            "partner_id": partner["id"], "doc_type": doc_type, "confidentiality": "internal"})["id"]
    run_worker()

    # The archive office's list: the encrypted contract, failed on 可用性.
    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/checks")
    expect(wang.locator("h1")).to_have_text("四性检测")
    failed_row = wang.locator(f'#check-failures tr[data-document="{ids["加密合同.pdf"]}"]')
    expect(failed_row).to_contain_text("GD-3-6")
    expect(failed_row).to_contain_text("文件已加密")
    expect(wang.locator("#check-failures tr[data-document]")).to_have_count(1)
    wang.fill("#c-since", (date.today() - timedelta(days=7)).isoformat())
    wang.click('form[action="/checks"] button[type="submit"]')
    expect(wang.locator("#period-title")).to_contain_text("四性检测报告")
    expect(wang.locator("#period-summary")).to_contain_text("GD-1-1.1")
    shot(wang, "checks-01-office-list-and-period")
    with wang.expect_download() as downloading:
        wang.click("#period-xlsx")
    assert downloading.value.suggested_filename.endswith(".xlsx")
    workbook = _workbook(downloading.value)
    details = list(workbook["明细"].iter_rows(min_row=5, values_only=True))
    expected = []
    for document_id in ids.values():
        checks = _api(api, office, "GET", f"/api/v1/documents/{document_id}/checks")
        expected += [(checks["archival_code"], i["code"], RESULTS[i["result"]], i["evidence"]) for i in checks["items"]]
    assert sorted((row[1], row[5], row[8], row[9]) for row in details) == sorted(expected)
    assert workbook["汇总"]["A4"].value == "检测项编号"

    # A document's page: its 归档章 and its items.
    wang.goto(f"/documents/{ids['数电发票.ofd']}")
    stamp = wang.locator("#filing-stamp")
    expect(stamp).to_contain_text("全宗号")
    expect(stamp).to_contain_text("Q001")
    expect(stamp).to_contain_text("定期30年")
    invoice = _api(api, office, "GET", f"/api/v1/documents/{ids['数电发票.ofd']}")
    expect(stamp).to_contain_text(f"{invoice['item_no']:04d}")
    expect(wang.locator("#archival-code")).to_have_text(invoice["archival_code"])
    expect(wang.locator('#check-items tr[data-code="GD-3-3"]')).to_contain_text("通过")
    expect(wang.locator('#check-items tr[data-code="GD-2-4"]')).to_contain_text("发票号码")
    wang.locator("#checks").scroll_into_view_if_needed()
    shot(wang, "checks-02-document-filing-stamp-and-items")
    with wang.expect_download() as downloading:
        wang.click("#check-xlsx")
    rows = list(_workbook(downloading.value)["明细"].iter_rows(min_row=5, values_only=True))
    invoice_checks = _api(api, office, "GET", f"/api/v1/documents/{ids['数电发票.ofd']}/checks")["items"]
    assert [(row[5], row[8]) for row in rows] == [(i["code"], RESULTS[i["result"]]) for i in invoice_checks]

    # A view-only loan: the pages show, watermarked; the download is refused.
    li = sign_in(new_context(), "li.na", departments="销售部")
    li.goto("/borrowing")
    li.fill("#b-docs", _api(api, office, "GET", f"/api/v1/documents/{ids['采购合同.pdf']}")["archive_no"])
    li.fill("#b-reason", "核对供货条款")
    li.select_option("#b-access", "view")
    li.click('form[action="/borrowing"] button[type="submit"]')
    expect(li.locator("#my-requests .access")).to_have_text("仅查看（带水印）")
    wang.goto("/borrowing")
    row = wang.locator("#borrow-inbox tr[data-request]")
    expect(row.locator(".access")).to_have_text("仅查看（带水印）")
    row.locator("button", has_text="批准").click()
    expect(wang.locator("#borrow-inbox tr[data-request]")).to_have_count(0)

    li.goto(f"/documents/{ids['采购合同.pdf']}")
    image = li.locator(".page img").first
    image.scroll_into_view_if_needed()
    li.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    shot(li, "checks-03-borrowed-page-watermarked")
    page_png = li.request.get(f"/documents/{ids['采购合同.pdf']}/pages/1.png")
    assert page_png.status == 200 and page_png.headers["cache-control"] == "no-store"
    marked = Image.open(io.BytesIO(page_png.body())).convert("RGB")
    assert sum(1 for r, g, b in marked.getdata() if r > 200 and g < 190 and b < 190) > 300
    assert li.request.get(f"/documents/{ids['采购合同.pdf']}/download").status == 403
    # The buyer sees it by the rule: no watermark.
    zhang = sign_in(new_context(), "zhang.wei", departments="采购部", clearance="secret")
    own = Image.open(io.BytesIO(zhang.request.get(f"/documents/{ids['采购合同.pdf']}/pages/1.png").body()))
    assert sum(1 for r, g, b in own.convert("RGB").getdata() if r > 200 and g < 190 and b < 190) == 0
    _ = seller

    # Audit retention: nothing younger than 180 days can be purged, from the page either.
    lin = sign_in(new_context(), "lin.zong", roles=("admin",), clearance="confidential")
    lin.goto("/audit")
    expect(lin.locator("#audit-retention h2")).to_have_text("审计日志保留")
    lin.fill("#r-purge", (date.today() - timedelta(days=30)).isoformat())
    lin.click('#audit-retention form[action="/audit/purge"] button')
    expect(lin.locator("main")).to_contain_text("至少保留 180 天")
    shot(lin, "checks-04-audit-purge-refused")
    export = lin.request.get(f"/audit/export.json?before={date.today().isoformat()}")
    assert export.status == 200 and export.json()["chain"]["intact"] is True
