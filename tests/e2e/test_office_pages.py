"""The archive office's whole job in the browser, in Chinese: register, upload with and
without a title, read what was recognised and how sure it is, correct a document, produce
every report and the catalogue (and open the files the pages serve), in the office's time
zone, on a phone, and in English; no page shows a field key or a raw id."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import openpyxl
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot, sign_in
from tests.samples import CONTRACT_TEXT, CREDIT_CODE, LICENCE_TEXT, scan_image, text_pdf

PARTNER = "福建省闽江供应链管理有限公司"
# Keys and ids that must never reach a page where a name or a label exists.
FIELD_KEYS = (
    "credit_code", "party_a", "party_b", "contract_no", "legal_representative", "expires_on",
    "issued_on", "signed_on", "perpetual", "doc_type", "confidentiality", "contact_person",
    "partner_view", "partner_create", "document_update", "borrow_request", "destruction_request",
    "business_license", "needs_review", "field_problems", "&quot;", "text/ocr",
)
RAW_ID = re.compile(r"\b[0-9a-f]{32}\b")


def assert_readable(page: Page, where: str) -> None:
    """What a person reads on the page: no field key, no 32-hex id."""
    text = page.inner_text("body")
    for key in FIELD_KEYS:
        assert key not in text, f"{where} shows {key!r}"
    found = RAW_ID.findall(text)
    assert not found, f"{where} shows raw ids {found}"
    placeholders = " ".join(
        page.eval_on_selector_all("[placeholder]", "els => els.map(e => e.placeholder)")
    )
    assert "&quot;" not in placeholders and not RAW_ID.search(placeholders), where


_NOT_PAGES = re.compile(r"\.(xlsx|csv|docx|png)(\?|$)|/download$|/logout|/login|[?&]lang=")


def walk(page: Page, starts: list[str], limit: int = 80) -> set[str]:
    """Follow every same-site link from `starts`, once per kind of page; each must read as words.

    Returns the kinds of page seen (ids replaced by {id}).
    """
    seen: set[str] = set()
    queue = list(starts)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        kind = RAW_ID.sub("{id}", url.split("?")[0].split("#")[0])
        if kind in seen:
            continue
        seen.add(kind)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert_readable(page, url)
        for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"):
            if href.startswith("/") and not href.startswith("//") and not _NOT_PAGES.search(href):
                queue.append(href)
    return seen


def download(page: Page, selector: str) -> tuple[str, bytes]:
    """Click what the person clicks; the browser's download, as the file it saved."""
    with page.expect_download() as started:
        page.click(selector)
    saved = started.value
    return saved.suggested_filename, Path(saved.path()).read_bytes()


