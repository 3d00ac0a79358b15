"""Finding 6: after a destruction's execute, nothing of the destroyed text or original stays
under DATA_DIR (the search engine's own segment files aside): the OCR cache, the record's free
pages and write-ahead log, and the index's translog are all searched, byte by byte."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from ingest.pipeline import fail_document
from ingest.worker import build_context
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


def test_a_removed_failed_upload_takes_its_ocr_text_along_unless_another_document_uses_it(
    tmp_path, settings, client, upload, run_worker, make_caller, create_partner
) -> None:
    # Removing a failed upload is the archive office's other way a document leaves: a scan the
    # worker read before it gave up keeps its text in the OCR cache, which must go with it.
    office = make_caller("chen.dang", roles="archivist", clearance="confidential")
    first = create_partner("福州榕城包装材料有限公司", "采购部")
    second = create_partner("泉州晋江鞋材有限公司", "采购部")
    own = scan_image(tmp_path / "own.png", "失败上传测试页\n甲方福州榕城包装材料有限公司\n合同编号 XH-2026-551200")
    shared = scan_image(tmp_path / "shared.png", "共用扫描页\n乙方泉州晋江鞋材有限公司\n合同编号 JJ-2026-660311")
    ids = {}
    for name, path, partner in (("own", own, first), ("shared", shared, first), ("kept", shared, second)):
        response = upload(office, path, partner_id=partner["id"], doc_type="contract")
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    run_worker()

    database = sqlite3.connect(settings.data_path / "archive.db")
    entries = dict(database.execute("SELECT document_id, entry FROM ocr_cache_uses").fetchall())
    own_text = database.execute("SELECT text FROM document_pages WHERE document_id = ?", (ids["own"],)).fetchone()[0]
    database.close()
    own_line = max((line.strip() for line in own_text.splitlines()), key=len)
    assert len(own_line) >= 8, own_text
    cache = settings.data_path / "ocr-cache"
    assert entries[ids["shared"]] == entries[ids["kept"]]
    assert all((cache / entries[ids[name]]).is_file() for name in ("own", "shared"))

    # The worker parks a document it keeps failing on, after its text was kept.
    context = build_context(settings)
    for name in ("own", "shared"):
        fail_document(context, ids[name], reason="gave_up", message="处理中断 3 次，已停止重试")
    context.es.close()
    for name in ("own", "shared"):
        removed = client.delete(f"/api/v1/documents/{ids[name]}", headers=office.headers)
        assert removed.status_code == 204, removed.text

    assert not (cache / entries[ids["own"]]).exists()
    # Nor in the record's file or its write-ahead log, where the deleted page rows waited
    # for the next checkpoint.
    assert _files_holding(settings.data_path, {"own page text": _forms(own_line)}) == []
    # The same page read for another partner's document is still that document's text.
    assert (cache / entries[ids["kept"]]).is_file()
    assert client.get(f"/api/v1/documents/{ids['kept']}", headers=office.headers).json()["status"] == "indexed"
