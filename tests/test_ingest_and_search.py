"""Uploads become searchable: real extraction, real OCR, the real queue, a real index."""

from __future__ import annotations

import pytest

from tests.conftest import worker_for
from tests.samples import CONTRACT_TEXT, LICENCE_TEXT, docx_file, scan_image, scanned_pdf, text_pdf

DOCX_PARAGRAPHS = [
    "技术服务协议",
    "委托方：福建省闽江供应链管理有限公司",
    "服务方：福州榕城信息技术有限公司",
    "服务内容：仓储管理系统年度运维与数据备份。",
]


@pytest.fixture
def buyer(make_caller):  # type: ignore[no-untyped-def]
    return make_caller("zhang.wei", departments="采购部")


@pytest.fixture
def archive_of_three(tmp_path, client, upload, run_worker, buyer, create_partner):  # type: ignore[no-untyped-def]
    """A scanned licence, a text-PDF contract and a DOCX, uploaded and processed."""
    partner = create_partner("福建省闽江供应链管理有限公司", "采购部")
    licence = scan_image(tmp_path / "营业执照扫描件.png", LICENCE_TEXT, dpi=300)
    contract = text_pdf(tmp_path / "采购合同.pdf", [CONTRACT_TEXT])
    agreement = docx_file(
        tmp_path / "技术服务协议.docx",
        DOCX_PARAGRAPHS,
        table_rows=[["服务项目", "年费"], ["系统运维", "捌万元整"]],
        header="闽江供应链 内部资料",
        footer="第 1 页",
    )
    ids = {}
    for name, path, doc_type in [
        ("licence", licence, "business_license"),
        ("contract", contract, "contract"),
        ("agreement", agreement, "contract"),
    ]:
        response = upload(buyer, path, partner_id=partner["id"], doc_type=doc_type)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == 3
    return partner, ids


def _search(client, caller, **params):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/search", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_kind_of_file_is_indexed_and_found_by_a_chinese_keyword(client, buyer, archive_of_three) -> None:
    partner, ids = archive_of_three
    for document_id in ids.values():
        document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
        assert document["status"] == "indexed", document
        assert document["pages"] == 1
    licence = client.get(f"/api/v1/documents/{ids['licence']}", headers=buyer.headers).json()
    assert licence["ocr_pages"] == 1

    # Words that only OCR could have read from the scan.
    found = _search(client, buyer, q="鼓楼区五四路")
    assert [hit["id"] for hit in found["hits"]] == [ids["licence"]]
    assert "<em>" in found["hits"][0]["highlights"][0]
    assert found["hits"][0]["partner_name"] == partner["name"]

    # The DOCX table, header and body are all indexed.
    assert [h["id"] for h in _search(client, buyer, q="仓储管理系统")["hits"]] == [ids["agreement"]]
    assert [h["id"] for h in _search(client, buyer, q="捌万元整")["hits"]] == [ids["agreement"]]
    contract_hit = _search(client, buyer, q="离心水泵")["hits"][0]
    assert contract_hit["id"] == ids["contract"]
    assert "<em>离心水泵</em>" in contract_hit["highlights"][0]


def test_english_words_numbers_and_codes_match(client, buyer, archive_of_three) -> None:
    _partner, ids = archive_of_three
    assert [h["id"] for h in _search(client, buyer, q="supply agreement")["hits"]] == [ids["contract"]]
    assert [h["id"] for h in _search(client, buyer, q="QW-80-40")["hits"]] == [ids["contract"]]
    assert [h["id"] for h in _search(client, buyer, q="HT-2026-0042")["hits"]] == [ids["contract"]]


def test_a_phrase_ranks_above_its_words_far_apart(
    tmp_path, client, upload, run_worker, buyer, create_partner
) -> None:
    partner = create_partner("厦门鹭岛机电设备有限公司", "采购部")
    together = text_pdf(tmp_path / "a.pdf", ["本采购合同由双方签订，自签字之日起生效。"])
    apart = text_pdf(
        tmp_path / "b.pdf",
        ["公司年度采购计划已经批准执行。各部门应当按照规定办理审批手续，确保资金安全。签订的合同应当归档。"],
    )
    ids = {}
    for name, path in [("together", together), ("apart", apart)]:
        ids[name] = upload(buyer, path, partner_id=partner["id"]).json()["id"]
    run_worker()
    hits = _search(client, buyer, q="采购合同")["hits"]
    assert [hit["id"] for hit in hits] == [ids["together"], ids["apart"]]
    assert hits[0]["score"] > hits[1]["score"]
    quoted = _search(client, buyer, q='"采购合同"')
    assert [hit["id"] for hit in quoted["hits"]] == [ids["together"]]


