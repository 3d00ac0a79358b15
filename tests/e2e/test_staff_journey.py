"""Two staff of different departments, the archive office and compliance, in a real browser:
upload a Chinese scan, see it indexed, find it, not find it from the other department,
borrow it, approve the loan, and see access appear."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in
from tests.samples import CONTRACT_TEXT, CREDIT_CODE, scan_image

PARTNER = "福建省闽江供应链管理有限公司"


def test_upload_search_borrow_and_office_pages(new_context, run_worker, tmp_path: Path) -> None:
    # Named so that the title does not contain the word searched: the hit comes from the OCR text.
    scan = scan_image(tmp_path / "扫描件-0042.png", CONTRACT_TEXT)
    expires_on = (datetime.now(UTC).date() + timedelta(days=45)).isoformat()

    # 张伟 of 采购部 registers the supplier through the form.
    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    shot(zhang, "01-search-empty")
    zhang.goto("/partners")
    zhang.click("text=登记客商 >> nth=1")
    zhang.fill("#p-name", PARTNER)
    zhang.select_option("#p-kind", "supplier")
    zhang.select_option("#p-dept", "采购部")
    zhang.fill("#p-code", CREDIT_CODE)
    zhang.fill("#p-legal", "林建华")
    zhang.click('form[action="/partners"] button[type="submit"]')
    expect(zhang.locator("h1")).to_have_text(PARTNER)
    partner_url = zhang.url
    # A buyer's registration waits for the department head (建档审批), who approves it in the inbox.
    expect(zhang.locator("#partner-status")).to_have_text("待审批")
    assert "GYS-" not in zhang.inner_text(".grid")
    zhou = sign_in(new_context(), "zhou.min", roles=("manager",), departments="采购部")
    zhou.goto("/inbox")
    pending = zhou.locator("#pending-partners tr[data-partner]")
    expect(pending).to_have_count(1)
    pending.locator("input[name=comment]").fill("资料齐全，同意建档")
    pending.locator("button", has_text="批准建档").click()
    expect(zhou.locator("#pending-partners tr[data-partner]")).to_have_count(0)
    zhang.reload()
    expect(zhang.locator("#partner-status")).to_have_text("合作中")
    assert "GYS-" in zhang.inner_text(".grid")

    # Upload: the file input and a dropped file, each with its own progress and status.
    zhang.click("text=上传文档")
    zhang.select_option("#doc_type", "contract")
    zhang.select_option("#confidentiality", "internal")
    zhang.fill("#expires_on", expires_on)
    zhang.set_input_files("#files", str(scan))
    zhang.wait_for_selector("#upload-rows tr[data-id]")
    _drop_file(zhang, "伪装的合同.pdf", "这不是 PDF，只是文字。")
    failed = zhang.locator('#upload-rows tr[data-status="failed"]')
    expect(failed).to_have_count(1)
    expect(failed.locator(".state")).to_contain_text("PDF")
    assert run_worker() >= 1
    indexed = zhang.locator('#upload-rows tr[data-status="indexed"]')
    expect(indexed).to_have_count(1, timeout=60_000)
    expect(indexed.locator(".state")).to_have_text("已入库")
    assert zhang.locator("#upload-rows").get_attribute("aria-live") == "polite"
    shot(zhang, "02-upload-indexed")

    # A Chinese word finds it, highlighted.
    zhang.goto("/search")
    zhang.fill("#q", "离心水泵")
    zhang.press("#q", "Enter")
    expect(zhang.locator("#total")).to_have_attribute("data-total", "1")
    expect(zhang.locator(".snippet em").first).to_contain_text("离心水泵")
    assert zhang.locator(".facets").inner_text().count("合同") >= 1
    shot(zhang, "03-search-hit")

    zhang.click(".hit h3 a")
    # Uploaded without a title: named from what was read, not after the file.
    expect(zhang.locator("h1")).to_have_text("采购合同 HT-2026-0042")
    image = zhang.locator(".page img").first
    image.scroll_into_view_if_needed()
    zhang.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert 700 < image.evaluate("img => img.naturalWidth") < 1000  # A4 at ~100 dpi
    expect(zhang.locator(".pagetext pre").first).to_contain_text("离心水泵")
    archive_no = re.search(r"GYS-\S+", zhang.inner_text(".crumbs")).group(0)  # type: ignore[union-attr]
    document_url = zhang.url
    shot(zhang, "04-document")

    # 李娜 of 销售部 does not see it, not even by its address.
    li = sign_in(new_context(), "li.na", departments="销售部")
    li.goto("/search?q=" + "离心水泵")
    expect(li.locator("#total")).to_have_attribute("data-total", "0")
    shot(li, "05-other-department-sees-nothing")
    assert li.goto(document_url).status == 404  # type: ignore[union-attr]
    assert li.request.get(document_url + "/pages/1.png").status == 404

    # She asks to borrow it by its archive number.
    li.goto("/borrowing")
    li.fill("#b-docs", archive_no)
    li.fill("#b-reason", "核对供货条款")
    li.fill("#b-days", "7")
    li.click('form[action="/borrowing"] button[type="submit"]')
    expect(li.locator("#my-requests .status")).to_have_text("待审批")
    shot(li, "06-borrow-requested")

    # 王芳 of the archive office approves it in her inbox.
    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/borrowing")
    row = wang.locator("#borrow-inbox tr[data-request]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("li.na")
    shot(wang, "07-borrow-inbox")
    row.locator("input[name=note]").fill("同意，7 天内归还")
    row.locator("button", has_text="批准").click()
    expect(wang.locator("#borrow-inbox tr[data-request]")).to_have_count(0)

    # Access appears for 李娜.
    li.goto("/search?q=" + "离心水泵")
    expect(li.locator("#total")).to_have_attribute("data-total", "1")
    li.click(".hit h3 a")
    expect(li.locator("h1")).to_have_text("采购合同 HT-2026-0042")
    shot(li, "08-borrowed-document")
    li.goto("/borrowing")
    expect(li.locator("#my-requests .status")).to_have_text("已批准")

    # The archive office's other pages.
    wang.goto("/partners")
    wang.fill("#license_no", CREDIT_CODE[:6] + " " + CREDIT_CODE[6:].lower())
    wang.click('form[action="/lookup"] button')
    expect(wang.locator("h2 a")).to_have_text(PARTNER)
    expect(wang.locator("tbody")).to_contain_text(archive_no)
    shot(wang, "09-lookup")
    wang.goto(partner_url)
    expect(wang.locator("tbody").first).to_contain_text(archive_no)
    shot(wang, "10-partner")
    wang.goto("/audit?user=li.na")
    expect(wang.locator("table.audit")).to_contain_text("借阅申请")
    shot(wang, "11-audit")
    wang.goto("/destruction")
    shot(wang, "12-destruction")

    # Compliance: the expiry dashboard and its CSV.
    he = sign_in(new_context(), "he.min", roles=("compliance",), clearance="secret")
    he.goto("/compliance")
    expect(he.locator("#count-d60")).to_have_text("1")
    expect(he.locator(".chart rect")).to_have_count(12)
    shot(he, "13-compliance")
    response = he.request.get("/compliance/expiring.csv?within_days=60")
    assert response.status == 200
    rows = list(csv.reader(io.StringIO(response.body().decode("utf-8-sig"))))
    assert rows[0][0] == "档案编号" and rows[1][0] == archive_no and rows[1][1] == PARTNER

    # English, and a phone's width.
    he.goto("/compliance?lang=en")
    expect(he.locator("h1")).to_have_text("Expiry dashboard")
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = sign_in(phone, "zhang.wei", departments="采购部")
    mobile.goto("/search?q=" + "离心水泵")
    expect(mobile.locator("#total")).to_have_attribute("data-total", "1")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shot(mobile, "14-phone-search")

    # Sign-out clears the session.
    zhang.click("text=退出")
    zhang.wait_for_url("**/login")
    zhang.goto("/search")
    assert "/login" in zhang.url


def _drop_file(page, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Drop a file on the drop zone, as dragging one from the desktop does."""
    transfer = page.evaluate_handle(
        """([name, text]) => { const dt = new DataTransfer();
             dt.items.add(new File([text], name, {type: "application/pdf"})); return dt; }""",
        [name, text],
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
