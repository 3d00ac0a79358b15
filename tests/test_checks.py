"""四性检测 at intake and in storage: each item judged with its evidence, kept with the
document, listed for the archive office, and reported as JSON and XLSX."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from archive.db import make_engine, make_session_factory
from archive.recheck import recheck
from archive.storage import OriginalStore
from tests.samples import CONTRACT_TEXT, encrypted_pdf, text_pdf
from tests.test_integrity import run_cli

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture
def office(make_caller):  # type: ignore[no-untyped-def]
    return make_caller("wang.fang", roles="archivist", clearance="confidential")


@pytest.fixture
def supplier(create_partner):  # type: ignore[no-untyped-def]
    return create_partner("福建省闽江供应链管理有限公司", "采购部")


def _items(client, caller, document_id):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/documents/{document_id}/checks", headers=caller.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body, {item["code"]: item for item in body["items"]}


def _upload(upload, caller, path, supplier, **form):  # type: ignore[no-untyped-def]
    response = upload(caller, path, partner_id=supplier["id"], **form)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _recheck(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.resolved_database_url)
    try:
        return recheck(
            make_session_factory(engine),
            store=OriginalStore(settings.originals_dir),
            settings=settings,
            actor="test",
            everything=True,
            kind="on_demand",
        )
    finally:
        engine.dispose()


def _sql(settings, statement, **params):  # type: ignore[no-untyped-def]
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        result = connection.execute(text(statement), params)
        rows = result.all() if result.returns_rows else None
    engine.dispose()
    return rows


def test_sm3_is_gb_t_32905() -> None:
    # The two examples of GB/T 32905-2016, appendix A.
    assert hashlib.new("sm3", b"abc").hexdigest() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert hashlib.new("sm3", b"abcd" * 16).hexdigest() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_a_sound_contract_passes_every_item_with_its_evidence(
    tmp_path, client, upload, run_worker, office, supplier, make_caller
) -> None:
    pdf = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    document_id = _upload(upload, office, pdf, supplier)
    run_worker()
    body, items = _items(client, office, document_id)
    assert body["status"] == "passed"
    assert body["stage"] == "intake"
    assert [item["code"] for item in body["items"]] == [
        "GD-1-1.1",
        "GD-1-1.2",
        "GD-1-4",
        "GD-1-6",
        "GD-1-7",
        "GD-1-8",
        "GD-1-9",
        "GD-1-10",
        "GD-2-4",
        "GD-2-6",
        "GD-2-7",
        "GD-3-3",
        "GD-3-4",
        "GD-3-6",
        "GD-4-2",
        "GD-4-7",
    ]
    document = client.get(f"/api/v1/documents/{document_id}", headers=office.headers).json()
    assert document["sm3"] == hashlib.new("sm3", pdf.read_bytes()).hexdigest()
    assert (
        document["sm3"] in items["GD-1-1.1"]["evidence"]
        and document["sha256"] in items["GD-1-1.1"]["evidence"]
    )
    assert document["retention"] == "D30" and document["item_no"] == 1
    year = document["created_at"][:4]
    assert document["archival_code"] == f"Q001-WS·{year}-D30-0001"
    assert items["GD-1-7"]["result"] == "pass"
    assert items["GD-2-7"]["evidence"].startswith("共 1 页全部读取")
    assert items["GD-4-2"]["result"] == "not_applicable" and "ClamAV" in items["GD-4-2"]["evidence"]
    assert items["GD-4-7"]["result"] == "pass"
    assert {item["property"] for item in body["items"]} == {
        "authenticity",
        "integrity",
        "usability",
        "security",
    }
    # Hidden is absent: another department's staff get 404.
    outsider = make_caller("li.na", departments="销售部")
    assert client.get(f"/api/v1/documents/{document_id}/checks", headers=outsider.headers).status_code == 404


def test_a_missing_field_fails_integrity_and_is_listed(
    tmp_path, client, upload, run_worker, office, supplier
) -> None:
    pdf = text_pdf(tmp_path / "无当事人的合同.pdf", ["采购合同\n标的：离心水泵二十台，交货期三十日。"])
    document_id = _upload(upload, office, pdf, supplier)
    run_worker()
    body, items = _items(client, office, document_id)
    assert body["status"] == "failed"
    assert items["GD-2-4"]["result"] == "fail"
    assert "甲方" in items["GD-2-4"]["evidence"] and "乙方" in items["GD-2-4"]["evidence"]
    listed = client.get("/api/v1/check-failures", headers=office.headers).json()
    assert [(f["document_id"], [i["code"] for i in f["failed_items"]]) for f in listed] == [
        (document_id, ["GD-2-4"])
    ]


def test_an_encrypted_pdf_fails_usability(tmp_path, client, upload, run_worker, office, supplier) -> None:
    document_id = _upload(upload, office, encrypted_pdf(tmp_path / "加密合同.pdf"), supplier)
    run_worker()
    body, items = _items(client, office, document_id)
    assert body["status"] == "failed"
    assert items["GD-3-6"]["result"] == "fail" and "加密" in items["GD-3-6"]["evidence"]
    assert items["GD-3-4"]["result"] == "fail"
    assert items["GD-3-6"]["property"] == "usability"


def test_a_pdf_whose_page_count_lies_is_failed_naming_the_item(
    tmp_path, client, upload, run_worker, office, supplier
) -> None:
    honest = text_pdf(tmp_path / "两页.pdf", [CONTRACT_TEXT, "第二页"])
    lying = tmp_path / "声称五页.pdf"
    lying.write_bytes(honest.read_bytes().replace(b"/Count 2", b"/Count 5"))
    document_id = _upload(upload, office, lying, supplier)
    run_worker()
    document = client.get(f"/api/v1/documents/{document_id}", headers=office.headers).json()
    assert document["status"] == "failed" and document["error_reason"] == "page_count_mismatch"
    assert document["pages"] is None  # nothing half-kept: no pages stored
    _body, items = _items(client, office, document_id)
    assert items["GD-2-7"]["result"] == "fail" and "声明 5 页" in items["GD-2-7"]["evidence"]
    assert items["GD-1-9"]["result"] == "fail" and "声明 5 / 实有 2" in items["GD-1-9"]["evidence"]


def test_a_flipped_byte_fails_fixity_and_alerts(
    tmp_path, settings, client, upload, run_worker, office, supplier
) -> None:
    kept = _upload(upload, office, text_pdf(tmp_path / "甲.pdf", [CONTRACT_TEXT]), supplier)
    damaged = _upload(upload, office, text_pdf(tmp_path / "乙.pdf", [CONTRACT_TEXT + "\n补充条款"]), supplier)
    run_worker()
    sha256 = client.get(f"/api/v1/documents/{damaged}", headers=office.headers).json()["sha256"]
    original = OriginalStore(settings.originals_dir).path_for(sha256)
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    original.write_bytes(bytes(data))

    received: list[dict] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        alerting = settings.model_copy(update={"check_alert_webhook": f"http://127.0.0.1:{server.server_port}/"})
        result = _recheck(alerting)
    finally:
        server.shutdown()
    assert result.documents == 2
    assert [f["document_id"] for f in result.failed] == [damaged]
    assert result.alerted == ["webhook"]
    assert [f["document_id"] for f in received[0]["failed"]] == [damaged]
    assert "CC-1-1.1" in received[0]["failed"][0]["items"][0]
    body, items = _items(client, office, damaged)
    assert body["stage"] == "storage" and body["status"] == "failed"
    assert items["CC-1-1.1"]["result"] == "fail" and "SHA-256 不符" in items["CC-1-1.1"]["evidence"]
    assert _items(client, office, kept)[1]["CC-1-1.1"]["result"] == "pass"
    alerts = _sql(settings, "SELECT target FROM audit_entries WHERE action = 'check_alert'")
    assert alerts == [(result.run_id,)]
    runs = client.get("/api/v1/check-runs", headers=office.headers).json()
    assert runs[0]["id"] == result.run_id and runs[0]["failed"] == 1
    # `partner-archive check` runs the same checks on demand and fails on the damaged one.
    checked = run_cli(settings, "check")
    assert checked.returncode == 1
    assert "四性检测" in checked.stdout and "CC-1-1.1" in checked.stdout and damaged in checked.stdout


def test_a_gap_in_item_numbers_is_found(
    tmp_path, settings, client, upload, run_worker, office, supplier
) -> None:
    ids = [
        _upload(upload, office, text_pdf(tmp_path / f"合同{n}.pdf", [f"{CONTRACT_TEXT}\n第{n}份"]), supplier)
        for n in range(1, 4)
    ]
    run_worker()
    codes = [
        client.get(f"/api/v1/documents/{i}", headers=office.headers).json()["archival_code"] for i in ids
    ]
    assert [code[-4:] for code in codes] == ["0001", "0002", "0003"]
    # A record lost outside any workflow (no destruction record): its number is a gap.
    _sql(settings, "DELETE FROM document_pages WHERE document_id = :id", id=ids[1])
    _sql(settings, "DELETE FROM documents WHERE id = :id", id=ids[1])
    _recheck(settings)
    _body, items = _items(client, office, ids[0])
    assert items["CC-2-6"]["result"] == "fail" and "缺号 0002" in items["CC-2-6"]["evidence"]


def test_the_eicar_string_is_caught_and_nothing_is_kept(
    tmp_path, settings, client, upload, run_worker, office, supplier
) -> None:
    database = tmp_path / "eicar.ndb"
    database.write_text(f"PartnerArchive.Test.EICAR:0:*:{EICAR.hex()}\n")
    configured = settings.model_copy(
        update={"clamscan_command": "/usr/bin/clamscan", "clamav_database": database}
    )
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    with TestClient(create_app(configured), raise_server_exceptions=False) as scanning:
        infected = tmp_path / "带病毒的合同.pdf"
        infected.write_bytes(
            text_pdf(tmp_path / "x.pdf", [CONTRACT_TEXT]).read_bytes() + b"\n%" + EICAR + b"\n"
        )
        with infected.open("rb") as stream:
            refused = scanning.post(
                "/api/v1/documents",
                headers=office.headers,
                files={"file": (infected.name, stream, "application/pdf")},
                data={"partner_id": supplier["id"], "doc_type": "contract", "confidentiality": "internal"},
            )
        assert refused.status_code == 415
        assert "GD-4-2" in refused.json()["detail"] and "EICAR" in refused.json()["detail"]
        assert _sql(settings, "SELECT count(*) FROM documents") == [(0,)]
        assert not [p for p in settings.originals_dir.rglob("*") if p.is_file()]

        clean = text_pdf(tmp_path / "干净的合同.pdf", [CONTRACT_TEXT])
        with clean.open("rb") as stream:
            accepted = scanning.post(
                "/api/v1/documents",
                headers=office.headers,
                files={"file": (clean.name, stream, "application/pdf")},
                data={"partner_id": supplier["id"], "doc_type": "contract", "confidentiality": "internal"},
            )
        assert accepted.status_code == 202, accepted.text
    run_worker()
    _body, items = _items(client, office, accepted.json()["id"])
    assert items["GD-4-2"]["result"] == "pass" and "clamscan" in items["GD-4-2"]["evidence"]


def test_reports_read_back_with_the_same_rows(
    tmp_path, settings, client, upload, run_worker, office, supplier
) -> None:
    good = _upload(upload, office, text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT]), supplier)
    bad = _upload(upload, office, encrypted_pdf(tmp_path / "加密.pdf"), supplier)
    run_worker()
    result = _recheck(settings)
    report = client.get(f"/api/v1/check-runs/{result.run_id}/report", headers=office.headers).json()
    assert report["documents"] == 2 and report["failed_documents"] == 1
    by_document = {row["document_id"]: row["items"] for row in report["documents_checked"]}
    assert by_document[good] == _items(client, office, good)[0]["items"]

    response = client.get(f"/api/v1/check-runs/{result.run_id}/report?format=xlsx", headers=office.headers)
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    details = list(workbook["明细"].iter_rows(min_row=5, values_only=True))
    expected = [
        (
            item["code"],
            item["name"],
            {"pass": "通过", "fail": "未通过", "not_applicable": "不适用"}[item["result"]],
            item["evidence"],
        )
        for document_id in sorted(by_document, key=lambda d: report_code(report, d))
        for item in by_document[document_id]
    ]
    assert [(row[5], row[7], row[8], row[9]) for row in details] == expected
    summary = {row[0]: row[3:6] for row in workbook["汇总"].iter_rows(min_row=5, values_only=True)}
    assert summary["CC-1-1.1"] == (2, 0, 0)
    assert summary["CC-3-4"] == (1, 1, 0)

    # Per document and per period, the same items.
    single = client.get(f"/api/v1/documents/{bad}/checks/report", headers=office.headers).json()
    assert single["documents_checked"][0]["items"] == _items(client, office, bad)[0]["items"]
    day = report["scope"]["started_at"][:10]
    period = client.get(f"/api/v1/check-report?since={day}&until={day}", headers=office.headers).json()
    assert period["documents"] == 4  # two intake checks and two storage checks


def report_code(report, document_id):  # type: ignore[no-untyped-def]
    return next(
        row["archival_code"] for row in report["documents_checked"] if row["document_id"] == document_id
    )