def test_filters_facets_and_pages(client, buyer, archive_of_three) -> None:
    _partner, ids = archive_of_three
    everything = _search(client, buyer, q="闽江")
    assert everything["total"] == 3
    assert everything["facets"]["doc_type"] == {"contract": 2, "business_license": 1}
    assert everything["facets"]["department"] == {"采购部": 3}
    assert everything["facets"]["kind"] == {"supplier": 3}
    licences = _search(client, buyer, q="闽江", doc_type="business_license")
    assert [hit["id"] for hit in licences["hits"]] == [ids["licence"]]
    first = _search(client, buyer, q="闽江", size=2, page=1)
    second = _search(client, buyer, q="闽江", size=2, page=2)
    assert first["total"] == second["total"] == 3
    assert len(first["hits"]) == 2 and len(second["hits"]) == 1
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}


def test_scanned_pdf_pages_are_ocrd_and_counted(
    tmp_path, client, upload, run_worker, buyer, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    scan = scanned_pdf(
        tmp_path / "授权委托书.pdf",
        [
            "授权委托书\n委托单位：福建省闽江供应链管理有限公司\n被委托人：陈晓燕\n"
            "兹委托陈晓燕女士代表本公司前往中国工商银行福州分行办理开户手续。\n委托期限：壹年。",
            "附件：被委托人身份证复印件\n本授权委托书自签字盖章之日起生效。",
        ],
        dpi=300,
    )
    document_id = upload(buyer, scan, partner_id=partner["id"], doc_type="authorization").json()["id"]
    run_worker()
    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert (document["status"], document["pages"], document["ocr_pages"]) == ("indexed", 2, 2)
    assert [h["id"] for h in _search(client, buyer, q="开户手续")["hits"]] == [document_id]
    assert [h["id"] for h in _search(client, buyer, q="签字盖章")["hits"]] == [document_id]


def test_damaged_files_end_failed_with_a_reason_and_can_be_retried(
    tmp_path, client, upload, run_worker, buyer, make_caller, create_partner
) -> None:
    from tests.samples import encrypted_pdf

    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    locked = encrypted_pdf(tmp_path / "加密合同.pdf")
    document_id = upload(buyer, locked, partner_id=partner["id"]).json()["id"]
    run_worker()
    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert document["status"] == "failed"
    assert document["error_reason"] == "encrypted"
    assert "加密" in document["error"]

    assert client.post(f"/api/v1/documents/{document_id}/retry", headers=buyer.headers).status_code == 403
    archivist = make_caller("archive.office", roles="archivist", clearance="confidential")
    retried = client.post(f"/api/v1/documents/{document_id}/retry", headers=archivist.headers)
    assert retried.status_code == 202
    assert retried.json()["status"] == "queued"
    assert run_worker() == 1
    again = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert again["status"] == "failed"


def test_a_retried_document_is_read_again_and_reaches_indexed(
    tmp_path, settings, client, upload, run_worker, buyer, make_caller, create_partner, monkeypatch
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    scan = scan_image(tmp_path / "授权委托书.png", "授权委托书\n兹委托陈晓燕办理开户手续", page_inches=(8.27, 1.5))
    document_id = upload(buyer, scan, partner_id=partner["id"], doc_type="authorization").json()["id"]
    # A worker set to read with Tesseract, on a machine that has lost it. (The engine is fixed
    # when a worker is built: PP-OCR runs inside the process and cannot be lost this way.)
    with monkeypatch.context() as machine, worker_for(settings.model_copy(update={"ocr_engine": "tesseract"})) as drain:
        machine.setenv("PATH", "/nonexistent")
        assert drain() == 1
    failed = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert (failed["status"], failed["error_reason"]) == ("failed", "ocr_failed")

    archivist = make_caller("archive.office", roles="archivist", clearance="confidential")
    retried = client.post(f"/api/v1/documents/{document_id}/retry", headers=archivist.headers)
    assert (retried.status_code, retried.json()["status"]) == (202, "queued")
    assert run_worker() == 1
    document = client.get(f"/api/v1/documents/{document_id}", headers=buyer.headers).json()
    assert (document["status"], document["error"], document["error_reason"]) == ("indexed", None, None)
    assert (document["pages"], document["ocr_pages"]) == (1, 1)
    assert [h["id"] for h in _search(client, buyer, q="开户手续")["hits"]] == [document_id]
