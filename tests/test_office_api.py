"""What the office's pages rest on, through the API: configured departments, a document's
type corrected, failed uploads removed, loans recalled, destruction declined and never
requested twice, the catalogue's filters, the office's time zone, curly-quoted phrases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import AuditEntry
from archive.settings import Settings
from tests.samples import CONTRACT_TEXT, LICENCE_TEXT, encrypted_pdf, text_pdf


@pytest.fixture
def office(make_caller):  # type: ignore[no-untyped-def]
    return make_caller("wang.fang", roles="archivist", clearance="confidential")


@pytest.fixture
def minjiang(create_partner):  # type: ignore[no-untyped-def]
    return create_partner("福建省闽江供应链管理有限公司", "采购部")


def test_departments_come_from_the_configured_list(client, office, minjiang, upload, tmp_path) -> None:
    typo = client.post(
        "/api/v1/partners",
        json={"name": "泉州海丝贸易有限公司", "kind": "customer", "department": "销售一部"},
        headers=office.headers,
    )
    assert typo.status_code == 422
    assert "未知的部门「销售一部」" in typo.json()["detail"] and typo.json()["field"] == "department"
    moved = client.patch(f"/api/v1/partners/{minjiang['id']}", json={"department": "采购二部"}, headers=office.headers)
    assert moved.status_code == 422
    pdf = text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT])
    refused = upload(office, pdf, partner_id=minjiang["id"], department="法务处")
    assert refused.status_code == 422 and "法务处" in refused.json()["detail"]
    accepted = upload(office, pdf, partner_id=minjiang["id"], department="法务部")
    assert accepted.status_code == 202
    document = client.patch(
        f"/api/v1/documents/{accepted.json()['id']}", json={"department": "财务科"}, headers=office.headers
    )
    assert document.status_code == 422
    # Nothing was changed by the refusals.
    assert client.get(f"/api/v1/partners/{minjiang['id']}", headers=office.headers).json()["department"] == "采购部"


def test_the_department_list_and_zone_are_settings(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PARTNER_ARCHIVE_DEPARTMENTS", '["供应链管理部", "销售一部"]')
    monkeypatch.setenv("PARTNER_ARCHIVE_TIMEZONE", "Asia/Urumqi")
    settings = Settings(data_dir=tmp_path)
    assert settings.departments == ["供应链管理部", "销售一部"]
    assert settings.today() == datetime.now(settings.zone).date()
    with pytest.raises(ValidationError, match="未知的时区"):
        Settings(data_dir=tmp_path, timezone="Asia/Beijing")
    with pytest.raises(ValidationError, match="部门列表不能为空"):
        Settings(data_dir=tmp_path, departments=[" "])


def test_a_corrected_type_is_read_again_as_that_type(client, office, minjiang, upload, run_worker, tmp_path) -> None:
    pdf = text_pdf(tmp_path / "scan0007.pdf", [LICENCE_TEXT])
    document_id = upload(office, pdf, partner_id=minjiang["id"], doc_type="contract").json()["id"]
    run_worker()
    url = f"/api/v1/documents/{document_id}"
    before = client.get(url, headers=office.headers).json()
    assert "credit_code" not in before["fields"] and "contract_no" in before["field_problems"]
    changed = client.patch(url, json={"doc_type": "business_license", "expires_on": "2035-03-10"}, headers=office.headers)
    assert changed.status_code == 200 and changed.json()["status"] == "queued"
    assert run_worker() == 1
    after = client.get(url, headers=office.headers).json()
    assert after["doc_type"] == "business_license" and after["status"] == "indexed"
    assert after["fields"]["credit_code"] == "913501003154662784"
    assert after["field_provenance"]["expires_on"]["source"] == "supplied"
    assert after["title"] == "营业执照（福建省闽江供应链管理有限公司）"
    hits = client.get("/api/v1/search", params={"q": "闽江", "doc_type": "business_license"}, headers=office.headers)
    assert [hit["id"] for hit in hits.json()["hits"]] == [document_id]
    # Only what changed is in the history: a PATCH that changes nothing leaves no entry.
    same = client.patch(url, json={"doc_type": "business_license"}, headers=office.headers)
    assert same.status_code == 200 and same.json()["status"] == "indexed"


def test_a_corrected_type_lengthens_the_retention_never_shortens_it(
    client, settings, office, minjiang, upload, run_worker, tmp_path
) -> None:
    """Filed as 其他 (定期10年) and expired in 2000, a contract would be destroyable since 2010:
    corrected to 合同 it keeps 30 years; corrected on to 身份证 it does not fall back to 10."""
    pdf = text_pdf(tmp_path / "scan0011.pdf", [CONTRACT_TEXT])
    created = upload(office, pdf, partner_id=minjiang["id"], doc_type="other", expires_on="2000-01-01").json()
    document_id = created["id"]
    run_worker()
    url = f"/api/v1/documents/{document_id}"
    filed = client.get(url, headers=office.headers).json()
    assert filed["retention"] == "D10"
    code = filed["archival_code"]

    def eligible() -> list[str]:
        listed = client.get("/api/v1/destruction-eligible", headers=office.headers)
        assert listed.status_code == 200, listed.text
        return [item["id"] for item in listed.json()]

    assert document_id in eligible()
    changed = client.patch(url, json={"doc_type": "contract"}, headers=office.headers)
    assert changed.status_code == 200
    assert changed.json()["retention"] == "D30" and changed.json()["archival_code"] == code
    assert document_id not in eligible()
    run_worker()
    again = client.patch(url, json={"doc_type": "id_card"}, headers=office.headers)
    assert again.status_code == 200 and again.json()["retention"] == "D30"
    assert document_id not in eligible()
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        updates = session.scalars(
            select(AuditEntry).where(AuditEntry.target == document_id, AuditEntry.action == "document_update")
            .order_by(AuditEntry.seq)
        ).all()
    engine.dispose()
    assert updates[0].details["retention"] == {"old": "D10", "new": "D30"}
    assert "retention" not in updates[1].details


def test_a_failed_upload_is_removed_with_its_file(
    client, settings, office, minjiang, make_caller, upload, run_worker, tmp_path
) -> None:
    broken = upload(office, encrypted_pdf(tmp_path / "加密.pdf"), partner_id=minjiang["id"]).json()
    fine = upload(office, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=minjiang["id"]).json()
    run_worker()
    url = f"/api/v1/documents/{broken['id']}"
    failed = client.get(url, headers=office.headers).json()
    assert failed["status"] == "failed"
    original = settings.originals_dir / failed["sha256"][:2] / failed["sha256"][2:4] / failed["sha256"]
    assert original.exists()
    staff = make_caller("zhang.wei", departments="采购部")
    assert client.delete(url, headers=staff.headers).status_code == 403
    assert client.delete(f"/api/v1/documents/{fine['id']}", headers=office.headers).status_code == 409
    assert client.delete(url, headers=office.headers).status_code == 204
    assert client.get(url, headers=office.headers).status_code == 404
    assert not original.exists()
    catalogue = client.get("/api/v1/catalogue", params={"partner_id": minjiang["id"]}, headers=office.headers).json()
    assert [row["archive_no"] for row in catalogue["items"]] == [fine["archive_no"]]
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        removal = session.scalars(select(AuditEntry).where(AuditEntry.action == "document_remove")).one()
        assert removal.details["archive_no"] == broken["archive_no"]
    engine.dispose()


def test_a_loan_is_recalled_by_the_office(client, office, minjiang, make_caller, upload, run_worker, tmp_path) -> None:
    document = upload(office, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=minjiang["id"]).json()
    run_worker()
    seller = make_caller("li.na", departments="销售部")
    asked = client.post(
        "/api/v1/borrow-requests",
        json={"document_ids": [document["id"]], "reason": "核对条款", "days": 7},
        headers=seller.headers,
    ).json()
    assert asked["requester_departments"] == ["销售部"]
    client.post(f"/api/v1/borrow-requests/{asked['id']}/approve", json={}, headers=office.headers)
    assert client.get(f"/api/v1/documents/{document['id']}", headers=seller.headers).status_code == 200
    assert client.post(f"/api/v1/borrow-requests/{asked['id']}/recall", headers=seller.headers).status_code == 403
    recalled = client.post(
        f"/api/v1/borrow-requests/{asked['id']}/recall", json={"note": "合同已到期"}, headers=office.headers
    )
    assert recalled.status_code == 200
    assert recalled.json()["status"] == "recalled" and recalled.json()["recalled_by"] == "wang.fang"
    assert client.get(f"/api/v1/documents/{document['id']}", headers=seller.headers).status_code == 404
    again = client.post(f"/api/v1/borrow-requests/{asked['id']}/recall", headers=office.headers)
    assert again.status_code == 409


def test_destruction_is_requested_once_and_may_be_declined(
    client, settings, office, minjiang, make_caller, upload, run_worker, tmp_path
) -> None:
    old = upload(
        office, text_pdf(tmp_path / "旧合同.pdf", [CONTRACT_TEXT]), partner_id=minjiang["id"], expires_on="1990-01-01"
    ).json()
    run_worker()
    eligible = client.get("/api/v1/destruction-eligible", headers=office.headers).json()
    assert [d["id"] for d in eligible] == [old["id"]]
    body = {"document_ids": [old["id"]], "reason": "保管期满"}
    first = client.post("/api/v1/destruction-requests", json=body, headers=office.headers)
    assert first.status_code == 201
    assert client.get("/api/v1/destruction-eligible", headers=office.headers).json() == []
    twice = client.post("/api/v1/destruction-requests", json=body, headers=office.headers)
    assert twice.status_code == 409 and old["archive_no"] in twice.json()["detail"]
    leader = make_caller("li.ming", roles="admin", clearance="confidential")
    declined = client.post(
        f"/api/v1/destruction-requests/{first.json()['id']}/reject", json={"note": "仍在诉讼时效内"}, headers=leader.headers
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "rejected" and declined.json()["rejected_by"] == "li.ming"
    assert declined.json()["approved_by"] is None
    # Declined: the document is offered again, and the request cannot be executed.
    assert [d["id"] for d in client.get("/api/v1/destruction-eligible", headers=office.headers).json()] == [old["id"]]
    executed = client.post(f"/api/v1/destruction-requests/{first.json()['id']}/execute", headers=office.headers)
    assert executed.status_code == 409


def test_destruction_records_follow_the_document_they_record(
    client, office, minjiang, make_caller, upload, run_worker, tmp_path
) -> None:
    secret = upload(
        office,
        text_pdf(tmp_path / "保密协议.pdf", [CONTRACT_TEXT]),
        partner_id=minjiang["id"],
        confidentiality="secret",
        expires_on="1990-01-01",
    ).json()
    run_worker()
    request = client.post(
        "/api/v1/destruction-requests", json={"document_ids": [secret["id"]], "reason": "保管期满"}, headers=office.headers
    ).json()
    leader = make_caller("li.ming", roles="admin", clearance="confidential")
    client.post(f"/api/v1/destruction-requests/{request['id']}/approve", headers=leader.headers)
    assert client.post(f"/api/v1/destruction-requests/{request['id']}/execute", headers=office.headers).status_code == 200
    records = client.get("/api/v1/destruction-records", headers=office.headers).json()
    assert [r["archive_no"] for r in records] == [secret["archive_no"]] and records[0]["department"] == "采购部"
    compliance = make_caller("he.min", roles="compliance", clearance="internal")
    assert client.get("/api/v1/destruction-records", headers=compliance.headers).json() == []


def test_catalogue_filters_by_department_and_status(
    client, office, minjiang, upload, run_worker, tmp_path
) -> None:
    upload(office, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=minjiang["id"])
    upload(office, text_pdf(tmp_path / "法务.pdf", ["法律意见书"]), partner_id=minjiang["id"], department="法务部")
    upload(office, encrypted_pdf(tmp_path / "加密.pdf"), partner_id=minjiang["id"])
    run_worker()

    def titles(**params: str) -> list[str]:
        body = client.get("/api/v1/catalogue", params=params, headers=office.headers).json()
        return sorted(row["title"] for row in body["items"])

    assert titles(department="法务部") == ["法务"]
    assert titles(status="failed") == ["加密"]
    assert titles(department="采购部", status="indexed") == ["采购合同 HT-2026-0042"]


def test_curly_quotes_make_a_phrase(client, office, minjiang, upload, run_worker, tmp_path) -> None:
    upload(office, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), partner_id=minjiang["id"])
    run_worker()

    def total(q: str) -> int:
        return client.get("/api/v1/search", params={"q": q}, headers=office.headers).json()["total"]

    # The words are there, but not in this order: as a phrase they are not found.
    assert total("水泵 离心") == 1
    assert total('"水泵 离心"') == 0
    assert total("“水泵 离心”") == 0
    assert total("“离心水泵”") == 1


def test_report_dates_are_the_office_days(client, settings, office, minjiang) -> None:
    summary = client.get("/api/v1/reports/partners", params={"format": "csv"}, headers=office.headers)
    made_on = summary.content.decode("utf-8-sig").splitlines()[1].split(",")[3]
    assert made_on == settings.today().isoformat()
    assert settings.timezone == "Asia/Shanghai" and str(datetime.now(UTC).astimezone(settings.zone).utcoffset()) == "8:00:00"
