"""The inboxes in a real browser: a destruction request that shows what it will destroy, a
confirmation before executing, the trace it leaves on the partner page and in the records;
a borrow inbox that shows who asks and for what, feedback on each decision, loans recalled;
failed uploads retried and removed; duplicates that stay said; expiry in days; a phone."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_office_pages import assert_readable, download
from tests.samples import CONTRACT_TEXT, encrypted_pdf, text_pdf

PARTNER = "福建省闽江供应链管理有限公司"


@pytest.fixture
def archive(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    """One supplier of 采购部 with two contracts whose 30 years ran out (one 秘密), and a current one."""
    partner = create_partner(PARTNER, "采购部")
    office = make_caller("registrar", roles="archivist", clearance="confidential")
    ids = {}
    for title, level, expires_on in (
        ("旧采购合同", "internal", "1990-01-01"),
        ("旧保密协议", "secret", "1989-06-30"),
        ("框架合同", "internal", "2030-12-31"),
    ):
        pdf = text_pdf(tmp_path / f"{title}.pdf", [f"{title}\n{CONTRACT_TEXT}"])
        response = upload(office, pdf, partner_id=partner["id"], confidentiality=level, title=title,
                          expires_on=expires_on)
        assert response.status_code == 202, response.text
        ids[title] = response.json()["id"]
    assert run_worker() == 3
    numbers = {title: client.get(f"/api/v1/documents/{i}", headers=office.headers).json()["archive_no"]
               for title, i in ids.items()}
    return {"partner": partner, "ids": ids, "numbers": numbers}


def test_destruction_shows_confirms_and_leaves_a_trace(new_context, archive) -> None:
    numbers = archive["numbers"]
    wang = sign_in(new_context(accept_downloads=True), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/destruction")
    eligible = wang.locator("#eligible")
    expect(eligible).to_contain_text(numbers["旧采购合同"])
    expect(eligible).to_contain_text(numbers["旧保密协议"])
    expect(eligible).not_to_contain_text(numbers["框架合同"])
    wang.check(f'#eligible input[aria-label="{numbers["旧采购合同"]}"]')
    wang.check(f'#eligible input[aria-label="{numbers["旧保密协议"]}"]')
    wang.fill("#d-reason", "保管期满，经鉴定无继续保存价值")
    wang.fill("#d-note", "鉴定小组 2026-12 审核")
    wang.click("text=申请销毁")
    expect(wang.locator("#notice")).to_have_text("已提交销毁申请（2 份文档），等待公司领导批准。")
    # Requested documents are no longer offered as eligible.
    expect(wang.locator("#eligible")).not_to_contain_text(numbers["旧采购合同"])
    request_row = wang.locator("#destruction-requests tr[data-status='pending']")
    expect(request_row).to_contain_text(f"{numbers['旧采购合同']} 旧采购合同")
    expect(request_row).to_contain_text(f"{numbers['旧保密协议']} 旧保密协议")
    assert_readable(wang, "destruction requested")
    shot(wang, "40-destruction-requested")

    # Another archivist whose clearance stops at 一般 sees the one, and only a count of the other.
    zhao = sign_in(new_context(), "zhao.lei", roles=("archivist",), clearance="internal")
    zhao.goto("/destruction")
    row = zhao.locator("#destruction-requests tr[data-status='pending']")
    expect(row).to_contain_text("旧采购合同")
    expect(row).not_to_contain_text("旧保密协议")
    expect(row).not_to_contain_text(numbers["旧保密协议"])
    expect(row).to_contain_text("另有 1 份您无权查看的文档")

    # The leader sees what will be destroyed, and approves.
    li = sign_in(new_context(), "li.ming", roles=("admin",), clearance="confidential")
    li.goto("/destruction")
    row = li.locator("#destruction-requests tr[data-status='pending']")
    expect(row).to_contain_text("旧保密协议")
    expect(row).to_contain_text("秘密")
    shot(li, "41-destruction-approval")
    row.locator("button", has_text="批准").click()
    expect(li.locator("#notice")).to_have_text("已批准销毁申请（2 份文档），档案室可以执行。")

    # 执行 asks first, listing what goes; nothing happens without the confirmation.
    wang.goto("/destruction")
    wang.click("text=执行…")
    expect(wang.locator("h1")).to_have_text("确认销毁")
    expect(wang.locator("#to-destroy")).to_contain_text(f"{numbers['旧采购合同']} 旧采购合同")
    expect(wang.locator("#to-destroy")).to_contain_text(f"{numbers['旧保密协议']} 旧保密协议")
    shot(wang, "42-destruction-confirm")
    wang.click("#execute")
    expect(wang.locator("h1")).to_have_text("确认销毁")  # the unticked box stops the form
    wang.check("#confirmed")
    wang.click("#execute")
    expect(wang.locator("#notice")).to_have_text("已销毁 2 份文档，销毁记录已保存。")
    expect(wang.locator("#destruction-requests tr[data-status='executed']")).to_contain_text("旧采购合同")
    shot(wang, "43-destruction-executed")

    # The partner page keeps a trace; a buyer of 采购部 (一般) sees only what was hers to see.
    wang.goto(f"/partners/{archive['partner']['id']}")
    trace = wang.locator("#destroyed")
    expect(trace).to_contain_text(numbers["旧采购合同"])
    expect(trace).to_contain_text(numbers["旧保密协议"])
    expect(trace).to_contain_text("保管期满，经鉴定无继续保存价值")
    expect(wang.locator("#partner-documents")).not_to_contain_text("旧采购合同")
    assert_readable(wang, "partner with destroyed documents")
    shot(wang, "44-partner-destroyed-trace")
    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    zhang.goto(f"/partners/{archive['partner']['id']}")
    expect(zhang.locator("#destroyed")).to_contain_text(numbers["旧采购合同"])
    expect(zhang.locator("#destroyed")).not_to_contain_text(numbers["旧保密协议"])

    # 销毁记录: in the page and as CSV and XLSX.
    wang.goto("/reports/destruction-records")
    expect(wang.locator("#records tbody tr")).to_have_count(2)
    assert_readable(wang, "destruction records")
    shot(wang, "45-destruction-records")
    name, content = download(wang, "#records-csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "序号")
    listed = {row[1]: row for row in rows[header + 1:]}
    assert set(listed) == {numbers["旧采购合同"], numbers["旧保密协议"]}
    assert listed[numbers["旧保密协议"]][5] == "秘密" and listed[numbers["旧保密协议"]][12] == "wang.fang"
    name, content = download(wang, "#records-xlsx")
    assert name.endswith(".xlsx") and content[:2] == b"PK"


def test_destruction_follows_the_retention_periods(
    new_context, client, archive, upload, make_caller, run_worker, tmp_path: Path
) -> None:
    """保管期限 by type (合同 30 years, 身份证 10), counted from the expiry; a type corrected in the
    edit form lengthens it, and the approver reads 档号 and 保管期限 in the request."""
    office = make_caller("registrar", roles="archivist", clearance="confidential")
    ids = {}
    for title, doc_type, expires_on in (
        ("法定代表人身份证", "id_card", "2012-01-01"),  # 定期10年: ran out on 2022-01-01
        ("旧营业执照", "business_license", "2000-01-01"),  # 定期30年: runs until 2030
        ("扫描件0007", "other", "2005-03-01"),  # filed as 其他 (10 years); in fact a contract
    ):
        pdf = text_pdf(tmp_path / f"{title}.pdf", [f"{title}\n{CONTRACT_TEXT}"])
        response = upload(office, pdf, partner_id=archive["partner"]["id"], doc_type=doc_type, title=title,
                          expires_on=expires_on)
        assert response.status_code == 202, response.text
        ids[title] = response.json()["id"]
    assert run_worker() == 3

    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/destruction")
    eligible = wang.locator("#eligible")
    card = eligible.locator(f"tr[data-id='{ids['法定代表人身份证']}']")
    expect(card.locator(".retention")).to_have_text("定期10年")
    expect(card).to_contain_text("2022-01-01")
    expect(card).to_contain_text("-D10-")  # its 档号
    contract = eligible.locator(f"tr[data-id='{archive['ids']['旧采购合同']}']")
    expect(contract.locator(".retention")).to_have_text("定期30年")
    expect(contract).to_contain_text("2020-01-01")
    expect(eligible).not_to_contain_text("旧营业执照")
    expect(eligible.locator(f"tr[data-id='{ids['扫描件0007']}']")).to_contain_text("2015-03-01")
    assert_readable(wang, "destruction eligible")
    shot(wang, "54-destruction-retention")

    # Corrected to 合同 in the form: 30 years now, no longer offered, the change in its history.
    wang.goto(f"/documents/{ids['扫描件0007']}/edit")
    expect(wang.locator("#edit-form")).to_contain_text("保管期限（现为定期10年）")
    wang.select_option("#e-type", "contract")
    wang.click('#edit-form button[type="submit"]')
    expect(wang.locator("#notice")).to_contain_text("已保存修改")
    expect(wang.locator("#history")).to_contain_text("保管期限：定期10年 → 定期30年")
    wang.goto("/destruction")
    expect(wang.locator("#eligible")).not_to_contain_text("扫描件0007")

    # The request shows the approver each document's 档号, 保管期限 and when it ran out.
    wang.check(f"#e-{ids['法定代表人身份证']}")
    wang.fill("#d-reason", "保管期满")
    wang.click("text=申请销毁")
    request_row = wang.locator("#destruction-requests tr[data-status='pending']")
    expect(request_row.locator(".retention")).to_contain_text("保管期限 定期10年 · 保管期满 2022-01-01")
    expect(request_row.locator(".retention")).to_contain_text("档号 ")
    assert_readable(wang, "destruction request with retention")
    shot(wang, "55-destruction-request-retention")


def test_borrow_inbox_shows_who_and_what_and_recalls(new_context, archive) -> None:
    numbers = archive["numbers"]
    na = sign_in(new_context(), "li.na", departments="销售部")
    # Registering a partner, she picks among her own departments only.
    na.goto("/partners")
    options = na.eval_on_selector_all("#p-dept option", "os => os.map(o => o.value)")
    assert options == ["销售部"], options
    na.goto(f"/borrowing?doc={numbers['框架合同']}")
    na.fill("#b-reason", "核对供货条款")
    na.click('form[action="/borrowing"] button[type="submit"]')
    expect(na.locator("#notice")).to_have_text("已提交借阅申请（1 份文档），等待档案室审批。")
    expect(na.locator("#my-requests .status")).to_have_text("待审批")

    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/borrowing")
    row = wang.locator("#borrow-inbox tr[data-request]")
    expect(row.locator(".requester-departments")).to_have_text("销售部")
    expect(row).to_contain_text(f"{numbers['框架合同']} 框架合同")
    expect(row).to_contain_text("采购部")
    expect(row).to_contain_text("密级 一般")
    assert_readable(wang, "borrow inbox")
    shot(wang, "46-borrow-inbox")
    row.locator("input[name=note]").fill("同意，7 天内归还")
    row.locator("button", has_text="批准").click()
    expect(wang.locator("#notice")).to_contain_text("已批准 li.na 的借阅申请（1 份文档），借阅至 ")
    loan = wang.locator("#on-loan tr[data-request]")
    expect(loan).to_contain_text("li.na")
    expect(loan).to_contain_text("框架合同")
    shot(wang, "47-on-loan")

    document_url = f"/documents/{archive['ids']['框架合同']}"
    assert na.goto(document_url).status == 200  # type: ignore[union-attr]
    wang.once("dialog", lambda dialog: dialog.accept())
    loan.locator("button", has_text="收回").click()
    expect(wang.locator("#notice")).to_have_text("已收回 li.na 借阅的 1 份文档，其访问权限已终止。")
    expect(wang.locator("#on-loan tr[data-request]")).to_have_count(0)
    assert na.goto(document_url).status == 404  # type: ignore[union-attr]
    na.goto("/borrowing")
    expect(na.locator("#my-requests .status")).to_have_text("已收回")
    shot(na, "48-loan-recalled")


def test_failed_uploads_retry_remove_and_duplicates(new_context, archive, run_worker, tmp_path: Path) -> None:
    broken = encrypted_pdf(tmp_path / "加密的合同.pdf")
    fine = text_pdf(tmp_path / "补充协议.pdf", ["补充协议\n合同编号：BC-2026-0007\n甲方：" + PARTNER])
    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto(f"/upload?partner_id={archive['partner']['id']}")
    wang.set_input_files("#files", [str(broken), str(fine)])
    expect(wang.locator("#upload-rows tr[data-id]")).to_have_count(2)
    run_worker()
    failed = wang.locator('#upload-rows tr[data-status="failed"]')
    expect(failed).to_have_count(1, timeout=30_000)
    expect(failed.locator(".state")).to_contain_text("加密")
    shot(wang, "49-upload-failed")

    # 重试 puts it back on the queue (it fails again, being encrypted), 移除 deletes it.
    failed.locator("button.retry").click()
    expect(wang.locator('#upload-rows tr[data-status="queued"], #upload-rows tr[data-status="processing"]')).to_have_count(1)
    run_worker()
    expect(wang.locator('#upload-rows tr[data-status="failed"]')).to_have_count(1, timeout=30_000)
    wang.once("dialog", lambda dialog: dialog.accept())
    wang.locator('#upload-rows tr[data-status="failed"] button.remove').click()
    expect(wang.locator('#upload-rows tr[data-status="removed"] .state')).to_have_text("已删除")
    wang.goto(f"/partners/{archive['partner']['id']}")
    expect(wang.locator("#partner-documents")).not_to_contain_text("加密的合同")

    # The same bytes again: the message says so and stays.
    wang.goto(f"/upload?partner_id={archive['partner']['id']}")
    wang.set_input_files("#files", str(fine))
    duplicate = wang.locator('#upload-rows tr[data-status="duplicate"]')
    expect(duplicate.locator(".state")).to_have_text("已存在相同文件，未重复保存（已入库）")
    wang.wait_for_timeout(2500)
    expect(duplicate.locator(".state")).to_have_text("已存在相同文件，未重复保存（已入库）")
    expect(duplicate.locator(".name a")).to_contain_text("BC-2026-0007")
    # A file refused at once can be sent again or taken off the list.
    transfer = wang.evaluate_handle(
        """() => { const dt = new DataTransfer();
             dt.items.add(new File(["不是 PDF"], "伪装.pdf", {type: "application/pdf"})); return dt; }"""
    )
    wang.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    refused = wang.locator('#upload-rows tr[data-status="failed"]')
    expect(refused.locator("button.retry")).to_be_visible()
    # The refusal in the page's language: the Chinese half of the server's message.
    expect(refused.locator(".state")).to_contain_text("不支持的文件类型")
    expect(refused.locator(".state")).not_to_contain_text("unsupported")
    shot(wang, "50-upload-duplicate-and-refused")
    refused.locator("button.remove").click()
    expect(wang.locator('#upload-rows tr[data-status="failed"]')).to_have_count(0)

    # From the document page: a failed document is retried, then removed, with feedback.
    wang.goto(f"/upload?partner_id={archive['partner']['id']}")
    wang.set_input_files("#files", str(broken))
    expect(wang.locator("#upload-rows tr[data-id]")).to_have_count(1)
    document_id = wang.locator("#upload-rows tr[data-id]").get_attribute("data-id")
    run_worker()
    wang.goto(f"/documents/{document_id}")
    expect(wang.locator("#failed-box")).to_contain_text("加密")
    assert "(" not in wang.inner_text("#failed-box p")  # the Chinese half of the message
    shot(wang, "51-document-failed")
    wang.click("#retry")
    expect(wang.locator("#notice")).to_have_text("已重新排队处理。")
    run_worker()
    wang.reload()
    wang.once("dialog", lambda dialog: dialog.accept())
    wang.click("#remove")
    expect(wang.locator("#notice")).to_contain_text("已删除失败的上传 ")
    assert wang.goto(f"/documents/{document_id}").status == 404  # type: ignore[union-attr]

    # The uploader who is not of the archive office is told whom to ask.
    zhang = sign_in(new_context(), "zhang.wei", departments="采购部")
    zhang.goto(f"/upload?partner_id={archive['partner']['id']}")
    zhang.set_input_files("#files", str(encrypted_pdf(tmp_path / "另一份加密.pdf", user_password="x")))
    expect(zhang.locator("#upload-rows tr[data-id]")).to_have_count(1)
    run_worker()
    expect(zhang.locator('#upload-rows tr[data-status="failed"] .state')).to_contain_text("请联系档案管理员")


def test_expiry_in_days_and_a_phone(new_context, client, archive, upload, make_caller, run_worker, settings,
                                    tmp_path: Path) -> None:
    expired_on = settings.today() - timedelta(days=45)
    office = make_caller("registrar", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "营业执照副本.pdf", ["营业执照\n名称 " + PARTNER])
    response = upload(office, pdf, partner_id=archive["partner"]["id"], doc_type="business_license",
                      title="营业执照副本", expires_on=expired_on.isoformat())
    assert response.status_code == 202
    # One due soon: the tallest bar of the chart, whose count label is the one that was cut off.
    letter = text_pdf(tmp_path / "开户证明.pdf", ["银行账户信息确认函\n户名：" + PARTNER])
    response = upload(office, letter, partner_id=archive["partner"]["id"], doc_type="bank_account",
                      title="开户证明", expires_on=(settings.today() + timedelta(days=20)).isoformat())
    assert response.status_code == 202
    run_worker()

    he = sign_in(new_context(accept_downloads=True), "he.min", roles=("compliance",), clearance="secret")
    he.goto("/compliance")
    row = he.locator("tr.expired", has_text="营业执照副本")
    expect(row).to_contain_text("已过期 45 天")
    assert "-45" not in he.inner_text("body")
    shot(he, "52-compliance-expired-days")
    name, content = download(he, "a.button >> nth=0")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    by_title = {r[3]: r for r in rows[1:]}
    assert by_title["营业执照副本"][7] == "是"

    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = sign_in(phone, "he.min", roles=("compliance",), clearance="secret")
    mobile.goto("/compliance")
    name_box = mobile.locator(".who .user .sub").bounding_box()
    assert name_box is not None and name_box["width"] > 0 and name_box["x"] + name_box["width"] <= 390
    expect(mobile.locator(".who .user .sub")).to_have_text("he.min")
    chart = mobile.locator(".chart").bounding_box()
    assert chart is not None
    labels = mobile.locator(".chart text.val").all()
    assert labels
    for label in labels:
        box = label.bounding_box()
        assert box is not None and box["y"] >= chart["y"] and box["y"] + box["height"] <= chart["y"] + chart["height"]
    too_wide = mobile.evaluate(
        """() => [...document.querySelectorAll("body *")]
             .filter(e => e.getBoundingClientRect().right > 391 && !e.closest(".scroll"))
             .map(e => e.tagName + "." + e.className + "#" + e.id).slice(0, 5)"""
    )
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390, too_wide
    shot(mobile, "53-phone-compliance")


def test_a_reading_that_disagrees_with_the_partner_is_not_shown_as_fact(
    new_context, archive, create_partner, upload, make_caller, run_worker, tmp_path: Path
) -> None:
    """A contract filed under a partner who is neither 甲方 nor 乙方: both parties 需核对, with why."""
    other = create_partner("泉州海丝贸易有限公司", "采购部")
    office = make_caller("registrar", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "误归档合同.pdf", [CONTRACT_TEXT])
    response = upload(office, pdf, partner_id=other["id"])
    assert response.status_code == 202, response.text
    assert run_worker() == 1
    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto(f"/documents/{response.json()['id']}")
    readings = wang.locator("table.readings")
    for party in ("party_a", "party_b"):
        row = readings.locator(f'tr[data-field="{party}"]')
        expect(row.locator(".badge")).to_have_text("需核对")
        expect(row.locator(".notes")).to_contain_text("中没有客商「泉州海丝贸易有限公司」")
        # A row of the table still (the review queue's `.review` layout once turned it into a grid).
        expect(row).to_have_css("display", "table-row")
    # The 四性检测 evidence in the page's language: no English in brackets after the Chinese.
    expect(wang.locator('#check-items tr[data-code="GD-1-1.1"] .evidence')).not_to_contain_text("both digests match")
    # The contract number is read and plain; it carries no warning.
    expect(readings.locator('tr[data-field="contract_no"] .badge')).not_to_have_text("需核对")
    assert_readable(wang, "contract of another partner")
    shot(wang, "56-document-party-mismatch")


def test_the_office_pages_on_a_phone(new_context, archive) -> None:
    """At 390 px every office page keeps the user's name in view and nothing runs off the side."""
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    wang = sign_in(phone, "wang.fang", roles=("archivist",), clearance="confidential")
    pages = {
        "partner": f"/partners/{archive['partner']['id']}",
        "document": f"/documents/{archive['ids']['框架合同']}",
        "document-edit": f"/documents/{archive['ids']['框架合同']}/edit",
        "destruction": "/destruction",
        "borrowing": "/borrowing",
        "reports": "/reports",
        "catalogue": "/catalogue",
        "audit": "/audit",
        "upload": f"/upload?partner_id={archive['partner']['id']}",
    }
    for name, url in pages.items():
        wang.goto(url)
        box = wang.locator(".who .user .sub").bounding_box()
        assert box is not None and box["width"] > 0 and box["x"] + box["width"] <= 390, (name, box)
        # The menu under the name across the width, not a tall column beside it (it took 290 px).
        header = wang.locator("header.top").bounding_box()
        assert header is not None and header["height"] <= 130, (name, header)
        overflowing = wang.evaluate(
            """() => [...document.querySelectorAll("body *")]
                 .filter(e => e.getBoundingClientRect().right > 391 && !e.closest(".scroll"))
                 .map(e => e.tagName + "." + e.className + "#" + e.id).slice(0, 5)"""
        )
        assert wang.evaluate("document.documentElement.scrollWidth") <= 390, (name, overflowing)
        shot(wang, f"57-phone-{name}", full_page=False)
