"""A partner's life: 建档审批 (pending until its department's manager approves), status with
history, suspension proposals, completeness (齐全), relationship records and the second
person on bank, credit-code and legal-representative changes. Every refusal changes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from archive.migrate import upgrade_database
from archive.models import (
    AuditEntry,
    Partner,
    PartnerChange,
    PartnerStatusChange,
    PendingPartnerChange,
    RelationshipRecord,
    SupplierEvaluation,
    SuspensionProposal,
)
from archive.settings import Settings
from search_api.app import create_app
from tests.samples import CREDIT_CODE, LICENCE_TEXT, credit_code_check_char, text_pdf

OWN, OTHER = "采购部", "销售部"
ID_NUMBER = "350102198503071236"
OTHER_CODE = "91350200612003456" + credit_code_check_char("91350200612003456")


def snapshot(settings, partner_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything a refused request must leave as it was, read straight from the record."""
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session:
        partner = session.get(Partner, partner_id)
        assert partner is not None
        counts = {
            model.__tablename__: session.scalar(
                select(func.count()).select_from(model).where(model.partner_id == partner_id)
            )
            for model in (
                PartnerStatusChange, PartnerChange, PendingPartnerChange, SuspensionProposal,
                SupplierEvaluation, RelationshipRecord,
            )
        }
        state = {
            "row": {column.name: getattr(partner, column.key) for column in Partner.__table__.columns
                    if column.name != "updated_at"},
            **counts,
            "audit": session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.not_in(("partner_view", "view", "search", "partner_search")))),
        }
    engine.dispose()
    return state


