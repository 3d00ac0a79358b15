"""A partner's life in a real browser: a buyer registers a supplier and records a visit; the
department head approves it, confirms a bank change and decides a suspension proposal in the
inbox; the partner page shows status with history, completeness, relationship records and the
evaluation history; the incomplete list and the record search find what they should."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, shot, sign_in
from tests.samples import CREDIT_CODE, LICENCE_TEXT, text_pdf

SUPPLIER = "厦门鹭岛机电设备有限公司"
NEWCOMER = "漳州南山物流有限公司"
ID_CARD = (
    "姓名 陈小明\n性别 男  民族 汉\n出生 1985年3月7日\n住址 福建省福州市鼓楼区五四路158号\n"
    "公民身份号码 350102198503071236\n中华人民共和国\n居民身份证\n签发机关 福州市公安局鼓楼分局\n"
    "有效期限 2015.03.11-2035.03.11"
)


def _submit(page: Page, selector: str) -> None:
    """Click a form's button and wait for the page it leads to (which may have the same URL)."""
    with page.expect_navigation():
        page.click(selector)


def _register(page: Page, name: str, **fields: str) -> str:
    page.goto("/partners")
    page.click("text=登记客商 >> nth=1")
    page.fill("#p-name", name)
    page.select_option("#p-kind", "supplier")
    page.select_option("#p-dept", "采购部")
    for selector, value in fields.items():
        page.fill(f"#{selector}", value)
    page.click('form[action="/partners"] button[type="submit"]')
    expect(page.locator("h1")).to_have_text(name)
    return page.url


def _upload(page: Page, partner_url: str, path: Path, doc_type: str) -> None:
    page.goto(partner_url)
    page.click("text=上传文档")
    page.select_option("#doc_type", doc_type)
    page.set_input_files("#files", str(path))
    expect(page.locator("#upload-rows tr[data-id]")).to_have_count(1)


