"""Findings 3 and 9: every listing follows the visibility rule, and hidden is as good as absent.

A confidential "canary" document of 采购部 is planted; its id, title, file name and archive
number must never reach anyone whose rule does not open it: not through the destruction
lists, the audit log, the borrowing inbox, a duplicate upload, a credit-code clash or a
`superseded_by`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from archive.db import make_engine, make_session_factory
from archive.recheck import recheck
from archive.storage import OriginalStore
from tests.conftest import Caller
from tests.samples import text_pdf
from tests.security.conftest import web_sign_in

CANARY_TITLE = "金丝雀绝密协议"
CANARY_FILE = "canary-jinsique.pdf"


@dataclass(frozen=True)
class Canary:
    id: str
    archive_no: str
    path: object

    def leaks_in(self, body: str) -> list[str]:
        return [s for s in (self.id, self.archive_no, CANARY_TITLE, CANARY_FILE) if s in body]


@pytest.fixture
def people(make_caller) -> dict[str, Caller]:  # type: ignore[no-untyped-def]
    return {
        "office": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "low_office": make_caller("xu.dang", roles="archivist", clearance="internal"),
        "leader": make_caller("lin.zong", roles="admin", clearance="confidential"),
        "low_leader": make_caller("huang.dong", roles="admin", clearance="internal"),
        "buyer": make_caller("zhang.wei", departments="采购部"),
        "seller": make_caller("li.na", departments="销售部"),
    }


@pytest.fixture
def archive(tmp_path, client, upload, run_worker, create_partner, people):  # type: ignore[no-untyped-def]
    minjiang = create_partner("福建省闽江供应链管理有限公司", "采购部")
    haisi = create_partner("泉州海丝贸易有限公司", "销售部", kind="customer", credit_code="913501003154662784")
    canary_pdf = text_pdf(tmp_path / CANARY_FILE, [f"{CANARY_TITLE}\n仅限公司领导查阅。"])
    plain_pdf = text_pdf(tmp_path / "plain.pdf", ["普通采购合同\n离心水泵二十台。"])
    canary = upload(people["office"], canary_pdf, partner_id=minjiang["id"], confidentiality="confidential",
                    title=CANARY_TITLE, filename=CANARY_FILE, expires_on="1990-01-01")
    plain = upload(people["office"], plain_pdf, partner_id=minjiang["id"], confidentiality="internal",
                   title="普通采购合同", expires_on="1990-01-01")
    assert canary.status_code == plain.status_code == 202
    assert run_worker() == 2
    return {
        "minjiang": minjiang,
        "haisi": haisi,
        "canary": Canary(canary.json()["id"], canary.json()["archive_no"], canary_pdf),
        "plain": plain.json()["id"],
    }


def _post(client, caller, url, json=None):  # type: ignore[no-untyped-def]
    return client.post(url, json=json, headers=caller.headers)


def test_destruction_lists_follow_the_rule(client, people, archive) -> None:
    canary, plain = archive["canary"], archive["plain"]
    low = people["low_office"].headers
    eligible = client.get("/api/v1/destruction-eligible", headers=low)
    assert eligible.status_code == 200
    assert plain in eligible.text and canary.leaks_in(eligible.text) == [], eligible.text

    office, leader = people["office"], people["leader"]
    canary_request = _post(client, office, "/api/v1/destruction-requests",
                           {"document_ids": [canary.id], "reason": "保管期满"}).json()["id"]
    plain_request = _post(client, office, "/api/v1/destruction-requests",
                          {"document_ids": [plain], "reason": "保管期满"}).json()["id"]
    listed = client.get("/api/v1/destruction-requests", headers=low)
    assert [r["id"] for r in listed.json()] == [plain_request] and canary.leaks_in(listed.text) == []
    # A leader whose clearance does not reach a document cannot approve its destruction.
    refused = _post(client, people["low_leader"], f"/api/v1/destruction-requests/{canary_request}/approve")
    assert refused.status_code == 404
    for request_id in (canary_request, plain_request):
        assert _post(client, leader, f"/api/v1/destruction-requests/{request_id}/approve").status_code == 200
        assert _post(client, office, f"/api/v1/destruction-requests/{request_id}/execute").status_code == 200

    records = client.get("/api/v1/destruction-records", headers=low)
    assert [r["document_id"] for r in records.json()] == [plain] and canary.leaks_in(records.text) == []
    everything = client.get("/api/v1/destruction-records", headers=office.headers)
    assert {r["document_id"] for r in everything.json()} == {plain, canary.id}

    web_sign_in(client, "xu.dang", roles="archivist", clearance="internal")
    page = client.get("/destruction")
    assert page.status_code == 200 and canary.leaks_in(page.text) == []


def test_the_audit_log_leaves_out_what_its_reader_may_not_see(client, people, archive) -> None:
    canary = archive["canary"]
    client.get(f"/api/v1/documents/{canary.id}", headers=people["office"].headers)
    low = client.get("/api/v1/audit", params={"size": 500}, headers=people["low_office"].headers)
    assert low.status_code == 200 and low.json(), low.text
    assert canary.leaks_in(low.text) == [], [e for e in low.json() if canary.leaks_in(str(e))][:3]
    full = client.get("/api/v1/audit", params={"size": 500}, headers=people["office"].headers)
    assert CANARY_FILE in full.text and canary.id in full.text
    web_sign_in(client, "xu.dang", roles="archivist", clearance="internal")
    page = client.get("/audit")
    assert page.status_code == 200 and canary.leaks_in(page.text) == []


def test_an_approver_approves_only_what_their_clearance_reaches(client, people, archive) -> None:
    canary, plain = archive["canary"], archive["plain"]
    loan = _post(client, people["seller"], "/api/v1/borrow-requests",
                 {"document_ids": [canary.id, plain], "reason": "核对", "days": 3}).json()
    inbox = client.get("/api/v1/borrow-requests", params={"status": "pending"},
                       headers=people["low_office"].headers)
    assert canary.leaks_in(inbox.text) == []
    assert inbox.json()[0]["document_ids"] == [plain] and inbox.json()[0]["unresolved"] == 1
    refused = _post(client, people["low_office"], f"/api/v1/borrow-requests/{loan['id']}/approve")
    assert refused.status_code == 409 and canary.leaks_in(refused.text) == []
    web_sign_in(client, "xu.dang", roles="archivist", clearance="internal")
    page = client.get("/borrowing")
    assert page.status_code == 200 and canary.leaks_in(page.text) == []
    client.cookies.clear()
    approved = _post(client, people["office"], f"/api/v1/borrow-requests/{loan['id']}/approve")
    assert approved.status_code == 200, approved.text
    # Asking for a document that does not exist looks exactly like asking for a hidden one.
    unknown = _post(client, people["seller"], "/api/v1/borrow-requests",
                    {"document_ids": ["0" * 32], "reason": "核对", "days": 3})
    assert unknown.status_code == 201 and unknown.json()["status"] == "pending"
    assert client.get(f"/api/v1/documents/{canary.id}", headers=people["seller"].headers).status_code == 200


def test_a_duplicate_upload_of_hidden_bytes_is_a_new_document(client, upload, people, archive) -> None:
    canary = archive["canary"]
    again = upload(people["buyer"], canary.path, partner_id=archive["minjiang"]["id"], title="我的扫描件")
    assert again.status_code == 202, again.text
    assert canary.leaks_in(again.text) == [] and again.json()["duplicate"] is False
    mine = client.get(f"/api/v1/documents/{again.json()['id']}", headers=people["buyer"].headers)
    assert mine.status_code == 200 and mine.json()["title"] == "我的扫描件"
    # The same bytes again, by the same person: the copy they see.
    twice = upload(people["buyer"], canary.path, partner_id=archive["minjiang"]["id"])
    assert twice.status_code == 200 and twice.json()["id"] == again.json()["id"]


def test_the_web_borrow_form_maps_only_archive_numbers_its_user_sees(client, people, archive) -> None:
    canary = archive["canary"]
    csrf = web_sign_in(client, "zhang.wei", departments="采购部")
    made = client.post("/borrowing", data={"csrf_token": csrf, "documents": f"{canary.archive_no}\nGYS-2099-999999-01",
                                           "reason": "核对", "days": "3"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    client.cookies.clear()
    mine = client.get("/api/v1/borrow-requests", params={"mine": True}, headers=people["buyer"].headers).json()
    # Kept as typed, exactly like a number that does not exist.
    assert mine[0]["document_ids"] == [canary.archive_no, "GYS-2099-999999-01"]


def test_a_credit_code_clash_with_a_hidden_partner_names_nobody(client, people, archive) -> None:
    response = client.patch(f"/api/v1/partners/{archive['minjiang']['id']}",
                            json={"credit_code": "913501003154662784"}, headers=people["buyer"].headers)
    assert response.status_code == 409
    assert "existing_id" not in response.json()
    assert "海丝" not in response.text and archive["haisi"]["id"] not in response.text
    seen = client.patch(f"/api/v1/partners/{archive['minjiang']['id']}",
                        json={"credit_code": "913501003154662784"}, headers=people["office"].headers)
    assert seen.status_code == 409 and seen.json()["existing_id"] == archive["haisi"]["id"]


def test_superseded_by_never_points_at_a_hidden_document(client, settings, people, archive) -> None:
    canary, plain = archive["canary"], archive["plain"]
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # as supersession would leave it
        connection.execute(text("UPDATE documents SET superseded_by = :by WHERE id = :id"),
                           {"by": canary.id, "id": plain})
    engine.dispose()
    buyer = people["buyer"].headers
    document = client.get(f"/api/v1/documents/{plain}", headers=buyer)
    assert document.json()["superseded_by"] is None and canary.leaks_in(document.text) == []
    # For the buyer the older document is still the current one.
    expiring = client.get("/api/v1/compliance/expiring", params={"within_days": 30}, headers=buyer)
    assert plain in [item["id"] for item in expiring.json()]
    office = client.get(f"/api/v1/documents/{plain}", headers=people["office"].headers)
    assert office.json()["superseded_by"] == canary.id
    web_sign_in(client, "zhang.wei", departments="采购部")
    page = client.get(f"/documents/{plain}")
    assert page.status_code == 200 and canary.leaks_in(page.text) == []


def test_a_hidden_newer_document_changes_nothing_its_reader_sees(client, settings, people, archive) -> None:
    """Further instances of finding 9 in what landed later: the review queue (API and page), the
    expiry-unknown list and completeness judge "current" by what their reader sees."""
    canary, plain, partner = archive["canary"], archive["plain"], archive["minjiang"]["id"]
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # a licence superseded by the canary, its expiry not read
        connection.execute(text("UPDATE documents SET superseded_by = :by, expires_on = NULL,"
                                " doc_type = 'business_license' WHERE id = :id"),
                           {"by": canary.id, "id": plain})
        connection.execute(
            text("INSERT INTO review_items (document_id, field, kind, reason, opened_at)"
                 " VALUES (:id, 'expires_on', 'unknown', '有效期未能读出', :now)"),
            {"id": plain, "now": datetime.now(UTC).replace(tzinfo=None)},
        )
    engine.dispose()
    low_office, office = people["low_office"].headers, people["office"].headers

    def superseded(headers: dict[str, str]) -> set[bool]:
        items = client.get("/api/v1/review-queue", params={"document_id": plain}, headers=headers).json()["items"]
        assert "expires_on" in [item["field"] for item in items], items
        return {item["superseded"] for item in items}

    assert superseded(low_office) == {False}
    assert superseded(office) == {True}
    unknown = client.get("/api/v1/compliance/expiring", params={"within_days": 30, "sections": "true"},
                         headers=people["buyer"].headers).json()["expiry_unknown"]
    assert plain in [item["id"] for item in unknown]
    completeness = client.get(f"/api/v1/partners/{partner}/completeness", headers=low_office)
    licence = next(item for item in completeness.json()["items"] if item["code"] == "business_license")
    assert licence["status"] != "missing" and licence["document"]["id"] == plain, licence
    web_sign_in(client, "xu.dang", roles="archivist", clearance="internal")
    for url in ("/review", f"/review?document={plain}"):
        page = client.get(url)
        assert page.status_code == 200 and "已被替代" not in page.text and canary.leaks_in(page.text) == []
    client.cookies.clear()


def test_a_record_names_only_an_attachment_its_reader_may_open(client, people, archive) -> None:
    """A further instance of finding 3 in the relationship records: an attachment that was on file
    already keeps its own reach, so a record its reader sees may hold one they may not open."""
    canary, partner = archive["canary"], archive["minjiang"]["id"]
    with open(canary.path, "rb") as stream:  # type: ignore[call-overload]
        kept = client.post(
            f"/api/v1/partners/{partner}/records", headers=people["office"].headers,
            data={"date": "2026-01-05", "kind": "visit", "summary": "走访闽江供应链，核对金丝雀条款"},
            files={"file": ("附件.pdf", stream, "application/pdf")},
        )
    assert kept.status_code == 201, kept.text
    assert kept.json()["attachment"]["id"] == canary.id  # the same bytes: the copy on file
    buyer = people["buyer"].headers
    found = client.get("/api/v1/records", params={"q": "走访"}, headers=buyer).json()["hits"]
    assert [hit["document_id"] for hit in found] == [None] and canary.leaks_in(str(found)) == []
    listed = client.get(f"/api/v1/partners/{partner}/records", headers=buyer).json()
    assert [record["attachment"] for record in listed] == [None]
    assert client.get("/api/v1/records", params={"q": "走访"}, headers=people["office"].headers
                      ).json()["hits"][0]["document_id"] == canary.id
    web_sign_in(client, "zhang.wei", departments="采购部")
    page = client.get("/records", params={"q": "走访"})
    assert page.status_code == 200 and "走访" in page.text and canary.leaks_in(page.text) == []
    client.cookies.clear()


def test_check_runs_count_only_what_their_reader_sees(client, settings, make_caller, archive) -> None:
    """A further instance of finding 3 in the 四性检测 (e-archive): a run's totals count every
    document it checked; its reader is told only how many of those they may see."""
    engine = make_engine(settings.resolved_database_url)
    try:
        recheck(make_session_factory(engine), store=OriginalStore(settings.originals_dir), settings=settings,
                actor="test", everything=True, kind="on_demand")
    finally:
        engine.dispose()
    low = make_caller("zhou.hegui", roles="compliance", clearance="internal")
    high = make_caller("qian.hegui", roles="compliance", clearance="confidential")
    (seen_low,) = client.get("/api/v1/check-runs", headers=low.headers).json()
    (seen_high,) = client.get("/api/v1/check-runs", headers=high.headers).json()
    assert (seen_high["documents"], seen_low["documents"]) == (2, 1)
    web_sign_in(client, "zhou.hegui", roles="compliance", clearance="internal")
    page = client.get("/checks")
    assert page.status_code == 200 and archive["canary"].leaks_in(page.text) == []
    client.cookies.clear()


def test_the_audit_export_goes_only_to_an_admin_cleared_for_every_level(client, people, archive) -> None:
    """A further instance of finding 3 (e-archive's audit retention): the export is the whole log,
    with the chain verified over it, so it cannot leave out what its reader may not see."""
    before = {"before": "2100-01-01T00:00:00Z"}
    low = client.get("/api/v1/audit/export", params=before, headers=people["low_leader"].headers)
    assert low.status_code == 403 and archive["canary"].leaks_in(low.text) == []
    full = client.get("/api/v1/audit/export", params=before, headers=people["leader"].headers)
    assert full.status_code == 200 and archive["canary"].id in full.text
    web_sign_in(client, "huang.dong", roles="admin", clearance="internal")
    page = client.get("/audit/export.json", params={"before": "2100-01-01"})
    assert page.status_code == 403 and archive["canary"].leaks_in(page.text) == []
    client.cookies.clear()