def sheet_rows(content: bytes) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_register_upload_read_correct_report(new_context, run_worker, tmp_path: Path) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    office = new_context(accept_downloads=True)
    wang = sign_in(office, "wang.fang", roles=("archivist",), clearance="confidential")

    # Registering: departments come from the configured list, as a choice.
    wang.goto("/partners")
    wang.click("text=登记客商 >> nth=1")
    options = wang.eval_on_selector_all("#p-dept option", "os => os.map(o => o.value)")
    assert "采购部" in options and "销售一部" not in options
    wang.fill("#p-name", PARTNER)
    wang.select_option("#p-kind", "supplier")
    wang.select_option("#p-dept", "采购部")
    wang.fill("#p-code", CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1"))
    wang.fill("#p-legal", "林建华")
    wang.click('form[action="/partners"] button[type="submit"]')
    # A wrong check character is refused in words, not as `credit_code: Value error`, and
    # the form comes back with what was typed.
    expect(wang.locator("#form-error")).to_contain_text("统一社会信用代码：")
    assert "Value error" not in wang.inner_text("body") and "credit_code" not in wang.inner_text("body")
    expect(wang.locator("#p-name")).to_have_value(PARTNER)
    expect(wang.locator("#p-legal")).to_have_value("林建华")
    shot(wang, "20-validation-error")
    wang.fill("#p-code", CREDIT_CODE)
    wang.click("summary:has-text('更多资料')")
    wang.fill("#p-contact", "陈小明")
    wang.fill("#p-phone", "0591-87654321")
    wang.fill("#p-email", "chenxm@minjiang-scm.cn")
    wang.fill("#p-coop", "离心水泵、闸阀")
    wang.fill("#p-bank", "中国工商银行福州鼓楼支行")
    wang.fill("#p-account", "1402023109600123456")
    wang.click('form[action="/partners"] button[type="submit"]')
    expect(wang.locator("h1")).to_have_text(PARTNER)
    expect(wang.locator("#notice")).to_contain_text("已登记，档案编号 GYS-")
    partner_url = wang.url

    # Uploads: a licence scan and a contract without titles, a certificate with one.
    licence = scan_image(tmp_path / "IMG_0001.png", LICENCE_TEXT)
    contract = text_pdf(tmp_path / "D11_P03_contract.pdf", [CONTRACT_TEXT])
    certificate = text_pdf(tmp_path / "cert.pdf", ["安全生产许可证\n证书编号：（闽）JZ安许证字[2024]000123\n有效期至：2020年1月1日"])
    uploaded_at = datetime.now(UTC)
    wang.goto(partner_url)
    wang.click("text=上传文档")
    wang.select_option("#doc_type", "business_license")
    wang.set_input_files("#files", str(licence))
    expect(wang.locator("#upload-rows tr[data-id]")).to_have_count(1)
    wang.select_option("#doc_type", "contract")
    wang.set_input_files("#files", str(contract))
    expect(wang.locator("#upload-rows tr[data-id]")).to_have_count(2)
    wang.select_option("#doc_type", "qualification")
    wang.fill("#title", "安全生产许可证（2024 版）")
    wang.set_input_files("#files", str(certificate))
    expect(wang.locator("#upload-rows tr[data-id]")).to_have_count(3)
    assert run_worker() == 3
    expect(wang.locator('#upload-rows tr[data-status="indexed"]')).to_have_count(3, timeout=60_000)
    # Titles: derived from what was read, the uploader's own kept as given.
    names = wang.locator("#upload-rows .name").all_inner_texts()
    assert any(name.endswith(f"营业执照（{PARTNER}）") for name in names), names
    assert any(name.endswith("采购合同 HT-2026-0042") for name in names), names
    assert any(name.endswith("安全生产许可证（2024 版）") for name in names), names
    shot(wang, "21-upload-titles")

    # The contract's page: every reading labelled in Chinese with how sure it is and why.
    wang.goto(partner_url)
    wang.click("text=采购合同 HT-2026-0042")
    expect(wang.locator("h1")).to_have_text("采购合同 HT-2026-0042")
    readings = wang.locator("table.readings")
    expect(readings.locator('tr[data-field="contract_no"] th')).to_have_text("合同编号")
    expect(readings.locator('tr[data-field="party_b"] th')).to_have_text("乙方")
    expect(readings.locator('tr[data-field="amount"] td').first).to_have_text("123,456.00 元")
    # Read but never found: listed with the reason, not dropped.
    expect(readings.locator('tr[data-field="signed_on"] .badge')).to_have_text("未能识别")
    # The partner is 甲方 here, so no party flag; upload time in Beijing time.
    shown_time = wang.inner_text("dl.grid").split("wang.fang · ")[1][:16]
    expected = uploaded_at.astimezone(shanghai)
    assert abs(datetime.strptime(shown_time, "%Y-%m-%d %H:%M").replace(tzinfo=shanghai) - expected) < timedelta(
        minutes=2
    ), shown_time
    expect(wang.locator(".pagetext h3 small").first).to_contain_text("文字层")
    # The 四性检测 names the filing time in Beijing time too, not UTC.
    filed = wang.locator('#check-items tr[data-code="GD-4-7"] .evidence')
    expect(filed).to_contain_text(f"于 {expected:%Y-%m-%d %H}:")
    expect(filed).to_contain_text("+08:00")
    assert_readable(wang, "contract page")
    shot(wang, "22-document-readings")
    contract_url = wang.url

    # The licence scan: free text read by OCR is shown as 需核对, the code as verified, and
    # the way to the review page where it is corrected.
    wang.goto(partner_url)
    wang.click(f"text=营业执照（{PARTNER}）")
    readings = wang.locator("table.readings")
    expect(readings.locator('tr[data-field="credit_code"] .badge')).to_have_text("已核验")
    expect(readings.locator('tr[data-field="legal_representative"] .badge')).to_have_text("需核对")
    expect(readings.locator('tr[data-field="legal_representative"] .notes')).to_contain_text("OCR")
    expect(wang.locator("#unsure-count a")).to_have_attribute("href", re.compile(r"^/review\?document=[0-9a-f]{32}$"))
    expect(wang.locator(".pagetext h3 small").first).to_contain_text("OCR 识别")
    assert_readable(wang, "licence page")
    shot(wang, "23-licence-readings")
    # From there to the review page, where the person confirms what OCR read; back on the
    # document page the value is theirs, and its history says so.
    licence_url = wang.url
    wang.click("#unsure-count a")
    item = wang.locator("#item-legal_representative")
    item.locator('button[value="accept"]').click()
    expect(item.locator(".decision")).to_contain_text("确认无误")
    wang.goto(licence_url)
    expect(readings.locator('tr[data-field="legal_representative"] .badge')).to_have_text("人工确认")
    expect(readings.locator('tr[data-field="legal_representative"] .notes')).to_contain_text("wang.fang")
    expect(wang.locator("#history")).to_contain_text("法定代表人")
    assert_readable(wang, "licence page after review")

    # Correcting a document: title, 密级, department, expiry; each change in its history.
    wang.goto(contract_url)
    wang.click("#edit-link")
    wang.fill("#e-title", "采购合同 HT-2026-0042（离心水泵）")
    wang.select_option("#e-level", "secret")
    wang.select_option("#e-dept", "财务部")
    wang.fill("#e-expires", "2020-06-30")
    shot(wang, "24-document-edit")
    wang.click('#edit-form button[type="submit"]')
    expect(wang.locator("#notice")).to_have_text("已保存修改。")
    expect(wang.locator("h1")).to_contain_text("采购合同 HT-2026-0042（离心水泵）")
    expect(wang.locator("#expired-badge")).to_have_text("已过期")
    days = (datetime.now(shanghai).date() - datetime(2020, 6, 30).date()).days
    expect(wang.locator("#expiry")).to_contain_text(f"已过期 {days} 天")
    history = wang.locator("#history")
    expect(history).to_contain_text("修改文档")
    # The expiry goes through the same correction service as the review queue.
    expect(history).to_contain_text("更正识别内容")
    expect(history).to_contain_text("到期日期：— → 2020-06-30（已更正）")
    expect(history).to_contain_text("密级：一般 → 秘密")
    expect(history).to_contain_text("部门：采购部 → 财务部")
    expect(history).to_contain_text("题名：采购合同 HT-2026-0042 → 采购合同 HT-2026-0042（离心水泵）")
    assert_readable(wang, "edited document")
    shot(wang, "25-document-history")
    # The search finds it under the new title, marked expired.
    wang.goto("/search?q=离心水泵")
    expect(wang.locator(".hit h3 a")).to_have_text("采购合同 HT-2026-0042（离心水泵）")
    expect(wang.locator(".hit .badge.expired")).to_have_text("已过期")
    assert_readable(wang, "search")
    shot(wang, "26-search-expired")

    # Reports: the summary table as XLSX and CSV, with the rows the person sees.
    wang.goto("/reports")
    assert_readable(wang, "reports")
    shot(wang, "27-reports")
    wang.select_option("#s-kind", "supplier")
    name, content = download(wang, "#summary-xlsx")
    assert name.endswith(".xlsx") and "供应商汇总表" in name
    rows = sheet_rows(content)
    assert rows[0][0] == "供应商汇总表"
    header = rows.index(["序号", "供应商/客户", "企业法人", "联系人", "联系电话", "联系邮件", "合作内容", "备注"])
    assert rows[header + 1][:7] == ["1", PARTNER, "林建华", "陈小明", "0591-87654321", "chenxm@minjiang-scm.cn", "离心水泵、闸阀"]
    name, content = download(wang, "#summary-csv")
    rows = csv_rows(content)
    assert name.endswith(".csv") and [PARTNER, "林建华"] == rows[-1][1:3]

    # 基本资料登记表 as DOCX, for the chosen partner.
    chosen = wang.eval_on_selector(
        "#r-partner", "(s, name) => [...s.options].find(o => o.text.startsWith(name)).value", PARTNER
    )
    wang.select_option("#r-partner", chosen)
    name, content = download(wang, "#registration-docx")
    assert name.endswith(".docx")
    form = docx.Document(io.BytesIO(content))
    cells = {row.cells[0].text: row.cells[1].text for row in form.tables[0].rows}
    assert cells["企业名称"] == PARTNER and cells["经办人"] == "wang.fang"
    assert cells["银行账户"] == "中国工商银行福州鼓楼支行 1402023109600123456"
    assert "有效营业执照：已存档" in cells["营业执照"]

    # The annual review, in the page and as XLSX: the certificate expired long ago.
    year = datetime.now(shanghai).year
    wang.click("#annual-form button.primary")
    expect(wang.locator("h1")).to_have_text(f"{year} 年度年审")
    expect(wang.locator(".department[data-department='采购部']")).to_contain_text("安全生产许可证（2024 版）")
    expect(wang.locator(".department[data-department='财务部']")).to_contain_text("已过期")
    expect(wang.locator("#n-incomplete")).to_have_text("1")
    expect(wang.locator(".department[data-department='采购部'] ul.incomplete")).to_contain_text("签约人身份证 缺失")
    assert_readable(wang, "annual review")
    shot(wang, "28-annual-review")
    name, content = download(wang, "#annual-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert {"缺营业执照", "缺银行信息", "资料不齐全", "即将到期", "到期日未知"} <= set(book.sheetnames)
    expiring = [[str(v) for v in row if v is not None] for row in book["即将到期"].iter_rows(values_only=True)]
    assert any("安全生产许可证（2024 版）" in row and "已过期" in row for row in expiring), expiring

    # The catalogue: filters, and the files it serves carry what the page lists.
    wang.goto("/catalogue")
    expect(wang.locator("#catalogue-total")).to_have_attribute("data-total", "3")
    wang.select_option("#c-type", "contract")
    wang.click("#catalogue-form button.primary")
    expect(wang.locator("#catalogue-total")).to_have_attribute("data-total", "1")
    expect(wang.locator("#catalogue tbody tr")).to_contain_text("采购合同 HT-2026-0042（离心水泵）")
    expect(wang.locator("#catalogue tbody tr")).to_contain_text("秘密")
    assert_readable(wang, "catalogue")
    shot(wang, "29-catalogue")
    name, content = download(wang, "#catalogue-xlsx")
    rows = sheet_rows(content)
    header = rows.index([c for c in rows if c and c[0] == "序号"][0])
    assert len(rows) == header + 2 and rows[header + 1][5] == "采购合同 HT-2026-0042（离心水泵）"
    assert rows[header + 1][9] == "秘密" and rows[header + 1][10] == "已入库"
    name, content = download(wang, "#catalogue-csv")
    rows = csv_rows(content)
    assert rows[-1][1].startswith("GYS-") and rows[-1][4] == "合同"
    assert rows[-1][7] == uploaded_at.astimezone(shanghai).date().isoformat()

    # The audit log: actions and targets by name, its filter in Chinese.
    wang.goto("/audit")
    options = wang.eval_on_selector_all("#a-action option", "os => os.map(o => o.textContent)")
    assert "修改文档" in options and "document_update" not in options
    wang.select_option("#a-action", label="修改文档")
    wang.click('form[action="/audit"] button')
    expect(wang.locator("table.audit tbody tr").first).to_contain_text("采购合同 HT-2026-0042（离心水泵）")
    assert_readable(wang, "audit")
    shot(wang, "30-audit-chinese")

    # Every page the office can reach by following links: no key, no raw id.
    visited = walk(wang, ["/search?q=营业执照", partner_url, f"/lookup?license_no={CREDIT_CODE}", "/reports/annual-review"])
    for expected in ("/documents/{id}", "/documents/{id}/edit", "/partners/{id}", "/reports/annual-review",
                     "/catalogue", "/audit", "/compliance", "/upload", "/lookup"):
        assert expected in visited, (expected, sorted(visited))

    # English on request.
    wang.goto(contract_url + "?lang=en")
    expect(wang.locator("table.readings tr[data-field='party_b'] th")).to_have_text("Party B")
    expect(wang.locator("#history")).to_contain_text("Change document")
    shot(wang, "31-document-english")
    wang.goto("/reports?lang=zh")