def test_partner_life_in_the_browser(new_context, run_worker, tmp_path: Path) -> None:
    office = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    supplier_url = _register(office, SUPPLIER, **{"p-code": CREDIT_CODE, "p-legal": "林建华"})
    expect(office.locator("#partner-status")).to_have_text("合作中")
    _upload(office, supplier_url, text_pdf(tmp_path / "营业执照.pdf", [LICENCE_TEXT]), "business_license")
    _upload(office, supplier_url, text_pdf(tmp_path / "身份证.pdf", [ID_CARD]), "id_card")
    run_worker()

    # 张伟 registers a newcomer (pending), and works on the supplier: a visit with its minutes
    # attached, a complaint, a bank change (waits for a second person), a poor evaluation.
    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    newcomer_url = _register(zhang, NEWCOMER, **{"p-legal": "许国栋"})
    expect(zhang.locator("#partner-status")).to_have_text("待审批")
    zhang.goto(supplier_url)
    minutes = text_pdf(tmp_path / "走访纪要.pdf", ["走访纪要\n查看离心水泵装配线，对方承诺十二月起按周交付。"])
    for day, kind, summary, attachment in (
        ("2026-11-05", "complaint", "十一月批次闸阀渗漏，已要求三日内更换。", None),
        ("2026-11-20", "visit", "上门走访，查看离心水泵装配线，交付计划可行。", minutes),
    ):
        if zhang.locator("#add-record").get_attribute("open") is None:
            zhang.locator("#add-record summary").click()
        zhang.fill("#r-date", day)
        zhang.select_option("#r-kind", kind)
        zhang.fill("#r-people", "张伟、厂长黄志强")
        zhang.fill("#r-summary", summary)
        if attachment:
            zhang.set_input_files("#r-file", str(attachment))
        _submit(zhang, '#add-record button[type="submit"]')
    rows = zhang.locator("#records tr[data-record]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("投诉")  # in the order they happened
    expect(rows.nth(1)).to_contain_text("走访记录附件")
    zhang.locator("#edit-partner summary").click()
    zhang.fill("#edit-bank_account", "6222 0200 0000 0001")
    zhang.fill("#edit-phone", "0592-5678901")
    _submit(zhang, '#edit-partner button[type="submit"]')
    expect(zhang.locator(".pending-change")).to_contain_text("6222 0200 0000 0001")
    for period, scores, notes in (("2025年度", ("88", "92", "85"), "交付准时"),
                                  ("2026年度", ("52", "60", "70"), "渗漏问题整改缓慢")):
        zhang.locator("#add-evaluation summary").click()
        zhang.fill("#e-period", period)
        for field, score in zip(("#e-quality", "#e-delivery", "#e-service"), scores, strict=True):
            zhang.fill(field, score)
        zhang.fill("#e-notes", notes)
        _submit(zhang, '#add-evaluation button[type="submit"]')
    expect(zhang.locator("#evaluations tbody tr")).to_have_count(2)
    # Newest first; only the poor one is marked (and proposes suspension).
    expect(zhang.locator("#evaluations tbody tr").nth(0)).to_contain_text("2026年度")
    expect(zhang.locator("#evaluations .error")).to_have_text("58.0")
    office.goto(supplier_url)
    office.locator("#add-rating summary").click()
    office.select_option("#g-rating", "B")
    office.fill("#g-reason", "年度复评：质量问题待整改")
    _submit(office, '#add-rating button[type="submit"]')
    expect(office.locator("#ratings tbody tr")).to_contain_text("年度复评")
    run_worker()

    # 周敏, head of 采购部: everything waiting for her in one inbox.
    zhou = sign_in(new_context(), "zhou.min", roles=("manager",), departments="采购部")
    zhou.goto("/inbox")
    expect(zhou.locator("#pending-partners tr[data-partner]")).to_have_count(1)
    expect(zhou.locator("#pending-changes tr[data-change]")).to_contain_text("6222 0200 0000 0001")
    expect(zhou.locator("#suspension-proposals tr[data-proposal]")).to_contain_text("58.0")
    shot(zhou, "partner-life-01-manager-inbox")

    newcomer = zhou.locator("#pending-partners tr[data-partner]")
    newcomer.locator("input[name=comment]").fill("经营范围相符，同意建档")
    with zhou.expect_navigation():
        newcomer.locator("button", has_text="批准建档").click()
    expect(zhou.locator("#pending-partners tr[data-partner]")).to_have_count(0)
    change = zhou.locator("#pending-changes tr[data-change]")
    change.locator("input[name=note]").fill("已电话核实开户许可证")
    with zhou.expect_navigation():
        change.locator("button", has_text="确认生效").click()
    expect(zhou.locator("#pending-changes tr[data-change]")).to_have_count(0)
    proposal = zhou.locator("#suspension-proposals tr[data-proposal]")
    proposal.locator("input[name=note]").fill("整改期间暂停下单")
    with zhou.expect_navigation():
        proposal.locator("button", has_text="暂停合作").click()
    expect(zhou.locator("#suspension-proposals tr[data-proposal]")).to_have_count(0)

    # The partner page: status and its history, completeness, records, evaluations.
    zhou.goto(supplier_url)
    expect(zhou.locator("#partner-status")).to_have_text("暂停")
    history = zhou.locator("#status-history tbody tr")
    expect(history.nth(0)).to_contain_text("采纳暂停建议")
    expect(history.nth(0)).to_contain_text("整改期间暂停下单")
    expect(zhou.locator('#completeness tr[data-item="business_license"]')).to_contain_text("已具备")
    expect(zhou.locator('#completeness tr[data-item="signatory_id_card"]')).to_contain_text("已具备")
    expect(zhou.locator('#completeness tr[data-item="authorization"]')).to_contain_text("缺失")
    expect(zhou.locator('#completeness tr[data-item="authorization"]')).to_contain_text("陈小明")
    expect(zhou.locator('#completeness tr[data-item="bank_account"]')).to_contain_text("已具备")
    expect(zhou.locator("#records tr[data-record]")).to_have_count(2)
    shot(zhou, "partner-life-02-partner-page")
    zhou.locator("#life-evaluations").screenshot(path=str(SCREENSHOTS / "partner-life-03-evaluation-history.png"))
    # She resumes cooperation once the leak is fixed: a reason is required and kept.
    zhou.select_option("#new-status", "active")
    zhou.fill("#status-reason", "整改完成，恢复合作")
    _submit(zhou, '#status-form button[type="submit"]')
    expect(zhou.locator("#partner-status")).to_have_text("合作中")
    expect(zhou.locator("#status-history tbody tr").nth(0)).to_contain_text("整改完成，恢复合作")
    # The change history shows both people.
    expect(zhou.locator("text=复核：zhou.min")).to_have_count(1)

    # The newcomer now has its archive number; the incomplete list names both partners.
    zhang.goto(newcomer_url)
    expect(zhang.locator("#partner-status")).to_have_text("合作中")
    assert f"GYS-{date.today().year}-000002" in zhang.inner_text(".grid")
    zhou.goto("/completeness")
    table = zhou.locator('table.incomplete[data-department="采购部"]')
    expect(table.locator("tr[data-partner]")).to_have_count(2)
    expect(table).to_contain_text(NEWCOMER)
    shot(zhou, "partner-life-04-incomplete-list")

    # Records are searched in full text under the visibility rule.
    zhou.goto("/records?q=" + "装配线")
    expect(zhou.locator("#records-total")).to_have_attribute("data-total", "1")
    expect(zhou.locator(".snippet em").first).to_contain_text("装配线")
    shot(zhou, "partner-life-05-record-search")
    li = sign_in(new_context(), "li.na", departments="销售部")
    li.goto("/records?q=" + "装配线")
    expect(li.locator("#records-total")).to_have_attribute("data-total", "0")
    # The attachment's own text is found by the document search.
    zhou.goto("/search?q=" + "按周交付")
    expect(zhou.locator("#total")).to_have_attribute("data-total", "1")

    # In English too.
    zhou.goto("/inbox?lang=en")
    expect(zhou.locator("h1")).to_have_text("Inbox")
