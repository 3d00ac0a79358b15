"""Issue 12 in a real browser: the destruction buttons end to end, lists that leave out what a
low-clearance archivist may not see, ID numbers masked on the document page and blacked out
on its image, and a loan inbox that names only what the approver reaches."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in
from tests.samples import text_pdf

CANARY_TITLE = "金丝雀绝密协议"
MISREAD = "350102198506123012"


def _archive(tmp_path: Path, create_partner, upload, run_worker, make_caller):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    ids = {}
    for key, title, level in (("plain", "普通采购合同", "internal"), ("canary", CANARY_TITLE, "confidential")):
        pdf = text_pdf(tmp_path / f"{key}.pdf", [f"{title}\n离心水泵二十台。"])
        response = upload(office, pdf, partner_id=partner["id"], confidentiality=level, title=title,
                          expires_on="1990-01-01")
        assert response.status_code == 202, response.text
        ids[key] = response.json()
    assert run_worker() == 2
    return partner, ids


def test_destruction_buttons_from_proposal_to_execution(
    new_context, tmp_path, create_partner, upload, run_worker, make_caller, client
) -> None:
    _partner, ids = _archive(tmp_path, create_partner, upload, run_worker, make_caller)

    # An archivist cleared to 一般 sees what is due, without the confidential canary.
    low = sign_in(new_context(), "xu.dang", roles=("archivist",), clearance="internal")
    low.goto("/destruction")
    expect(low.locator("main")).to_contain_text(ids["plain"]["archive_no"])
    expect(low.locator("main")).not_to_contain_text(CANARY_TITLE)
    shot(low, "security-01-destruction-low-clearance")

    chen = sign_in(new_context(), "chen.dang", roles=("archivist",), clearance="confidential")
    chen.goto("/destruction")
    chen.check(f'input[name="document_ids"][value="{ids["plain"]["id"]}"]')
    chen.fill("#d-reason", "保管期满，经鉴定无保存价值")
    chen.click('form[action="/destruction"] button[type="submit"]')
    expect(chen.locator(".status-pending")).to_have_count(1)

    lin = sign_in(new_context(), "lin.zong", roles=("admin",), clearance="confidential")
    lin.goto("/destruction")
    lin.locator("button", has_text="批准").click()
    expect(lin.locator(".status-approved")).to_have_count(1)

    chen.goto("/destruction")
    chen.locator("a", has_text="执行").click()
    # The confirmation lists what goes; nothing is destroyed until it is ticked and confirmed.
    chen.check("#confirmed")
    chen.click("#execute")
    expect(chen.locator(".status-executed")).to_have_count(1)
    shot(chen, "security-02-destruction-executed")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    assert client.get(f"/api/v1/documents/{ids['plain']['id']}", headers=office.headers).status_code == 404

    # The audit log from a date, as the date picker sends it; the low archivist's shows no canary.
    low.goto("/audit")
    low.fill("#a-since", "2026-01-01")
    low.click('form[action="/audit"] button[type="submit"]')
    expect(low.locator("table.audit")).to_contain_text("执行销毁")
    expect(low.locator("table.audit")).not_to_contain_text(ids["canary"]["id"])
    shot(low, "security-03-audit-since-a-date")


def test_id_numbers_are_masked_on_the_page_and_blacked_out_on_its_image(
    new_context, tmp_path, create_partner, upload, run_worker, make_caller
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    card = text_pdf(tmp_path / "card.pdf", [f"姓名 林建华\n公民身份号码 {MISREAD}\n住址 福州市鼓楼区五四路158号"])
    document_id = upload(buyer, card, partner_id=partner["id"], doc_type="id_card", title="法人身份证").json()["id"]
    assert run_worker() == 1

    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    zhang.goto(f"/documents/{document_id}")
    expect(zhang.locator(".pagetext pre").first).to_contain_text("350102********3012")
    expect(zhang.locator("main")).not_to_contain_text("19850612")
    expect(zhang.locator("main")).not_to_contain_text("下载原件")
    image = zhang.locator(".page img").first
    image.scroll_into_view_if_needed()
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 500
    shot(zhang, "security-04-id-card-masked")

    chen = sign_in(new_context(), "chen.dang", roles=("archivist",), clearance="confidential")
    chen.goto(f"/documents/{document_id}")
    expect(chen.locator(".pagetext pre").first).to_contain_text(MISREAD)
    expect(chen.locator("main")).to_contain_text("下载原件")
    shot(chen, "security-05-id-card-archivist")


def test_a_loan_inbox_names_only_what_the_approver_reaches(
    new_context, tmp_path, create_partner, upload, run_worker, make_caller
) -> None:
    _partner, ids = _archive(tmp_path, create_partner, upload, run_worker, make_caller)
    li = sign_in(new_context(), "li.na", departments="销售部")
    li.goto("/borrowing")
    li.fill("#b-docs", f"{ids['canary']['archive_no']}\n{ids['plain']['archive_no']}")
    li.fill("#b-reason", "核对供货条款")
    li.click('form[action="/borrowing"] button[type="submit"]')
    expect(li.locator("#my-requests .status")).to_have_text("待审批")

    low = sign_in(new_context(), "xu.dang", roles=("archivist",), clearance="internal")
    low.goto("/borrowing")
    row = low.locator("#borrow-inbox tr[data-request]")
    expect(row).to_contain_text("普通采购合同")
    expect(row).to_contain_text("另有 1 份您无权查看的文档")
    expect(row).not_to_contain_text(ids["canary"]["archive_no"])
    expect(row).not_to_contain_text(CANARY_TITLE)
    shot(low, "security-06-loan-inbox-low-clearance")
    row.locator("button", has_text="批准").click()
    expect(low.locator("main")).to_contain_text("超出您的权限范围")
