"""Finding 10: paths that failed with 500, showed a server path, or trusted a backup's names."""

from __future__ import annotations

import json

from tests.samples import text_pdf
from tests.security.conftest import web_sign_in
from tests.test_integrity import run_cli


def _contract(tmp_path, client, upload, run_worker, make_caller, create_partner):  # type: ignore[no-untyped-def]
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部", credit_code="913501003154662784")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    pdf = text_pdf(tmp_path / "contract.pdf", ["采购合同\n离心水泵二十台。"])
    document_id = upload(office, pdf, partner_id=partner["id"], expires_on="1990-01-01").json()["id"]
    assert run_worker() == 1
    return partner, document_id


def test_destruction_executes_from_its_web_page(tmp_path, client, upload, run_worker, make_caller,
                                                create_partner) -> None:
    _partner, document_id = _contract(tmp_path, client, upload, run_worker, make_caller, create_partner)
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    request_id = client.post("/api/v1/destruction-requests", json={"document_ids": [document_id], "reason": "期满"},
                             headers=office.headers).json()["id"]
    assert client.post(f"/api/v1/destruction-requests/{request_id}/approve", headers=leader.headers).status_code == 200
    csrf = web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
    done = client.post(f"/destruction/{request_id}/execute", data={"csrf_token": csrf, "confirmed": "yes"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    client.cookies.clear()
    assert client.get(f"/api/v1/documents/{document_id}", headers=office.headers).status_code == 404


def test_audit_since_a_date_or_a_time_without_zone(client, make_caller) -> None:
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    for since in ("2026-01-01", "2026-01-01T08:00", "2026-01-01T08:00:00+08:00"):
        response = client.get("/api/v1/audit", params={"since": since}, headers=office.headers)
        assert response.status_code == 200, (since, response.text)
    web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
    assert client.get("/audit", params={"since": "2026-01-01"}).status_code == 200


def test_approving_a_loan_of_a_destroyed_document_says_why(tmp_path, client, upload, run_worker, make_caller,
                                                            create_partner) -> None:
    _partner, document_id = _contract(tmp_path, client, upload, run_worker, make_caller, create_partner)
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    seller = make_caller("li.na", departments="销售部")
    loan = client.post("/api/v1/borrow-requests", json={"document_ids": [document_id], "reason": "核对", "days": 3},
                       headers=seller.headers).json()["id"]
    request_id = client.post("/api/v1/destruction-requests", json={"document_ids": [document_id], "reason": "期满"},
                             headers=office.headers).json()["id"]
    client.post(f"/api/v1/destruction-requests/{request_id}/approve", headers=leader.headers)
    assert client.post(f"/api/v1/destruction-requests/{request_id}/execute", headers=office.headers).status_code == 200
    approved = client.post(f"/api/v1/borrow-requests/{loan}/approve", headers=leader.headers)
    assert approved.status_code == 409, approved.text
    assert "不存在" in approved.json()["detail"]


def test_a_lookup_no_single_slip_explains_is_not_found(client, make_caller, create_partner) -> None:
    create_partner("福建省闽江供应链管理有限公司", "采购部", credit_code="913501003154662784")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    # A wrong check character (4 → 7) that no confusable reading explains: nothing to look up.
    response = client.get("/api/v1/lookup", params={"license_no": "913501003154662787"}, headers=office.headers)
    assert response.status_code == 404, response.text
    assert "913501003154662787" in response.json()["detail"]


def test_an_upload_error_names_no_server_path(tmp_path, settings, client, upload, run_worker, make_caller,
                                              create_partner) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    buyer = make_caller("zhang.wei", departments="采购部")
    broken = tmp_path / "scan.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)
    document_id = upload(buyer, broken, partner_id=partner["id"], content_type="image/tiff").json()["id"]
    run_worker()
    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert document["status"] == "failed" and document["error"]
    assert str(settings.data_path) not in document["error"] and "/originals/" not in document["error"]


def test_restore_refuses_a_manifest_that_names_files_outside(tmp_path, settings, client, make_caller,
                                                            create_partner) -> None:
    create_partner("福建省闽江供应链管理有限公司", "采购部")
    backup = tmp_path / "backup"
    assert run_cli(settings, "backup", str(backup)).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("不该被覆盖或删除", encoding="utf-8")
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    escape = "../../../" + str(victim.relative_to("/")).replace("victim.txt", "")
    # A name whose first characters climb out of the data directory.
    manifest["originals"]["files"] = [f"../{escape}victim.txt"]
    (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    target = settings.model_copy(update={"data_dir": tmp_path / "restored"})
    restored = run_cli(target, "restore", str(backup))
    assert restored.returncode == 1 and "清单" in restored.stderr, restored.stderr
    assert victim.read_text(encoding="utf-8") == "不该被覆盖或删除"
    assert not (tmp_path / "restored" / "archive.db").exists()
