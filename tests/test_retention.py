"""保管期限 and 档号 per DA/T 22-2015: the period stored on each document decides destruction
(永久 never), the 档号 follows the configured rule, and a destroyed document's 件号 stays
accounted for through its destruction record."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from archive.db import make_engine, make_session_factory
from archive.recheck import recheck
from archive.storage import OriginalStore
from search_api.app import create_app
from tests.samples import CONTRACT_TEXT, text_pdf


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Licences kept forever, ID copies ten years, an organisation level in the 档号."""
    return settings.model_copy(update={
        "retention_periods": {**settings.retention_periods, "business_license": "Y", "id_card": "D10"},
        "fonds_no": "J012",
        "archival_code_format": "{fonds}-{category}·{year}-{retention}-{org}-{item:04d}",
        "organization_codes": {"采购部": "CGB"},
    })


def _upload(client, caller, path, partner_id, doc_type):  # type: ignore[no-untyped-def]
    with path.open("rb") as stream:
        response = client.post("/api/v1/documents", headers=caller.headers,
                               files={"file": (path.name, stream, "application/pdf")},
                               data={"partner_id": partner_id, "doc_type": doc_type, "confidentiality": "internal"})
    assert response.status_code == 202, response.text
    return response.json()


def test_retention_decides_destruction_and_permanent_is_never_eligible(
    tmp_path, client, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    licence = _upload(client, office, text_pdf(tmp_path / "执照.pdf", ["营业执照"]), partner["id"], "business_license")
    id_copy = _upload(client, office, text_pdf(tmp_path / "身份证.pdf", ["身份证复印件"]), partner["id"], "id_card")
    run_worker()
    for document in (licence, id_copy):
        assert client.patch(f"/api/v1/documents/{document['id']}", json={"expires_on": "1990-01-01"},
                            headers=office.headers).status_code == 200
    got = {d["id"]: d for d in (client.get(f"/api/v1/documents/{x['id']}", headers=office.headers).json()
                                 for x in (licence, id_copy))}
    year = got[licence["id"]]["created_at"][:4]
    assert got[licence["id"]]["archival_code"] == f"J012-WS·{year}-Y-CGB-0001"
    assert got[id_copy["id"]]["archival_code"] == f"J012-WS·{year}-D10-CGB-0001"
    eligible = client.get("/api/v1/destruction-eligible", headers=office.headers).json()
    assert [(e["id"], e["retention"], e["retention_ends"]) for e in eligible] == [
        (id_copy["id"], "D10", "2000-01-01")
    ]


def test_a_destroyed_number_is_no_gap(tmp_path, settings, client, run_worker, make_caller, create_partner) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    other_office = make_caller("wu.an", roles="archivist", clearance="confidential")
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    ids = [_upload(client, office, text_pdf(tmp_path / f"合同{n}.pdf", [f"{CONTRACT_TEXT}\n{n}"]), partner["id"],
                   "contract")["id"] for n in range(3)]
    run_worker()
    request = client.post("/api/v1/destruction-requests", json={"document_ids": [ids[1]], "reason": "到期销毁"},
                          headers=office.headers).json()
    assert client.post(f"/api/v1/destruction-requests/{request['id']}/approve", headers=leader.headers).status_code == 200
    assert client.post(f"/api/v1/destruction-requests/{request['id']}/execute",
                       headers=other_office.headers).status_code == 200
    records = client.get("/api/v1/destruction-records", headers=office.headers).json()
    assert [(r["document_id"], r["item_no"]) for r in records] == [(ids[1], 2)]
    engine = make_engine(settings.resolved_database_url)
    try:
        result = recheck(make_session_factory(engine), store=OriginalStore(settings.originals_dir),
                         settings=settings, actor="test", everything=True)
    finally:
        engine.dispose()
    assert result.documents == 2 and result.failed == []
    items = {i["code"]: i for i in client.get(f"/api/v1/documents/{ids[2]}/checks", headers=office.headers)
             .json()["items"]}
    assert items["CC-2-6"]["result"] == "pass" and "含已销毁 1 件" in items["CC-2-6"]["evidence"]


def test_concurrent_uploads_take_gap_free_numbers(tmp_path, settings, make_caller, create_partner) -> None:
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    files = [text_pdf(tmp_path / f"并发{n}.pdf", [f"{CONTRACT_TEXT}\n并发 {n}"]) for n in range(8)]
    codes: list[str] = []
    with TestClient(create_app(settings)) as client:
        def send(path):  # type: ignore[no-untyped-def]
            codes.append(_upload(client, office, path, partner["id"], "contract")["id"])

        threads = [threading.Thread(target=send, args=(path,)) for path in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        numbers = sorted(client.get(f"/api/v1/documents/{i}", headers=office.headers).json()["item_no"] for i in codes)
    assert numbers == list(range(1, 9))
