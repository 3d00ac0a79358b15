"""Uploads land whole or are refused with a message, and nothing of a refused one is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from archive.models import Document
from archive.settings import Settings
from tests.samples import CONTRACT_TEXT, scan_image, text_pdf


def _kept(settings: Settings) -> tuple[int, list[Path]]:
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Document)).scalar_one()
    engine.dispose()
    files = [p for p in settings.originals_dir.rglob("*") if p.is_file()]
    return rows, files


@pytest.fixture
def buyer(make_caller):  # type: ignore[no-untyped-def]
    return make_caller("zhang.wei", departments="采购部")


@pytest.fixture
def supplier(create_partner):  # type: ignore[no-untyped-def]
    return create_partner("厦门鹭岛机电设备有限公司", "采购部")


def test_upload_is_accepted_queued_and_stored_by_content(
    tmp_path, settings, client, upload, buyer, supplier
) -> None:
    pdf = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    response = upload(buyer, pdf, partner_id=supplier["id"])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert body["archive_no"] == f"{supplier['archive_no']}-0001"

    document = client.get(f"/api/v1/documents/{body['id']}", headers=buyer.headers).json()
    assert document["department"] == "采购部"
    assert document["title"] == "采购合同"
    assert document["media_type"] == "application/pdf"
    stored = settings.originals_dir / document["sha256"][:2] / document["sha256"][2:4] / document["sha256"]
    assert stored.read_bytes() == pdf.read_bytes()
    download = client.get(f"/api/v1/documents/{body['id']}/content", headers=buyer.headers)
    assert download.content == pdf.read_bytes()
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_same_bytes_for_the_same_partner_return_the_existing_document(
    tmp_path, settings, upload, buyer, supplier
) -> None:
    pdf = text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT])
    first = upload(buyer, pdf, partner_id=supplier["id"])
    again = upload(buyer, pdf, partner_id=supplier["id"], filename="合同-副本.pdf")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert _kept(settings)[0] == 1


def _refused(response, status: int, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail


def test_empty_file_is_refused(tmp_path, settings, upload, buyer, supplier) -> None:
    empty = tmp_path / "空白.pdf"
    empty.write_bytes(b"")
    _refused(upload(buyer, empty, partner_id=supplier["id"]), 415, "文件为空")
    assert _kept(settings) == (0, [])


def test_jpeg_named_pdf_is_refused_as_disguised(tmp_path, settings, upload, buyer, supplier) -> None:
    jpeg = scan_image(tmp_path / "scan.jpg", "营业执照", dpi=100, fmt="jpeg")
    disguised = tmp_path / "营业执照.pdf"
    disguised.write_bytes(jpeg.read_bytes())
    _refused(upload(buyer, disguised, partner_id=supplier["id"]), 415, "JPEG", ".pdf")
    assert _kept(settings) == (0, [])


def test_html_named_png_is_refused_as_unsupported(tmp_path, settings, upload, buyer, supplier) -> None:
    page = tmp_path / "licence.png"
    page.write_text("<!DOCTYPE html><html><script>alert(1)</script></html>")
    _refused(upload(buyer, page, partner_id=supplier["id"]), 415, "不支持", "HTML")
    assert _kept(settings) == (0, [])


def test_declared_type_must_match_the_content(tmp_path, settings, upload, buyer, supplier) -> None:
    pdf = text_pdf(tmp_path / "contract", [CONTRACT_TEXT])
    response = upload(buyer, pdf, partner_id=supplier["id"], content_type="image/png")
    _refused(response, 415, "PDF", "image/png")


def test_oversized_upload_is_refused_and_nothing_kept(tmp_path, settings, make_caller) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    settings = settings.model_copy(update={"max_upload_mb": 1})
    archivist = make_caller("archive.office", roles="archivist", clearance="confidential")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10))
    with TestClient(create_app(settings)) as client:
        partner = client.post(
            "/api/v1/partners",
            json={"name": "大文件测试客商", "kind": "supplier", "department": "采购部"},
            headers=archivist.headers,
        ).json()
        with big.open("rb") as stream:
            response = client.post(
                "/api/v1/documents",
                files={"file": ("big.pdf", stream, "application/pdf")},
                data={"partner_id": partner["id"], "doc_type": "contract", "confidentiality": "internal"},
                headers=archivist.headers,
            )
    _refused(response, 413, "1 MB")
    assert _kept(settings) == (0, [])
    assert not any(settings.originals_dir.rglob("upload-*"))


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"doc_type": "voucher"}, "doc_type"),
        ({"confidentiality": "top_secret"}, "confidentiality"),
        ({"partner_id": "0" * 32}, "partner_id"),
        ({"expires_on": "2035年3月11日"}, "expires_on"),
    ],
)
def test_bad_metadata_is_422_naming_the_field(
    tmp_path, settings, upload, buyer, supplier, form, field
) -> None:
    pdf = text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT])
    fields = {"partner_id": supplier["id"], "doc_type": "contract", "confidentiality": "internal", **form}
    partner_id = fields.pop("partner_id")
    response = upload(buyer, pdf, partner_id=partner_id, **fields)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"] or response.json().get("field") == field
    assert _kept(settings) == (0, [])


def test_path_traversal_in_the_file_name_is_neutralised(tmp_path, client, upload, buyer, supplier) -> None:
    pdf = text_pdf(tmp_path / "合同.pdf", [CONTRACT_TEXT])
    response = upload(buyer, pdf, partner_id=supplier["id"], filename="../../etc/采购合同.pdf")
    document = client.get(f"/api/v1/documents/{response.json()['id']}", headers=buyer.headers).json()
    assert document["original_filename"] == "采购合同.pdf"


def test_who_may_file_to_which_partner_department_and_level(
    tmp_path, settings, client, upload, make_caller, create_partner
) -> None:
    purchasing = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    sales = create_partner("泉州海丝贸易有限公司", "销售部", kind="customer")
    buyer = make_caller("zhang.wei", departments="采购部", clearance="internal")
    seller = make_caller("li.na", departments="销售部", clearance="internal")
    office = make_caller("chen.dang", roles="archivist", clearance="secret")
    pages = iter(range(100))

    def send(caller, partner, **form):  # type: ignore[no-untyped-def]
        pdf = text_pdf(tmp_path / "合同.pdf", [f"{CONTRACT_TEXT}\n附件第{next(pages)}号"])  # new bytes each time
        return upload(caller, pdf, partner_id=partner["id"], **form)

    def filed(response, department: str, level: str = "internal") -> None:  # type: ignore[no-untyped-def]
        assert response.status_code == 202, response.text
        document = client.get(f"/api/v1/documents/{response.json()['id']}", headers=office.headers).json()
        assert (document["department"], document["confidentiality"]) == (department, level)

    # A partner the caller cannot see is as absent as one that does not exist.
    hidden, unknown = send(buyer, sales), send(buyer, {"id": "0" * 32})
    assert (hidden.status_code, unknown.status_code) == (422, 422)
    assert hidden.json()["detail"].replace(sales["id"], "ID") == unknown.json()["detail"].replace("0" * 32, "ID")
    # Into the partner's department by default, or the caller's own; never a third one.
    filed(send(buyer, purchasing), "采购部")
    _refused(send(buyer, purchasing, department="财务部"), 403, "财务部")
    # Up to the caller's own clearance.
    filed(send(buyer, purchasing, confidentiality="public"), "采购部", "public")
    _refused(send(buyer, purchasing, confidentiality="secret"), 403, "secret")
    # Someone who sees the partner through one public document files to its department or theirs.
    filed(send(office, purchasing, confidentiality="public"), "采购部", "public")
    filed(send(seller, purchasing), "采购部")
    filed(send(seller, purchasing, department="销售部"), "销售部")
    _refused(send(seller, purchasing, department="财务部"), 403)
    # The archive office files anywhere, within its clearance.
    filed(send(office, sales, department="财务部", confidentiality="secret"), "财务部", "secret")
    _refused(send(office, sales, confidentiality="confidential"), 403, "confidential")
    assert _kept(settings)[0] == 6
    assert len(_kept(settings)[1]) == 6  # nothing of a refused upload stayed


def test_the_same_bytes_for_another_partner_are_a_document_of_its_own(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    first = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    second = create_partner("福州榕城包装材料有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    pdf = text_pdf(tmp_path / "三方合同.pdf", [CONTRACT_TEXT])
    a = upload(office, pdf, partner_id=first["id"])
    b = upload(office, pdf, partner_id=second["id"])
    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["id"] != b.json()["id"]
    assert run_worker() == 2
    documents = [client.get(f"/api/v1/documents/{r.json()['id']}", headers=office.headers).json() for r in (a, b)]
    assert [d["partner_id"] for d in documents] == [first["id"], second["id"]]
    assert documents[0]["sha256"] == documents[1]["sha256"]
    assert [d["status"] for d in documents] == ["indexed", "indexed"]
    assert _kept(settings)[1] == [settings.originals_dir / documents[0]["sha256"][:2] / documents[0]["sha256"][2:4] / documents[0]["sha256"]]
    for partner, response in ((first, a), (second, b)):
        found = client.get("/api/v1/search", params={"q": "离心水泵", "partner_id": partner["id"]}, headers=office.headers)
        assert [hit["id"] for hit in found.json()["hits"]] == [response.json()["id"]]

    # Destroying one partner's copy leaves the other's bytes in place.
    request = client.post(
        "/api/v1/destruction-requests",
        json={"document_ids": [a.json()["id"]], "reason": "重复归档", "appraisal_note": "另一客商档案中保留"},
        headers=office.headers,
    ).json()["id"]
    assert client.post(f"/api/v1/destruction-requests/{request}/approve", headers=leader.headers).status_code == 200
    assert client.post(f"/api/v1/destruction-requests/{request}/execute", headers=office.headers).status_code == 200
    assert client.get(f"/api/v1/documents/{a.json()['id']}", headers=office.headers).status_code == 404
    kept = client.get(f"/api/v1/documents/{b.json()['id']}/content", headers=office.headers)
    assert kept.status_code == 200 and kept.content == pdf.read_bytes()
