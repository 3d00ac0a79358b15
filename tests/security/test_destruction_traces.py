"""Finding 6: after a destruction's execute, nothing of the destroyed text or original stays
under DATA_DIR (the search engine's own segment files aside): the OCR cache, the record's free
pages and write-ahead log, and the index's translog are all searched, byte by byte."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from tests.samples import scan_image, text_pdf

SCANNED = "销毁测试扫描页\n甲方福州榕城包装材料有限公司\n合同编号 XH-2026-778899"
TYPED = "销毁测试文字页：乙方承诺对本协议内容严格保密，违约金人民币捌拾捌万元整。"


def _forms(text: str) -> list[bytes]:
    """How a piece of text can sit in a file: UTF-8, or escaped as JSON writes it."""
    return [text.encode("utf-8"), json.dumps(text).strip('"').encode("ascii")]


def _files_holding(root, needles: dict[str, list[bytes]]) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or "elasticsearch" in path.relative_to(root).parts:
            continue
        content = path.read_bytes()
        found += [f"{path.relative_to(root)}: {name}" for name, forms in needles.items()
                  if any(form in content for form in forms)]
    return found


def test_nothing_of_a_destroyed_document_stays_under_the_data_directory(
    tmp_path, settings, es, client, upload, run_worker, make_caller, create_partner
) -> None:
    partner = create_partner("福州榕城包装材料有限公司", "采购部")
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    leader = make_caller("lin.zong", roles="admin", clearance="confidential")
    files = {
        "scan": scan_image(tmp_path / "scan.png", SCANNED),
        "typed": text_pdf(tmp_path / "typed.pdf", [TYPED]),
    }
    ids = {}
    for name, path in files.items():
        response = upload(office, path, partner_id=partner["id"], doc_type="contract")
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    assert run_worker() == 2

    # What was read, as the record keeps it: each page's longest line is what must vanish.
    database = sqlite3.connect(settings.data_path / "archive.db")
    pages = database.execute("SELECT document_id, text FROM document_pages").fetchall()
    database.close()
    needles = {}
    for document_id, text in pages:
        line = max((line.strip() for line in text.splitlines()), key=len)
        assert len(line) >= 8, text
        needles[f"text of {document_id}: {line}"] = _forms(line)
    for name, path in files.items():
        content = path.read_bytes()
        needles[f"original {name}"] = [content, hashlib.sha256(content).hexdigest().encode()]
    before = _files_holding(settings.data_path, {k: v for k, v in needles.items() if k.startswith("text")})
    assert any("ocr-cache" in where for where in before), before  # the check can see what it seeks

    request_id = client.post(
        "/api/v1/destruction-requests", json={"document_ids": list(ids.values()), "reason": "保管期满"},
        headers=office.headers,
    ).json()["id"]
    assert client.post(f"/api/v1/destruction-requests/{request_id}/approve", headers=leader.headers).status_code == 200
    executed = client.post(f"/api/v1/destruction-requests/{request_id}/execute", headers=office.headers)
    assert executed.status_code == 200, executed.text

    # The SHA-256 stays in the destruction record by design; its bytes and text must not.
    remaining = {k: v[:1] if k.startswith("original") else v for k, v in needles.items()}
    assert _files_holding(settings.data_path, remaining) == []
    index = f"{settings.es_index_prefix}-documents"
    for document_id in ids.values():
        assert es.options(ignore_status=404).get(index=index, id=document_id)["found"] is False
    translog = es.indices.stats(index=index, metric="translog")["_all"]["primaries"]["translog"]
    assert translog["uncommitted_operations"] == 0, translog
