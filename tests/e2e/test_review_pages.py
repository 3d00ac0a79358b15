"""The review queue and `expiry_unknown` in a real browser: compliance sees what is unknown and
how much waits per department; the archive office accepts, corrects and marks not present,
each beside the page the value was read from."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import expect

from archive.auth import mint_token
from tests.e2e.conftest import shot, sign_in
from tests.review_samples import ID_CARD_WITHOUT_TERM, PARTNER
from tests.samples import LICENCE_TEXT, scan_image, text_pdf

# Keys a person must never read on these pages (their Chinese labels stand instead).
FIELD_KEYS = ("legal_representative", "expires_on", "company_type", "needs_review", "not_present", "id_card")


def _api(server: str, settings, sub: str, roles: list[str], departments: list[str]) -> httpx.Client:  # type: ignore[no-untyped-def]
    token = mint_token(settings, sub=sub, roles=roles, departments=departments, clearance="confidential")
    return httpx.Client(base_url=f"{server}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_compliance_sees_unknown_expiries_and_the_office_decides_in_the_queue(
    server, settings, new_context, run_worker, tmp_path: Path
) -> None:
    office = _api(server, settings, "registrar", ["archivist"], [])
    buyer = _api(server, settings, "zhang.wei", ["staff"], ["采购部"])
    partner = office.post("/partners", json={"name": PARTNER, "kind": "supplier", "department": "采购部"}).json()
    scan = scan_image(tmp_path / "营业执照扫描件.png", LICENCE_TEXT, dpi=200)
    card = text_pdf(tmp_path / "法人身份证.pdf", [ID_CARD_WITHOUT_TERM])
    ids = {}
    for name, path, doc_type, media in (
        ("licence", scan, "business_license", "image/png"),
        ("card", card, "id_card", "application/pdf"),
    ):
        with path.open("rb") as stream:
            response = buyer.post(
                "/documents",
                files={"file": (path.name, stream, media)},
                data={"partner_id": partner["id"], "doc_type": doc_type, "confidentiality": "internal"},
            )
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == 2
    queued = office.get("/review-queue", params={"document_id": ids["licence"]}).json()["items"]
    unsure = [item for item in queued if item["kind"] == "needs_review"]
    assert len(unsure) >= 3
    open_total = office.get("/review-queue/summary").json()["total"]

    # Compliance: the ID card's expiry is unknown; the queue's size shows per department.
    he = sign_in(new_context(), "he.min", roles=("compliance",), clearance="secret")
    he.goto("/compliance")
    expect(he.locator("#count-unknown")).to_have_text("1")
    expect(he.locator("#count-queue")).to_have_text(str(open_total))
    expect(he.locator('#by-department tr[data-department="采购部"] td.unknown')).to_have_text("1")
    expect(he.locator('#by-department tr[data-department="采购部"] td.queue')).to_have_text(str(open_total))
    unknown_row = he.locator(f'#unknown-items tr[data-document="{ids["card"]}"]')
    expect(unknown_row).to_contain_text("身份证")
    expect(unknown_row).to_contain_text("未找到到期日期")
    he.locator("#expiry-unknown").scroll_into_view_if_needed()
    shot(he, "review-01-compliance-expiry-unknown")
    # Compliance reads the queue but decides nothing.
    he.goto(f"/review?document={ids['licence']}")
    expect(he.locator(".review-item.open").first).to_be_visible()
    expect(he.locator("form.decide")).to_have_count(0)

    # The archive office's queue.
    wang = sign_in(new_context(), "wang.fang", roles=("archivist",), clearance="confidential")
    wang.goto("/review")
    expect(wang.locator("#review-total")).to_have_attribute("data-total", str(open_total))
    expect(wang.locator(f'#review-items tr[data-document="{ids["card"]}"][data-field="expires_on"]')).to_contain_text(
        "到期日期"
    )
    shot(wang, "review-02-queue")
    wang.locator(f'#review-items tr[data-document="{ids["licence"]}"] a.button').first.click()
    wang.wait_for_url(f"**/review?document={ids['licence']}*")
    image = wang.locator(".review-page img").first
    image.scroll_into_view_if_needed()
    wang.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    text = wang.locator("main").inner_text()
    assert not [key for key in FIELD_KEYS if key in text], text
    shot(wang, "review-03-document-before")

    # The name is the field OCR misreads most (闽 as 头 or 加): correct it; accept and drop two others.
    unsure.sort(key=lambda item: item["field"] != "name")
    corrected_item, accepted_item, absent_item = unsure[:3]
    accepted, corrected, absent = (
        wang.locator(f'#item-{item["field"]}') for item in (accepted_item, corrected_item, absent_item)
    )
    accepted.locator('button[value="accept"]').click()
    expect(accepted.locator(".decision")).to_contain_text("确认无误")
    # PP-OCR usually reads the name right; the correction must then differ from what was read.
    correct_to = "福建省闽江供应链管理有限公司"
    if corrected_item["value"] == correct_to:
        correct_to = "福建省闽江供应链管理股份有限公司"
    corrected.locator("input[name=value]").fill(correct_to)
    corrected.locator('button[value="correct"]').click()
    expect(corrected.locator(".decision")).to_contain_text("已更正")
    expect(corrected.locator(".value")).to_have_text(correct_to)
    absent.locator('button[value="not_present"]').click()
    expect(absent.locator(".decision")).to_contain_text("无此项")
    expect(absent.locator(".value")).to_have_text("—")
    shot(wang, "review-04-document-decided")
    fields = office.get(f"/documents/{ids['licence']}").json()
    assert fields["fields"][corrected_item["field"]] == correct_to
    assert absent_item["field"] not in fields["fields"]
    assert fields["field_provenance"][accepted_item["field"]]["by"] == "wang.fang"
    assert fields["field_provenance"][accepted_item["field"]]["source"] == "supplied"

    # A bad date is refused with a reason, in Chinese; then the ID card's expiry is supplied.
    wang.goto(f"/review?document={ids['card']}")
    item = wang.locator("#item-expires_on")
    item.locator("input[name=value]").fill("2036/05/10")
    item.locator('button[value="correct"]').click()
    expect(wang.locator("main")).to_contain_text("日期格式应为 2026-01-31")
    wang.goto(f"/review?document={ids['card']}")
    item.locator("input[name=value]").fill("2036-05-10")
    item.locator('button[value="correct"]').click()
    expect(item.locator(".decision")).to_contain_text("已更正")
    he.goto("/compliance")
    expect(he.locator("#count-unknown")).to_have_text("0")
    expect(he.locator("#count-queue")).to_have_text(str(open_total - 4))

    # English, and a phone's width.
    wang.goto(f"/review?document={ids['licence']}&lang=en")
    expect(wang.locator("h1")).to_contain_text("Review")
    phone = sign_in(new_context(viewport={"width": 390, "height": 844}, is_mobile=True), "wang.fang",
                    roles=("archivist",), clearance="confidential")
    phone.goto(f"/review?document={ids['licence']}&lang=zh")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "review-05-phone")