def refused(response, status: int, *words: str) -> None:  # type: ignore[no-untyped-def]
    """A 4xx with a message in Chinese and in English (in parentheses)."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert re.search(r"[\u4e00-\u9fff]", detail) and re.search(r"\([A-Za-z][^)]*\)", detail), detail
    for word in words:
        assert word in detail, detail


@pytest.fixture
def people(make_caller):  # type: ignore[no-untyped-def]
    return {
        "buyer": make_caller("zhang.wei", departments=OWN),
        "buyer2": make_caller("li.qiang", departments=OWN),
        "head": make_caller("zhou.min", roles="manager", departments=OWN),
        "head2": make_caller("sun.li", roles="manager", departments=OWN),
        "other_head": make_caller("qian.hao", roles="manager", departments=OTHER),
        "seller": make_caller("li.na", departments=OTHER),
        "office": make_caller("wang.fang", roles="archivist", clearance="confidential"),
        "office2": make_caller("chen.dang", roles="archivist", clearance="confidential"),
        "boss": make_caller("liu.zong", roles="admin", clearance="confidential"),
        "compliance": make_caller("he.jing", roles="compliance", clearance="secret"),
    }


def register(client: TestClient, caller, name: str, department: str = OWN, **extra: object) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/partners", headers=caller.headers,
                           json={"name": name, "kind": "supplier", "department": department, **extra})
    assert response.status_code == 201, response.text
    return response.json()


# -- 建档审批 ------------------------------------------------------------------------------


def test_staff_registration_waits_for_its_manager_and_approval_gives_the_number(
    tmp_path, settings, client, upload, run_worker, people
) -> None:
    partner = register(client, people["buyer"], "福建省闽江供应链管理有限公司", credit_code=CREDIT_CODE)
    year = date.today().year
    assert partner["status"] == "pending" and partner["archive_no"] is None
    assert re.fullmatch(rf"LS-{year}-\d{{6}}", partner["provisional_no"])

    # Documents may be uploaded while pending: filed under the provisional number.
    pdf = text_pdf(tmp_path / "采购合同.pdf", ["框架采购合同\n乙方向甲方供应离心水泵二十台，按月分批交付。"])
    sent = upload(people["buyer"], pdf, partner_id=partner["id"])
    assert sent.status_code == 202, sent.text
    assert sent.json()["archive_no"] == f"{partner['provisional_no']}-0001"
    run_worker()
    pending_hits = client.get("/api/v1/search", params={"q": "离心水泵", "partner_status": "pending"},
                              headers=people["buyer"].headers).json()
    assert [hit["id"] for hit in pending_hits["hits"]] == [sent.json()["id"]]

    # The department's manager sees it in the inbox and approves it.
    inbox = client.get("/api/v1/inbox", headers=people["head"].headers).json()
    assert [p["id"] for p in inbox["pending_partners"]] == [partner["id"]]
    assert client.get("/api/v1/inbox", headers=people["other_head"].headers).json()["pending_partners"] == []
    approved = client.post(f"/api/v1/partners/{partner['id']}/approve", json={"comment": "资料齐全，同意建档"},
                           headers=people["head"].headers)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "active"
    assert re.fullmatch(rf"GYS-{year}-000001", body["archive_no"])
    assert body["provisional_no"] == partner["provisional_no"]
    assert [(s["from_status"], s["to_status"], s["action"], s["changed_by"], s["reason"])
            for s in body["status_history"]] == [
        (None, "pending", "create", "zhang.wei", None),
        ("pending", "active", "approve", "zhou.min", "资料齐全，同意建档"),
    ]
    # Its document now carries the archive number, in the record and in the index.
    document = client.get(f"/api/v1/documents/{sent.json()['id']}", headers=people["buyer"].headers).json()
    assert document["archive_no"] == f"{body['archive_no']}-0001"
    active_hits = client.get("/api/v1/search", params={"q": "离心水泵", "partner_status": "active"},
                             headers=people["buyer"].headers).json()
    assert [hit["archive_no"] for hit in active_hits["hits"]] == [document["archive_no"]]
    assert client.get("/api/v1/search", params={"q": "离心水泵", "partner_status": "pending"},
                      headers=people["buyer"].headers).json()["total"] == 0
    # A second upload continues the sequence under the archive number.
    more = upload(people["buyer"], text_pdf(tmp_path / "补充协议.pdf", ["补充协议\n双方就交货地点变更为福州仓库达成一致意见。"]), partner_id=partner["id"])
    assert more.json()["archive_no"] == f"{body['archive_no']}-0002"
    assert client.get("/api/v1/inbox", headers=people["head"].headers).json()["pending_partners"] == []
    audit = client.get("/api/v1/audit", params={"action": "partner_approve"}, headers=people["office"].headers)
    assert [(e["user"], e["details"]["archive_no"], e["details"]["documents_renumbered"])
            for e in audit.json()] == [("zhou.min", body["archive_no"], 1)]
    # Approving twice is a conflict.
    again = client.post(f"/api/v1/partners/{partner['id']}/approve", json={}, headers=people["head2"].headers)
    refused(again, 409, "待审批")


def test_the_archive_office_opens_directly_and_a_rejected_number_leaves_no_gap(client, people) -> None:
    office = register(client, people["office"], "厦门鹭岛机电设备有限公司")
    assert office["status"] == "active" and office["archive_no"].endswith("-000001")
    pending = register(client, people["buyer"], "漳州南山物流有限公司")
    rejected = client.post(f"/api/v1/partners/{pending['id']}/reject", json={"comment": "经营范围不符"},
                           headers=people["head"].headers)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected" and rejected.json()["archive_no"] is None
    # Corrected and resubmitted by its department, then approved: the next number, no gap.
    assert client.post(f"/api/v1/partners/{pending['id']}/approve", json={},
                       headers=people["head"].headers).status_code == 409
    resubmitted = client.post(f"/api/v1/partners/{pending['id']}/resubmit", json={"comment": "已补充说明"},
                              headers=people["buyer"].headers)
    assert resubmitted.json()["status"] == "pending"
    approved = client.post(f"/api/v1/partners/{pending['id']}/approve", json={},
                           headers=people["boss"].headers).json()
    assert approved["archive_no"].endswith("-000002")
    assert [s["action"] for s in approved["status_history"]] == ["create", "reject", "resubmit", "approve"]


def test_bad_approvals_are_refused_and_change_nothing(tmp_path, settings, client, upload, run_worker, people) -> None:
    by_head = register(client, people["head"], "福州榕城包装材料有限公司")
    by_buyer = register(client, people["buyer"], "泉州海丝贸易有限公司")
    # 销售部's manager sees by_buyer through one public document, but it is not their department's.
    upload(people["buyer"], text_pdf(tmp_path / "公开资质.pdf", ["安全生产许可证公示信息：许可范围为机电设备安装。"]), partner_id=by_buyer["id"],
           doc_type="qualification", confidentiality="public")
    run_worker()
    before = {pid: snapshot(settings, pid) for pid in (by_head["id"], by_buyer["id"])}

    own = client.post(f"/api/v1/partners/{by_head['id']}/approve", json={"comment": "同意"},
                      headers=people["head"].headers)
    refused(own, 403, "自己登记")
    outside_seen = client.post(f"/api/v1/partners/{by_buyer['id']}/approve", json={"comment": "同意"},
                               headers=people["other_head"].headers)
    refused(outside_seen, 403, "部门负责人")
    outside_hidden = client.post(f"/api/v1/partners/{by_head['id']}/approve", json={},
                                 headers=people["other_head"].headers)
    refused(outside_hidden, 404)
    staff = client.post(f"/api/v1/partners/{by_buyer['id']}/approve", json={}, headers=people["buyer2"].headers)
    refused(staff, 403)
    archivist = client.post(f"/api/v1/partners/{by_buyer['id']}/approve", json={}, headers=people["office"].headers)
    refused(archivist, 403)
    no_comment = client.post(f"/api/v1/partners/{by_buyer['id']}/reject", json={"comment": "  "},
                             headers=people["head"].headers)
    refused(no_comment, 422, "理由")
    after = {pid: snapshot(settings, pid) for pid in (by_head["id"], by_buyer["id"])}
    assert after == before
    assert after[by_buyer["id"]]["row"]["status"] == "pending"
    assert after[by_buyer["id"]]["row"]["archive_no"] is None


def test_a_department_head_token_from_the_command_line_approves(settings, client, people) -> None:
    from tests.test_resilience import run_cli

    head = run_cli(settings, "token", "--sub", "zhou.min", "--roles", "manager", "--departments", OWN,
                   "--clearance", "internal").stdout.strip()
    partner = register(client, people["buyer"], "漳州南山物流有限公司")
    approved = client.post(f"/api/v1/partners/{partner['id']}/approve", json={"comment": "同意"},
                           headers={"Authorization": f"Bearer {head}"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status_history"][-1]["changed_by"] == "zhou.min"


def test_a_bulk_import_names_a_pending_partner_by_its_provisional_number(
    tmp_path, settings, client, people
) -> None:
    from archive.schemas import Confidentiality, DocType
    from ingest.bulk_import import ImportOptions, import_directory

    partner = register(client, people["buyer"], "漳州南山物流有限公司")
    folder = tmp_path / "import" / partner["provisional_no"] / "contract"
    folder.mkdir(parents=True)
    text_pdf(folder / "物流合同.pdf", ["物流服务合同\n甲方委托乙方承运离心水泵至福州仓库。"])
    report = import_directory(settings, tmp_path / "import", ImportOptions(
        partner=None, doc_type=DocType.other, confidentiality=Confidentiality.internal, user="chen.dang", jobs=1))
    assert (report.indexed, report.failed) == (1, [])
    approved = client.post(f"/api/v1/partners/{partner['id']}/approve", json={}, headers=people["head"].headers)
    hits = client.get("/api/v1/search", params={"q": "承运"}, headers=people["buyer"].headers).json()["hits"]
    assert [hit["archive_no"] for hit in hits] == [f"{approved.json()['archive_no']}-0001"]


# -- status ----------------------------------------------------------------------------


def test_status_changes_keep_reason_who_and_when_and_filter_everywhere(
    tmp_path, settings, client, upload, run_worker, people
) -> None:
    partner = register(client, people["office"], "福建省闽江供应链管理有限公司", credit_code=CREDIT_CODE,
                       legal_representative="林建华", contact_person="陈小明")
    sent = upload(people["office"], text_pdf(tmp_path / "营业执照.pdf", [LICENCE_TEXT]), partner_id=partner["id"],
                  doc_type="business_license")
    run_worker()
    url = f"/api/v1/partners/{partner['id']}/status"
    before = snapshot(settings, partner["id"])
    refused(client.post(url, json={"status": "suspended"}, headers=people["head"].headers), 422, "reason")
    refused(client.post(url, json={"status": "suspended", "reason": "   "}, headers=people["head"].headers),
            422, "reason")
    refused(client.post(url, json={"status": "suspended", "reason": "质量问题"}, headers=people["buyer"].headers),
            403, "部门负责人")
    refused(client.post(url, json={"status": "suspended", "reason": "质量问题"},
                        headers=people["other_head"].headers), 404)
    refused(client.post(url, json={"status": "pending", "reason": "重新审批"}, headers=people["head"].headers),
            409)
    assert snapshot(settings, partner["id"]) == before

    suspended = client.post(url, json={"status": "suspended", "reason": "来料不合格，整改期间暂停"},
                            headers=people["head"].headers)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status_history"][-1] | {"at": None} == {
        "from_status": "active", "to_status": "suspended", "action": "status",
        "reason": "来料不合格，整改期间暂停", "changed_by": "zhou.min", "at": None,
    }
    # Search, lookup, the partner list and the summary report filter by it.
    assert client.get("/api/v1/search", params={"partner_status": "suspended"},
                      headers=people["head"].headers).json()["total"] == 1
    assert client.get("/api/v1/search", params={"partner_status": "active"},
                      headers=people["head"].headers).json()["total"] == 0
    assert client.get("/api/v1/lookup", params={"license_no": CREDIT_CODE, "partner_status": "suspended"},
                      headers=people["head"].headers).status_code == 200
    assert client.get("/api/v1/lookup", params={"license_no": CREDIT_CODE, "partner_status": "active"},
                      headers=people["head"].headers).status_code == 404
    assert [p["id"] for p in client.get("/api/v1/partners", params={"status": "suspended"},
                                        headers=people["head"].headers).json()["items"]] == [partner["id"]]
    report = client.get("/api/v1/reports/partners", params={"format": "csv", "status": "active"},
                        headers=people["office"].headers)
    assert "福建省闽江供应链管理有限公司" not in report.content.decode("utf-8-sig")

    blacklisted = client.post(url, json={"status": "blacklisted", "reason": "提供虚假资质"},
                              headers=people["head"].headers)
    assert blacklisted.json()["status"] == "blacklisted"
    # A department head cannot lift a blacklisting; the archive office can.
    refused(client.post(url, json={"status": "active", "reason": "核实无误"}, headers=people["head"].headers), 403,
            "黑名单")
    lifted = client.post(url, json={"status": "active", "reason": "经核实资质真实"}, headers=people["office"].headers)
    assert lifted.json()["status"] == "active"
    assert [(s["to_status"], s["changed_by"]) for s in lifted.json()["status_history"]] == [
        ("active", "wang.fang"), ("suspended", "zhou.min"), ("blacklisted", "zhou.min"), ("active", "wang.fang"),
    ]
    actions = [e["details"] for e in client.get("/api/v1/audit", params={"action": "partner_status"},
                                                headers=people["office"].headers).json()]
    assert [(d["from"], d["to"]) for d in reversed(actions)] == [
        ("active", "suspended"), ("suspended", "blacklisted"), ("blacklisted", "active"),
    ]
    assert sent.status_code == 202


# -- suspension proposals -----------------------------------------------------------------


def test_a_low_evaluation_or_a_d_rating_proposes_suspension_and_never_suspends(
    settings, client, people
) -> None:
    supplier = register(client, people["office"], "厦门鹭岛机电设备有限公司")
    other = register(client, people["office"], "福州榕城包装材料有限公司")
    url = f"/api/v1/partners/{supplier['id']}/evaluations"

    # Out of range: refused, nothing changed.
    before = snapshot(settings, supplier["id"])
    refused(client.post(url, json={"period": "2026年度", "quality": 101, "delivery": 80, "service": 80},
                        headers=people["buyer"].headers), 422, "quality")
    refused(client.post(url, json={"period": "2026年度", "quality": -1, "delivery": 80, "service": 80},
                        headers=people["buyer"].headers), 422, "quality")
    # Someone of another department may not evaluate it (nor see it here).
    refused(client.post(url, json={"period": "2026年度", "quality": 10, "delivery": 10, "service": 10},
                        headers=people["seller"].headers), 404)
    assert snapshot(settings, supplier["id"]) == before

    # 60 is enough; 59.5 proposes (default threshold 60).
    fine = client.post(url, json={"period": "2026Q1", "quality": 60, "delivery": 60, "service": 60},
                       headers=people["buyer"].headers)
    assert fine.json()["score"] == 60.0
    assert client.get("/api/v1/suspension-proposals", headers=people["head"].headers).json() == []
    low = client.post(url, json={"period": "2026Q2", "quality": 55, "delivery": 65, "service": 62},
                      headers=people["buyer"].headers)
    assert low.status_code == 201 and low.json()["score"] == 59.4
    assert client.get(f"/api/v1/partners/{supplier['id']}", headers=people["buyer"].headers).json()["status"] == "active"
    rated = client.post(f"/api/v1/partners/{other['id']}/ratings",
                        json={"rating": "D", "rated_on": "2026-11-30", "reason": "多次逾期付款"},
                        headers=people["compliance"].headers)
    assert rated.status_code == 201

    inbox = client.get("/api/v1/inbox", headers=people["head"].headers).json()
    proposals = {p["partner_id"]: p for p in inbox["suspension_proposals"]}
    assert set(proposals) == {supplier["id"], other["id"]}
    assert proposals[supplier["id"]]["source"] == "evaluation" and "59.4" in proposals[supplier["id"]]["reason"]
    assert proposals[other["id"]]["source"] == "rating" and "多次逾期付款" in proposals[other["id"]]["reason"]
    assert client.get("/api/v1/inbox", headers=people["other_head"].headers).json()["suspension_proposals"] == []
    refused(client.get("/api/v1/suspension-proposals", headers=people["buyer"].headers), 403)

    # Dismissing needs a reason; staff cannot decide; the manager accepts one and dismisses the other.
    proposal = proposals[supplier["id"]]["id"]
    refused(client.post(f"/api/v1/suspension-proposals/{proposal}/dismiss", json={},
                        headers=people["head"].headers), 422)
    refused(client.post(f"/api/v1/suspension-proposals/{proposal}/accept", json={},
                        headers=people["buyer"].headers), 403)
    accepted = client.post(f"/api/v1/suspension-proposals/{proposal}/accept", json={"note": "限期整改"},
                           headers=people["head"].headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    detail = client.get(f"/api/v1/partners/{supplier['id']}", headers=people["head"].headers).json()
    assert detail["status"] == "suspended"
    assert detail["status_history"][-1]["action"] == "proposal"
    assert "59.4" in detail["status_history"][-1]["reason"] and "限期整改" in detail["status_history"][-1]["reason"]
    dismissed = client.post(f"/api/v1/suspension-proposals/{proposals[other['id']]['id']}/dismiss",
                            json={"note": "已结清欠款，继续合作"}, headers=people["head"].headers)
    assert dismissed.json()["status"] == "dismissed"
    assert client.get(f"/api/v1/partners/{other['id']}", headers=people["head"].headers).json()["status"] == "active"
    assert client.get("/api/v1/inbox", headers=people["head"].headers).json()["suspension_proposals"] == []


def test_the_suspension_threshold_is_a_setting(settings, make_caller) -> None:
    strict = settings.model_copy(update={"suspension_score_below": 80.0})
    upgrade_database(strict.resolved_database_url)
    office = make_caller("wang.fang", roles="archivist", clearance="confidential")
    with TestClient(create_app(strict), raise_server_exceptions=False) as client:
        supplier = register(client, office, "厦门鹭岛机电设备有限公司")
        client.post(f"/api/v1/partners/{supplier['id']}/evaluations",
                    json={"period": "2026年度", "quality": 78, "delivery": 80, "service": 80}, headers=office.headers)
        proposals = client.get("/api/v1/suspension-proposals", headers=office.headers).json()
    assert [p["details"]["threshold"] for p in proposals] == [80.0]


# -- who may change a partner, and the second person ------------------------------------


def test_bank_credit_code_and_legal_representative_wait_for_a_second_person(
    settings, client, people, tmp_path, upload, run_worker
) -> None:
    partner = register(client, people["office"], "福建省闽江供应链管理有限公司", legal_representative="林建华",
                       bank_name="中国工商银行福州鼓楼支行", bank_account="1402023109600123456")
    url = f"/api/v1/partners/{partner['id']}"
    changed = client.patch(url, json={"phone": "0591-87654321", "bank_account": "6222020000000000001",
                                      "credit_code": CREDIT_CODE}, headers=people["buyer"].headers)
    assert changed.status_code == 202, changed.text
    body = changed.json()
    # The phone is changed at once; the account and the code are not yet.
    assert body["phone"] == "0591-87654321"
    assert body["bank_account"] == "1402023109600123456" and body["credit_code"] is None
    [pending] = body["pending_changes"]
    assert pending["changes"] == {"bank_account": {"old": "1402023109600123456", "new": "6222020000000000001"},
                                  "credit_code": {"old": None, "new": CREDIT_CODE}}
    confirm = f"{url}/changes/{pending['id']}/confirm"

    # A second request while one waits, the author confirming, staff confirming, another
    # department's manager: refused, nothing changed.
    before = snapshot(settings, partner["id"])
    refused(client.patch(url, json={"legal_representative": "陈小明"}, headers=people["buyer2"].headers), 409)
    refused(client.post(confirm, json={}, headers=people["buyer"].headers), 403)
    refused(client.post(confirm, json={}, headers=people["buyer2"].headers), 403)
    refused(client.post(confirm, json={}, headers=people["other_head"].headers), 404)
    assert snapshot(settings, partner["id"]) == before
    assert client.get("/api/v1/inbox", headers=people["head"].headers).json()["pending_changes"][0]["id"] == pending["id"]

    confirmed = client.post(confirm, json={"note": "已电话核实开户许可证"}, headers=people["head"].headers)
    assert confirmed.status_code == 200, confirmed.text
    done = confirmed.json()
    assert done["bank_account"] == "6222020000000000001" and done["credit_code"] == CREDIT_CODE
    assert done["pending_changes"] == []
    history = {tuple(sorted(h["changes"])): h for h in done["history"]}
    assert history[("phone",)]["user"] == "zhang.wei" and history[("phone",)]["confirmed_by"] is None
    both = history[("bank_account", "credit_code")]
    assert both["user"] == "zhang.wei" and both["confirmed_by"] == "zhou.min" and both["confirmed_at"]
    # The archive office's own change of a sensitive field needs a second person too.
    by_office = client.patch(url, json={"legal_representative": "陈小明"}, headers=people["office"].headers)
    assert by_office.status_code == 202
    change_id = by_office.json()["pending_changes"][0]["id"]
    refused(client.post(f"{url}/changes/{change_id}/confirm", json={}, headers=people["office"].headers), 403)
    rejected = client.post(f"{url}/changes/{change_id}/reject", json={"note": "与营业执照不符"},
                           headers=people["office2"].headers)
    assert rejected.json()["status"] == "rejected"
    assert client.get(url, headers=people["office"].headers).json()["legal_representative"] == "林建华"
    actions = {e["action"] for e in client.get("/api/v1/audit", headers=people["office"].headers).json()}
    assert {"partner_change_requested", "partner_change_confirmed", "partner_change_rejected"} <= actions


def test_a_confirmed_code_that_collides_or_a_stale_change_is_refused(settings, client, people) -> None:
    first = register(client, people["office"], "福建省闽江供应链管理有限公司")
    register(client, people["office"], "厦门鹭岛机电设备有限公司", credit_code=OTHER_CODE)
    url = f"/api/v1/partners/{first['id']}"
    refused(client.patch(url, json={"credit_code": OTHER_CODE}, headers=people["buyer"].headers), 409)
    waiting = client.patch(url, json={"bank_account": "6222020000000000001"}, headers=people["buyer"].headers)
    change_id = waiting.json()["pending_changes"][0]["id"]
    # The account is changed some other way meanwhile (a direct fix in the record): stale.
    engine = create_engine(settings.resolved_database_url)
    with Session(engine) as session, session.begin():
        session.get(Partner, first["id"]).bank_account = "1111"  # type: ignore[union-attr]
    engine.dispose()
    before = snapshot(settings, first["id"])
    refused(client.post(f"{url}/changes/{change_id}/confirm", json={}, headers=people["head"].headers), 409,
            "bank_account")
    assert snapshot(settings, first["id"]) == before


# -- completeness -------------------------------------------------------------------------


# Issued in 2010 (read from its dates), so that the 2015 licence uploaded later replaces it.
OLD_LICENCE = (f"营业执照\n统一社会信用代码 {CREDIT_CODE}\n法定代表人 林建华\n成立日期 2010年01月05日\n"
               "登记机关 福州市市场监督管理局\n发照日期 2010年01月05日")


def _id_card(name: str) -> str:
    return (f"姓名 {name}\n性别 男  民族 汉\n出生 1985年3月7日\n住址 福建省福州市鼓楼区五四路158号\n"
            f"公民身份号码 {ID_NUMBER}\n中华人民共和国\n居民身份证\n签发机关 福州市公安局鼓楼分局\n"
            "有效期限 2015.03.11-2035.03.11")


def test_completeness_says_what_is_present_missing_expired_or_unreadable(
    tmp_path, settings, client, upload, run_worker, people
) -> None:
    partner = register(client, people["office"], "福建省闽江供应链管理有限公司", credit_code=CREDIT_CODE,
                       legal_representative="林建华", address="福州市鼓楼区五四路158号", contact_person="陈小明",
                       phone="0591-87654321", cooperation="离心水泵")
    url = f"/api/v1/partners/{partner['id']}/completeness"
    empty = client.get(url, headers=people["buyer"].headers).json()
    assert empty["complete"] is False
    statuses = {item["code"]: item["status"] for item in empty["items"]}
    assert statuses == {"business_license": "missing", "bank_account": "missing",
                        "signatory_id_card": "missing", "authorization": "unreadable",
                        "registration_form": "missing"}
    form = next(i for i in empty["items"] if i["code"] == "registration_form")
    assert form["missing_fields"] == ["开户银行", "银行账号"]

    past = (date.today() - timedelta(days=10)).isoformat()
    old = upload(people["office"], text_pdf(tmp_path / "旧营业执照.pdf", [OLD_LICENCE]),
                 partner_id=partner["id"], doc_type="business_license", expires_on=past).json()
    upload(people["office"], text_pdf(tmp_path / "身份证.pdf", [_id_card("陈小明")]), partner_id=partner["id"],
           doc_type="id_card")
    run_worker()
    middle = {i["code"]: i for i in client.get(url, headers=people["buyer"].headers).json()["items"]}
    assert middle["business_license"]["status"] == "expired"
    assert middle["business_license"]["document"]["id"] == old["id"]
    assert middle["signatory_id_card"]["status"] == "present"
    # 陈小明 signs, but 林建华 is the legal representative: an authorisation letter is needed.
    assert middle["authorization"]["status"] == "missing" and "陈小明" in middle["authorization"]["note"]

    licence = upload(people["office"], text_pdf(tmp_path / "营业执照.pdf", [LICENCE_TEXT]),
                     partner_id=partner["id"], doc_type="business_license").json()
    upload(people["office"], text_pdf(tmp_path / "授权委托书.pdf", ["授权委托书\n兹授权陈小明代表我公司签订采购合同及相关文件。"]),
           partner_id=partner["id"], doc_type="authorization")
    upload(people["office"], text_pdf(tmp_path / "开户许可证.pdf", ["开户许可证\n基本存款账户，开户银行中国工商银行福州鼓楼支行。"]),
           partner_id=partner["id"], doc_type="bank_account")
    run_worker()
    client.patch(f"/api/v1/partners/{partner['id']}", json={"bank_name": "中国工商银行"},
                 headers=people["office"].headers)
    # The bank name waits for a second person; once confirmed the registration form is filled.
    pending = client.get(f"/api/v1/partners/{partner['id']}", headers=people["office"].headers).json()
    client.post(f"/api/v1/partners/{partner['id']}/changes/{pending['pending_changes'][0]['id']}/confirm",
                json={}, headers=people["head"].headers)
    client.patch(f"/api/v1/partners/{partner['id']}", json={"bank_account": "1402023109600123456"},
                 headers=people["office"].headers)
    pending = client.get(f"/api/v1/partners/{partner['id']}", headers=people["office"].headers).json()
    client.post(f"/api/v1/partners/{partner['id']}/changes/{pending['pending_changes'][0]['id']}/confirm",
                json={}, headers=people["head"].headers)
    full = client.get(url, headers=people["buyer"].headers).json()
    assert {i["code"]: i["status"] for i in full["items"]} == {
        "business_license": "present", "bank_account": "present", "signatory_id_card": "present",
        "authorization": "present", "registration_form": "present",
    }
    assert full["complete"] is True
    assert next(i for i in full["items"] if i["code"] == "business_license")["document"]["id"] == licence["id"]
    # The incomplete list no longer names it.
    listed = client.get("/api/v1/partners/incomplete", headers=people["head"].headers).json()
    assert partner["id"] not in str(listed)


def test_completeness_is_configurable_per_kind_and_the_incomplete_list_is_per_department(
    settings, make_caller, people
) -> None:
    configured = settings.model_copy(update={"completeness_rules": {"customer": ["registration_form"]}})
    upgrade_database(configured.resolved_database_url)
    with TestClient(create_app(configured), raise_server_exceptions=False) as client:
        supplier = register(client, people["office"], "厦门鹭岛机电设备有限公司")
        customer = register(client, people["office"], "泉州海丝贸易有限公司", department=OTHER, kind="customer")
        assert client.get(f"/api/v1/partners/{supplier['id']}/completeness",
                          headers=people["office"].headers).json() | {"checked_on": None} == {
            "partner_id": supplier["id"], "partner_name": "厦门鹭岛机电设备有限公司", "kind": "supplier",
            "department": OWN, "status": "active", "complete": True, "checked_on": None, "items": [],
        }
        items = client.get(f"/api/v1/partners/{customer['id']}/completeness",
                           headers=people["office"].headers).json()["items"]
        assert [i["code"] for i in items] == ["registration_form"]
        listed = client.get("/api/v1/partners/incomplete", headers=people["office"].headers).json()
        assert {d: [p["name"] for p in ps] for d, ps in listed["departments"].items()} == {
            OTHER: ["泉州海丝贸易有限公司"]}
        assert client.get("/api/v1/partners/incomplete", headers=people["head"].headers).json()["total"] == 0
        assert client.get("/api/v1/partners/incomplete", headers=people["other_head"].headers).json()["total"] == 1
        refused(client.get("/api/v1/partners/incomplete", headers=people["seller"].headers), 403)
    with pytest.raises(ValueError, match="unknown completeness items"):
        Settings(completeness_rules={"supplier": ["营业执照"]})


# -- relationship records -----------------------------------------------------------------


def test_relationship_records_in_time_order_with_an_attachment_searchable_under_the_rule(
    tmp_path, settings, client, run_worker, people
) -> None:
    partner = register(client, people["office"], "厦门鹭岛机电设备有限公司")
    url = f"/api/v1/partners/{partner['id']}/records"
    visit = client.post(url, headers=people["buyer"].headers, data={
        "date": "2026-11-20", "kind": "visit", "summary": "上门走访，查看离心水泵生产线，交付计划可行。",
        "participants": "张伟、厂长黄志强",
    })
    assert visit.status_code == 201, visit.text
    pdf = text_pdf(tmp_path / "投诉函.pdf", ["投诉函\n十一月批次闸阀渗漏，要求三日内更换。"])
    with pdf.open("rb") as stream:
        complaint = client.post(url, headers=people["buyer"].headers, files={"file": ("投诉函.pdf", stream)},
                                data={"date": "2026-11-05", "kind": "complaint", "summary": "客户投诉闸阀渗漏",
                                      "confidentiality": "internal"})
    assert complaint.status_code == 201, complaint.text
    attachment = complaint.json()["attachment"]
    assert attachment["status"] == "queued" and attachment["title"].startswith("投诉记录附件")
    secret = client.post(url, headers=people["office"].headers, data={
        "date": "2026-11-25", "kind": "communication", "summary": "价格谈判底线：单价不低于九折",
        "confidentiality": "secret"})
    assert secret.status_code == 201
    run_worker()

    # In the order they happened; the secret one only for those cleared for it.
    listed = client.get(url, headers=people["buyer"].headers).json()
    assert [(r["date"], r["kind"]) for r in listed] == [("2026-11-05", "complaint"), ("2026-11-20", "visit")]
    assert [r["kind"] for r in client.get(url, headers=people["office"].headers).json()] == [
        "complaint", "visit", "communication"]
    # The record's text and the attachment's text are both found, under the same rule.
    hits = client.get("/api/v1/records", params={"q": "离心水泵"}, headers=people["buyer"].headers).json()
    assert [h["id"] for h in hits["hits"]] == [visit.json()["id"]] and "<em>离心水泵</em>" in hits["hits"][0]["highlights"][0]
    assert client.get("/api/v1/records", params={"q": "离心水泵"}, headers=people["seller"].headers).json()["total"] == 0
    assert client.get("/api/v1/records", params={"q": "价格谈判"}, headers=people["buyer"].headers).json()["total"] == 0
    assert client.get("/api/v1/records", params={"q": "价格谈判"}, headers=people["office"].headers).json()["total"] == 1
    documents = client.get("/api/v1/search", params={"q": "三日内更换"}, headers=people["buyer"].headers).json()
    assert [h["id"] for h in documents["hits"]] == [attachment["id"]]


def test_bad_records_are_refused_before_anything_is_kept(tmp_path, settings, client, people) -> None:
    partner = register(client, people["office"], "厦门鹭岛机电设备有限公司")
    url = f"/api/v1/partners/{partner['id']}/records"
    tomorrow = (settings.today() + timedelta(days=1)).isoformat()
    before = snapshot(settings, partner["id"])
    originals = sorted(p.name for p in settings.originals_dir.rglob("*") if p.is_file())
    pdf = text_pdf(tmp_path / "走访照片说明.pdf", ["走访照片说明"])
    with pdf.open("rb") as stream:
        future = client.post(url, headers=people["buyer"].headers, files={"file": ("走访照片说明.pdf", stream)},
                             data={"date": tomorrow, "kind": "visit", "summary": "计划走访"})
    refused(future, 422, "晚于今天")
    refused(client.post(url, headers=people["buyer"].headers,
                        data={"date": "2026-11-20", "kind": "visit", "summary": "公开记录",
                              "confidentiality": "public"}), 422, "public")
    refused(client.post(url, headers=people["buyer"].headers,
                        data={"date": "2026-11-20", "kind": "gossip", "summary": "闲谈"}), 422, "kind")
    # Another department's staff may not write in the partner's file.
    refused(client.post(url, headers=people["seller"].headers,
                        data={"date": "2026-11-20", "kind": "visit", "summary": "顺路拜访"}), 404)
    assert snapshot(settings, partner["id"]) == before
    assert sorted(p.name for p in settings.originals_dir.rglob("*") if p.is_file()) == originals


# -- the index after an upgrade ---------------------------------------------------------------


def test_an_index_built_from_the_older_mapping_takes_the_status_field_at_start(es, settings) -> None:
    """Documents written after the upgrade are not refused by the old strict mapping."""
    import json

    from archive.search_index import MAPPINGS_DIR, documents_alias, ensure_index, mapping_version_of

    old = json.loads((MAPPINGS_DIR / "documents.v1.json").read_text(encoding="utf-8"))
    alias = documents_alias(settings.es_index_prefix)
    index = f"{alias}-v1-initial"
    es.indices.create(index=index, settings=old["settings"], mappings=old["mappings"],
                      aliases={alias: {"is_write_index": True}})
    body = {"document_id": "d1", "partner_status": "suspended", "department": OWN}
    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        es.index(index=alias, id="d1", document=body, refresh=True)
    assert ensure_index(es, prefix=settings.es_index_prefix) == index and mapping_version_of(index) == 1
    es.index(index=alias, id="d1", document=body, refresh=True)
    found = es.search(index=alias, query={"term": {"partner_status": "suspended"}}).body["hits"]["total"]["value"]
    assert found == 1
