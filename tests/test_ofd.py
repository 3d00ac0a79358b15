"""OFD intake (GB/T 33190-2016): accepted by content, text extracted and indexed, an
e-invoice's number, date, amount and both parties kept as fields and found by search; the
original kept as uploaded; hostile packages refused or failed naming the 四性 item."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from archive.db import make_engine, make_session_factory
from archive.models import Document
from archive.schemas import Confidentiality, DocType
from ingest.bulk_import import ImportOptions, import_directory
from tests.ofd_samples import Invoice, ofd_bomb, ofd_file, zip_claiming_ofd

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture
def office(make_caller):  # type: ignore[no-untyped-def]
    return make_caller("wang.fang", roles="archivist", clearance="confidential")


@pytest.fixture
def supplier(create_partner):  # type: ignore[no-untyped-def]
    return create_partner("厦门鹭岛机电设备有限公司", "财务部")


def _checks(client, caller, document_id):  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/documents/{document_id}/checks", headers=caller.headers).json()
    return {item["code"]: item for item in body["items"]}


def test_an_ofd_invoice_is_read_kept_and_found_by_its_number(
    tmp_path, client, upload, run_worker, office, supplier, make_caller
) -> None:
    invoice = Invoice()
    path = ofd_file(tmp_path / "数电发票.ofd", invoice=invoice, signed=True)
    response = upload(office, path, partner_id=supplier["id"], doc_type="other", content_type="application/ofd")
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    run_worker()

    document = client.get(f"/api/v1/documents/{document_id}", headers=office.headers).json()
    assert document["status"] == "indexed" and document["media_type"] == "application/ofd"
    assert {key: document["fields"].get(key) for key in (
        "invoice_no", "issued_on", "amount", "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id"
    )} == {
        "invoice_no": invoice.number, "issued_on": invoice.issued_on, "amount": invoice.amount,
        "buyer_name": invoice.buyer_name, "buyer_tax_id": invoice.buyer_tax_id,
        "seller_name": invoice.seller_name, "seller_tax_id": invoice.seller_tax_id,
    }
    assert document["field_provenance"]["invoice_no"]["method"] == "embedded"
    # The original is kept byte for byte.
    content = client.get(f"/api/v1/documents/{document_id}/content", headers=office.headers)
    assert content.content == path.read_bytes()

    finance = make_caller("zhao.kuaiji", departments="财务部")
    found = client.get("/api/v1/search", params={"q": invoice.number}, headers=finance.headers).json()
    assert [hit["id"] for hit in found["hits"]] == [document_id]

    items = _checks(client, office, document_id)
    assert items["GD-3-3"]["result"] == "pass"  # OFD is a long-term format
    assert items["GD-1-1.2"]["result"] == "pass" and "国家税务总局电子发票签章" in items["GD-1-1.2"]["evidence"]
    assert items["GD-2-4"]["result"] == "pass"


def test_hostile_ofd_packages_are_refused_or_failed_naming_the_item(
    tmp_path, client, upload, run_worker, office, supplier
) -> None:
    claim = upload(office, zip_claiming_ofd(tmp_path / "伪装.ofd"), partner_id=supplier["id"], doc_type="invoice")
    assert claim.status_code == 415
    assert "OFD.xml" in claim.json()["detail"] and "GD-3-3" in claim.json()["detail"]

    outside = ofd_file(tmp_path / "外部引用.ofd", [["正文"]], page_location="file:///etc/passwd")
    bomb = ofd_bomb(tmp_path / "炸弹.ofd")
    ids = {}
    for path in (outside, bomb):
        response = upload(office, path, partner_id=supplier["id"], doc_type="other")
        assert response.status_code == 202, response.text
        ids[path.name] = response.json()["id"]
    run_worker()
    refused_outside = client.get(f"/api/v1/documents/{ids['外部引用.ofd']}", headers=office.headers).json()
    assert refused_outside["status"] == "failed" and refused_outside["error_reason"] == "external_reference"
    assert refused_outside["pages"] is None
    assert _checks(client, office, ids["外部引用.ofd"])["GD-2-7"]["result"] == "fail"
    refused_bomb = client.get(f"/api/v1/documents/{ids['炸弹.ofd']}", headers=office.headers).json()
    assert refused_bomb["status"] == "failed" and refused_bomb["error_reason"] == "zip_bomb"
    assert _checks(client, office, ids["炸弹.ofd"])["GD-3-4"]["result"] == "fail"


def test_an_import_batch_is_checked_as_one_run(tmp_path, settings, client, office, supplier) -> None:
    archive = tmp_path / "archive" / "invoice"
    archive.mkdir(parents=True)
    ofd_file(archive / "发票一.ofd", invoice=Invoice(number="26352000000000000001"))
    ofd_file(archive / "发票二.ofd", invoice=Invoice(number="26352000000000000002", amount="226.00"))
    infected = io.BytesIO()
    ofd_file(tmp_path / "base.ofd", [["正文"]])
    with zipfile.ZipFile(tmp_path / "base.ofd") as source, zipfile.ZipFile(infected, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr("Doc_0/Res/eicar.txt", EICAR)
    (archive / "带病毒.ofd").write_bytes(infected.getvalue())
    database = tmp_path / "eicar.ndb"
    database.write_text(f"PartnerArchive.Test.EICAR:0:*:{EICAR.hex()}\n")
    configured = settings.model_copy(update={"clamscan_command": "/usr/bin/clamscan", "clamav_database": database})

    options = ImportOptions(partner=supplier["archive_no"], doc_type=DocType.other,
                            confidentiality=Confidentiality.internal, user="chen.dang", jobs=1)
    report = import_directory(configured, tmp_path / "archive", options)
    assert report.indexed == 2 and report.failed == []
    assert [(name, "GD-4-2" in why) for name, why in report.skipped] == [("invoice/带病毒.ofd", True)]
    assert report.check_run is not None and report.checks_failed == 0

    run = client.get(f"/api/v1/check-runs/{report.check_run}/report", headers=office.headers).json()
    assert run["scope"]["kind"] == "import" and run["documents"] == 2 and run["failed_documents"] == 0
    codes = sorted(row["archival_code"] for row in run["documents_checked"])
    year = codes[0].split("·")[1][:4]
    assert codes == [f"Q001-WS·{year}-D30-0001", f"Q001-WS·{year}-D30-0002"]
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        kept = {d.original_filename: d for d in session.scalars(select(Document))}
    engine.dispose()
    assert set(kept) == {"发票一.ofd", "发票二.ofd"}
    assert kept["发票二.ofd"].fields["amount"] == "226.00"
    assert kept["发票一.ofd"].file_properties["virus_scan"]["result"] == "clean"
